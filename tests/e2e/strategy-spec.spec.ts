// Issue 22, strategies without recompiling: a declarative strategy spec (JSON) runs wherever a
// built-in template does.
//
//   - The published JSON Schema (engine/specs/strategy-spec.schema.json, served at
//     GET /api/v1/strategies/schema) accepts every built-in template written as a spec and
//     refuses a broken one (ajv, draft 07).
//   - POST /api/v1/strategies/validate answers the engine's own verdict: each problem (unknown
//     factor, wrong type, cycle, look-ahead reference) with its path, or the version it runs as.
//   - The backtest API runs a spec: the ma_crossover template's spec gives the template's fills
//     and metrics on the same bars.
//   - A paper strategy bot whose config carries a spec (not a template: crossovers and
//     "for N bars" over two SMAs) trades bar by bar on this file's simulator, and its fills equal
//     the backtester's on the bars the simulator served (engine example `strategy_replay`, as in
//     strategy-live.spec.ts). A broken spec in a config is a 422 naming `strategy_spec.<path>`.
//
// Prices are whole multiples of 20 so the paper venue's 5 bps slippage lands exactly on the tick.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { adminFetch, fetchJson, keel, simAdmin, uniqueId } from "./harness.js";
import { canon, strategyReplay } from "./replay-helpers.js";
import { Dec, sum } from "./pnl-helpers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SPECS = path.join(ROOT, "engine/specs");
const SYMBOL = "BNBUSDT";
const M = 60_000;
const FIRST = 5;
const TOTAL = 60;

interface Fill {
  side: string;
  price: string;
  qty: string;
  fee: string;
  fee_asset: string;
  time_ms: number;
}
interface Issue {
  path: string;
  reason: string;
}
interface Validation {
  valid: boolean;
  issues: Issue[];
  version?: { id: string; name: string };
  warm_up?: number;
}

function readSpec(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(SPECS, file), "utf8")) as Record<string, unknown>;
}
const templateFiles = fs.readdirSync(SPECS).filter((f) => f.endsWith(".json") && !f.includes("schema"));
const schema = JSON.parse(fs.readFileSync(path.join(SPECS, "strategy-spec.schema.json"), "utf8")) as Record<string, unknown>;

/** Not a template: long after `hold` closes with the fast SMA above the slow one, short after
 * `hold` below, half a unit more on the bar the fast one crosses above. */
const LIVE_SPEC = {
  name: "e2e_confirmed_cross",
  version: 1,
  params: {
    fast: { type: "int", default: 3, min: 1, max: 50 },
    slow: { type: "int", default: 8, min: 2, max: 200 },
    hold: { type: "int", default: 2, min: 1, max: 10 },
  },
  checks: [{ param: "fast", expr: { lt: ["$fast", "$slow"] }, message: "must be below slow" }],
  factors: {
    f: { kind: "sma", args: { n: "$fast" } },
    s: { kind: "sma", args: { n: "$slow" } },
  },
  signals: { up: { gt: ["f", "s"] } },
  target: {
    expr: {
      add: [
        { if: [{ for_bars: ["$hold", "up"] }, 1, 0] },
        { if: [{ for_bars: ["$hold", { not: "up" }] }, -1, 0] },
        { if: [{ cross_above: ["f", "s"] }, 0.5, 0] },
      ],
    },
    min: -1,
    max: 1.5,
  },
};

/** Closes on a slow wave, whole multiples of 20. */
function close(i: number): number {
  return 600 + 20 * Math.round(5 * Math.sin(i / 4) + 2 * Math.sin(i / 1.7));
}
type Kline = [number, string, string, string, string, string];
function bar(t0: number, i: number, closeAt: (i: number) => number = close): Kline {
  const c = closeAt(i);
  const o = i === 0 ? c : closeAt(i - 1);
  return [t0 + i * M, String(o), String(Math.max(o, c) + 20), String(Math.min(o, c) - 20), String(c), "1"];
}

/** The backtester, natively, on the served klines (engine example `strategy_replay`). */
function replay(config: Record<string, unknown>, klines: string, exchangeInfo: string): Promise<{ fills: Fill[]; rejected: unknown[]; strategy: string }> {
  return strategyReplay({ config, klines, exchangeInfo });
}

/**
 * Serves `total` one-minute bars of `closeAt` to a paper strategy bot created from `config`, the
 * first `first` at once, then one at a time, running the bot after each (as its alarm does at a
 * bar close). Returns the version the bot was created with and each run's outcome.
 */
async function runBarByBar(
  config: Record<string, unknown>,
  symbol: string,
  t0: number,
  first: number,
  total: number,
  closeAt: (i: number) => number,
): Promise<{ version: string; statuses: string[] }> {
  const botId = String(config.id);
  await simAdmin("/__admin/klines", { symbol, interval: "1m", bars: Array.from({ length: first }, (_, i) => bar(t0, i, closeAt)) });
  const created = await adminFetch<{ strategy_version: string }>("/api/v1/bots", { method: "POST", json: config });
  expect(created.status, created.text).toBe(201);
  const run = async () => {
    const res = await adminFetch<{ status: string; outcome?: { status: string } }>(`/api/v1/bots/${botId}/strategy`, { method: "POST", json: {} });
    expect(res.status, res.text).toBe(200);
    return res.body as { status: string; outcome?: { status: string } };
  };
  const statuses = [(await run()).status];
  for (let i = first; i < total; i++) {
    await simAdmin("/__admin/klines", { symbol, interval: "1m", append: true, bars: [bar(t0, i, closeAt)] });
    const out = await run();
    expect(["already_evaluated", "target_unchanged", "signalled", "warming_up"]).toContain(out.status);
    // A decision while the bot already holds it is signalled with nothing to do.
    if (out.status === "signalled") expect(["executed", "nothing_to_do"], JSON.stringify(out)).toContain(out.outcome?.status);
    statuses.push(out.status === "signalled" ? (out.outcome?.status ?? "") : out.status);
  }
  return { version: created.body?.strategy_version ?? "", statuses };
}

/** The paper bot's fills, oldest first, and the backtester's on the klines the simulator served. */
async function paperAndBacktest(config: Record<string, unknown>, symbol: string, total: number) {
  const fillsRes = await adminFetch<(Fill & { fill?: Fill })[]>(`/api/v1/bots/${String(config.id)}/fills?limit=1000`);
  expect(fillsRes.status, fillsRes.text).toBe(200);
  const live = (fillsRes.body ?? []).map((r) => ({ ...r, ...(r.fill ?? {}) })).sort((a, b) => a.time_ms - b.time_ms);
  const sim = keel().simUrl;
  const klines = await fetchJson(`${sim}/fapi/v1/klines?symbol=${symbol}&interval=1m&limit=1000`);
  expect((klines.body as unknown[]).length).toBe(total);
  const info = await fetchJson(`${sim}/fapi/v1/exchangeInfo`);
  const bt = await replay(config, klines.text, info.text);
  expect(bt.rejected).toEqual([]);
  const view = (f: Fill) => ({ side: f.side, qty: canon(f.qty), price: canon(f.price), fee: canon(f.fee), fee_asset: f.fee_asset });
  return { live, bt, view };
}

describe("the published schema and the validation route", () => {
  it("the schema accepts every template spec and refuses a broken one; the API serves it", async () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const check = ajv.compile(schema);
    expect(templateFiles.length).toBe(5);
    for (const f of templateFiles) expect(check(readSpec(f)), `${f}: ${JSON.stringify(check.errors)}`).toBe(true);
    expect(check(LIVE_SPEC), JSON.stringify(check.errors)).toBe(true);
    const broken = readSpec("ma_crossover.json");
    (broken.factors as Record<string, { kind: string }>).fast_ma.kind = "smaa";
    expect(check(broken)).toBe(false);
    const served = await adminFetch("/api/v1/strategies/schema");
    expect(served.status, served.text).toBe(200);
    expect(served.body).toEqual(schema);
    const cat = await adminFetch<{ templates: { name: string }[]; specs: { template: string; spec: { name: string } }[] }>("/api/v1/strategies");
    expect(cat.status, cat.text).toBe(200);
    expect(cat.body?.specs.map((s) => s.template).sort()).toEqual(cat.body?.templates.map((t) => t.name).sort());
    for (const s of cat.body?.specs ?? []) expect(s.spec.name).toBe(`${s.template}_spec`);
  });

  it("names the path of every problem, or the version a valid spec runs as", async () => {
    const validate = (spec: unknown, params?: Record<string, number>) =>
      adminFetch<Validation>("/api/v1/strategies/validate", { method: "POST", json: { spec, params } });
    const ok = await validate(LIVE_SPEC);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body?.valid).toBe(true);
    expect(ok.body?.version?.id).toMatch(/^e2e_confirmed_cross@1#[0-9a-f]{16}$/);
    expect(ok.body?.warm_up).toBe(8);
    const bad = structuredClone(LIVE_SPEC) as Record<string, unknown>;
    (bad.factors as Record<string, unknown>).s = { kind: "smaa", args: { n: 8 } };
    (bad.params as Record<string, unknown>).hold = { type: "int", default: "two", min: 1, max: 10 };
    bad.signals = { up: { gt: ["f", "f[-1]"] }, a: { not: "b" }, b: { not: "a" } };
    const res = await validate(bad);
    expect(res.status, res.text).toBe(200);
    expect(res.body?.valid).toBe(false);
    const paths = (res.body?.issues ?? []).map((i) => i.path);
    for (const p of ["factors.s.kind", "params.hold.default", "signals.up.gt[1]"]) expect(paths, res.text).toContain(p);
    expect(paths.some((p) => p === "signals.a" || p === "signals.b"), res.text).toBe(true);
    expect(res.text).toContain("look-ahead");
    expect(res.text).toContain("cycle");
    const range = await validate(LIVE_SPEC, { fast: 9 });
    expect(range.body?.issues).toEqual([{ path: "params.fast", reason: "9 must be below slow" }]);
    const missing = await adminFetch<{ field: string }>("/api/v1/strategies/validate", { method: "POST", json: {} });
    expect(missing.status).toBe(422);
    expect(missing.body?.field).toBe("spec");
  });
});

describe("a spec in the backtest API and in a live paper bot", () => {
  let t0: number;
  let botId: string;
  let config: Record<string, unknown>;
  const statuses: string[] = [];

  beforeAll(async () => {
    t0 = (Math.floor(Date.now() / M) - 600) * M;
    botId = uniqueId("spec");
    config = {
      id: botId,
      name: "Spec strategy e2e",
      exchange: "binance",
      market: "linear",
      mode: "paper",
      base_url: keel().simUrl,
      instruments: [SYMBOL],
      sizing: { mode: "fixed_qty", value: "1" },
      risk: {},
      source: "strategy",
      strategy_spec: LIVE_SPEC,
      params: { fast: 3, slow: 8, hold: 2 },
      timeframe: "1m",
    };
  });

  it("the backtest API runs the template's spec with the template's fills and metrics", async () => {
    const rows = Array.from({ length: 300 }, (_, i) => bar(t0, i));
    const base = { params: { fast: 3, slow: 8, short: 1 }, exchange: "binance", market: "linear", symbol: SYMBOL, timeframe: "1m", bars: rows };
    type Rep = { fills: Fill[]; metrics: unknown; strategy_version: string; run: { strategy_name: string } };
    const bySpec = await adminFetch<Rep>("/api/v1/backtest", { method: "POST", json: { ...base, spec: readSpec("ma_crossover.json") } });
    expect(bySpec.status, bySpec.text).toBe(200);
    const byName = await adminFetch<Rep>("/api/v1/backtest", { method: "POST", json: { ...base, strategy: "ma_crossover" } });
    expect(byName.status, byName.text).toBe(200);
    expect(bySpec.body?.run.strategy_name).toBe("ma_crossover_spec");
    expect(byName.body?.fills.length).toBeGreaterThan(4);
    const view = (f: Fill) => [f.time_ms, f.side, f.price, f.qty, f.fee];
    expect(bySpec.body?.fills.map(view)).toEqual(byName.body?.fills.map(view));
    expect(bySpec.body?.metrics).toEqual(byName.body?.metrics);
    expect(bySpec.body?.strategy_version).not.toBe(byName.body?.strategy_version);
    const broken = readSpec("ma_crossover.json");
    broken.rules = { long_entry: { gt: ["close", "close[-1]"] } };
    delete broken.target;
    const bad = await adminFetch<{ field: string; message: string }>("/api/v1/backtest", { method: "POST", json: { ...base, spec: broken } });
    expect(bad.status, bad.text).toBe(422);
    expect(bad.body?.field).toBe("spec");
    expect(bad.text).toContain("rules.long_entry.gt[1]");
  });

  it("a bot config with a broken spec is refused with the spec path", async () => {
    const broken = structuredClone(LIVE_SPEC) as Record<string, unknown>;
    (broken.factors as Record<string, unknown>).f = { kind: "sma", args: { n: "$nope" } };
    const res = await adminFetch<{ field: string }>("/api/v1/bots", { method: "POST", json: { ...config, id: uniqueId("specbad"), strategy_spec: broken } });
    expect(res.status, res.text).toBe(422);
    expect(res.text).toContain("strategy_spec.factors.f.args.n");
    const both = await adminFetch("/api/v1/bots", { method: "POST", json: { ...config, id: uniqueId("specboth"), strategy: "ma_crossover" } });
    expect(both.status, both.text).toBe(422);
  });

  it("a paper bot runs the spec bar by bar", async () => {
    const run = await runBarByBar(config, SYMBOL, t0, FIRST, TOTAL, close);
    expect(run.version).toMatch(/^e2e_confirmed_cross@1#[0-9a-f]{16}$/);
    statuses.push(...run.statuses);
    expect(statuses.filter((s) => s === "executed").length).toBeGreaterThanOrEqual(3);
  }, 240_000);

  it("its fills equal the backtester's on the bars the simulator served", async () => {
    const { live, bt, view } = await paperAndBacktest(config, SYMBOL, TOTAL);
    expect(live.length).toBeGreaterThanOrEqual(3);
    // Both directions and the half-unit crossover add-on all traded.
    expect(new Set(live.map((f) => f.side)).size).toBe(2);
    expect(live.some((f) => canon(f.qty).endsWith(".5"))).toBe(true);
    expect(live.map(view)).toEqual(bt.fills.map(view));
    const strat = await adminFetch<{ strategy: string; version: { id: string } }>(`/api/v1/bots/${botId}/strategy`);
    expect(strat.body?.strategy).toBe("e2e_confirmed_cross");
    expect(strat.body?.version.id).toBe(bt.strategy);
  }, 900_000);
});

/** A regime-gated trend follower (issue 23): long only while the market is trending and the
 * fast average is above the slow one. Small windows, so a short series warms it up. */
const REGIME_SPEC = {
  name: "e2e_regime_gated",
  version: 1,
  params: { fast: { type: "int", default: 3, min: 1, max: 50 }, slow: { type: "int", default: 8, min: 2, max: 200 } },
  factors: {
    f: { kind: "ema", args: { n: "$fast" } },
    s: { kind: "ema", args: { n: "$slow" } },
    market: {
      kind: "regime",
      args: { adx_n: 5, vol_n: 5, pct_window: 20, trend_enter: 25, trend_exit: 20, vol_enter: 0.95, vol_exit: 0.9, confirm: 1 },
    },
  },
  target: { expr: { if: [{ and: [{ gt: ["market.trend", 0.5] }, { gt: ["f", "s"] }] }, 1, 0] }, min: 0, max: 1 },
};

/** Range, climb, range, fall, climb: whole multiples of 20 (the paper venue's tick). */
function regimeClose(i: number): number {
  const wiggle = 20 * Math.round(2 * Math.sin(i / 1.3));
  if (i < 40) return 1000 + wiggle;
  if (i < 75) return 1000 + 40 * (i - 40) + wiggle;
  if (i < 105) return 2400 + wiggle;
  if (i < 135) return 2400 - 30 * (i - 105) + wiggle;
  return 1500 + 40 * (i - 135) + wiggle;
}

describe("a regime-gated spec in a live paper bot", () => {
  const symbol = "BTCUSDT";
  // The bot exists from the fifth bar, before the spec can first decide (as a backtest over
  // the same bars): served later, the backtester would trade bars the bot never saw.
  const [first, total] = [5, 170];
  let config: Record<string, unknown>;

  it("trades the trending stretches, with the backtester's fills on the same bars", async () => {
    const t0 = (Math.floor(Date.now() / M) - 600) * M;
    config = {
      id: uniqueId("regime"),
      name: "Regime-gated spec e2e",
      exchange: "binance",
      market: "linear",
      mode: "paper",
      base_url: keel().simUrl,
      instruments: [symbol],
      // 0.11 keeps every order above BTCUSDT's 100 USDT minimum notional on these prices (the
      // lowest close is 960). Keel refuses a reduce-only close below it, which Binance USDⓈ-M
      // accepts (-4164 "unless you choose reduce only"): noted for a fix, not tested here.
      sizing: { mode: "fixed_qty", value: "0.11" },
      risk: {},
      source: "strategy",
      strategy_spec: REGIME_SPEC,
      params: { fast: 3, slow: 8 },
      timeframe: "1m",
    };
    const run = await runBarByBar(config, symbol, t0, first, total, regimeClose);
    expect(run.version).toMatch(/^e2e_regime_gated@1#[0-9a-f]{16}$/);
    const { live, bt, view } = await paperAndBacktest(config, symbol, total);
    // At least two round trips (the two climbs), and every fill the backtester's.
    expect(live.length, JSON.stringify(run.statuses)).toBeGreaterThanOrEqual(4);
    expect(live.map(view)).toEqual(bt.fills.map(view));
    // Paper fills carry the wall-clock time they were made; the backtester's carry the bar's.
    const entries = bt.fills.filter((x) => x.side.toLowerCase() === "buy").map((f) => Math.round((f.time_ms - t0) / M));
    console.log(`regime-gated paper bot: ${live.length} fills, entries at bars ${entries.join(", ")}`);
    // It rides both climbs (bars 40–75 and 135–170).
    expect(entries.some((i) => i >= 40 && i < 75), `entries at ${entries.join(", ")}`).toBe(true);
    expect(entries.some((i) => i >= 135), `entries at ${entries.join(", ")}`).toBe(true);

    // Issue 23: the bot labelled its instrument with the spec's own regime factor, audited each
    // change with what it did to the target, and attributes its net P&L by the label in force
    // at each fill, summing exactly to the total.
    const id = String(config.id);
    const regime = await adminFetch<{ gated: boolean; symbols: Record<string, { label: string; history: [number, string][] }> }>(`/api/v1/bots/${id}/regime`);
    expect(regime.status, regime.text).toBe(200);
    expect(regime.body?.gated).toBe(true);
    const history = regime.body?.symbols[symbol]?.history ?? [];
    expect(history.map((h) => h[1]), regime.text).toContain("trend");
    expect(history.length, regime.text).toBeGreaterThanOrEqual(2);
    const audit = await adminFetch<{ events: { kind: string; record: { event: { symbol: string; regime: string; previous: string | null; action: string } } }[] }>(`/api/v1/bots/${id}/audit?after=0&limit=1000`);
    const changes = (audit.body?.events ?? []).filter((e) => e.kind === "regime_action").map((e) => e.record.event);
    expect(changes.map((c) => c.regime)).toEqual(history.map((h) => h[1]));
    // The first label has no previous one (the audit's canonical JSON leaves out nulls).
    expect(changes.length).toBeGreaterThanOrEqual(2);
    expect(changes[0]?.previous ?? null).toBeNull();
    expect(changes[1]?.previous).toBe(changes[0]?.regime);
    for (const c of changes) expect(c.action).toMatch(/^(target → .+|target unchanged|no target yet \(warming up\))$/);
    // Entries happen only while trending: some change into "trend" moved the target.
    expect(changes.some((c) => c.regime === "trend" && c.action.startsWith("target → "))).toBe(true);
    const an = await adminFetch<{ attribution: { total: { net: string; fills: number }; by_regime: Record<string, { net: string; fills: number }> } }>(`/api/v1/bots/${id}/analytics?period=1h`);
    expect(an.status, an.text).toBe(200);
    const byRegime = an.body?.attribution.by_regime ?? {};
    const regimeSum = sum(Object.values(byRegime).map((r) => Dec.of(r.net)));
    expect(regimeSum.cmp(an.body?.attribution.total.net ?? "NaN"), `${regimeSum.toString()} vs ${an.text}`).toBe(0);
    expect(Object.values(byRegime).reduce((s, r) => s + r.fills, 0)).toBe(an.body?.attribution.total.fills);
    // Entries are made in a trend; the exits the gate forced are under the label that closed it.
    expect(byRegime.trend?.fills ?? 0, an.text).toBeGreaterThanOrEqual(1);
    const exitLabels = Object.keys(byRegime).filter((k) => k !== "trend" && (byRegime[k]?.fills ?? 0) > 0);
    expect(exitLabels.length, an.text).toBeGreaterThanOrEqual(1);
    // Drift against the backtest of the same version: the paper fills are the backtester's
    // (asserted above), i.e. the bar close plus the 5 bps slippage model, on every signal.
    const drift = await adminFetch<{ mean_shortfall_bps: number; breach: string | null; state: { signals: number; missed: number } }>(`/api/v1/bots/${id}/drift`);
    expect(drift.status, drift.text).toBe(200);
    expect(drift.body?.breach ?? null, drift.text).toBeNull();
    expect(drift.body?.state.missed, drift.text).toBe(0);
    expect(drift.body?.state.signals, drift.text).toBeGreaterThanOrEqual(live.length / 2);
    expect(drift.body?.mean_shortfall_bps ?? NaN, drift.text).toBeCloseTo(5, 0);
    console.log(
      `drift: mean shortfall ${drift.body?.mean_shortfall_bps} bps over ${drift.body?.state.signals} signals; regime changes: ${changes.map((c) => `${c.regime} (${c.action})`).join("; ")}; net by regime: ${Object.entries(byRegime)
        .map(([k, v]) => `${k} ${v.net} (${v.fills} fills)`)
        .join(", ")}`,
    );
  }, 900_000);
});
