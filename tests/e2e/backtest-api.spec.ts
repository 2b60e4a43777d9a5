// POST /api/v1/backtest: a short backtest run inside the Worker on candles fetched from the
// simulator (paged kline requests) or given inline; the JSON report is validated against the
// served OpenAPI document, `?format=html` answers the self-contained page, caps answer 413, bad
// fields 422. The same candles imported by `keel data import` and run by `keel backtest` give
// the same exact final equity as the API. POST /api/v1/optimize (issue 21) searches on the same
// inline candles: its best trial is the plain backtest of its parameters, to the decimal.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { type OpenApi, openApi } from "./admin-openapi.js";
import { adminFetch, keel, simAdmin, useStackSimulator } from "./harness.js";
import { lastSeq, seedMinuteKlines, simRequests, smaBacktest } from "./venue-helpers.js";

// The Worker fetches candles for /data/import and /backtest from the simulator it is configured
// with (KEEL_EXCHANGE_URLS), not a bot's base_url: seed and count them there. The files that do
// so share that simulator; each reloads its series in beforeAll and arms no faults.
useStackSimulator();

const M = 60_000;
const COUNT = 3000;
const SYMBOL = "ETHUSDT";
const bin = process.env.KEEL_CLI_BIN ?? path.join(ROOT, "target/release/keel");

interface Report {
  bars: number;
  strategy_version: string;
  fill_model: { fill_at: string; slippage_bps: string; description: string };
  metrics: Record<string, unknown> & { final_equity: string; net_pnl: string; fees: string };
  trades: { side: string; pnl: string }[];
  fills: { price: string; qty: string; fee: string }[];
  equity_curve: [number, number][];
}
interface ApiError {
  code: string;
  field?: string;
  detail?: { max_bars: number };
}

let api: OpenApi;
let t0 = 0;
let bars: [number, string, string, string, string, string][] = [];
const common = smaBacktest(SYMBOL);

beforeAll(async () => {
  api = await openApi();
  // 50 hours of 1m candles ending at least an hour ago, aligned to the hour (whole 15m buckets).
  t0 = await seedMinuteKlines(SYMBOL, COUNT, 11);
  const dump = await simAdmin<{ bars: { open_time: number; open: string; high: string; low: string; close: string; volume: string }[] }>(
    `/__admin/klines?symbol=${SYMBOL}`,
  );
  bars = dump.bars.map((b) => [b.open_time, String(b.open), String(b.high), String(b.low), String(b.close), String(b.volume)]);
  expect(bars.length).toBe(COUNT);
});

afterAll(async () => {
  await simAdmin("/__admin/price", { symbol: SYMBOL, price: "3200" });
});

let fetched: Report | null = null;

describe("POST /api/v1/backtest", () => {
  it("fetches 15m candles from the simulator page by page and answers the documented report", async () => {
    const since = await lastSeq();
    const res = await api.call<Report>("post", "/backtest", {}, {
      json: { ...common, exchange: "binance", market: "linear", timeframe: "15m", from: t0, to: t0 + COUNT * M },
    });
    expect(res.status, res.text).toBe(200);
    const r = res.body!;
    expect(r.bars).toBe(COUNT / 15);
    expect(r.fill_model.fill_at).toBe("next_open");
    expect(r.fill_model.description).toContain("2 bps");
    for (const k of ["total_return", "annual_return", "volatility", "sharpe", "sortino", "calmar", "max_drawdown", "max_drawdown_duration_ms", "win_rate", "profit_factor", "exposure", "turnover", "fees", "funding"]) {
      expect(r.metrics, k).toHaveProperty(k);
    }
    expect(r.fills.length).toBeGreaterThan(0);
    expect(r.equity_curve.length).toBe(r.bars);
    const kl = (await simRequests(since)).filter((q) => q.path === "/fapi/v1/klines");
    expect(kl.length).toBe(1); // 200 bars of 15m: one page
    expect(kl[0].query).toContain("interval=15m");
    fetched = r;
  });

  it("gives the same fills for Bybit candles fetched (newest-first pages) and the same candles inline", async () => {
    const since = await lastSeq();
    const viaExchange = await api.call<Report>("post", "/backtest", {}, {
      json: { ...common, exchange: "bybit", market: "linear", timeframe: "1m", from: t0, to: t0 + 2500 * M },
    });
    expect(viaExchange.status, viaExchange.text).toBe(200);
    const pages = (await simRequests(since)).filter((q) => q.path === "/v5/market/kline");
    expect(pages.length).toBe(3); // 2500 bars at 1000 per page
    const inline = await api.call<Report>("post", "/backtest", {}, {
      json: { ...common, exchange: "bybit", market: "linear", timeframe: "1m", bars: bars.slice(0, 2500) },
    });
    expect(inline.status, inline.text).toBe(200);
    expect(inline.body!.bars).toBe(2500);
    expect(inline.body!.metrics.final_equity).toBe(viaExchange.body!.metrics.final_equity);
    expect(inline.body!.fills).toEqual(viaExchange.body!.fills);
  });

  it("answers the self-contained HTML report with ?format=html", async () => {
    const res = await adminFetch(`/api/v1/backtest?format=html`, {
      method: "POST",
      json: { ...common, exchange: "binance", market: "spot", timeframe: "5m", bars: bars.slice(0, 600).filter((b) => b[0] % (5 * M) === 0) },
    });
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.text).toContain("<svg");
    expect(res.text).toContain("Drawdown");
    expect(res.text).not.toMatch(/(src|href)=["']https?:/);
  });

  it("refuses more than 50,000 candles with 413 and bad fields with 422 naming them", async () => {
    const many = Array.from({ length: 50_001 }, (_, i) => [t0 + i * M, "1", "1", "1", "1", "1"]);
    const tooMany = await api.call<ApiError>("post", "/backtest", {}, { json: { ...common, exchange: "binance", market: "spot", timeframe: "1m", bars: many } });
    expect(tooMany.status, tooMany.text).toBe(413);
    expect(tooMany.body?.code).toBe("too_many_bars");
    expect(tooMany.body?.detail?.max_bars).toBe(50_000);
    const longRange = await api.call<ApiError>("post", "/backtest", {}, {
      json: { ...common, exchange: "binance", market: "spot", timeframe: "1m", from: "2024-01-01", to: "2024-03-01" },
    });
    expect(longRange.status).toBe(413);
    const cases: [Record<string, unknown>, string][] = [
      [{ ...common, strategy: "no_such", exchange: "binance", market: "spot", timeframe: "1m", bars: bars.slice(0, 50) }, "strategy"],
      [{ ...common, params: { fast: 30, slow: 10 }, exchange: "binance", market: "spot", timeframe: "1m", bars: bars.slice(0, 50) }, "strategy"],
      [{ ...common, exchange: "binance", market: "spot", timeframe: "1m" }, "bars"],
      [{ ...common, exchange: "binance", market: "spot", timeframe: "7m", bars: bars.slice(0, 50) }, "timeframe"],
      [{ ...common, exchange: "binance", market: "spot", timeframe: "1m", bars: [[t0, "1", "0.5", "1", "1", "1"]] }, "bars"],
      [{ ...common, exchange: "binance", market: "spot", timeframe: "1m", from: "yesterday", to: "2024-01-02" }, "from"],
    ];
    for (const [json, field] of cases) {
      const res = await api.call<ApiError>("post", "/backtest", {}, { json });
      expect(res.status, `${field}: ${res.text}`).toBe(422);
      expect(res.body?.field).toBe(field);
    }
  });

  it("`keel data import` from the simulator + `keel backtest` give the API's exact final equity", () => {
    expect(fetched, "first test ran").not.toBeNull();
    expect(fs.existsSync(bin), `${bin} missing: run scripts/build.sh`).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-bt-"));
    const run = (args: string[]) => {
      const r = spawnSync(bin, args, { encoding: "utf8", timeout: 60_000 });
      if (r.error) throw r.error;
      return r;
    };
    const imp = run(["data", "import", "--exchange", "binance", "--market", "linear", "--symbol", SYMBOL, "--timeframe", "1m",
      "--from", String(t0), "--to", String(t0 + COUNT * M), "--base-url", keel().simUrl, "--data", dir]);
    expect(imp.status, imp.stderr).toBe(0);
    const summary = JSON.parse(imp.stdout) as { imported: number; pages: number; gaps: { missing: number } };
    expect(summary.imported).toBe(COUNT);
    expect(summary.pages).toBe(3);
    expect(summary.gaps.missing).toBe(0);
    const bt = run(["backtest", "--strategy", "sma_cross", "--params", JSON.stringify(common.params), "--exchange", "binance",
      "--market", "linear", "--symbol", SYMBOL, "--timeframe", "15m", "--from", String(t0), "--to", String(t0 + COUNT * M),
      "--slippage-bps", "2", "--tick", "0.01", "--step", "0.001", "--data", dir, "--out", path.join(dir, "out")]);
    expect(bt.status, bt.stderr).toBe(0);
    const local = JSON.parse(fs.readFileSync(path.join(dir, "out", "report.json"), "utf8")) as Report;
    expect(local.bars).toBe(fetched!.bars);
    expect(local.metrics.final_equity).toBe(fetched!.metrics.final_equity);
    expect(local.fills).toEqual(fetched!.fills);
    expect(fs.readFileSync(path.join(dir, "out", "report.html"), "utf8")).toContain("<svg");
  });

  it("`keel data import` fetches a hole left before the newest stored candle, once", () => {
    expect(fs.existsSync(bin), `${bin} missing: run scripts/build.sh`).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-holes-"));
    const imp = (from: number, to: number) => {
      const r = spawnSync(bin, ["data", "import", "--exchange", "binance", "--market", "linear", "--symbol", SYMBOL,
        "--timeframe", "1m", "--from", String(from), "--to", String(to), "--base-url", keel().simUrl, "--data", dir],
      { encoding: "utf8", timeout: 60_000 });
      if (r.error) throw r.error;
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { imported: number; holes_refetched: number; gaps: { missing: number; gaps: unknown[] } };
    };
    // The later part first, then the head: candles 500..999 are missing in between.
    expect(imp(t0 + 1000 * M, t0 + COUNT * M).imported).toBe(COUNT - 1000);
    expect(imp(t0, t0 + 500 * M).imported).toBe(500);
    const whole = imp(t0, t0 + COUNT * M);
    expect(whole.holes_refetched).toBe(1);
    expect(whole.imported).toBe(500);
    expect(whole.gaps.missing).toBe(0);
    expect(whole.gaps.gaps).toEqual([]);
    // Nothing left to fetch: a second run asks for nothing and finds no hole.
    const again = imp(t0, t0 + COUNT * M);
    expect(again.imported).toBe(0);
    expect(again.holes_refetched).toBe(0);
    expect(again.gaps.missing).toBe(0);
  });
});

describe("POST /api/v1/optimize", () => {
  it("runs a seeded grid whose best trial is the backtest of its parameters, and enforces its caps", async () => {
    const base = { ...common, params: { short: 0 }, exchange: "binance", market: "linear", timeframe: "1m", bars: bars.slice(0, 2000) };
    const optimize = { sampler: "grid", trials: 8, seed: 1, objective: "net", space: { fast: { min: 3, max: 6 }, slow: { min: 15, max: 20, step: 5 } } };
    const res = await api.call<{
      result: { trials: number; best: { params: Record<string, number>; metrics: { net: string } }[]; deflated: { trials: number }; pbo: unknown };
    }>("post", "/optimize", {}, { json: { ...base, optimize } });
    expect(res.status, res.text).toBe(200);
    const r = res.body!.result;
    expect(r.trials).toBe(8);
    expect(r.deflated.trials).toBe(8);
    const best = r.best[0];
    const bt = await api.call<Report>("post", "/backtest", {}, { json: { ...base, params: best.params } });
    expect(bt.status, bt.text).toBe(200);
    expect(best.metrics.net).toBe(bt.body!.metrics.net_pnl);
    const again = await api.call<typeof res.body>("post", "/optimize", {}, { json: { ...base, optimize } });
    expect(again.body).toEqual(res.body);
    const tooMany = await api.call<ApiError>("post", "/optimize", {}, { json: { ...base, optimize: { ...optimize, trials: 201 } } });
    expect(tooMany.status, tooMany.text).toBe(413);
    expect(tooMany.body?.code).toBe("too_many_trials");
    const bad = await api.call<ApiError>("post", "/optimize", {}, { json: { ...base, optimize: { ...optimize, space: { fast: { min: 0, max: 6 } } } } });
    expect(bad.status, bad.text).toBe(422);
    expect(bad.body?.field).toBe("optimize.space");
  });
});
