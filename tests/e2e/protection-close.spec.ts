// Closing a holding while the bot's own exchange-side exits rest: the bot cancels them first
// (Binance spot OCO list, Binance USD-M algo triggers, Bybit spot TP/SL order — each through its
// own cancel endpoint), then closes. Without this a spot close fails on the balance the exits
// lock, and USD-M triggers (which cancel-all-open-orders does not reach) outlive the position.
import { describe, expect, it } from "vitest";
import { adminFetch, simAdmin } from "./harness.js";
import { MARKETS, botFills, createSimBot, dec, decSum, fillKey, lastSeq, signal, simRequests, simTrades } from "./venue-helpers.js";

interface SimConditional {
  kind: "StopLoss" | "TakeProfit";
  client_id: string;
  status: "Untriggered" | "Triggered" | "Deactivated";
}

async function conditionals(): Promise<SimConditional[]> {
  const state = (await simAdmin("/__admin/state")) as { conditionals?: SimConditional[] };
  return state.conditionals ?? [];
}

const orderId = (r: { body?: { orders?: Record<string, unknown>[] } | null }): string =>
  String((r.body?.orders?.[0] as { order_id?: string } | undefined)?.order_id ?? "");

/** The bot's exit rows' statuses, sorted. */
async function exitStatuses(botId: string): Promise<string[]> {
  const orders = await adminFetch<{ status: string }[]>(`/api/v1/bots/${botId}/orders?limit=100`);
  return (orders.body ?? []).filter((o) => o.status.startsWith("trigger_")).map((o) => o.status).sort();
}

/** The bot's fills are exactly the simulator's trades of the entry and the close. */
async function expectBooked(m: (typeof MARKETS)[number], botId: string, ids: string[]): Promise<void> {
  const fills = await botFills(botId);
  const trades = await simTrades(m, ids);
  expect(fills.length, JSON.stringify(fills)).toBe(2);
  expect(trades.length).toBe(2);
  expect(fills.map((f) => fillKey(f.price, f.qty, f.fee, f.fee_asset)).sort()).toEqual(
    trades.map((t) => fillKey(t.price, t.qty, t.commission, t.commission_asset)).sort(),
  );
}

describe("close with the bot's own exits resting", () => {
  it("Binance spot: close cancels the OCO list, then sells the holding", async () => {
    const m = MARKETS.find((x) => x.exchange === "binance" && x.market === "spot")!;
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000", venue: "binance_spot" });
    const bot = await createSimBot(m);
    const before = (await conditionals()).length;
    const placed = await lastSeq();
    const buy = await signal(bot, "buy", { qty: m.qty, stop_loss: "64000", take_profit: "67000" });
    expect(buy.status, buy.text).toBe(200);
    const oco = (await simRequests(placed)).find((r) => r.method === "POST" && r.path === "/api/v3/orderList/oco");
    expect(oco?.status).toBe(200);
    const target = new URLSearchParams(`${oco?.query}&${oco?.body}`).get("aboveClientOrderId");
    const stop = (await conditionals()).slice(before);
    expect(stop.map((c) => c.status)).toEqual(["Untriggered"]);

    const since = await lastSeq();
    const close = await signal(bot, "close");
    expect(close.status, close.text).toBe(200);
    expect(close.body?.status, close.text).toBe("executed");
    const reqs = await simRequests(since);
    const cancels = reqs.filter((r) => r.method === "DELETE" && r.path === "/api/v3/orderList");
    expect(cancels.length).toBe(1);
    expect(cancels[0].status).toBe(200);
    // The list is gone: the stop leg deactivated, the target leg no longer open.
    expect((await conditionals()).slice(before).map((c) => c.status)).toEqual(["Deactivated"]);
    const st = (await simAdmin("/__admin/state?account=binance-main")) as { orders: { client_id: string; status: string }[] };
    expect(st.orders.find((o) => o.client_id === target)?.status).toBe("Canceled");

    await expectBooked(m, bot.id, [orderId(buy), orderId(close)]);
    const pnl = await adminFetch<{ by_instrument: Record<string, { position_qty: string }> }>(`/api/v1/bots/${bot.id}/pnl`);
    // What is left is below the 0.00001 step (the BTC fee of the buy).
    expect(Math.abs(Number(pnl.body?.by_instrument.BTCUSDT?.position_qty ?? "NaN")), pnl.text).toBeLessThan(0.00001);
    expect(await exitStatuses(bot.id)).toEqual(["trigger_cancelled", "trigger_cancelled"]);
  });

  it("Binance USD-M: close cancels the algo triggers; none is left at the exchange", async () => {
    const m = MARKETS.find((x) => x.exchange === "binance" && x.market === "linear")!;
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000", venue: "binance_futures" });
    const bot = await createSimBot(m);
    const before = (await conditionals()).length;
    const buy = await signal(bot, "buy", { qty: m.qty, stop_loss: "64000", take_profit: "67000" });
    expect(buy.status, buy.text).toBe(200);
    expect((await conditionals()).slice(before).map((c) => c.status)).toEqual(["Untriggered", "Untriggered"]);

    const since = await lastSeq();
    const close = await signal(bot, "close");
    expect(close.status, close.text).toBe(200);
    expect(close.body?.status, close.text).toBe("executed");
    const cancels = (await simRequests(since)).filter((r) => r.method === "DELETE" && r.path === "/fapi/v1/algoOrder");
    expect(cancels.map((r) => r.status)).toEqual([200, 200]);
    expect((await conditionals()).slice(before).map((c) => c.status)).toEqual(["Deactivated", "Deactivated"]);
    await expectBooked(m, bot.id, [orderId(buy), orderId(close)]);
    // Flat, with realized P&L and fees equal to the simulator's trades.
    const trades = await simTrades(m, [orderId(buy), orderId(close)]);
    const pnl = await adminFetch<{ realized: string; fees: { total_quote: string }; by_instrument: Record<string, { position_qty: string }> }>(
      `/api/v1/bots/${bot.id}/pnl`,
    );
    expect(dec(pnl.body?.by_instrument.BTCUSDT?.position_qty ?? "NaN"), pnl.text).toBe("0");
    expect(dec(pnl.body?.realized ?? "NaN"), pnl.text).toBe(decSum(trades.map((t) => t.realized_pnl)));
    expect(dec(pnl.body?.fees.total_quote ?? "NaN"), pnl.text).toBe(decSum(trades.map((t) => t.commission)));
    expect(await exitStatuses(bot.id)).toEqual(["trigger_cancelled", "trigger_cancelled"]);
  });

  it("Bybit spot: close cancels the TP/SL order that locks the holding, then sells it", async () => {
    const m = MARKETS.find((x) => x.exchange === "bybit" && x.market === "spot")!;
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000", venue: "bybit_spot" });
    const bot = await createSimBot(m);
    const before = (await conditionals()).length;
    const buy = await signal(bot, "buy", { qty: m.qty, stop_loss: "64000" });
    expect(buy.status, buy.text).toBe(200);
    expect((await conditionals()).slice(before).map((c) => c.status)).toEqual(["Untriggered"]);

    const since = await lastSeq();
    const close = await signal(bot, "close");
    expect(close.status, close.text).toBe(200);
    expect(close.body?.status, close.text).toBe("executed");
    const cancels = (await simRequests(since)).filter((r) => r.path === "/v5/order/cancel");
    expect(cancels.length).toBe(1);
    expect(JSON.parse(cancels[0].body)).toMatchObject({ category: "spot", orderFilter: "tpslOrder" });
    expect((await conditionals()).slice(before).map((c) => c.status)).toEqual(["Deactivated"]);
    await expectBooked(m, bot.id, [orderId(buy), orderId(close)]);
    expect(await exitStatuses(bot.id)).toEqual(["trigger_cancelled"]);
  });

  it("Binance USD-M: flatten leaves no algo trigger of the bot behind", async () => {
    const m = MARKETS.find((x) => x.exchange === "binance" && x.market === "linear")!;
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000", venue: "binance_futures" });
    const bot = await createSimBot(m);
    const before = (await conditionals()).length;
    const buy = await signal(bot, "buy", { qty: m.qty, stop_loss: "64000", take_profit: "67000" });
    expect(buy.status, buy.text).toBe(200);
    expect((await conditionals()).slice(before).map((c) => c.status)).toEqual(["Untriggered", "Untriggered"]);

    const res = await adminFetch<{ flat: boolean }>(`/api/v1/bots/${bot.id}/flatten`, { method: "POST", json: { reason: "e2e" } });
    expect(res.status, res.text).toBe(200);
    expect(res.body?.flat, res.text).toBe(true);
    // cancel-all-open-orders does not reach algo orders: the bot cancelled its triggers itself.
    expect((await conditionals()).slice(before).map((c) => c.status)).toEqual(["Deactivated", "Deactivated"]);
    expect(await exitStatuses(bot.id)).toEqual(["trigger_cancelled", "trigger_cancelled"]);
  });
});
