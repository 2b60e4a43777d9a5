// Issue 6 remainder, end to end against the real Neo4j:
// - `GET /api/v1/bots/{id}/audit/verify` recomputes the bot's chain from its Durable Object and
//   from Neo4j; both verify after a few trades, and an Event body altered directly in Neo4j is
//   reported at its seq (Neo4j's own break and the first divergence from the DO copy), while the
//   DO copy still verifies.
// - No secret leaks: after creating bots, storing exchange credentials, sending webhooks carrying
//   the webhook secret or signed with it (HMAC), and creating/revoking tokens, none of the API key,
//   API secret, webhook secret or admin/viewer tokens appears in any audit event (each bot's DO
//   chain, the platform chain, Neo4j's Event bodies) or in the stack's log files.
import { createHmac } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { adminFetch, fetchJson, keel, neo4jQuery, uniqueId } from "./harness.js";
import { MARKETS, createSimBot, signal } from "./venue-helpers.js";

interface VerifyAnswer {
  bot_id: string;
  ok: boolean;
  do: { ok: boolean; count: number; first_break: { problem: string; seq?: number } | null };
  neo4j: {
    available: boolean;
    ok: boolean | null;
    count?: number;
    first_break?: { problem: string; seq?: number } | null;
  };
  first_divergence: number | null;
}

interface AuditPage {
  last_seq: number;
  shipped_seq: number;
  events: { seq: number; record: unknown }[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function createPaperBot(): Promise<{ id: string; secret: string }> {
  const id = uniqueId("av");
  const res = await adminFetch<{ webhook_secret: string }>("/api/v1/bots", {
    method: "POST",
    json: {
      id,
      name: "audit verify",
      exchange: "binance",
      market: "spot",
      mode: "paper",
      base_url: keel().simUrl,
      instruments: ["BTCUSDT"],
      sizing: { mode: "fixed_qty", value: "0.001" },
      risk: { max_order_notional: "1000000", max_signal_age_secs: 60 },
    },
  });
  expect(res.status, res.text).toBe(201);
  return { id, secret: res.body?.webhook_secret ?? "" };
}

/** Every event of the bot's DO chain (paged), as raw JSON text per page. */
async function doAuditText(bot: string): Promise<{ text: string; last: number; shipped: number }> {
  let after = 0;
  let text = "";
  for (;;) {
    const page = await adminFetch<AuditPage>(`/api/v1/bots/${bot}/audit?after=${after}&limit=1000`);
    expect(page.status, page.text).toBe(200);
    const body = page.body as AuditPage;
    text += page.text;
    if (body.events.length === 0) return { text, last: Number(body.last_seq), shipped: Number(body.shipped_seq) };
    after = Number(body.events[body.events.length - 1]?.seq);
  }
}

/** Waits until the bot's outbox has shipped everything to Neo4j. */
async function drained(bot: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { last, shipped } = await doAuditText(bot);
    if (last > 0 && shipped === last) return last;
    if (Date.now() > deadline) throw new Error(`outbox of ${bot} not drained: shipped ${shipped} of ${last}`);
    await sleep(300);
  }
}

async function verify(bot: string): Promise<VerifyAnswer> {
  const res = await adminFetch<VerifyAnswer>(`/api/v1/bots/${bot}/audit/verify`);
  expect(res.status, res.text).toBe(200);
  return res.body as VerifyAnswer;
}

describe("audit verify: DO copy and Neo4j copy", () => {
  it("verifies both after trades, then reports an Event tampered in Neo4j at its seq", async () => {
    const bot = await createPaperBot();
    for (const action of ["buy", "sell", "buy", "close"]) {
      const res = await signal(bot, action);
      expect(res.status, res.text).toBe(200);
    }
    const last = await drained(bot.id);
    expect(last).toBeGreaterThan(5);

    const clean = await verify(bot.id);
    expect(clean.do, JSON.stringify(clean)).toMatchObject({ ok: true, count: last, first_break: null });
    expect(clean.neo4j, JSON.stringify(clean)).toMatchObject({ available: true, ok: true, count: last, first_break: null });
    expect(clean.first_divergence).toBeNull();
    expect(clean.ok).toBe(true);

    await neo4jQuery("MATCH (e:Event {bot_id: $b, seq: 5}) SET e.body = 'x'", { b: bot.id });
    const tampered = await verify(bot.id);
    expect(tampered.do, JSON.stringify(tampered)).toMatchObject({ ok: true, count: last, first_break: null });
    expect(tampered.neo4j.ok, JSON.stringify(tampered)).toBe(false);
    expect(tampered.neo4j.first_break, JSON.stringify(tampered)).toMatchObject({ problem: "hash_mismatch", seq: 5 });
    expect(tampered.first_divergence).toBe(5);
    expect(tampered.ok).toBe(false);
  });

  it("answers 404 for an unknown bot", async () => {
    const res = await adminFetch<{ code: string }>(`/api/v1/bots/${uniqueId("nobot")}/audit/verify`);
    expect(res.status, res.text).toBe(404);
  });
});

/** Every file of the harness's log folder (the stack's logs: edge, proxy, Neo4j, simulator). */
function logFiles(): string[] {
  const dir = path.join(process.cwd(), ".keel", "e2e-logs");
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile());
}

describe("no secret leaks into audit events or logs", () => {
  it("keeps API key/secret, webhook secrets and tokens out of every event and log line", async () => {
    const m = MARKETS.find((x) => x.exchange === "binance" && x.market === "spot") ?? MARKETS[0];
    if (!m) throw new Error("no simulator market");
    const sim = await createSimBot(m);
    const paper = await createPaperBot();

    // Webhooks: the secret in the body, and HMAC-signed without it; a wrong secret too.
    expect((await signal(sim, "buy")).status).toBe(200);
    expect((await signal(paper, "buy", { qty: "0.001" })).status).toBe(200);
    const body = JSON.stringify({ id: uniqueId("sig"), action: "sell", symbol: "BTCUSDT", qty: "0.001", time: new Date().toISOString() });
    const t = Math.floor(Date.now() / 1000);
    const sig = `t=${t},v1=${createHmac("sha256", paper.secret).update(`${t}.${body}`).digest("hex")}`;
    const signed = await fetchJson(`/webhook/${paper.id}`, {
      method: "POST",
      headers: { "content-type": "application/json", "X-Keel-Signature": sig },
      body,
    });
    expect(signed.status, signed.text).toBe(200);
    const wrong = await signal({ id: paper.id, secret: `${paper.secret}x` }, "buy");
    expect(wrong.status).toBe(401);
    expect((await signal(sim, "close")).status).toBe(200);

    // Tokens: created, used, revoked.
    const tokens: string[] = [];
    for (const role of ["admin", "viewer"]) {
      const created = await adminFetch<{ id: string; token: string }>("/api/v1/tokens", {
        method: "POST",
        json: { name: uniqueId("leak"), role },
      });
      expect(created.status, created.text).toBe(201);
      const tok = created.body?.token ?? "";
      expect(tok.length).toBeGreaterThan(16);
      tokens.push(tok);
      const who = await fetchJson("/api/v1/whoami", { headers: { authorization: `Bearer ${tok}` } });
      expect(who.status).toBe(200);
      const revoked = await adminFetch(`/api/v1/tokens/${created.body?.id}`, { method: "DELETE" });
      expect(revoked.status, revoked.text).toBe(200);
    }

    const secrets: Record<string, string> = {
      "API key": m.key,
      "API secret": m.secret,
      "sim bot webhook secret": sim.secret,
      "paper bot webhook secret": paper.secret,
      "admin token": keel().adminToken,
      "created admin token": tokens[0] ?? "",
      "created viewer token": tokens[1] ?? "",
    };
    for (const v of Object.values(secrets)) expect(v.length).toBeGreaterThan(8);

    const sources: Record<string, string> = {};
    for (const b of [sim.id, paper.id]) {
      await drained(b);
      sources[`DO audit of ${b}`] = (await doAuditText(b)).text;
      const neo = await neo4jQuery("MATCH (e:Event {bot_id: $b}) RETURN e.body ORDER BY e.seq", { b });
      expect(neo.values.length).toBeGreaterThan(3);
      sources[`Neo4j Events of ${b}`] = JSON.stringify(neo.values);
    }
    const platform = await adminFetch("/api/v1/audit?limit=1000");
    expect(platform.status, platform.text).toBe(200);
    sources["platform audit"] = platform.text;
    const logs = logFiles();
    expect(logs.length).toBeGreaterThan(0);
    for (const f of logs) sources[`log ${path.basename(f)}`] = fs.readFileSync(f, "utf8");

    const leaks: string[] = [];
    for (const [where, text] of Object.entries(sources)) {
      for (const [what, value] of Object.entries(secrets)) {
        if (text.includes(value)) leaks.push(`${what} in ${where}`);
      }
    }
    expect(leaks).toEqual([]);
    // The grep is not vacuous: the signed exchange requests were recorded, their signatures redacted.
    expect(sources[`DO audit of ${sim.id}`]).toContain("request_sent");
    expect(sources[`DO audit of ${sim.id}`]).toContain("[redacted]");
    expect(sources[`Neo4j Events of ${sim.id}`]).toContain("[redacted]");
  });
});
