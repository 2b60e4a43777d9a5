// Issue 11, live strategy bots: a paper bot whose source is the SMA-crossover template runs on
// 1-minute candles the simulator serves. The test drives the clock: it appends one closed bar at
// a time (POST /__admin/klines, which also moves the price orders fill at to that bar's close)
// and asks the bot to evaluate it now (POST /api/v1/bots/{id}/strategy, what the bar-close alarm
// does). Then the backtester runs natively (engine example `strategy_replay`, the same venue
// adapter parsing the very candles and rules the simulator served) and must predict the same
// trades (side, qty, price) and the same fees.
//
// A testnet bot (real signed orders on the simulator's Binance USDⓈ-M, account binance-bnb) runs
// the same strategy on the same bars; its fills must equal the backtest with no slippage and the
// exchange's taker fee.
//
// Prices are whole multiples of 20 so the paper venue's 5 bps slippage lands exactly on the
// 0.01 tick: the backtester (slippage rounded to the nearest tick) and the paper venue (rounded
// against the trader) then agree by construction instead of by luck.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminFetch, fetchJson, keel, simAdmin, uniqueId } from "./harness.js";
import { canon, strategyReplay } from "./replay-helpers.js";

const SYMBOL = "BNBUSDT";
const M = 60_000;
const FIRST = 5;
const TOTAL = 70;

interface Fill {
  side: string;
  price: string;
  qty: string;
  fee: string;
  fee_asset: string;
  trade_id: string;
  time_ms: number;
}
interface RunOut {
  status: string;
  version: string;
  bar_open_ms: number;
  signal_id?: string;
  outcome?: { status: string; http_status?: number };
}

/** Closes on a slow wave, whole multiples of 20. */
function close(i: number): number {
  return 600 + 20 * Math.round(5 * Math.sin(i / 4) + 2 * Math.sin(i / 1.7));
}

function bar(t0: number, i: number): [number, string, string, string, string, string] {
  const c = close(i);
  const o = i === 0 ? c : close(i - 1);
  return [t0 + i * M, String(o), String(Math.max(o, c) + 20), String(Math.min(o, c) - 20), String(c), "1"];
}

let botId: string;
let testnetId: string;
let config: Record<string, unknown>;
let testnetConfig: Record<string, unknown>;
let t0: number;
const runs: RunOut[] = [];

async function runStrategy(id = botId): Promise<RunOut> {
  const res = await adminFetch<RunOut>(`/api/v1/bots/${id}/strategy`, { method: "POST", json: {} });
  expect(res.status, res.text).toBe(200);
  return res.body as RunOut;
}

interface Report {
  fills: Fill[];
  rejected: unknown[];
  strategy: string;
}

/** Runs the backtester natively on the served klines (engine example `strategy_replay`). */
function replay(
  klines: string,
  exchangeInfo: string,
  cfg = config,
  fees = { taker: "0.001", maker: "0.001", slippage: "5" },
): Promise<Report> {
  return strategyReplay<Report>({ config: cfg, klines, exchangeInfo, fees });
}

describe("live strategy bot on the simulator", () => {
  beforeAll(async () => {
    t0 = (Math.floor(Date.now() / M) - 600) * M;
    const bars = Array.from({ length: FIRST }, (_, i) => bar(t0, i));
    await simAdmin("/__admin/klines", { symbol: SYMBOL, interval: "1m", bars });
    botId = uniqueId("strat");
    config = {
      id: botId,
      name: "SMA crossover e2e",
      exchange: "binance",
      market: "linear",
      mode: "paper",
      base_url: keel().simUrl,
      instruments: [SYMBOL],
      sizing: { mode: "fixed_qty", value: "1" },
      risk: {},
      source: "strategy",
      strategy: "ma_crossover",
      params: { fast: 3, slow: 8 },
      timeframe: "1m",
    };
    const res = await adminFetch<{ strategy_version: string }>("/api/v1/bots", { method: "POST", json: config });
    expect(res.status, res.text).toBe(201);
    expect(res.body?.strategy_version).toMatch(/^ma_crossover@1#[0-9a-f]{16}$/);
    testnetId = uniqueId("strat-tn");
    testnetConfig = { ...config, id: testnetId, name: "SMA crossover testnet e2e", mode: "testnet" };
    const tn = await adminFetch("/api/v1/bots", { method: "POST", json: testnetConfig });
    expect(tn.status, tn.text).toBe(201);
    const creds = await adminFetch(`/api/v1/bots/${testnetId}/credentials`, {
      method: "PUT",
      json: { api_key: "simBinanceKeyBnb0002", api_secret: "simBinanceSecretBnb0002" },
    });
    expect(creds.status, creds.text).toBe(200);
    const capital = await adminFetch(`/api/v1/bots/${testnetId}/capital`, { method: "POST", json: { amount: "10000" } });
    expect(capital.status, capital.text).toBe(200);
  });

  afterAll(async () => {
    await simAdmin("/__admin/price", { symbol: SYMBOL, price: "600.00" });
  });

  it("trades bar by bar, each bar once", async () => {
    runs.push(await runStrategy());
    expect(runs[0].status).toBe("warming_up");
    expect((await runStrategy(testnetId)).status).toBe("warming_up");
    for (let i = FIRST; i < TOTAL; i++) {
      await simAdmin("/__admin/klines", { symbol: SYMBOL, interval: "1m", append: true, bars: [bar(t0, i)] });
      const tn = await runStrategy(testnetId);
      if (tn.status === "signalled") expect(tn.outcome?.status, JSON.stringify(tn)).toBe("executed");
      const out = await runStrategy();
      // The bar-close alarm may have evaluated the bar first: then this run only confirms it.
      expect(["already_evaluated", "target_unchanged", "signalled", "warming_up"]).toContain(out.status);
      if (out.status !== "already_evaluated") expect(out.bar_open_ms).toBe(t0 + i * M);
      runs.push(out);
    }
    const signalled = runs.filter((r) => r.status === "signalled");
    expect(signalled.length).toBeGreaterThanOrEqual(2);
    for (const s of signalled) {
      expect(s.signal_id).toBe(`strat:${s.version}:${s.bar_open_ms}`);
      expect(s.outcome?.status, JSON.stringify(s)).toBe("executed");
    }
    // A replayed evaluation of the same bar never trades again.
    expect((await runStrategy()).status).toBe("already_evaluated");
  }, 240_000);

  it("fills exactly what the backtester predicts on the served bars", async () => {
    const fillsRes = await adminFetch<(Fill & { fill?: Fill })[]>(`/api/v1/bots/${botId}/fills?limit=1000`);
    expect(fillsRes.status, fillsRes.text).toBe(200);
    const live = (fillsRes.body ?? []).map((r) => ({ ...r, ...(r.fill ?? {}) })).sort((a, b) => a.time_ms - b.time_ms);
    const sim = keel().simUrl;
    const klines = await fetchJson(`${sim}/fapi/v1/klines?symbol=${SYMBOL}&interval=1m&limit=1000`);
    expect(klines.status).toBe(200);
    expect((klines.body as unknown[]).length).toBe(TOTAL);
    const info = await fetchJson(`${sim}/fapi/v1/exchangeInfo`);
    const bt = await replay(klines.text, info.text);
    expect(bt.rejected).toEqual([]);
    const view = (f: Fill) => ({ side: f.side, qty: canon(f.qty), price: canon(f.price), fee: canon(f.fee), fee_asset: f.fee_asset });
    expect(live.length).toBeGreaterThanOrEqual(2);
    expect(live.map(view)).toEqual(bt.fills.map(view));
    const sum = (fs: Fill[]) => fs.reduce((a, f) => a + Number(f.fee), 0);
    expect(sum(live)).toBeCloseTo(sum(bt.fills), 12);
    const strat = await adminFetch<{ version: { id: string } }>(`/api/v1/bots/${botId}/strategy`);
    expect(strat.body?.version.id).toBe(bt.strategy);

    // Testnet: real orders on the simulator fill at the last close with its futures taker fee.
    const tnFills = await adminFetch<(Fill & { fill?: Fill })[]>(`/api/v1/bots/${testnetId}/fills?limit=1000`);
    expect(tnFills.status, tnFills.text).toBe(200);
    const tnLive = (tnFills.body ?? []).map((r) => ({ ...r, ...(r.fill ?? {}) })).sort((a, b) => a.time_ms - b.time_ms);
    const tnBt = await replay(klines.text, info.text, testnetConfig, { taker: "0.0005", maker: "0.0002", slippage: "0" });
    expect(tnBt.rejected).toEqual([]);
    expect(tnLive.length).toBe(live.length);
    expect(tnLive.map(view)).toEqual(tnBt.fills.map(view));
  }, 900_000);

  it("audits strategy signals like webhook ones, with the version; a params change is a new version", async () => {
    const audit = await adminFetch<{ events: { kind: string; record: Record<string, unknown> }[] }>(
      `/api/v1/bots/${botId}/audit?limit=1000`,
    );
    expect(audit.status, audit.text).toBe(200);
    const events = audit.body?.events ?? [];
    const version = runs.find((r) => r.version)?.version ?? "";
    const received = events.filter((e) => e.kind === "signal_received");
    expect(received.length).toBeGreaterThanOrEqual(2);
    for (const e of received) expect(JSON.stringify(e.record)).toContain(`strategy:${version}`);
    for (const kind of ["signal_accepted", "risk_decision", "order_intent", "fill", "position_change"]) {
      expect(events.some((e) => e.kind === kind), kind).toBe(true);
    }
    const patch = await adminFetch<{ strategy_version: string; diff: { path: string; old: unknown; new: unknown }[] }>(
      `/api/v1/bots/${botId}`,
      { method: "PATCH", json: { params: { fast: 2 } } },
    );
    expect(patch.status, patch.text).toBe(200);
    const changed = patch.body?.diff.find((d) => d.path === "/strategy_version");
    expect(changed?.old).toBe(version);
    expect(changed?.new).toBe(patch.body?.strategy_version);
    expect(patch.body?.strategy_version).not.toBe(version);
    expect(patch.body?.diff.some((d) => d.path === "/params/fast")).toBe(true);
    const bad = await adminFetch<{ field: string }>(`/api/v1/bots/${botId}`, { method: "PATCH", json: { params: { fast: 9 } } });
    expect(bad.status).toBe(422);
    expect(bad.body?.field).toBe("params.fast");
    await simAdmin("/__admin/klines", { symbol: SYMBOL, interval: "1m", append: true, bars: [bar(t0, TOTAL)] });
    const next = await runStrategy();
    expect(next.version).toBe(patch.body?.strategy_version);
    const strat = await adminFetch<{ versions_run: Record<string, unknown>; next_wake_ms: number }>(
      `/api/v1/bots/${botId}/strategy`,
    );
    expect(Object.keys(strat.body?.versions_run ?? {}).sort()).toEqual([version, next.version].sort());
    // The alarm is armed for the next bar close (+2 s), whatever else the alarm serves.
    const wake = strat.body?.next_wake_ms ?? 0;
    expect(wake % M).toBe(2_000);
    expect(wake).toBeGreaterThan(Date.now() - 5_000);
    expect(wake).toBeLessThanOrEqual(Date.now() + M + 2_000);
    const tv = await adminFetch<{ code: string }>(`/api/v1/bots/${uniqueId("nobot")}/strategy`, { method: "POST", json: {} });
    expect(tv.status).toBe(404);
  }, 120_000);
});
