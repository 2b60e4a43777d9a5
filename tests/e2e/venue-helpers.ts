// Helpers shared by the exchange specs: testnet bots on the simulator, its request log and trade
// history, and an independent check of Binance / Bybit request signatures.
import { createHmac } from "node:crypto";
import { expect } from "vitest";
import { adminFetch, fetchJson, keel, simAdmin, uniqueId } from "./harness.js";

export interface SimRequest {
  seq: number;
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: string;
  status: number;
}
export interface SimTrade {
  venue: string;
  order_id: number;
  id: number;
  price: string;
  qty: string;
  commission: string;
  commission_asset: string;
  realized_pnl: string;
}
export interface BotFill {
  trade_id: string;
  order_id: string;
  price: string;
  qty: string;
  fee: string;
  fee_asset: string;
}

export interface Market {
  exchange: "binance" | "bybit";
  market: "spot" | "linear";
  venue: string;
  account: string;
  key: string;
  secret: string;
  qty: string;
}

export const MARKETS: Market[] = [
  { exchange: "binance", market: "spot", venue: "binance_spot", account: "binance-main", key: "simBinanceKeyMain0001", secret: "simBinanceSecretMain0001", qty: "0.001" },
  { exchange: "binance", market: "linear", venue: "binance_futures", account: "binance-main", key: "simBinanceKeyMain0001", secret: "simBinanceSecretMain0001", qty: "0.002" },
  { exchange: "bybit", market: "spot", venue: "bybit_spot", account: "bybit-main", key: "simBybitKeyMain0001", secret: "simBybitSecretMain0001", qty: "0.001" },
  { exchange: "bybit", market: "linear", venue: "bybit_linear", account: "bybit-main", key: "simBybitKeyMain0001", secret: "simBybitSecretMain0001", qty: "0.002" },
];

/** Creates a testnet bot on the simulator with the market's default sim credentials (its id from `prefix`). */
export async function createSimBot(m: Market, extra: Record<string, unknown> = {}, prefix = `${m.exchange}-${m.market}`): Promise<{ id: string; secret: string }> {
  const id = uniqueId(prefix);
  const res = await adminFetch<{ webhook_secret: string }>("/api/v1/bots", {
    method: "POST",
    json: {
      id,
      name: `${m.exchange} ${m.market} e2e`,
      exchange: m.exchange,
      market: m.market,
      mode: "testnet",
      base_url: keel().simUrl,
      instruments: ["BTCUSDT"],
      sizing: { mode: "fixed_qty", value: m.qty },
      risk: {},
      ...extra,
    },
  });
  expect(res.status, res.text).toBe(201);
  const creds = await adminFetch(`/api/v1/bots/${id}/credentials`, {
    method: "PUT",
    json: { api_key: m.key, api_secret: m.secret },
  });
  expect(creds.status, creds.text).toBe(200);
  return { id, secret: res.body?.webhook_secret ?? "" };
}

/** Sends one alert to a bot. */
export function signal(bot: { id: string; secret: string }, action: string, extra: Record<string, unknown> = {}) {
  return fetchJson<{ status: string; code?: string; orders?: Record<string, unknown>[] }>(`/webhook/${bot.id}`, {
    method: "POST",
    json: { secret: bot.secret, id: uniqueId("sig"), action, symbol: "BTCUSDT", time: new Date().toISOString(), ...extra },
  });
}

export async function simRequests(since = 0): Promise<SimRequest[]> {
  return (await simAdmin<{ requests: SimRequest[] }>(`/__admin/requests?since=${since}`)).requests;
}

export async function lastSeq(): Promise<number> {
  const all = await simRequests();
  return all.length ? all[all.length - 1].seq : 0;
}

export function header(r: SimRequest, name: string): string | undefined {
  return r.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

/** Recomputes the request's signature independently of the platform and the simulator. */
export function expectSigned(r: SimRequest, m: Market): void {
  if (m.exchange === "binance") {
    expect(header(r, "X-MBX-APIKEY"), r.path).toBe(m.key);
    const all = [r.query, r.body].filter((s) => s && s.length > 0).join("");
    const match = /(?:^|&)signature=([0-9a-f]{64})/.exec(all);
    expect(match, `${r.path}?${r.query} ${r.body}`).not.toBeNull();
    const payload = [r.query, r.body]
      .map((s) => (s ?? "").replace(/&?signature=[0-9a-f]{64}/, ""))
      .filter((s) => s.length > 0)
      .join("");
    expect(createHmac("sha256", m.secret).update(payload).digest("hex")).toBe(match?.[1]);
  } else {
    expect(header(r, "X-BAPI-API-KEY"), r.path).toBe(m.key);
    const ts = header(r, "X-BAPI-TIMESTAMP") ?? "";
    const win = header(r, "X-BAPI-RECV-WINDOW") ?? "";
    const payload = r.method === "GET" ? r.query : r.body;
    const want = createHmac("sha256", m.secret).update(`${ts}${m.key}${win}${payload}`).digest("hex");
    expect(header(r, "X-BAPI-SIGN"), `${r.method} ${r.path}`).toBe(want);
  }
  expect(r.status, `${r.method} ${r.path}`).toBe(200);
}

/** The numeric order id the simulator keeps in its trades (Bybit ids are UUIDs ending in it). */
function simOrderId(id: string): number {
  const digits = /(\d{1,12})$/.exec(id)?.[1] ?? "NaN";
  return Number(digits);
}

export async function botFills(id: string): Promise<BotFill[]> {
  const res = await adminFetch<(BotFill & { fill?: BotFill })[]>(`/api/v1/bots/${id}/fills?limit=1000`);
  expect(res.status, res.text).toBe(200);
  // The view stores the booked fill: the exchange fill (nested or flat) plus what was booked.
  return (res.body ?? []).map((row) => ({ ...row, ...(row.fill ?? {}) }));
}

export async function simTrades(m: Market, orderIds: string[]): Promise<SimTrade[]> {
  const state = await simAdmin<{ trades: SimTrade[] }>(`/__admin/state?account=${m.account}`);
  const wanted = new Set(orderIds.map(simOrderId));
  return state.trades.filter((t) => t.venue === m.venue && wanted.has(t.order_id));
}

/**
 * A decimal string in canonical form ("65000.00" and "65000" are the same amount): exact, no
 * floating point, so equal keys mean equal decimals to the last digit.
 */
export function dec(s: string): string {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(s.trim());
  if (!m) throw new Error(`not a decimal string: ${JSON.stringify(s)}`);
  const int = m[2].replace(/^0+(?=\d)/, "");
  const frac = (m[3] ?? "").replace(/0+$/, "");
  const neg = m[1] === "-" && !(int === "0" && frac === "");
  return `${neg ? "-" : ""}${int}${frac ? `.${frac}` : ""}`;
}

/** Exact sum of decimal strings (BigInt at the largest scale), in canonical form. */
export function decSum(values: string[]): string {
  const parts = values.map((v) => dec(v));
  const scale = Math.max(0, ...parts.map((p) => (p.split(".")[1] ?? "").length));
  const total = parts.reduce((acc, p) => {
    const neg = p.startsWith("-");
    const [i, f = ""] = p.replace("-", "").split(".");
    const n = BigInt(i + f.padEnd(scale, "0"));
    return acc + (neg ? -n : n);
  }, 0n);
  const neg = total < 0n;
  const digits = (neg ? -total : total).toString().padStart(scale + 1, "0");
  const str = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return dec(`${neg ? "-" : ""}${str}`);
}

export const fillKey = (price: string, qty: string, fee: string, asset: string): string =>
  [dec(price), dec(qty), dec(fee), asset].join("|");

/** Seeds the simulator with `count` one-minute candles of `symbol` (seeded random walk from
 * 3000), ending at least an hour ago and aligned to the hour (whole 15m buckets); returns the
 * first open time. Backtest and history specs use the same series. */
export async function seedMinuteKlines(symbol: string, count: number, seed: number): Promise<number> {
  const hour = 3_600_000;
  const t0 = Math.floor(Date.now() / hour) * hour - (Math.ceil(count / 60) + 1) * hour;
  await simAdmin("/__admin/klines", {
    symbol,
    interval: "1m",
    generate: { count, start_ms: t0, start_price: "3000", step_bps: 25, seed },
  });
  return t0;
}

/** The backtest request both backtest specs run on that series: SMA(5, 20) crossover with 2 bps
 * slippage on ETHUSDT-like filters. */
export function smaBacktest(symbol: string) {
  return {
    strategy: "sma_cross",
    params: { fast: 5, slow: 20 },
    symbol,
    slippage_bps: "2",
    tick_size: "0.01",
    step_size: "0.001",
  };
}
