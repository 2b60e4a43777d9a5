// Issue 5, exchange-side protection: a Bybit linear testnet bot on the simulator gets a buy with
// stop_loss / take_profit; the create request carries them (tick-rounded strings, tpslMode=Full,
// mark-price triggers), the simulator holds them as untriggered exits, and moving the price
// through the stop closes the position on the exchange without any request from the bot. The
// bot then claims the exchange-made close (a new order id, no client id of ours) for the exit it
// placed and books it: flat, with realized P&L and fees equal to the simulator's own trades, and
// reconciliation finds nothing foreign and books nothing twice.
import { describe, expect, it } from "vitest";
import { adminFetch, simAdmin } from "./harness.js";
import {
  type Market,
  MARKETS,
  botFills,
  createSimBot,
  dec,
  decSum,
  fillKey,
  lastSeq,
  signal,
  simRequests,
  simTrades,
} from "./venue-helpers.js";

interface SimConditional {
  venue: string;
  account: string;
  kind: "StopLoss" | "TakeProfit";
  trigger: string;
  status: "Untriggered" | "Triggered" | "Deactivated";
  parent_id: number;
  order_id: number | null;
}

async function conditionals(): Promise<SimConditional[]> {
  const state = (await simAdmin("/__admin/state")) as { conditionals?: SimConditional[] };
  return state.conditionals ?? [];
}

async function positionSize(account: string, key = "BybitLinear:BTCUSDT"): Promise<number> {
  const state = (await simAdmin("/__admin/state")) as {
    accounts: { name: string; positions: Record<string, { amt: string }> }[];
  };
  const acc = state.accounts.find((a) => a.name === account);
  return Number(acc?.positions[key]?.amt ?? "0");
}

interface Pnl {
  realized: string;
  fees: { total_quote: string };
  by_instrument: Record<string, { position_qty: string; realized: string }>;
}

interface Recon {
  status: string;
  needs_attention: boolean;
  mismatches: { subject: string }[];
}

const tradeMismatches = (r: Recon | null | undefined): { subject: string }[] =>
  (r?.mismatches ?? [{ subject: "no answer" }]).filter((m) => m.subject !== "unknown_open_order");

/**
 * After the exchange stopped the position out: a reconciliation (which first looks at the bot's
 * exchange-side exits) books the close; the bot is flat and its realized P&L and fees equal the
 * simulator's trades of the entry and the exchange-made close, to the last decimal.
 */
async function expectStopOutBooked(m: Market, botId: string, entryOrderId: string, closeOrderId: string): Promise<void> {
  const recon = await adminFetch<Recon>(`/api/v1/bots/${botId}/reconcile`, { method: "POST", json: {} });
  expect(recon.status, recon.text).toBe(200);
  // Nothing about the bot's trades differs (no extra, missing or foreign-booked trade). Resting
  // orders other specs left on the shared simulator account are reported separately.
  expect(tradeMismatches(recon.body), recon.text).toEqual([]);

  const fills = await botFills(botId);
  expect(fills.length, JSON.stringify(fills)).toBe(2);
  const trades = await simTrades(m, [entryOrderId, closeOrderId]);
  expect(trades.length).toBe(2);
  expect(fills.map((f) => fillKey(f.price, f.qty, f.fee, f.fee_asset)).sort()).toEqual(
    trades.map((t) => fillKey(t.price, t.qty, t.commission, t.commission_asset)).sort(),
  );
  const pnl = await adminFetch<Pnl>(`/api/v1/bots/${botId}/pnl`);
  expect(pnl.status, pnl.text).toBe(200);
  expect(dec(pnl.body?.by_instrument.BTCUSDT?.position_qty ?? "NaN"), pnl.text).toBe("0");
  const simRealized = decSum(trades.map((t) => t.realized_pnl));
  expect(simRealized.startsWith("-"), simRealized).toBe(true); // a stop-out loses
  expect(dec(pnl.body?.realized ?? "NaN"), pnl.text).toBe(simRealized);
  expect(dec(pnl.body?.fees.total_quote ?? "NaN"), pnl.text).toBe(decSum(trades.map((t) => t.commission)));

  // A second run books nothing twice and still finds nothing foreign in the bot's orders.
  const again = await adminFetch<Recon>(`/api/v1/bots/${botId}/reconcile`, { method: "POST", json: {} });
  expect(tradeMismatches(again.body), again.text).toEqual([]);
  expect((await botFills(botId)).length).toBe(2);
  const orders = await adminFetch<{ client_order_id: string; status: string }[]>(`/api/v1/bots/${botId}/orders?limit=100`);
  const exits = (orders.body ?? []).filter((o) => o.status.startsWith("trigger_")).map((o) => o.status).sort();
  expect(exits, orders.text).toEqual(["trigger_cancelled", "trigger_filled"]);
}

describe("exchange-side stop-loss / take-profit", () => {
  it("Bybit linear: TP/SL ride on the entry and the exchange stops the position out", async () => {
    const m = MARKETS.find((x) => x.exchange === "bybit" && x.market === "linear")!;
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
    const bot = await createSimBot(m);
    const since = await lastSeq();
    const before = (await conditionals()).length;

    const buy = await signal(bot, "buy", { qty: m.qty, stop_loss: "64000.03", take_profit: "67000.07" });
    expect(buy.status, buy.text).toBe(200);
    expect(buy.body?.status, buy.text).toBe("executed");

    // The create request carries the protection, rounded to the 0.1 tick without loosening.
    const creates = (await simRequests(since)).filter((r) => r.method === "POST" && r.path === "/v5/order/create");
    expect(creates.length).toBe(1);
    const body = JSON.parse(creates[0].body) as Record<string, unknown>;
    expect(body).toMatchObject({
      category: "linear",
      side: "Buy",
      stopLoss: "64000.1",
      takeProfit: "67000",
      tpslMode: "Full",
      slTriggerBy: "MarkPrice",
      tpTriggerBy: "MarkPrice",
    });

    // The simulator holds both exits, untriggered.
    const mine = (await conditionals()).slice(before);
    expect(mine.map((c) => [c.kind, c.trigger, c.status])).toEqual([
      ["TakeProfit", "67000", "Untriggered"],
      ["StopLoss", "64000.1", "Untriggered"],
    ]);
    expect(await positionSize(m.account)).not.toBe(0);

    // The price falls through the stop: the exchange closes the whole position by itself.
    const quiet = await lastSeq();
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "63900", venue: "bybit_linear" });
    const after = (await conditionals()).slice(before);
    expect(after.map((c) => c.status)).toEqual(["Deactivated", "Triggered"]);
    expect(after[1].order_id).not.toBeNull();
    expect(await positionSize(m.account)).toBe(0);
    const botRequests = (await simRequests(quiet)).filter((r) => r.path === "/v5/order/create");
    expect(botRequests.length).toBe(0);

    const entryId = String((buy.body?.orders?.[0] as { order_id?: string } | undefined)?.order_id ?? "");
    await expectStopOutBooked(m, bot.id, entryId, String(after[1].order_id));
  });

  it("Binance USD-M: close-position algo triggers after the fill; the exchange stops the position out", async () => {
    const m = MARKETS.find((x) => x.exchange === "binance" && x.market === "linear")!;
    const key = "BinanceFutures:BTCUSDT";
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
    const bot = await createSimBot(m);
    const since = await lastSeq();
    const before = (await conditionals()).length;

    const buy = await signal(bot, "buy", { qty: m.qty, stop_loss: "64000.03", take_profit: "67000.07" });
    expect(buy.status, buy.text).toBe(200);
    expect(buy.body?.status, buy.text).toBe("executed");

    // Two signed algo orders, closePosition on the mark price, triggers rounded to the 0.1 tick.
    const algos = (await simRequests(since)).filter((r) => r.method === "POST" && r.path === "/fapi/v1/algoOrder");
    expect(algos.length).toBe(2);
    const params = algos.map((r) => new URLSearchParams(`${r.query}&${r.body}`));
    expect(params.map((p) => [p.get("type"), p.get("side"), p.get("triggerPrice"), p.get("closePosition"), p.get("workingType")])).toEqual([
      ["STOP_MARKET", "SELL", "64000.1", "true", "MARK_PRICE"],
      ["TAKE_PROFIT_MARKET", "SELL", "67000", "true", "MARK_PRICE"],
    ]);
    const mine = (await conditionals()).slice(before);
    expect(mine.map((c) => [c.kind, c.status])).toEqual([
      ["StopLoss", "Untriggered"],
      ["TakeProfit", "Untriggered"],
    ]);
    expect(await positionSize(m.account, key)).not.toBe(0);

    // The stop fires on the exchange; the bot itself sends nothing for the stop-out.
    const quiet = await lastSeq();
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "63900", venue: "binance_futures" });
    const after = (await conditionals()).slice(before);
    expect(after.map((c) => c.status)).toEqual(["Triggered", "Deactivated"]);
    expect(await positionSize(m.account, key)).toBe(0);
    expect((await simRequests(quiet)).filter((r) => r.method === "POST").length).toBe(0);
    expect((await botFills(bot.id)).length).toBe(1);

    // The bot learns the fired trigger's actualOrderId from the Algo Service and books its trades.
    const entryId = String((buy.body?.orders?.[0] as { order_id?: string } | undefined)?.order_id ?? "");
    await expectStopOutBooked(m, bot.id, entryId, String(after[0].order_id));
    const lookups = (await simRequests(quiet)).filter((r) => r.method === "GET" && r.path === "/fapi/v1/algoOrder");
    expect(lookups.length).toBeGreaterThanOrEqual(2);
  });

  it("Binance spot: an OCO pair protects the holding; the stop leg fires and expires the target", async () => {
    const m = MARKETS.find((x) => x.exchange === "binance" && x.market === "spot")!;
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000", venue: "binance_spot" });
    const bot = await createSimBot(m);
    const since = await lastSeq();
    const before = (await conditionals()).length;

    const buy = await signal(bot, "buy", { qty: m.qty, stop_loss: "64000.005", take_profit: "67000.009" });
    expect(buy.status, buy.text).toBe(200);
    expect(buy.body?.status, buy.text).toBe("executed");
    const [entryFill] = await botFills(bot.id);
    // What the buy left held: its quantity less the BTC fee, down to the 0.00001 step.
    const held = decSum([entryFill.qty, entryFill.fee_asset === "BTC" ? `-${entryFill.fee}` : "0"]);
    const [whole, frac = ""] = held.split(".");
    const qty = dec(`${whole}.${frac.slice(0, 5) || "0"}`);

    // One signed OCO list: the target a LIMIT_MAKER above (rounded down to the 0.01 tick), the
    // stop a STOP_LOSS below (rounded up), both for the held quantity.
    const ocos = (await simRequests(since)).filter((r) => r.method === "POST" && r.path === "/api/v3/orderList/oco");
    expect(ocos.length).toBe(1);
    const p = new URLSearchParams(`${ocos[0].query}&${ocos[0].body}`);
    expect([p.get("side"), dec(p.get("quantity") ?? "NaN"), p.get("aboveType"), p.get("abovePrice"), p.get("belowType"), p.get("belowStopPrice")]).toEqual(
      ["SELL", qty, "LIMIT_MAKER", "67000", "STOP_LOSS", "64000.01"],
    );
    expect(ocos[0].status).toBe(200);
    const stop = (await conditionals()).slice(before);
    expect(stop.map((c) => [c.kind, c.trigger, c.status])).toEqual([["StopLoss", "64000.01", "Untriggered"]]);

    // The price falls through the stop: the exchange sells the holding and expires the target.
    const quiet = await lastSeq();
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "63900", venue: "binance_spot" });
    const fired = (await conditionals()).slice(before);
    expect(fired.map((c) => c.status)).toEqual(["Triggered"]);
    expect((await simRequests(quiet)).filter((r) => r.method === "POST").length).toBe(0);
    const st = (await simAdmin("/__admin/state?account=binance-main")) as { orders: { id: number; status: string; limit_maker: boolean; client_id: string }[] };
    const target = st.orders.find((o) => o.client_id === p.get("aboveClientOrderId"));
    expect(target?.status).toBe("Expired");

    // The bot books the stop leg's sale: its fills are the exchange's trades, and what is left is
    // exactly the dust below the step.
    const recon = await adminFetch<Recon>(`/api/v1/bots/${bot.id}/reconcile`, { method: "POST", json: {} });
    expect(tradeMismatches(recon.body), recon.text).toEqual([]);
    const fills = await botFills(bot.id);
    expect(fills.length, JSON.stringify(fills)).toBe(2);
    const entryId = String((buy.body?.orders?.[0] as { order_id?: string } | undefined)?.order_id ?? "");
    const trades = await simTrades(m, [entryId, String(fired[0].order_id)]);
    expect(fills.map((f) => fillKey(f.price, f.qty, f.fee, f.fee_asset)).sort()).toEqual(
      trades.map((t) => fillKey(t.price, t.qty, t.commission, t.commission_asset)).sort(),
    );
    const pnl = await adminFetch<Pnl>(`/api/v1/bots/${bot.id}/pnl`);
    expect(dec(pnl.body?.by_instrument.BTCUSDT?.position_qty ?? "NaN"), pnl.text).toBe(decSum([held, `-${qty}`]));
    expect(dec(pnl.body?.realized ?? "0").startsWith("-"), pnl.text).toBe(true);
    await adminFetch(`/api/v1/bots/${bot.id}/reconcile`, { method: "POST", json: {} });
    expect((await botFills(bot.id)).length).toBe(2);
    const orders = await adminFetch<{ status: string }[]>(`/api/v1/bots/${bot.id}/orders?limit=100`);
    const exits = (orders.body ?? []).filter((o) => o.status.startsWith("trigger_")).map((o) => o.status).sort();
    expect(exits, orders.text).toEqual(["trigger_cancelled", "trigger_filled"]);
  });

  it("Bybit spot: a market buy gets a spot TP/SL order for its holding; the stop sells it", async () => {
    const m = MARKETS.find((x) => x.exchange === "bybit" && x.market === "spot")!;
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000", venue: "bybit_spot" });
    const bot = await createSimBot(m);
    const since = await lastSeq();
    const before = (await conditionals()).length;

    const buy = await signal(bot, "buy", { qty: m.qty, stop_loss: "64000.005", take_profit: "67000.009" });
    expect(buy.status, buy.text).toBe(200);
    expect(buy.body?.status, buy.text).toBe("executed");
    const [entryFill] = await botFills(bot.id);
    const held = decSum([entryFill.qty, entryFill.fee_asset === "BTC" ? `-${entryFill.fee}` : "0"]);
    const [whole, frac = ""] = held.split(".");
    const qty = dec(`${whole}.${frac.slice(0, 6) || "0"}`);

    // Spot market orders take no TP/SL: one tpslOrder sells the holding at the stop (rounded up
    // to the 0.01 tick); Bybit locks its quantity, so the take-profit is answered as not placed.
    const creates = (await simRequests(since)).filter((r) => r.method === "POST" && r.path === "/v5/order/create");
    expect(creates.length).toBe(2);
    const body = JSON.parse(creates[1].body) as Record<string, string>;
    expect(body).toMatchObject({ category: "spot", side: "Sell", orderType: "Market", orderFilter: "tpslOrder", triggerPrice: "64000.01", marketUnit: "baseCoin" });
    expect(dec(body.qty)).toBe(qty);
    const exits = (buy.body?.orders?.[0] as { exit_triggers?: { status: string; error: string | null }[] } | undefined)?.exit_triggers ?? [];
    expect(exits.map((x) => x.status), buy.text).toEqual(["trigger_open"]);
    expect(exits[0].error ?? "", buy.text).toMatch(/take-profit not placed/);
    expect((await conditionals()).slice(before).map((c) => [c.kind, c.trigger, c.status])).toEqual([["StopLoss", "64000.01", "Untriggered"]]);

    // The price falls through the stop: the exchange sells the holding by itself.
    const quiet = await lastSeq();
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "63900", venue: "bybit_spot" });
    const fired = (await conditionals()).slice(before);
    expect(fired.map((c) => c.status)).toEqual(["Triggered"]);
    expect((await simRequests(quiet)).filter((r) => r.method === "POST").length).toBe(0);

    const recon = await adminFetch<Recon>(`/api/v1/bots/${bot.id}/reconcile`, { method: "POST", json: {} });
    expect(tradeMismatches(recon.body), recon.text).toEqual([]);
    const fills = await botFills(bot.id);
    expect(fills.length, JSON.stringify(fills)).toBe(2);
    const entryId = String((buy.body?.orders?.[0] as { order_id?: string } | undefined)?.order_id ?? "");
    const trades = await simTrades(m, [entryId, String(fired[0].order_id)]);
    expect(fills.map((f) => fillKey(f.price, f.qty, f.fee, f.fee_asset)).sort()).toEqual(
      trades.map((t) => fillKey(t.price, t.qty, t.commission, t.commission_asset)).sort(),
    );
    const pnl = await adminFetch<Pnl>(`/api/v1/bots/${bot.id}/pnl`);
    expect(dec(pnl.body?.by_instrument.BTCUSDT?.position_qty ?? "NaN"), pnl.text).toBe(decSum([held, `-${qty}`]));
    expect(dec(pnl.body?.realized ?? "0").startsWith("-"), pnl.text).toBe(true);
    await adminFetch(`/api/v1/bots/${bot.id}/reconcile`, { method: "POST", json: {} });
    expect((await botFills(bot.id)).length).toBe(2);
    const orders = await adminFetch<{ status: string }[]>(`/api/v1/bots/${bot.id}/orders?limit=100`);
    expect((orders.body ?? []).filter((o) => o.status.startsWith("trigger_")).map((o) => o.status), orders.text).toEqual(["trigger_filled"]);
  });
});
