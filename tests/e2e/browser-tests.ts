// Runs some of the dashboard's browser test files (ui/e2e, Debian chromium driven by
// playwright-core) against this run's stack, so the whole suite starts the platform only once.
// Two spec files use it: dashboard.spec.ts (the scenarios that halt the platform or import
// candles, so an exclusive lane) and dashboard-views.spec.ts (the views, which touch only their
// own bots: a shared lane, see lanes.ts). Skipped when ui/ defines no `test:e2e` script or
// chromium is missing; the node:test output is attached on failure.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { keel } from "./harness.js";

const uiPackage = path.join(ROOT, "ui/package.json");
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

function hasBrowserTests(): boolean {
  if (!fs.existsSync(uiPackage) || !fs.existsSync(chromium)) return false;
  const pkg = JSON.parse(fs.readFileSync(uiPackage, "utf8")) as { scripts?: Record<string, string> };
  return typeof pkg.scripts?.["test:e2e"] === "string";
}

/** Runs `node --test` on `files` (in ui/e2e) with the stack's URL and token; resolves with its exit and output. */
function runBrowserTests(files: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const args = ["--test", "--test-concurrency=1", ...files.map((f) => path.join("e2e", f))];
    const child = spawn(process.execPath, args, {
      cwd: path.join(ROOT, "ui"),
      env: {
        ...process.env,
        KEEL_URL: keel().baseUrl,
        KEEL_ADMIN_TOKEN: keel().adminToken,
        KEEL_SIM_URL: keel().simUrl,
        // Backtests read candles from the Worker's own simulator (KEEL_EXCHANGE_URLS), not a bot's.
        KEEL_STACK_SIM_URL: keel().stackSimUrl,
        CHROMIUM_PATH: chromium,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** One vitest test that runs the browser test `files` (names in ui/e2e) and passes when all pass. */
export function browserSuite(files: string[]): void {
  describe.skipIf(!hasBrowserTests())(`dashboard in Chromium (ui/e2e: ${files.join(", ")})`, () => {
    it("passes every browser scenario against the live stack", { timeout: 300_000 }, async () => {
      const { code, output } = await runBrowserTests(files);
      // The scenarios' own counts, for the run's log.
      console.log(`dashboard browser scenarios (${files.join(", ")}): ${(output.match(/^# (tests|pass|fail) \d+/gm) ?? []).join(", ")}`);
      expect(code, output.slice(-6000)).toBe(0);
      // node:test ends with a "# fail N" summary; a run that tested nothing is not a pass.
      expect(output, output.slice(-3000)).toMatch(/# pass [1-9]/);
      expect(output).toMatch(/# fail 0/);
    });
  });
}
