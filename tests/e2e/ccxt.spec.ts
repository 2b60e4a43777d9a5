// Issue 4: an independent client (ccxt, Python) places, queries and cancels orders and reads
// trades on all four simulated markets with ordinary Binance and Bybit credentials.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { keel } from "./harness.js";

describe("ccxt against the exchange simulator", () => {
  it("runs tests/exchange-sim/ccxt/run.sh to success", () => {
    const script = path.resolve("tests/exchange-sim/ccxt/run.sh");
    const run = spawnSync("bash", [script, keel().simUrl], { encoding: "utf8", timeout: 90_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.error, output).toBeUndefined();
    expect(run.status, output).toBe(0);
  }, 100_000);
});
