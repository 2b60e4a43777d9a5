// Issue 22, several symbols and timeframes per strategy: a declarative spec declares the series it
// reads (symbol + timeframe; the 5m series is resampled from the 1m base bars and visible only
// once its five minutes have closed) and returns a target per instrument.
//
//   - The published JSON Schema accepts the spec (and refuses it without its base timeframe).
//   - POST /api/v1/strategies/validate refuses a series below the base timeframe and a look-ahead
//     reference, each with its path; a bot whose instruments are not the spec's symbols is a 422
//     naming `instruments`.
//   - A two-symbol (BNBUSDT, ETHUSDT), two-timeframe (5m, 1m) spec runs as a paper strategy bot on
//     this file's simulator, bar by bar, and its fills equal the backtester's (`run_multi`, engine
//     example `strategy_replay` given each symbol's served klines) on the same bars: same symbols,
//     sides, quantities, prices and fees, in the same order.
//   - Issue 23: the spec's regime factor on BNB's 5m series labels BNB on that bot; each change is
//     a `regime_action` audit event, and the executions are recorded for drift.
//
// Prices are whole multiples of 20 so the paper venue's 5 bps slippage lands exactly on the tick.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { adminFetch, fetchJson, keel, simAdmin, uniqueId } from "./harness.js";
import { canon, strategyReplay } from "./replay-helpers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const M = 60_000;
const FIVE = 5 * M;
const [FIRST, TOTAL] = [5, 90];

interface Fill {
  symbol: string;
  side: string;
  price: string;
  qty: string;
  fee: string;
  fee_asset: string;
  time_ms: number;
}

/** BNB's trend on 5m bars decides BNB long/short; ETH is long while its 1m averages point up
 * and BNB's last closed 5m bar rose (a cross-instrument, cross-timeframe read). */
const PAIR_SPEC = {
  name: "e2e_pair",
  version: 1,
  timeframe: "1m",
  series: {
    bnb5: { symbol: "BNBUSDT", timeframe: "5m" },
    eth: { symbol: "ETHUSDT", timeframe: "1m" },
  },
  factors: {
    bf: { kind: "sma", series: "bnb5", args: { n: 2 } },
    bs: { kind: "sma", series: "bnb5", args: { n: 3 } },
    ef: { kind: "sma", series: "eth", args: { n: 3 } },
    es: { kind: "sma", series: "eth", args: { n: 8 } },
    // Issue 23: a regime factor on BNB's 5m series (not read by the targets, so the fills stay
    // the ones below): the bot labels BNB from its 5m bars and audits each change.
    market: {
      kind: "regime",
      series: "bnb5",
      args: { adx_n: 2, vol_n: 2, pct_window: 5, trend_enter: 25, trend_exit: 20, vol_enter: 0.95, vol_exit: 0.9, confirm: 1 },
    },
  },
  targets: {
    bnb5: { expr: { if: [{ gt: ["bf", "bs"] }, 1, -1] } },
    eth: { expr: { if: [{ and: [{ gt: ["ef", "es"] }, { gt: ["bnb5.close", "bnb5.close[1]"] }] }, 1, 0] }, min: 0, max: 1 },
  },
};

const closes: Record<string, (i: number) => number> = {
  BNBUSDT: (i) => 600 + 20 * Math.round(4 * Math.sin(i / 9) + 1.5 * Math.sin(i / 2.3)),
  ETHUSDT: (i) => 3000 + 20 * Math.round(6 * Math.sin(i / 6 + 1) + 2 * Math.sin(i / 1.9)),
};
type Kline = [number, string, string, string, string, string];
function bar(symbol: string, t0: number, i: number): Kline {
  const at = closes[symbol];
  const c = at(i);
  const o = i === 0 ? c : at(i - 1);
  return [t0 + i * M, String(o), String(Math.max(o, c) + 20), String(Math.min(o, c) - 20), String(c), "1"];
}

/** The backtester, natively, on each symbol's served klines (engine example `strategy_replay`). */
function replay(config: Record<string, unknown>, klines: Record<string, string>, exchangeInfo: string): Promise<{ fills: Fill[]; rejected: unknown[]; strategy: string; bars: number }> {
  return strategyReplay({ config, klines, exchangeInfo });
}

describe("multi-series spec validation", () => {
  it("the published schema accepts it and refuses it without its base timeframe", () => {
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, "engine/specs/strategy-spec.schema.json"), "utf8")) as Record<string, unknown>;
    const check = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(check(PAIR_SPEC), JSON.stringify(check.errors)).toBe(true);
    const noBase: Record<string, unknown> = { ...PAIR_SPEC };
    delete noBase.timeframe;
    expect(check(noBase)).toBe(false);
    expect(check({ ...PAIR_SPEC, target: { expr: 1 } })).toBe(false);
  });

  it("refuses a series below the base timeframe and a look-ahead read, with their paths", async () => {
    const ok = await adminFetch<{ valid: boolean; issues: { path: string }[]; warm_up?: number }>("/api/v1/strategies/validate", { method: "POST", json: { spec: PAIR_SPEC } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body?.valid, ok.text).toBe(true);
    const low = structuredClone(PAIR_SPEC) as Record<string, unknown>;
    low.timeframe = "5m";
    (low.series as Record<string, { timeframe: string }>).eth.timeframe = "1m";
    const ahead = structuredClone(PAIR_SPEC) as Record<string, unknown>;
    (ahead.targets as Record<string, unknown>).bnb5 = { expr: { if: [{ gt: ["bnb5.close[-1]", "bf"] }, 1, 0] } };
    for (const [doc, want] of [
      [low, "series.eth.timeframe"],
      [ahead, "targets.bnb5.expr.if[0].gt[0]"],
    ] as const) {
      const res = await adminFetch<{ valid: boolean; issues: { path: string; reason: string }[] }>("/api/v1/strategies/validate", { method: "POST", json: { spec: doc } });
      expect(res.status, res.text).toBe(200);
      expect(res.body?.valid).toBe(false);
      expect(res.body?.issues.map((i) => i.path), res.text).toContain(want);
    }
  });
});

describe("a two-symbol, two-timeframe spec in a live paper bot", () => {
  it("trades both instruments bar by bar with the backtester's fills", async () => {
    const t0 = (Math.floor(Date.now() / FIVE) - 130) * FIVE;
    const symbols = ["BNBUSDT", "ETHUSDT"];
    const config: Record<string, unknown> = {
      id: uniqueId("pair"),
      name: "Two-symbol spec e2e",
      exchange: "binance",
      market: "linear",
      mode: "paper",
      base_url: keel().simUrl,
      instruments: symbols,
      sizing: { mode: "fixed_quote", value: "200" },
      risk: {},
      source: "strategy",
      strategy_spec: PAIR_SPEC,
      params: {},
      timeframe: "1m",
    };
    // The instruments must be exactly the spec's symbols.
    const wrong = await adminFetch<{ field: string }>("/api/v1/bots", { method: "POST", json: { ...config, id: uniqueId("pairbad"), instruments: ["BNBUSDT"] } });
    expect(wrong.status, wrong.text).toBe(422);
    expect(wrong.text).toContain("instruments");

    for (const s of symbols) await simAdmin("/__admin/klines", { symbol: s, interval: "1m", bars: Array.from({ length: FIRST }, (_, i) => bar(s, t0, i)) });
    const created = await adminFetch<{ strategy_version: string }>("/api/v1/bots", { method: "POST", json: config });
    expect(created.status, created.text).toBe(201);
    expect(created.body?.strategy_version).toMatch(/^e2e_pair@1#[0-9a-f]{16}$/);
    type Out = { status: string; bar_open_ms?: number; signals?: { symbol: string; signal_id: string; outcome: { status: string } }[] };
    const run = async () => {
      const res = await adminFetch<Out>(`/api/v1/bots/${String(config.id)}/strategy`, { method: "POST", json: {} });
      expect(res.status, res.text).toBe(200);
      return res.body as Out;
    };
    const executed: Record<string, number> = { BNBUSDT: 0, ETHUSDT: 0 };
    expect(["warming_up", "target_unchanged"]).toContain((await run()).status);
    for (let i = FIRST; i < TOTAL; i++) {
      for (const s of symbols) await simAdmin("/__admin/klines", { symbol: s, interval: "1m", append: true, bars: [bar(s, t0, i)] });
      const out = await run();
      expect(["target_unchanged", "signalled", "warming_up"], JSON.stringify(out)).toContain(out.status);
      expect(out.bar_open_ms).toBe(t0 + i * M);
      for (const sig of out.signals ?? []) {
        expect(["executed", "nothing_to_do"], JSON.stringify(sig)).toContain(sig.outcome.status);
        expect(sig.signal_id).toContain(`:${sig.symbol}:${t0 + i * M}`);
        if (sig.outcome.status === "executed") executed[sig.symbol] += 1;
      }
      // Running the same bar again is a no-op.
      if (i === 40) expect((await run()).status).toBe("already_evaluated");
    }
    expect(executed.BNBUSDT, JSON.stringify(executed)).toBeGreaterThanOrEqual(2);
    expect(executed.ETHUSDT, JSON.stringify(executed)).toBeGreaterThanOrEqual(2);

    const fillsRes = await adminFetch<(Fill & { fill?: Fill })[]>(`/api/v1/bots/${String(config.id)}/fills?limit=1000`);
    expect(fillsRes.status, fillsRes.text).toBe(200);
    const live = (fillsRes.body ?? []).map((r) => ({ ...r, ...(r.fill ?? {}) })).sort((a, b) => a.time_ms - b.time_ms);
    const sim = keel().simUrl;
    const klines: Record<string, string> = {};
    for (const s of symbols) {
      const k = await fetchJson(`${sim}/fapi/v1/klines?symbol=${s}&interval=1m&limit=1000`);
      expect((k.body as unknown[]).length).toBe(TOTAL);
      klines[s] = k.text;
    }
    const info = await fetchJson(`${sim}/fapi/v1/exchangeInfo`);
    const bt = await replay(config, klines, info.text);
    expect(bt.rejected).toEqual([]);
    expect(bt.bars).toBe(TOTAL);
    const view = (f: Fill) => ({ symbol: f.symbol, side: f.side.toLowerCase(), qty: canon(f.qty), price: canon(f.price), fee: canon(f.fee), fee_asset: f.fee_asset });
    for (const s of symbols) {
      const mine = live.filter((f) => f.symbol === s);
      expect(mine.length, s).toBeGreaterThanOrEqual(2);
      expect(mine.map(view), s).toEqual(bt.fills.filter((f) => f.symbol === s).map(view));
    }
    // Same order across instruments too (feed order within a bar).
    expect(live.map(view)).toEqual(bt.fills.map(view));
    // Issue 23: the multi-series bot labelled BNB (the only instrument a regime factor reads)
    // and audited every change, saying what the step did to the targets; its executions are
    // recorded for drift like a single-series bot's.
    const id = String(config.id);
    const regime = await adminFetch<{ gated: boolean; symbols: Record<string, { history: [number, string][] }> }>(`/api/v1/bots/${id}/regime`);
    expect(regime.status, regime.text).toBe(200);
    expect(regime.body?.gated).toBe(true);
    expect(Object.keys(regime.body?.symbols ?? {}), regime.text).toEqual(["BNBUSDT"]);
    const history = regime.body?.symbols.BNBUSDT?.history ?? [];
    expect(history.length, regime.text).toBeGreaterThanOrEqual(1);
    const audit = await adminFetch<{ events: { kind: string; record: { event: { symbol: string; regime: string; action: string } } }[] }>(`/api/v1/bots/${id}/audit?after=0&limit=1000`);
    const changes = (audit.body?.events ?? []).filter((e) => e.kind === "regime_action").map((e) => e.record.event);
    expect(changes.map((c) => c.regime), audit.text).toEqual(history.map((h) => h[1]));
    for (const c of changes) {
      expect(c.symbol).toBe("BNBUSDT");
      expect(c.action).toMatch(/^((BNBUSDT|ETHUSDT): (target → .+|target unchanged)(; |$))+$|^no target yet \(warming up\)$/);
    }
    const drift = await adminFetch<{ state: { signals: number; missed: number } }>(`/api/v1/bots/${id}/drift`);
    expect(drift.status, drift.text).toBe(200);
    expect(drift.body?.state.missed, drift.text).toBe(0);
    expect(drift.body?.state.signals, drift.text).toBe(executed.BNBUSDT + executed.ETHUSDT);
    console.log(`two-symbol regime changes: ${changes.map((c) => `${c.regime} (${c.action})`).join("; ")}; drift over ${drift.body?.state.signals} signals`);
    const strat = await adminFetch<{ symbols: string[]; version: { id: string } }>(`/api/v1/bots/${String(config.id)}/strategy`);
    expect(strat.body?.symbols).toEqual(symbols);
    expect(strat.body?.version.id).toBe(bt.strategy);
    console.log(`two-symbol paper bot: ${live.length} fills (${JSON.stringify(executed)} executed signals), all equal to the backtester's`);
  }, 900_000);
});
