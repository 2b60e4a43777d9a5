// Issue 26 item 1, end to end: "an order left `sent` is resolved by its client id on the next tick
// and by reconciliation, whatever killed its answer". Here the whole Workers process dies: two
// bots' orders reach this file's simulator and fill, the simulator holds each answer (a `delay`
// fault with `after: true`), and the Workers process (wrangler dev + workerd) is SIGKILLed while
// both answers are still pending. The process is started again on the same port with the same
// persisted Durable Object state (stack-control.ts `POST /workers/restart`).
//
// Bot A's sender had already been answered `202 accepted` (the edge's 2.5 s budget); bot B's
// sender was cut off with no answer at all and resends the same alert, as TradingView's user or a
// script would. After the restart one cron tick must resolve both orders by their client ids
// (never by sending again), book each fill exactly once, and give both signals their outcome;
// reconciliation must then agree with the exchange, and a second tick must change nothing.
import { beforeAll, describe, expect, it } from "vitest";
import { adminFetch, fetchJson, simAdmin, uniqueId } from "./harness.js";
import { runCron } from "./ops-helpers.js";
import { outagesAvailable, restartWorkers } from "./outage-helpers.js";
import { canon } from "./pnl-helpers.js";
import { MARKETS, type Market, botFills, createSimBot, simRequests } from "./venue-helpers.js";

const A = MARKETS[0]; // Binance spot
const B = MARKETS[3]; // Bybit linear
const ORDER_PATH: Record<string, string> = { binance_spot: "/api/v3/order", bybit_linear: "/v5/order/create" };

interface Bot {
  id: string;
  secret: string;
}
interface SimOrder {
  id: number;
  venue: string;
  client_id: string;
}
interface SimTrade {
  venue: string;
  order_id: number;
  id: number;
  side: "Buy" | "Sell";
  qty: string;
  commission: string;
  commission_asset: string;
}
interface SignalRow {
  signal_id: string;
  status: number;
  outcome: { status?: string; code?: string; orders?: { client_order_id?: string }[] } & Record<string, unknown>;
}
interface OrderRow {
  client_order_id: string;
  status: string;
  signal_id?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One alert with a given signal id; a transport failure (the process died) is returned, not thrown. */
async function alert(bot: Bot, id: string, action: string, qty: string): Promise<{ status: number; text: string; body: Record<string, unknown> | null } | { error: string }> {
  try {
    return await fetchJson<Record<string, unknown>>(`/webhook/${bot.id}`, {
      method: "POST",
      json: { secret: bot.secret, id, action, symbol: "BTCUSDT", qty, time: new Date().toISOString() },
      signal: AbortSignal.timeout(60_000),
    });
  } catch (err) {
    return { error: String((err as Error).message ?? err) };
  }
}

async function simState(m: Market): Promise<{ orders: SimOrder[]; trades: SimTrade[] }> {
  return simAdmin(`/__admin/state?account=${m.account}`);
}

/** Waits until the simulator has executed an order placement of `m` after request `since`. */
async function waitPlaced(m: Market, since: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const posts = (await simRequests(since)).filter((r) => r.method === "POST" && r.path === ORDER_PATH[m.venue]);
    if (posts.length > 0) {
      const text = `${posts[0].query}&${posts[0].body}`;
      const coid = /(?:newClientOrderId=|"orderLinkId":")([A-Za-z0-9_:.-]+)/.exec(text)?.[1];
      if (coid) {
        const st = await simState(m);
        if (st.orders.some((o) => o.venue === m.venue && o.client_id === coid)) return coid;
      }
    }
    await sleep(50);
  }
  throw new Error(`no ${m.venue} order reached the simulator`);
}

async function orders(bot: Bot): Promise<OrderRow[]> {
  const res = await adminFetch<OrderRow[]>(`/api/v1/bots/${bot.id}/orders?limit=1000`);
  expect(res.status, res.text).toBe(200);
  return res.body ?? [];
}

async function signalRow(bot: Bot, id: string): Promise<SignalRow | undefined> {
  const res = await adminFetch<SignalRow[]>(`/api/v1/bots/${bot.id}/signals?limit=500`);
  expect(res.status, res.text).toBe(200);
  return (res.body ?? []).find((s) => s.signal_id === id);
}

/** Exchange trades of the bot's orders (by the client ids it recorded) and its booked fills. */
async function booksOf(bot: Bot, m: Market): Promise<{ simTrades: SimTrade[]; fills: string[]; simOrders: SimOrder[] }> {
  const own = new Set((await orders(bot)).map((o) => o.client_order_id));
  const st = await simState(m);
  const simOrders = st.orders.filter((o) => o.venue === m.venue && own.has(o.client_id));
  const ids = new Set(simOrders.map((o) => o.id));
  const simTrades = st.trades.filter((t) => t.venue === m.venue && ids.has(t.order_id));
  // Bybit execution ids are UUIDs that end in the simulator's numeric trade id.
  const fills = (await botFills(bot.id)).map((f) => String(Number(/(\d{1,12})$/.exec(String(f.trade_id))?.[1] ?? "NaN")));
  return { simTrades, fills, simOrders };
}

async function pnlQty(bot: Bot): Promise<string> {
  const res = await adminFetch<{ by_instrument: Record<string, { position_qty: string }> }>(`/api/v1/bots/${bot.id}/pnl`);
  expect(res.status, res.text).toBe(200);
  return canon(res.body?.by_instrument.BTCUSDT?.position_qty ?? "0");
}

/** The position the exchange's trades leave: signed quantities, less spot fees paid in BTC. */
function signedQty(trades: SimTrade[]): string {
  const units = (s: string): bigint => {
    const [i, f = ""] = s.split(".");
    return BigInt(`${i}${f.padEnd(8, "0")}`);
  };
  let total = 0n;
  for (const t of trades) {
    total += t.side === "Buy" ? units(t.qty) : -units(t.qty);
    if (t.commission_asset === "BTC") total -= units(t.commission);
  }
  const neg = total < 0n;
  const s = (neg ? -total : total).toString().padStart(9, "0");
  return canon(`${neg ? "-" : ""}${s.slice(0, -8)}.${s.slice(-8)}`);
}

describe.skipIf(!outagesAvailable())("crash recovery: the Workers process dies while two orders' answers are pending", () => {
  let botA: Bot;
  let botB: Bot;
  const sigA = uniqueId("crash-a");
  const sigB = uniqueId("crash-b");
  let coidA = "";
  let coidB = "";
  let answerA: Awaited<ReturnType<typeof alert>> | null = null;
  let answerB: Awaited<ReturnType<typeof alert>> | null = null;
  let warmFills = { a: 0, b: 0 };

  beforeAll(async () => {
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
    botA = await createSimBot(A);
    botB = await createSimBot(B);
    // Warm both (rules, clock) with one ordinary executed order each.
    for (const [bot, m] of [[botA, A], [botB, B]] as const) {
      const r = await alert(bot, uniqueId("warm"), "buy", m.qty);
      expect("status" in r && r.status, JSON.stringify(r)).toBe(200);
    }
    warmFills = { a: (await botFills(botA.id)).length, b: (await botFills(botB.id)).length };
    expect(warmFills.a).toBeGreaterThan(0);
    expect(warmFills.b).toBeGreaterThan(0);
  });

  it("both orders fill at the exchange, then the Workers are SIGKILLed before either answer arrives", async () => {
    // Each placement executes at once; its answer is held for 30 s, far past the kill.
    await simAdmin("/__admin/faults", [
      { kind: "delay", ms: 30_000, after: true, path: ORDER_PATH[A.venue], method: "POST" },
      { kind: "delay", ms: 30_000, after: true, path: ORDER_PATH[B.venue], method: "POST" },
    ]);
    let since = (await simRequests()).at(-1)?.seq ?? 0;
    const pendingA = alert(botA, sigA, "buy", A.qty);
    coidA = await waitPlaced(A, since);
    // A's sender hears `202 accepted` (the edge's 2.5 s budget) while the bot still waits.
    answerA = await pendingA;
    expect("status" in answerA && answerA.status, JSON.stringify(answerA)).toBe(202);

    since = (await simRequests()).at(-1)?.seq ?? 0;
    const pendingB = alert(botB, sigB, "buy", B.qty);
    coidB = await waitPlaced(B, since);
    expect(coidB).not.toBe(coidA);
    // Both orders are `sent` in their bots right now: the process dies with both answers pending.
    const restart = restartWorkers({ kill: true });
    answerB = await pendingB;
    await restart;
    // B's sender was cut off: it sees a transport error (or a 5xx), never a success.
    expect("error" in answerB || answerB.status >= 500, JSON.stringify(answerB)).toBe(true);
    await simAdmin("/__admin/faults", undefined, "DELETE");
  });

  it("the Durable Objects' state survived the kill: configs, fills and the orders left `sent`", async () => {
    for (const bot of [botA, botB]) {
      const res = await adminFetch<{ id: string }>(`/api/v1/bots/${bot.id}`);
      expect(res.status, res.text).toBe(200);
    }
    expect((await botFills(botA.id)).length).toBe(warmFills.a);
    expect((await botFills(botB.id)).length).toBe(warmFills.b);
    const a = (await orders(botA)).find((o) => o.client_order_id === coidA);
    const b = (await orders(botB)).find((o) => o.client_order_id === coidB);
    expect(a?.status, JSON.stringify(a)).toBe("sent");
    expect(b?.status, JSON.stringify(b)).toBe("sent");
  });

  it("the next cron tick resolves both orders by client id and books each fill exactly once", async () => {
    const since = (await simRequests()).at(-1)?.seq ?? 0;
    await runCron();
    const reqs = await simRequests(since);
    // Resolved by querying, never by sending again.
    expect(reqs.filter((r) => r.method === "POST" && Object.values(ORDER_PATH).includes(r.path)).length).toBe(0);
    for (const [bot, m, coid, warm] of [[botA, A, coidA, warmFills.a], [botB, B, coidB, warmFills.b]] as const) {
      const o = (await orders(bot)).find((x) => x.client_order_id === coid);
      expect(o?.status, `${m.venue}: ${JSON.stringify(o)}`).toBe("filled");
      const books = await booksOf(bot, m);
      expect(books.simOrders.filter((x) => x.client_id === coid).length, `${m.venue} orders with ${coid}`).toBe(1);
      const tradeIds = books.simTrades.map((t) => String(t.id)).sort();
      expect([...books.fills].sort(), `${m.venue}: every exchange trade booked once`).toEqual(tradeIds);
      expect(books.fills.length).toBeGreaterThan(warm);
      expect(await pnlQty(bot), `${m.venue} position`).toBe(signedQty(books.simTrades));
    }
  });

  it("both signals have their outcome: A executed; B's resend is a duplicate, not a second order", async () => {
    const a = await signalRow(botA, sigA);
    expect(a?.status, JSON.stringify(a)).toBe(200);
    expect(JSON.stringify(a?.outcome)).toContain(coidA);
    const b = await signalRow(botB, sigB);
    expect(b?.status, JSON.stringify(b)).toBe(200);
    expect(JSON.stringify(b?.outcome)).toContain(coidB);
    // B's sender never heard an answer and resends the same alert: refused as a duplicate that
    // carries the first outcome, and nothing reaches the exchange.
    const since = (await simRequests()).at(-1)?.seq ?? 0;
    const again = await alert(botB, sigB, "buy", B.qty);
    expect("status" in again && again.status, JSON.stringify(again)).toBe(409);
    expect("status" in again && again.text).toContain(coidB);
    expect((await simRequests(since)).filter((r) => r.method === "POST").length).toBe(0);
  });

  it("reconciliation agrees with the exchange, and a second tick changes nothing", async () => {
    for (const bot of [botA, botB]) {
      const res = await adminFetch<{ needs_attention: boolean; mismatches: unknown[] }>(`/api/v1/bots/${bot.id}/reconcile`, { method: "POST", json: {} });
      expect(res.status, res.text).toBe(200);
      expect(res.body?.mismatches, res.text).toEqual([]);
      expect(res.body?.needs_attention, res.text).toBe(false);
    }
    const before = [(await botFills(botA.id)).length, (await botFills(botB.id)).length];
    await runCron();
    expect([(await botFills(botA.id)).length, (await botFills(botB.id)).length]).toEqual(before);
    for (const [bot, m] of [[botA, A], [botB, B]] as const) {
      const books = await booksOf(bot, m);
      expect(books.fills.length).toBe(books.simTrades.length);
      expect(await pnlQty(bot)).toBe(signedQty(books.simTrades));
    }
  });
});
