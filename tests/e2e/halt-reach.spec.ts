// Issue 26 item 4, "the halt reaches a bot that was unreachable", end to end: a bot whose trading
// execution is stuck at the exchange (the simulator holds its order 9 s) cannot confirm the halt;
// the halt still answers in bounded time, lists it as unreached, and the bot refuses entries on
// its own once that execution ends, while closes pass. And a halt or pause stored while an
// execution waits for a fee asset's price is not undone by that execution (it used to write back
// the flags it had read before the wait).
import { afterAll, describe, expect, it } from "vitest";
import { adminFetch, simAdmin } from "./harness.js";
import { type Bot, createBot, health, positions, signal, waitFor } from "./ops-helpers.js";
import { simRequests, lastSeq } from "./venue-helpers.js";

interface Order {
  client_order_id: string;
  status: string;
}

interface HaltAnswer {
  bots: Record<string, { halted?: boolean; error?: { code: string; message: string } }>;
  unreached: string[];
}

async function orders(bot: Bot): Promise<Order[]> {
  const res = await adminFetch<Order[]>(`/api/v1/bots/${bot.id}/orders?limit=100`);
  expect(res.status, res.text).toBe(200);
  return res.body ?? [];
}

const created: string[] = [];
afterAll(async () => {
  await simAdmin("/__admin/faults", undefined, "DELETE");
  await adminFetch("/api/v1/resume", { method: "POST", json: { reason: "halt-reach e2e over" } });
  for (const id of created) await adminFetch(`/api/v1/bots/${id}?force=true`, { method: "DELETE" });
});

describe("the halt and a bot it cannot reach", () => {
  it("lists a bot busy at the exchange as unreached, answers anyway, and the bot then refuses entries on its own while closes pass", async () => {
    const busy = await createBot({
      prefix: "reach-busy",
      mode: "testnet",
      market: "linear",
      instruments: ["BTCUSDT"],
      qty: "0.01",
      key: "simBinanceKeyMain0001",
      secretKey: "simBinanceSecretMain0001",
    });
    const idle = await createBot({ prefix: "reach-idle", market: "linear", instruments: ["BTCUSDT"], qty: "0.01" });
    created.push(busy.id, idle.id);
    const opened = await signal(busy, "buy", "BTCUSDT");
    expect(opened.status, opened.text).toBe(200);

    // The next order of `busy` is held 9 s by the exchange (under the bot's 10 s request
    // timeout): the execution sending it keeps the bot's trading turn all that time.
    await simAdmin("/__admin/faults", { kind: "delay", ms: 9_000, path: "/fapi/v1/order", method: "POST", count: 1 });
    const inFlight = signal(busy, "buy", "BTCUSDT");
    expect(
      await waitFor(async () => (await orders(busy)).some((o) => o.status === "sent"), 8_000),
      "the entry decided before the halt is at the exchange",
    ).toBe(true);

    const halt = await adminFetch<HaltAnswer>("/api/v1/halt", { method: "POST", json: { reason: "halt-reach e2e" } });
    expect(halt.status, halt.text).toBe(200);
    expect(halt.body?.unreached, halt.text).toContain(busy.id);
    expect(halt.body?.bots[busy.id]?.error?.code, halt.text).toBe("halt_unconfirmed");
    expect(halt.body?.unreached).not.toContain(idle.id);
    expect(halt.body?.bots[idle.id], halt.text).toMatchObject({ halted: true });

    // The entry that was already at the exchange completes (the halt does not cancel an order
    // in flight); its execution ends and the bot's turn is free again.
    const first = await inFlight;
    expect([200, 202], first.text).toContain(first.status);
    expect(await waitFor(async () => !(await orders(busy)).some((o) => o.status === "sent"), 20_000), "the held order resolved").toBe(true);

    // From now on the bot refuses entries by itself, however the halt got to it (the push's flag
    // or its own re-read of the platform state, at most 10 s old): the first entry is refused.
    const entry = await signal(busy, "buy", "BTCUSDT");
    expect(entry.status, entry.text).toBe(423);
    expect(entry.text).toContain("risk_platform_halted");
    expect((await health(busy)).state).toBe("halted");
    // A close reduces risk: it passes while halted.
    const close = await signal(busy, "close", "BTCUSDT");
    expect(close.status, close.text).toBe(200);
    expect(await positions(busy)).toEqual([]);
  });

  it("a pause stored while an execution waits for a fee asset's price survives that execution", async () => {
    await adminFetch("/api/v1/resume", { method: "POST", json: { reason: "next test" } });
    // BNB fee discount: every fill's fee is in BNB, so booking it needs BNB's price.
    const bot = await createBot({
      prefix: "reach-bnb",
      mode: "testnet",
      market: "spot",
      instruments: ["BTCUSDT"],
      qty: "0.001",
      key: "simBinanceKeyBnb0002",
      secretKey: "simBinanceSecretBnb0002",
    });
    created.push(bot.id);
    // A first entry shows which ticker reads a signal makes (the fee asset's among them).
    const warmSince = await lastSeq();
    expect((await signal(bot, "buy", "BTCUSDT")).status).toBe(200);
    const tickers = (await simRequests(warmSince)).filter((r) => r.path === "/api/v3/ticker/price");
    expect(tickers.some((r) => r.query.includes("BNBUSDT")), JSON.stringify(tickers.map((r) => r.query))).toBe(true);

    // Each of those reads now waits 6 s: the execution sits between its order's answer and its
    // booking long enough for an operator's pause to land.
    await simAdmin("/__admin/faults", { kind: "delay", ms: 6_000, path: "/api/v3/ticker/price", method: "GET", count: tickers.length });
    const since = await lastSeq();
    const inFlight = signal(bot, "buy", "BTCUSDT");
    expect(
      await waitFor(async () => (await simRequests(since)).some((r) => r.path === "/api/v3/order" && r.method === "POST"), 20_000),
      "the order was answered",
    ).toBe(true);
    const paused = await adminFetch(`/api/v1/bots/${bot.id}/pause`, { method: "POST", json: { reason: "operator, mid-execution" } });
    expect(paused.status, paused.text).toBe(200);
    await inFlight;
    expect(await waitFor(async () => !(await orders(bot)).some((o) => o.status === "sent"), 20_000)).toBe(true);
    const h = await health(bot);
    expect(h.flags.paused, JSON.stringify(h.flags)).toBe(true);
    expect(h.flags.pause_reason).toBe("operator, mid-execution");
  });
});
