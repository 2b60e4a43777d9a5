// neo4j-proxy against the real Neo4j: idempotent batched writes (`MERGE` on (bot_id, seq)), the
// causal graph of docs/design.md, the chain read back and verified (a tampered event is reported at its
// seq), error classes the outbox relies on (400 permanent, 409 conflict), and write throughput.
//
// The events are sealed here in TypeScript following the byte format documented in
// engine/src/audit/record.rs and canonical.rs; the first test pins that both implementations agree
// on the Rust fixed vector, so what the proxy accepts is exactly what a bot's outbox ships.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fetchJson, keel, neo4jQuery, uniqueId } from "./harness.js";

const GENESIS = "0".repeat(64);

/** Canonical JSON: keys sorted by UTF-8 bytes, null members dropped, integers only, no spaces. */
function canonical(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== null && x !== undefined)
      .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
  }
  if (typeof v === "number" && !Number.isSafeInteger(v)) throw new Error(`not an integer: ${v}`);
  return JSON.stringify(v);
}

interface Sealed {
  bot_id: string;
  seq: number;
  time_ms: number;
  kind: string;
  prev_hash: string;
  hash: string;
  body: string;
}

interface Draft {
  time_ms: number;
  actor: string;
  signal_id?: string;
  client_order_id?: string;
  event: { kind: string } & Record<string, unknown>;
}

const sha256 = (s: string): string => createHash("sha256").update(s, "utf8").digest("hex");

/** Seals drafts after `(seq, hash)`: hash = sha256(prev_hash ‖ canonical record). */
function seal(bot: string, drafts: Draft[], after = { seq: 0, hash: GENESIS }): Sealed[] {
  let { seq, hash } = after;
  return drafts.map((d) => {
    seq += 1;
    const body = canonical({ v: 1, bot_id: bot, seq, ...d });
    const prev = hash;
    hash = sha256(prev + body);
    return { bot_id: bot, seq, time_ms: d.time_ms, kind: d.event.kind, prev_hash: prev, hash, body };
  });
}

/** The seven events of one traded signal: received → accepted → decision → order → request → fill → P&L. */
function tradedSignal(bot: string, i: number, t: number, sid = `tv-${i}`): Draft[] {
  const cid = `k-${i}-0`;
  const order = { client_order_id: cid, symbol: "BTCUSDT", side: "buy", order_type: "market", qty: { unit: "base", value: "0.001" }, reduce_only: false };
  const fill = { trade_id: `${bot}-t${i}`, order_id: `o${i}`, client_order_id: cid, symbol: "BTCUSDT", side: "buy", price: "65000.10", qty: "0.001", fee: "0.065", fee_asset: "USDT", time_ms: t + 5, is_maker: false };
  return [
    { time_ms: t, actor: "webhook", signal_id: sid, event: { kind: "signal_received", source: "webhook", payload: { action: "buy", symbol: "BTCUSDT", secret: "[redacted]" } } },
    { time_ms: t + 1, actor: "webhook", signal_id: sid, event: { kind: "signal_accepted", action: "buy", symbol: "BTCUSDT" } },
    { time_ms: t + 2, actor: "webhook", signal_id: sid, event: { kind: "risk_decision", rule: "max_order_notional", limit: "500", observed: "65.00", outcome: "pass" } },
    { time_ms: t + 3, actor: "webhook", signal_id: sid, client_order_id: cid, event: { kind: "order_intent", exchange: "binance", market: "spot", order } },
    { time_ms: t + 4, actor: "system", client_order_id: cid, event: { kind: "request_sent", exchange: "binance", method: "POST", path: "/api/v3/order", query: "symbol=BTCUSDT&signature=[redacted]", body: "" } },
    { time_ms: t + 5, actor: "system", client_order_id: cid, event: { kind: "fill", exchange: "binance", market: "spot", fill } },
    { time_ms: t + 6, actor: "system", client_order_id: cid, event: { kind: "pnl_booked", symbol: "BTCUSDT", trade_id: fill.trade_id, realized: "1.25", fees_quote: "0.065", funding: "0", quote_asset: "USDT" } },
  ];
}

function signals(bot: string, n: number): Draft[] {
  return Array.from({ length: n }, (_, i) => tradedSignal(bot, i, 1_764_000_000_000 + i * 100)).flat();
}

function proxy(): string {
  const url = keel().proxyUrl;
  if (!url) throw new Error("the stack was started without the standalone neo4j-proxy (proxyPort)");
  return url;
}

interface Ack {
  ok: boolean;
  events: number;
  last_seq: [string, number][];
  nodes_created: number;
  relationships_created: number;
}

interface ProxyError {
  ok: boolean;
  retryable: boolean;
  code: string;
  conflicts?: number[];
}

const ship = (events: Sealed[]) => fetchJson<Ack & ProxyError>(`${proxy()}/events`, { method: "POST", json: { events } });

async function count(statement: string, bot: string): Promise<number> {
  const r = await neo4jQuery(statement, { bot });
  return Number(r.values[0]?.[0] ?? -1);
}

const needsNeo4j = (): boolean => keel().neo4jUrl !== null && keel().proxyUrl !== null;

describe("audit byte format", () => {
  it("TypeScript and Rust seal the fixed vector identically", () => {
    const [ev] = seal("btc-trend", [
      { time_ms: 1_764_000_000_001, actor: "webhook", signal_id: "sig-1", event: { kind: "risk_decision", rule: "max_order_notional", limit: "500", observed: "1.50", outcome: "pass" } },
    ]);
    expect(ev?.body).toBe(
      '{"actor":"webhook","bot_id":"btc-trend","event":{"kind":"risk_decision","limit":"500","observed":"1.50","outcome":"pass","rule":"max_order_notional"},"seq":1,"signal_id":"sig-1","time_ms":1764000000001,"v":1}',
    );
    expect(ev?.hash).toBe("31d9d0e3cfb00c6f108d6d9dcf0573bfcc82713473d77ee6ddcfd6bcdec45d2b");
  });
});

describe.runIf(needsNeo4j())("neo4j-proxy against Neo4j", () => {
  it("writes batches with their graph, and a replayed batch creates nothing", async () => {
    const bot = uniqueId("audit-w");
    const events = seal(bot, signals(bot, 3));
    const first = await ship(events.slice(0, 10));
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ ok: true, events: 10, last_seq: [[bot, 10]] });
    const rest = await ship(events.slice(10));
    expect(rest.status, rest.text).toBe(200);
    expect(rest.body?.last_seq).toEqual([[bot, 21]]);

    const replay = await ship(events.slice(0, 10));
    expect(replay.status, replay.text).toBe(200);
    expect(replay.body).toMatchObject({ ok: true, events: 10, nodes_created: 0, relationships_created: 0 });

    expect(await count("MATCH (e:Event {bot_id: $bot}) RETURN count(e)", bot)).toBe(21);
    expect(await count("MATCH (:Event {bot_id: $bot})-[r:NEXT]->(:Event {bot_id: $bot}) RETURN count(r)", bot)).toBe(20);
    expect(await count("MATCH (:Bot {id: $bot})-[:RECEIVED]->(s:Signal)-[:DECIDED]->(:Decision) RETURN count(s)", bot)).toBe(3);
    expect(await count("MATCH (:Signal {bot_id: $bot})-[:PLACED]->(o:Order)-[:FILLED_BY]->(:Fill)-[:BOOKED]->(:Event) RETURN count(o)", bot)).toBe(3);
    expect(await count("MATCH (o:Order {bot_id: $bot})-[:ON]->(:Instrument {exchange: 'binance', market: 'spot', symbol: 'BTCUSDT'}) RETURN count(o)", bot)).toBe(3);
  });

  it("reads a bot's events back in pages, hashes unchanged, and the signal's causal chain", async () => {
    const bot = uniqueId("audit-r");
    const events = seal(bot, signals(bot, 3));
    expect((await ship(events)).status).toBe(200);

    const page1 = await fetchJson<{ events: Sealed[]; next_after: number | null }>(`${proxy()}/bots/${bot}/events?after=0&limit=10`);
    expect(page1.status, page1.text).toBe(200);
    expect(page1.body?.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(page1.body?.next_after).toBe(10);
    const page2 = await fetchJson<{ events: Sealed[]; next_after: number | null }>(`${proxy()}/bots/${bot}/events?after=10&limit=100`);
    expect(page2.body?.next_after).toBeNull();
    const back = [...(page1.body?.events ?? []), ...(page2.body?.events ?? [])];
    expect(back.map((e) => [e.seq, e.hash, e.body])).toEqual(events.map((e) => [e.seq, e.hash, e.body]));

    interface Chain {
      bot_id: string;
      decisions: { rule: string; outcome: string }[];
      orders: { client_order_id: string; instrument: { symbol: string }; fills: { trade_id: string; price: string; pnl: unknown[] }[] }[];
      pnl: { realized: string; fees_quote: string };
      events: { seq: number; kind: string }[];
    }
    const chain = await fetchJson<{ signal_id: string; chains: Chain[] }>(`${proxy()}/signals/tv-1?bot_id=${bot}`);
    expect(chain.status, chain.text).toBe(200);
    const c = chain.body?.chains[0];
    expect(chain.body?.chains.length).toBe(1);
    expect(c?.decisions).toMatchObject([{ rule: "max_order_notional", outcome: "pass" }]);
    expect(c?.orders[0]).toMatchObject({ client_order_id: "k-1-0", instrument: { symbol: "BTCUSDT" } });
    expect(c?.orders[0]?.fills[0]).toMatchObject({ trade_id: `${bot}-t1`, price: "65000.10" });
    expect(c?.pnl).toMatchObject({ realized: "1.25", fees_quote: "0.065" });
    expect(c?.events.map((e) => e.kind)).toEqual(["signal_received", "signal_accepted", "risk_decision", "order_intent", "request_sent", "fill", "pnl_booked"]);

    // Signal ids may hold any printable ASCII; the path carries them percent-encoded.
    const odd = "strat/{1}:x?y";
    expect((await ship(seal(bot, tradedSignal(bot, 9, 9, odd), events[events.length - 1]))).status).toBe(200);
    const oddChain = await fetchJson<{ signal_id: string; chains: Chain[] }>(`${proxy()}/signals/${encodeURIComponent(odd)}?bot_id=${bot}`);
    expect(oddChain.status, oddChain.text).toBe(200);
    expect(oddChain.body?.signal_id).toBe(odd);
    expect(oddChain.body?.chains[0]?.orders[0]?.client_order_id).toBe("k-9-0");

    const missing = await fetchJson<ProxyError>(`${proxy()}/signals/${uniqueId("nope")}`);
    expect(missing.status).toBe(404);
  });

  it("verify passes on a whole chain and reports a tampered event at its seq", async () => {
    const bot = uniqueId("audit-v");
    const events = seal(bot, signals(bot, 2));
    expect((await ship(events)).status).toBe(200);
    interface Verify {
      ok: boolean;
      count: number;
      max_seq: number;
      gaps: number[];
      hash_check: { checked: number; first_break: { problem: string; seq: number } | null };
    }
    const good = await fetchJson<Verify>(`${proxy()}/bots/${bot}/verify`);
    expect(good.status, good.text).toBe(200);
    expect(good.body).toMatchObject({ ok: true, count: 14, max_seq: 14, gaps: [], hash_check: { checked: 14, first_break: null } });

    await neo4jQuery("MATCH (e:Event {bot_id: $bot, seq: 5}) SET e.body = replace(e.body, $from, $to)", { bot, from: "signature=[redacted]", to: "signature=forged" });
    const bad = await fetchJson<Verify>(`${proxy()}/bots/${bot}/verify`);
    expect(bad.body?.ok, bad.text).toBe(false);
    expect(bad.body?.hash_check.first_break).toMatchObject({ problem: "hash_mismatch", seq: 5 });
    expect(bad.body?.hash_check.checked).toBe(4);
  });

  it("reports missing seqs as gaps", async () => {
    const bot = uniqueId("audit-g");
    const events = seal(bot, signals(bot, 1));
    expect((await ship([...events.slice(0, 3), ...events.slice(4)])).status).toBe(200);
    const v = await fetchJson<{ ok: boolean; gaps: number[] }>(`${proxy()}/bots/${bot}/verify`);
    expect(v.body).toMatchObject({ ok: false, gaps: [4] });
  });

  it("refuses a forged event as permanent (400) and a diverging chain as a conflict (409)", async () => {
    const bot = uniqueId("audit-e");
    const events = seal(bot, signals(bot, 1));
    const forged = events.map((e) => (e.seq === 2 ? { ...e, body: e.body.replace("buy", "sell") } : e));
    const refused = await ship(forged);
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body).toMatchObject({ ok: false, retryable: false, code: "bad_event" });
    expect(await count("MATCH (e:Event {bot_id: $bot}) RETURN count(e)", bot)).toBe(0);

    expect((await ship(events.slice(0, 3))).status).toBe(200);
    const first = events[0];
    if (!first) throw new Error("no events");
    const diverged = seal(bot, [{ time_ms: 1, actor: "system", event: { kind: "control", action: "pause" } }], first);
    const conflict = await ship(diverged);
    expect(conflict.status, conflict.text).toBe(409);
    expect(conflict.body).toMatchObject({ ok: false, retryable: false, code: "hash_conflict", conflicts: [2] });
  });

  it("benchmark: write throughput in batches of 500", async () => {
    const bot = uniqueId("audit-b");
    const events = seal(bot, signals(bot, 286)).slice(0, 2000);
    const started = performance.now();
    for (let i = 0; i < events.length; i += 500) {
      const res = await ship(events.slice(i, i + 500));
      expect(res.status, res.text).toBe(200);
    }
    const secs = (performance.now() - started) / 1000;
    console.log(`audit benchmark: ${events.length} events in ${secs.toFixed(2)} s = ${Math.round(events.length / secs)} events/s (batch 500)`);
    expect(await count("MATCH (e:Event {bot_id: $bot}) RETURN count(e)", bot)).toBe(2000);
    const v = await fetchJson<{ ok: boolean }>(`${proxy()}/bots/${bot}/verify`);
    expect(v.body?.ok, v.text).toBe(true);
  });
});
