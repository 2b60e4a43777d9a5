// Historical candles in R2 (binding HISTORY, simulated locally by wrangler dev): imported from
// the simulator through POST /api/v1/data/import in capped calls that resume at `next_from`,
// counted by GET /api/v1/data, and backtested with `"source": "stored"`; the stored-source run
// equals the run on the same range fetched from the exchange. Every answer is validated against
// the served OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenApi, openApi } from "./admin-openapi.js";
import { fetchJson, simAdmin, useStackSimulator } from "./harness.js";
import { lastSeq, seedMinuteKlines, simRequests, smaBacktest } from "./venue-helpers.js";

// The Worker fetches candles for /data/import and /backtest from the simulator it is configured
// with (KEEL_EXCHANGE_URLS), not a bot's base_url: seed and count them there. The files that do
// so share that simulator; each reloads its series in beforeAll and arms no faults.
useStackSimulator();

const M = 60_000;
const H = 60 * M;
const COUNT = 3000;
const SYMBOL = "ETHUSDT";
const series = { exchange: "binance", market: "linear", symbol: SYMBOL };

interface Gaps {
  from_ms: number;
  to_ms: number;
  expected: number;
  present: number;
  missing: number;
  gaps: { from_ms: number; to_ms: number; missing: number }[];
}
interface Imported {
  imported: number;
  months_written: number;
  next_from: number | null;
  gaps: Gaps;
}
interface Stored {
  count: number;
  timeframe: string;
  gaps: Gaps;
}
interface Report {
  bars: number;
  metrics: { final_equity: string };
  fills: { price: string; qty: string; fee: string }[];
}
interface ApiError {
  code: string;
  field?: string;
}

const common = smaBacktest(SYMBOL);

let api: OpenApi;
let t0 = 0;

beforeAll(async () => {
  api = await openApi();
  // 50 hours of 1m candles ending at least an hour ago, aligned to the hour (whole 15m buckets).
  t0 = await seedMinuteKlines(SYMBOL, COUNT, 11);
});

afterAll(async () => {
  await simAdmin("/__admin/price", { symbol: SYMBOL, price: "3200" });
});

const importRange = (json: Record<string, unknown>) => api.call<Imported>("post", "/data/import", {}, { json: { ...series, ...json } });
const stored = (from: number, to: number) =>
  api.call<Stored>("get", "/data", {}, { query: new URLSearchParams({ ...series, timeframe: "1m", from: String(from), to: String(to) }).toString() });
/** Kline requests for this symbol since `since` (other specs' bots may fetch other series). */
const klinePages = async (since: number) =>
  (await simRequests(since)).filter((q) => q.path === "/fapi/v1/klines" && q.query.includes(`symbol=${SYMBOL}`)).length;

describe("history in R2", () => {
  it("imports a range in capped calls, the second resuming at next_from", async () => {
    let since = await lastSeq();
    const first = await importRange({ timeframe: "1m", from: t0, to: t0 + COUNT * M, max_bars: 2000 });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ imported: 2000, next_from: t0 + 2000 * M });
    expect(first.body!.months_written).toBeGreaterThanOrEqual(1);
    expect(first.body!.gaps).toMatchObject({ from_ms: t0, to_ms: t0 + 2000 * M, present: 2000, missing: 0, gaps: [] });
    expect(await klinePages(since)).toBe(2);

    since = await lastSeq();
    const second = await importRange({ from: first.body!.next_from, to: t0 + COUNT * M, max_bars: 2000 });
    expect(second.status, second.text).toBe(200);
    expect(second.body).toMatchObject({ imported: 1000, next_from: null });
    expect(second.body!.gaps).toMatchObject({ present: 1000, missing: 0 });
    expect(await klinePages(since)).toBe(1);
  });

  it("GET /data counts the stored candles with no gaps, and a re-import stores the same count", async () => {
    const before = await stored(t0, t0 + COUNT * M);
    expect(before.status, before.text).toBe(200);
    expect(before.body).toMatchObject({ count: COUNT, timeframe: "1m" });
    expect(before.body!.gaps).toMatchObject({ expected: COUNT, present: COUNT, missing: 0, gaps: [] });

    const again = await importRange({ from: t0, to: t0 + COUNT * M });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ imported: COUNT, next_from: null });
    const after = await stored(t0, t0 + COUNT * M);
    expect(after.body!.count).toBe(COUNT);
    expect(after.body!.gaps.missing).toBe(0);

    // A wider window reports what is missing around the stored range, never invents it.
    const wider = await stored(t0 - 10 * M, t0 + COUNT * M + 5 * M);
    expect(wider.body!.count).toBe(COUNT);
    expect(wider.body!.gaps.gaps).toEqual([
      { from_ms: t0 - 10 * M, to_ms: t0, missing: 10 },
      { from_ms: t0 + COUNT * M, to_ms: t0 + COUNT * M + 5 * M, missing: 5 },
    ]);
  });

  it("a stored-source backtest equals the backtest of the same range fetched from the exchange", async () => {
    const body = { ...common, exchange: "binance", market: "linear", timeframe: "15m", from: t0, to: t0 + COUNT * M };
    const since = await lastSeq();
    const fromR2 = await api.call<Report>("post", "/backtest", {}, { json: { ...body, source: "stored" } });
    expect(fromR2.status, fromR2.text).toBe(200);
    expect(await klinePages(since)).toBe(0); // read from R2, not fetched
    const fetched = await api.call<Report>("post", "/backtest", {}, { json: body });
    expect(fetched.status, fetched.text).toBe(200);
    expect(fromR2.body!.bars).toBe(COUNT / 15);
    expect(fromR2.body!.fills.length).toBeGreaterThan(0);
    expect(fromR2.body!.fills).toEqual(fetched.body!.fills);
    expect(fromR2.body!.metrics.final_equity).toBe(fetched.body!.metrics.final_equity);
  });

  it("answers 422 naming `from` for a stored range with nothing in it", async () => {
    const empty = { ...common, exchange: "binance", market: "linear", timeframe: "15m", source: "stored" };
    for (const json of [
      { ...empty, from: t0 - 10 * 24 * H, to: t0 - 9 * 24 * H },
      { ...empty, exchange: "bybit", from: t0, to: t0 + COUNT * M }, // nothing stored for the series
    ]) {
      const res = await api.call<ApiError>("post", "/backtest", {}, { json });
      expect(res.status, res.text).toBe(422);
      expect(res.body?.field).toBe("from");
    }
  });

  it("concurrent imports into the same month keep every candle", async () => {
    // A series nothing has been stored for: six calls write one month at once, each a slice; a
    // month is only replaced if unchanged since read (else re-read and merged), so none is lost.
    const spot = { exchange: "binance", market: "spot", symbol: SYMBOL };
    const slice = COUNT / 6;
    const calls = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        api.call<Imported>("post", "/data/import", {}, { json: { ...spot, from: t0 + i * slice * M, to: t0 + (i + 1) * slice * M } }),
      ),
    );
    for (const c of calls) expect(c.status, c.text).toBe(200);
    expect(calls.map((c) => c.body!.imported)).toEqual(Array.from({ length: 6 }, () => slice));
    const query = new URLSearchParams({ ...spot, from: String(t0), to: String(t0 + COUNT * M) }).toString();
    const all = await api.call<Stored>("get", "/data", {}, { query });
    expect(all.status, all.text).toBe(200);
    expect(all.body!.count).toBe(COUNT);
    expect(all.body!.gaps.missing).toBe(0);
  });

  it("answers 401 without the admin token", async () => {
    const calls: [string, string, unknown][] = [
      ["POST", "/api/v1/data/import", { ...series, from: t0, to: t0 + COUNT * M }],
      ["GET", `/api/v1/data?exchange=binance&market=linear&symbol=${SYMBOL}&from=${t0}&to=${t0 + COUNT * M}`, undefined],
      ["POST", "/api/v1/backtest", { ...common, exchange: "binance", market: "linear", timeframe: "15m", source: "stored", from: t0, to: t0 + M * COUNT }],
    ];
    for (const [method, url, json] of calls) {
      const res = await fetchJson<ApiError>(url, { method, json });
      expect(res.status, `${method} ${url}: ${res.text}`).toBe(401);
    }
  });
});
