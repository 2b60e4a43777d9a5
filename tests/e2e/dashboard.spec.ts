// The dashboard's browser scenarios that change what every file shares: the emergency panel
// halts the platform (dashboard.test.mjs) and the spec editor imports candles into the shared
// store (spec-editor.test.mjs), so this file runs in an exclusive lane (lanes.ts). The views run
// in dashboard-views.spec.ts, beside other files.
import { browserSuite } from "./browser-tests.ts";

browserSuite(["dashboard.test.mjs", "spec-editor.test.mjs"]);
