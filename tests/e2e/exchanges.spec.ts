// Issue 4 + 5 end to end: testnet-mode bots pointed at the simulator (real signed requests) on
// Binance spot, Binance USDⓈ-M, Bybit spot and Bybit linear. A buy then a close; every request
// the bot sent is correctly signed (checked here with an independent HMAC); the bot's fills equal
// the simulator's trade history exactly; realized P&L on linear equals the sum of the sim's.
import { describe, expect, it } from "vitest";
import { adminFetch, simAdmin } from "./harness.js";
import { MARKETS, botFills, createSimBot, dec, decSum, expectSigned, fillKey, header, lastSeq, signal, simRequests, simTrades } from "./venue-helpers.js";

describe.each(MARKETS)("testnet bot on the simulator: $exchange $market", (m) => {
  it("buys then closes with signed requests; fills and P&L equal the exchange's", async () => {
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
    const bot = await createSimBot(m);
    const since = await lastSeq();

    const buy = await signal(bot, "buy", { qty: m.qty });
    expect(buy.status, buy.text).toBe(200);
    expect(buy.body?.status, buy.text).toBe("executed");
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65650" });
    const close = await signal(bot, "close");
    expect(close.status, close.text).toBe(200);
    expect(close.body?.status, close.text).toBe("executed");
    const closeOrder = close.body?.orders?.[0] ?? {};
    if (m.market === "linear") expect(closeOrder.reduce_only, close.text).toBe(true);

    // Every signed request was signed correctly (independent HMAC) and accepted.
    const reqs = (await simRequests(since)).filter(
      (r) => header(r, "X-MBX-APIKEY") !== undefined || header(r, "X-BAPI-API-KEY") !== undefined,
    );
    expect(reqs.length).toBeGreaterThanOrEqual(2);
    for (const r of reqs) expectSigned(r, m);
    const placements = reqs.filter((r) => r.method === "POST" && /\/order(\/create)?$/.test(r.path));
    expect(placements.length, JSON.stringify(placements.map((p) => p.path))).toBe(2);

    // The bot's fills are the exchange's trades, field for field.
    const fills = await botFills(bot.id);
    const orderIds = [...new Set(fills.map((f) => f.order_id))];
    expect(orderIds.length, JSON.stringify(fills)).toBe(2);
    const trades = await simTrades(m, orderIds);
    expect(trades.length).toBeGreaterThanOrEqual(2);
    expect(fills.map((f) => fillKey(f.price, f.qty, f.fee, f.fee_asset)).sort()).toEqual(
      trades.map((t) => fillKey(t.price, t.qty, t.commission, t.commission_asset)).sort(),
    );
    const pnl = await adminFetch<{ realized: string; by_instrument: Record<string, { position_qty: string }> }>(
      `/api/v1/bots/${bot.id}/pnl`,
    );
    expect(pnl.status, pnl.text).toBe(200);
    if (m.market === "linear") {
      const simRealized = decSum(trades.map((t) => t.realized_pnl));
      expect(simRealized).not.toBe("0");
      expect(dec(pnl.body?.realized ?? "NaN"), pnl.text).toBe(simRealized);
      expect(dec(pnl.body?.by_instrument.BTCUSDT?.position_qty ?? "0"), pnl.text).toBe("0");
    }
  });
});

describe("paper and testnet-on-simulator bots given the same alerts", () => {
  it("end with the same position, to the last decimal", async () => {
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
    const m = MARKETS[0];
    const live = await createSimBot(m);
    const paper = await createSimBot(m, { mode: "paper" });
    const alerts: [string, Record<string, unknown>][] = [
      ["buy", { qty: "0.002" }],
      ["buy", { qty: "0.001" }],
      ["sell", { qty: "0.001" }],
    ];
    for (const [action, extra] of alerts) {
      for (const bot of [live, paper]) {
        const r = await signal(bot, action, extra);
        expect(r.status, r.text).toBe(200);
        expect(r.body?.status, r.text).toBe("executed");
      }
    }
    const position = async (id: string): Promise<string> => {
      const pnl = await adminFetch<{ by_instrument: Record<string, { position_qty: string }> }>(`/api/v1/bots/${id}/pnl`);
      expect(pnl.status, pnl.text).toBe(200);
      return dec(pnl.body?.by_instrument.BTCUSDT?.position_qty ?? "0");
    };
    const livePos = await position(live.id);
    expect(livePos).not.toBe("0");
    expect(await position(paper.id)).toBe(livePos);
  });
});

describe("target-position alerts (Binance USDⓈ-M on the simulator)", () => {
  it("heal a missed alert and ignore a duplicated one", async () => {
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
    const bot = await createSimBot(MARKETS[1]);
    const position = async (): Promise<string> => {
      const pnl = await adminFetch<{ by_instrument: Record<string, { position_qty: string }> }>(`/api/v1/bots/${bot.id}/pnl`);
      expect(pnl.status, pnl.text).toBe(200);
      return dec(pnl.body?.by_instrument.BTCUSDT?.position_qty ?? "0");
    };
    const target = (qty: string) => signal(bot, "target", { target_position: qty });

    const first = await target("0.002");
    expect(first.status, first.text).toBe(200);
    expect(await position()).toBe("0.002");
    // The alert for 0.004 was missed; the next one (0.006) trades the whole difference.
    const healed = await target("0.006");
    expect(healed.status, healed.text).toBe(200);
    expect(healed.body?.orders?.length, healed.text).toBe(1);
    expect(await position()).toBe("0.006");
    // A duplicated alert (new id, same target) places nothing.
    const dup = await target("0.006");
    expect(dup.status, dup.text).toBe(200);
    expect(dup.body?.status, dup.text).toBe("nothing_to_do");
    expect(await position()).toBe("0.006");
    const down = await target("0");
    expect(down.status, down.text).toBe(200);
    expect(await position()).toBe("0");
  });
});
