// Issue 4 faults through the real Worker: the simulator drops the connection after accepting an
// order, skews its clock, rate-limits, and answers 5xx. The bot must never double an order, must
// recover from a timestamp error with one resync, must back off on 429 (never earn a 418), and
// must refuse entries with 503 `circuit_open` while still letting a reduce-only close through.
import { afterEach, describe, expect, it } from "vitest";
import { adminFetch, simAdmin } from "./harness.js";
import { MARKETS, botFills, createSimBot, lastSeq, signal, simRequests, simTrades } from "./venue-helpers.js";

const binanceSpot = MARKETS[0];
const bybitLinear = MARKETS[3];

afterEach(async () => {
  await simAdmin("/__admin/faults", undefined, "DELETE");
  await simAdmin("/__admin/clock", { offset_ms: 0 });
});

describe("exchange faults", () => {
  it("a dropped answer after the order was accepted: resolved by client id, exactly one order, fill booked", async () => {
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
    const bot = await createSimBot(binanceSpot);
    await signal(bot, "buy", { qty: "0.001" }).then((r) => expect(r.status, r.text).toBe(200)); // warm rules + clock
    const since = await lastSeq();
    await simAdmin("/__admin/faults", { kind: "drop", path: "/api/v3/order", method: "POST" });

    const res = await signal(bot, "buy", { qty: "0.001" });
    expect(res.status, res.text).toBe(200);
    expect(res.body?.status, res.text).toBe("executed");
    const coid = String(res.body?.orders?.[0]?.client_order_id);

    const reqs = await simRequests(since);
    const posts = reqs.filter((r) => r.method === "POST" && r.path === "/api/v3/order");
    expect(posts.length, JSON.stringify(posts.map((p) => p.status))).toBe(1);
    expect(posts[0].status).toBe(0); // dropped
    expect(`${posts[0].query}${posts[0].body}`).toContain(`newClientOrderId=${coid}`);
    const queries = reqs.filter((r) => r.method === "GET" && r.path === "/api/v3/order");
    expect(queries.length).toBeGreaterThanOrEqual(1);
    expect(queries[0].query).toContain(`origClientOrderId=${coid}`);

    const fills = await botFills(bot.id);
    expect(fills.length, JSON.stringify(fills)).toBe(2);
    const orderIds = [...new Set(fills.map((f) => f.order_id))];
    expect((await simTrades(binanceSpot, orderIds)).length).toBe(2);
  });

  it("clock skew: a timestamp error triggers one resync and the order succeeds", async () => {
    const bot = await createSimBot(binanceSpot);
    await signal(bot, "buy", { qty: "0.001" }).then((r) => expect(r.status, r.text).toBe(200));
    const since = await lastSeq();
    await simAdmin("/__admin/clock", { offset_ms: 20_000 });
    const res = await signal(bot, "buy", { qty: "0.001" });
    expect(res.status, res.text).toBe(200);
    expect(res.body?.status, res.text).toBe("executed");
    const reqs = await simRequests(since);
    const timeCalls = reqs.filter((r) => r.path === "/api/v3/time");
    const rejected = reqs.filter((r) => r.status === 400);
    expect(timeCalls.length, JSON.stringify(reqs.map((r) => [r.path, r.status]))).toBe(1);
    expect(rejected.length, JSON.stringify(reqs.map((r) => [r.path, r.status]))).toBeLessThanOrEqual(1);
    const posts = reqs.filter((r) => r.method === "POST" && r.path === "/api/v3/order");
    expect(posts.filter((p) => p.status === 200).length).toBe(1);
  });

  it("rate limit: a 429 is honoured and nothing earns a 418", async () => {
    const config = await simAdmin<{ rate_limits?: Record<string, unknown> }>("/__admin/config");
    // Its own account: the back-off it earns belongs to that account (AccountDO) and must not
    // hold up the other specs' bots on binance-main.
    const bot = await createSimBot({
      ...binanceSpot,
      account: "binance-bnb",
      key: "simBinanceKeyBnb0002",
      secret: "simBinanceSecretBnb0002",
    });
    await signal(bot, "buy", { qty: "0.001" }).then((r) => expect(r.status, r.text).toBe(200));
    const since = await lastSeq();
    await simAdmin("/__admin/ratelimit", { binance_spot_weight_1m: 3, binance_requests_before_ban: 2 });
    try {
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await signal(bot, "buy", { qty: "0.001" }));
      const reqs = await simRequests(since);
      const statuses = reqs.map((r) => r.status);
      expect(statuses, JSON.stringify(statuses)).toContain(429);
      expect(statuses, JSON.stringify(statuses)).not.toContain(418);
      // Once limited, the bot answers 503 (exchange unavailable / rate limited) rather than hammering.
      const refused = answers.filter((a) => a.status === 503);
      expect(refused.length, JSON.stringify(answers.map((a) => a.text))).toBeGreaterThan(0);
    } finally {
      await simAdmin("/__admin/ratelimit", config.rate_limits ?? {});
    }
  });

  it("repeated 5xx open the circuit: entries refused with 503 circuit_open, a reduce-only close still goes through", async () => {
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
    const bot = await createSimBot(bybitLinear);
    const open = await signal(bot, "buy", { qty: bybitLinear.qty });
    expect(open.status, open.text).toBe(200);
    await simAdmin("/__admin/faults", { kind: "error", status: 503, count: 50 });
    for (let i = 0; i < 3; i++) {
      const r = await signal(bot, "buy", { qty: bybitLinear.qty });
      expect(r.status, r.text).toBe(503);
    }
    await simAdmin("/__admin/faults", undefined, "DELETE");
    const since = await lastSeq();
    const refused = await signal(bot, "buy", { qty: bybitLinear.qty });
    expect(refused.status, refused.text).toBe(503);
    expect(refused.body?.code, refused.text).toBe("circuit_open");
    expect((await simRequests(since)).filter((r) => r.path === "/v5/order/create").length).toBe(0);
    const audit = await adminFetch(`/api/v1/bots/${bot.id}/audit?limit=1000`);
    expect(audit.text).toContain("circuit_open");

    const close = await signal(bot, "close");
    expect(close.status, close.text).toBe(200);
    expect(close.body?.status, close.text).toBe("executed");
    expect(close.body?.orders?.[0]?.reduce_only).toBe(true);
    const pos = await adminFetch<{ by_instrument: Record<string, { position_qty: string }> }>(`/api/v1/bots/${bot.id}/pnl`);
    expect(Number(pos.body?.by_instrument.BTCUSDT?.position_qty ?? "0"), pos.text).toBe(0);
  });
});
