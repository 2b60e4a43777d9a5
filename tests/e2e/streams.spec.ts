// The account's user-data stream (docs/streams.md), end to end on this file's simulator, Binance
// USDⓈ-M (the market whose stream the AccountDO opens with the API key alone):
// - a resting limit order filled at the exchange is booked by its bot with no cron call: the
//   stream's ORDER_TRADE_UPDATE wakes the bot's own REST catch-up (latency p50/p99 is reported,
//   not asserted);
// - the stream killed mid-run (simulator fault) and restored: the fills placed meanwhile are found
//   by the gap recovery, every fill is booked exactly once, and the bot's P&L equals the
//   simulator's trade history to the last decimal.
// No cron runs here: this file is in the shared lane (lanes.ts), so no exclusive file's cron tick
// reaches its bot while it runs.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { adminFetch, keel, simAdmin } from "./harness.js";
import { AvgCostBook, Dec, canon, sum } from "./pnl-helpers.js";
import { createBot, signal, waitFor, type Bot } from "./ops-helpers.js";

const KEY = "simBinanceKeyMain0001";
const SECRET = "simBinanceSecretMain0001";
const ACCOUNT = "binance-main";
const VENUE = "binance_futures";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SimTrade {
  id: number;
  venue: string;
  order_id: number;
  side: "Buy" | "Sell";
  price: string;
  qty: string;
  commission: string;
  time: number;
}
interface SimState {
  orders: { id: number; venue: string; client_id: string }[];
  trades: SimTrade[];
}
interface FillRow {
  fill: { trade_id: string; qty: string; price: string; fee: string };
}
interface StreamView {
  state: string;
  trusted: boolean;
  reconnects: number;
  gaps_recovered: number;
  events: number;
  bot_wakes: number;
  last_message_age_ms: number | null;
}

/** The AccountDO's name, as the bots derive it (docs/streams.md). */
function accountName(): string {
  const hash = createHash("sha256").update(KEY).digest("hex").slice(0, 16);
  return `Binance-Linear-${keel().simUrl.replace(/\/$/, "")}-${hash}`;
}

async function stream(): Promise<StreamView> {
  const res = await adminFetch<{ stream: StreamView }>(`/api/v1/accounts/state?account=${encodeURIComponent(accountName())}`);
  expect(res.status, res.text).toBe(200);
  return res.body!.stream;
}

async function bookedIds(bot: Bot): Promise<string[]> {
  const res = await adminFetch<FillRow[]>(`/api/v1/bots/${bot.id}/fills?limit=1000`);
  expect(res.status, res.text).toBe(200);
  return (res.body ?? []).map((f) => f.fill.trade_id);
}

/** The simulator's trades of the bot's orders. */
async function botTrades(bot: Bot): Promise<SimTrade[]> {
  const orders = await adminFetch<{ client_order_id: string }[]>(`/api/v1/bots/${bot.id}/orders?limit=1000`);
  const ids = new Set((orders.body ?? []).map((o) => o.client_order_id));
  const st = await simAdmin<SimState>(`/__admin/state?account=${ACCOUNT}`);
  const own = new Set(st.orders.filter((o) => o.venue === VENUE && ids.has(o.client_id)).map((o) => o.id));
  return st.trades.filter((t) => t.venue === VENUE && own.has(t.order_id));
}

/** Places a resting buy 10 below 65000, then trades the market through it; answers the trade. */
async function restingFill(bot: Bot, known: Set<number>): Promise<SimTrade> {
  await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000", venue: VENUE });
  const res = await signal(bot, "buy", "BTCUSDT", { order_type: "limit", price: "64990.0" });
  expect([200, 202], res.text).toContain(res.status);
  await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "64980", venue: VENUE });
  let trade: SimTrade | undefined;
  await waitFor(async () => {
    trade = (await botTrades(bot)).find((t) => !known.has(t.id));
    return trade !== undefined;
  });
  expect(trade, "the resting order filled at the exchange").toBeDefined();
  known.add(trade!.id);
  return trade!;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe("user-data stream (Binance USDⓈ-M)", () => {
  it("books resting fills with no cron call, and exactly once across a killed stream", { timeout: 240_000 }, async () => {
    const on = await adminFetch<{ stream: StreamView }>(`/api/v1/accounts/stream?account=${encodeURIComponent(accountName())}`, { method: "POST", json: { enabled: true } });
    expect(on.status, on.text).toBe(200);
    expect(on.body!.stream.state).not.toBe("disabled");
    const bot = await createBot({ prefix: "stream", exchange: "binance", market: "linear", mode: "testnet", instruments: ["BTCUSDT"], qty: "0.002", key: KEY, secretKey: SECRET });
    const known = new Set<number>();
    // The bot's first exchange calls open the account's stream; it is trusted once its gap is
    // recovered.
    await restingFill(bot, known);
    expect(await waitFor(async () => (await stream()).trusted, 20_000), JSON.stringify(await stream())).toBe(true);

    // Latency: exchange trade time -> the fill in the bot's book, no cron.
    const latencies: number[] = [];
    const rounds = 20;
    for (let i = 0; i < rounds; i++) {
      const t = await restingFill(bot, known);
      let seenAt = 0;
      const booked = await waitFor(async () => {
        const ids = await bookedIds(bot);
        if (ids.includes(String(t.id))) seenAt = Date.now();
        return seenAt > 0;
      }, 15_000);
      expect(booked, `trade ${t.id} booked without a cron call`).toBe(true);
      latencies.push(seenAt - t.time);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(`stream fill -> booked (ms, includes the test's polling): p50 ${percentile(sorted, 50)}, p99 ${percentile(sorted, 99)}, max ${sorted[sorted.length - 1]} over ${rounds} fills`);
    const before = await stream();
    expect(before.events).toBeGreaterThanOrEqual(rounds);

    // Kill the stream; fills land while it is down (or reconnecting); it comes back.
    await simAdmin("/__admin/streams", { action: "drop" });
    for (let i = 0; i < 3; i++) await restingFill(bot, known);
    expect(
      await waitFor(async () => {
        const s = await stream();
        return s.trusted && s.reconnects > before.reconnects && s.gaps_recovered > before.gaps_recovered;
      }, 30_000),
      JSON.stringify(await stream()),
    ).toBe(true);
    // And one more on the restored stream.
    await restingFill(bot, known);

    // Every simulator trade of the bot is booked exactly once.
    const trades = await botTrades(bot);
    expect(trades.length).toBe(known.size);
    expect(
      await waitFor(async () => {
        const ids = await bookedIds(bot);
        return trades.every((t) => ids.includes(String(t.id)));
      }, 30_000),
    ).toBe(true);
    await sleep(500);
    const ids = await bookedIds(bot);
    expect(ids.length).toBe(new Set(ids).size);
    expect(new Set(ids)).toEqual(new Set(trades.map((t) => String(t.id))));

    // Close the position at market and compare P&L with the simulator's history.
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65100", venue: VENUE });
    const close = await signal(bot, "close", "BTCUSDT");
    expect([200, 202], close.text).toContain(close.status);
    let all: SimTrade[] = [];
    expect(
      await waitFor(async () => {
        all = await botTrades(bot);
        const booked = await bookedIds(bot);
        return all.length > trades.length && all.every((t) => booked.includes(String(t.id)));
      }, 30_000),
    ).toBe(true);
    const book = new AvgCostBook();
    for (const t of [...all].sort((a, b) => a.id - b.id)) book.apply(t.side === "Buy" ? "buy" : "sell", Dec.of(t.qty), Dec.of(t.price));
    const view = await adminFetch<{ realized: string; fees: { total_quote: string }; by_instrument: Record<string, { position_qty: string }> }>(`/api/v1/bots/${bot.id}/pnl`);
    expect(view.status, view.text).toBe(200);
    expect(canon(view.body!.realized)).toBe(book.realized.toString());
    expect(canon(view.body!.by_instrument.BTCUSDT?.position_qty)).toBe(book.qty.toString());
    expect(canon(view.body!.fees.total_quote)).toBe(sum(all.map((t) => t.commission)).toString());
    expect(Dec.of(book.realized).isZero()).toBe(false);
    console.log(`stream: ${all.length} trades booked once, realized ${book.realized}; ${JSON.stringify(await stream())}`);
  });
});
