// Issue 5, exchange-side protection: a Bybit linear testnet bot on the simulator gets a buy with
// stop_loss / take_profit; the create request carries them (tick-rounded strings, tpslMode=Full,
// mark-price triggers), the simulator holds them as untriggered exits, and moving the price
// through the stop closes the position on the exchange without any request from the bot.
import { describe, expect, it } from "vitest";
import { simAdmin } from "./harness.js";
import { MARKETS, botFills, createSimBot, lastSeq, signal, simRequests } from "./venue-helpers.js";

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

    // The stop fires on the exchange. (Booking that closing fill at reconciliation needs the
    // trigger's actualOrderId: the trade carries it, not the algoId the bot recorded.)
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "63900", venue: "binance_futures" });
    expect((await conditionals()).slice(before).map((c) => c.status)).toEqual(["Triggered", "Deactivated"]);
    expect(await positionSize(m.account, key)).toBe(0);
    // The bot itself sent nothing for the stop-out: its book still shows only the entry fill.
    expect((await botFills(bot.id)).length).toBe(1);
  });
});
