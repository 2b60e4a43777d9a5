// The dashboard's views in Chromium (ui/e2e/views.test.mjs): each scenario creates and drives
// its own bots (a portfolio scope halts only its own group), reads the shared candles without
// changing them, and halts nothing platform-wide, so this file runs in a shared lane (lanes.ts).
import { browserSuite } from "./browser-tests.ts";

browserSuite(["views.test.mjs"]);
