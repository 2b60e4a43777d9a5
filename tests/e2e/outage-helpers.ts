// Spec-side helpers for audit outages: kill and restart the run's one Neo4j, cut Neo4j's answers
// to neo4j-proxy through the relay, and read a bot's audit chain and outbox. They talk to the
// control endpoint of global-setup.ts (tests/e2e/stack-control.ts).
//
//   import { stopNeo4j, startNeo4j, relayDrop, relayStats } from "./outage-helpers.js";
import { expect } from "vitest";
import type { DropPlan, RelayStats } from "../../scripts/neo4j-relay.ts";
import { adminFetch, fetchJson, keel, neo4jQuery } from "./harness.js";

export type { DropPlan, RelayStats, WriteCall } from "../../scripts/neo4j-relay.ts";

/** Whether this run can kill Neo4j and cut its answers (Neo4j running, control endpoint up). */
export function outagesAvailable(): boolean {
  const k = keel();
  return k.neo4jUrl !== null && k.control !== undefined;
}

async function control<T>(method: string, path: string, json?: unknown, timeoutMs = 30_000): Promise<T> {
  const c = keel().control;
  if (!c) throw new Error("the e2e stack has no control endpoint (global-setup.ts)");
  const res = await fetchJson<T>(`${c.url}${path}`, {
    method,
    json,
    headers: { "x-control-token": c.token },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status !== 200) throw new Error(`stack control ${method} ${path} answered ${res.status}: ${res.text}`);
  return res.body as T;
}

/** Stops Neo4j: `kill` sends SIGKILL to the JVM (a crash), otherwise SIGTERM. Waits for exit. */
export async function stopNeo4j(opts: { kill?: boolean } = {}): Promise<void> {
  await control("POST", "/neo4j/stop", { kill: opts.kill === true });
}

/** Starts Neo4j again on the same port and data folder; resolves once its Query API answers. */
export async function startNeo4j(): Promise<void> {
  await control("POST", "/neo4j/start", {}, 300_000);
}

/** Whether Neo4j is running (as far as the control endpoint knows). */
export async function neo4jRunning(): Promise<boolean> {
  return (await control<{ running: boolean }>("GET", "/neo4j")).running;
}

/**
 * Kills (`kill`: SIGKILL of wrangler and workerd, a crash) or stops the Workers process and starts
 * it again on the same port with the same persisted Durable Object state; resolves once /health
 * answers. Requests in flight at the kill get no answer. Returns how long the restart took (ms).
 */
export async function restartWorkers(opts: { kill?: boolean } = {}): Promise<number> {
  const res = await control<{ restart_ms: number }>("POST", "/workers/restart", { kill: opts.kill === true }, 180_000);
  return Number(res.restart_ms);
}

/** Arms the relay: the next `count` audit writes (of `botId`) lose Neo4j's answer. */
export function relayDrop(plan: DropPlan): Promise<RelayStats> {
  return control<RelayStats>("POST", "/relay/drop", plan);
}

/** Stops refusing writes and disarms remaining drops. */
export function relayRelease(): Promise<RelayStats> {
  return control<RelayStats>("POST", "/relay/release", {});
}

/** The relay's counters and recent write calls. */
export function relayStats(): Promise<RelayStats> {
  return control<RelayStats>("GET", "/relay/stats");
}

/** A bot's audit page head: newest seq in its DO, and the outbox's shipped cursor. */
export interface OutboxCursor {
  last: number;
  shipped: number;
}

/** The bot's newest audit seq and shipped cursor, from its Durable Object. */
export async function outboxCursor(bot: string): Promise<OutboxCursor> {
  const page = await adminFetch<{ last_seq: number; shipped_seq: number }>(`/api/v1/bots/${bot}/audit?limit=1`);
  expect(page.status, page.text).toBe(200);
  return { last: Number(page.body?.last_seq), shipped: Number(page.body?.shipped_seq) };
}

/** The bot's whole DO chain: seq → hash, contiguous from 1 when intact. */
export async function doChain(bot: string): Promise<{ cursor: OutboxCursor; hashes: Map<number, string> }> {
  const hashes = new Map<number, string>();
  let after = 0;
  for (;;) {
    const page = await adminFetch<{ last_seq: number; shipped_seq: number; events: { seq: number; hash: string }[] }>(
      `/api/v1/bots/${bot}/audit?after=${after}&limit=1000`,
    );
    expect(page.status, page.text).toBe(200);
    const body = page.body;
    if (!body) throw new Error(`audit page of ${bot} is not JSON`);
    for (const e of body.events) hashes.set(Number(e.seq), e.hash);
    if (body.events.length === 0) return { cursor: { last: Number(body.last_seq), shipped: Number(body.shipped_seq) }, hashes };
    after = Number(body.events[body.events.length - 1]?.seq);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the bot's outbox has shipped everything and its chain stopped growing (3 equal
 * polls); returns its last seq. Throws with the bot's outbox health after `timeoutMs`.
 */
export async function waitDrained(bot: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let stable = 0;
  let previous = -1;
  for (;;) {
    const { last, shipped } = await outboxCursor(bot);
    stable = last > 0 && shipped === last && last === previous ? stable + 1 : 0;
    if (stable >= 3) return last;
    previous = last;
    if (Date.now() > deadline) {
      const health = await adminFetch<{ outbox?: unknown }>(`/api/v1/bots/${bot}/health`);
      throw new Error(`bot ${bot}: outbox shipped ${shipped} of ${last} after ${timeoutMs} ms: ${JSON.stringify(health.body?.outbox)}`);
    }
    await sleep(500);
  }
}

/** Neo4j's copy of the bot's events: seq → hash, plus the number of Event nodes per seq. */
export async function neo4jChain(bot: string): Promise<{ hashes: Map<number, string>; nodes: number; duplicates: number[] }> {
  const rows = await neo4jQuery(
    "MATCH (e:Event {bot_id: $bot}) RETURN e.seq AS seq, collect(e.hash) AS hashes ORDER BY seq",
    { bot },
  );
  const hashes = new Map<number, string>();
  const duplicates: number[] = [];
  let nodes = 0;
  for (const [seq, hs] of rows.values as [number, string[]][]) {
    nodes += hs.length;
    if (hs.length !== 1) duplicates.push(Number(seq));
    hashes.set(Number(seq), String(hs[0]));
  }
  return { hashes, nodes, duplicates };
}

/**
 * The `[:NEXT]` chain of the bot's events in Neo4j: how many links, and those that do not join
 * seq n to n + 1 of the same bot (or join a seq twice).
 */
export async function neo4jNextLinks(bot: string): Promise<{ links: number; bad: string[] }> {
  const rows = await neo4jQuery(
    "MATCH (a:Event {bot_id: $bot})-[:NEXT]->(b:Event) RETURN a.seq AS from, b.seq AS to, b.bot_id AS to_bot ORDER BY from, to",
    { bot },
  );
  const bad: string[] = [];
  const seenFrom = new Set<number>();
  for (const [from, to, toBot] of rows.values as [number, number, string][]) {
    if (toBot !== bot || Number(to) !== Number(from) + 1 || seenFrom.has(Number(from))) bad.push(`${from}->${toBot}:${to}`);
    seenFrom.add(Number(from));
  }
  return { links: rows.values.length, bad };
}

/** The admin API's verify answer (DO chain and Neo4j chain recomputed, first divergence). */
export interface VerifyAnswer {
  ok: boolean;
  do: { ok: boolean; count: number; first_break: unknown };
  neo4j: { available: boolean; ok: boolean | null; count?: number; first_break?: unknown };
  first_divergence: number | null;
}

/** `GET /api/v1/bots/{bot}/audit/verify`, expecting 200. */
export async function verifyAudit(bot: string): Promise<VerifyAnswer> {
  const res = await adminFetch<VerifyAnswer>(`/api/v1/bots/${bot}/audit/verify`);
  expect(res.status, res.text).toBe(200);
  return res.body as VerifyAnswer;
}

/** Asserts Neo4j holds exactly the DO's chain of `bot`: seq 1..last once each, same hashes, NEXT intact, verify ok. */
export async function expectExactCopy(bot: string): Promise<number> {
  const dc = await doChain(bot);
  const last = dc.cursor.last;
  expect(dc.cursor.shipped, `shipped cursor of ${bot}`).toBe(last);
  expect([...dc.hashes.keys()], `DO chain of ${bot} is 1..${last}`).toEqual(Array.from({ length: last }, (_, k) => k + 1));
  const neo = await neo4jChain(bot);
  const missing = [...dc.hashes.keys()].filter((s) => !neo.hashes.has(s));
  const extra = [...neo.hashes.keys()].filter((s) => !dc.hashes.has(s));
  const differ = [...dc.hashes].filter(([s, h]) => neo.hashes.has(s) && neo.hashes.get(s) !== h).map(([s]) => s);
  expect({ bot, missing, extra, differ, duplicates: neo.duplicates }).toEqual({ bot, missing: [], extra: [], differ: [], duplicates: [] });
  expect(neo.nodes).toBe(last);
  const next = await neo4jNextLinks(bot);
  expect({ bot, links: next.links, bad: next.bad }).toEqual({ bot, links: last - 1, bad: [] });
  const v = await verifyAudit(bot);
  expect(v.do, JSON.stringify(v)).toMatchObject({ ok: true, count: last, first_break: null });
  expect(v.neo4j, JSON.stringify(v)).toMatchObject({ available: true, ok: true, count: last, first_break: null });
  expect(v.first_divergence, JSON.stringify(v)).toBeNull();
  expect(v.ok).toBe(true);
  return last;
}
