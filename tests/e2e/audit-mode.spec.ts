// Issue 5, "mode is per bot, visible on every response and audit event": a paper bot and a
// testnet-on-simulator bot each get an executed alert and a refused one; every event of each
// bot's hash chain carries the bot's mode inside its hashed body, and Neo4j holds it as a
// property of each Event node once the outbox has shipped.
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { adminFetch, neo4jQuery, simAdmin } from "./harness.js";
import { MARKETS, createSimBot, signal } from "./venue-helpers.js";

interface AuditPage {
  events: { seq: number; kind: string; record: { mode?: string } }[];
  last_seq: number;
  shipped_seq: number;
}

async function chain(bot: string): Promise<AuditPage> {
  const page = await adminFetch<AuditPage>(`/api/v1/bots/${bot}/audit?after=0&limit=1000`);
  expect(page.status, page.text).toBe(200);
  return page.body as AuditPage;
}

async function drained(bot: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const c = await chain(bot);
    if (c.last_seq > 0 && c.shipped_seq === c.last_seq) return c.last_seq;
    if (Date.now() > deadline) throw new Error(`outbox of ${bot} not drained: ${c.shipped_seq} of ${c.last_seq}`);
    await sleep(300);
  }
}

describe("mode on every answer and audit event", () => {
  it("paper and testnet bots stamp their mode on each event, in the DO chain and in Neo4j", async () => {
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
    const m = MARKETS[0];
    for (const mode of ["paper", "testnet"]) {
      const bot = await createSimBot(m, { mode });
      const ok = await signal(bot, "buy", { qty: m.qty });
      expect(ok.status, ok.text).toBe(200);
      expect((ok.body as { mode?: string } | undefined)?.mode, ok.text).toBe(mode);
      const refused = await signal(bot, "buy", { qty: m.qty, symbol: "DOGEUSDT" });
      expect(refused.status, refused.text).toBe(422);

      const events = (await chain(bot.id)).events;
      expect(events.length).toBeGreaterThan(5);
      const kinds = new Set(events.map((e) => e.kind));
      for (const k of ["config_change", "signal_received", "order_intent", "fill", "signal_rejected"]) {
        expect(kinds.has(k), `${mode}: ${[...kinds].join(",")}`).toBe(true);
      }
      const without = events.filter((e) => e.record.mode !== mode).map((e) => `${e.seq}:${e.kind}:${e.record.mode}`);
      expect(without, mode).toEqual([]);

      const last = await drained(bot.id);
      const neo = await neo4jQuery("MATCH (e:Event {bot_id: $b}) RETURN e.mode AS mode, count(*) AS n", { b: bot.id });
      expect(neo.values.length, JSON.stringify(neo)).toBe(1);
      expect(neo.values[0][0], JSON.stringify(neo)).toBe(mode);
      expect(Number(neo.values[0][1]), JSON.stringify(neo)).toBe(last);
    }
  });
});
