// Helpers for end-to-end spec files: where the stack is, and small typed HTTP helpers.
//
//   import { keel, fetchJson, adminFetch, neo4jQuery } from "./harness.js";
//
// The stack itself is started once by global-setup.ts; `keel()` returns its addresses.
import { inject } from "vitest";

/** Where the running stack answers, handed from global-setup.ts to every spec file. */
export interface KeelStackInfo {
  /** The edge Worker (webhooks, admin API, dashboard), e.g. http://127.0.0.1:41234. */
  baseUrl: string;
  /** Bearer token accepted by /api/v1 (the ADMIN_TOKEN secret of this run). */
  adminToken: string;
  /** The exchange simulator (Binance and Bybit routes, plus its admin endpoints). */
  simUrl: string;
  /** neo4j-proxy served on its own port for direct tests, or null. */
  proxyUrl: string | null;
  /** Neo4j's HTTP URL (Query API at /db/neo4j/query/v2), or null when Java/Maven are missing. */
  neo4jUrl: string | null;
  neo4jUser: string;
  neo4jPassword: string;
  /** Start-up time of each part, in ms. */
  startupMs: { sim: number; neo4j: number | null; wrangler: number };
  /** The stack's control endpoint (Neo4j stop/kill/start, Neo4j relay): see outage-helpers.ts. */
  control?: { url: string; token: string };
}

declare module "vitest" {
  export interface ProvidedContext {
    keel: KeelStackInfo;
  }
}

/** The running stack's addresses and credentials. */
export function keel(): KeelStackInfo {
  return inject("keel");
}

/** A parsed HTTP answer. */
export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** Body parsed as JSON, or null when it is not JSON. */
  body: T | null;
  /** Raw body text. */
  text: string;
}

/**
 * Sends a request and parses the answer as JSON when it is JSON. `target` is a full URL or a path
 * on the edge Worker. A plain-object `json` is sent as an application/json body.
 */
export async function fetchJson<T = unknown>(
  target: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<JsonResponse<T>> {
  const url = /^https?:\/\//.test(target) ? target : `${keel().baseUrl}${target}`;
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  let body = rest.body;
  if (json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(json);
  }
  const res = await fetch(url, { ...rest, headers, body, signal: rest.signal ?? AbortSignal.timeout(30_000) });
  const text = await res.text();
  let parsed: T | null;
  try {
    parsed = text ? (JSON.parse(text) as T) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/**
 * `fetchJson` with the admin bearer token. Every spec shares that one token, whose budget is 150
 * requests per 10 s (wrangler.toml): a polling spec can leave the next one a spent window. A
 * `429 rate_limited` is refused at the edge before any handler runs, so, like a well-behaved
 * client, this waits (Retry-After, else 1 s) and sends again, for up to 30 s; any other answer is
 * returned as is. The rate limiter itself is tested with raw requests (admin.spec.ts).
 */
export async function adminFetch<T = unknown>(
  target: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<JsonResponse<T>> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${keel().adminToken}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetchJson<T>(target, { ...init, headers });
    const limited = res.status === 429 && (res.body as { code?: string } | null)?.code === "rate_limited";
    if (!limited || Date.now() > deadline) return res;
    const wait = Number(res.headers.get("retry-after")) * 1000 || 1_000;
    await new Promise((r) => setTimeout(r, Math.min(wait, 5_000)));
  }
}

/** Answer of Neo4j's Query API. */
export interface QueryResult {
  fields: string[];
  values: unknown[][];
}

/**
 * Runs one parameterised Cypher statement directly against the test Neo4j (bypassing Keel), to
 * verify what the platform wrote. Throws on HTTP or Cypher errors.
 */
export async function neo4jQuery(statement: string, parameters: Record<string, unknown> = {}): Promise<QueryResult> {
  const k = keel();
  if (!k.neo4jUrl) throw new Error("Neo4j is not running in this test stack (java/mvn missing)");
  const auth = Buffer.from(`${k.neo4jUser}:${k.neo4jPassword}`).toString("base64");
  const res = await fetchJson<{ data?: QueryResult; errors?: { code: string; message: string }[] }>(
    `${k.neo4jUrl}/db/neo4j/query/v2`,
    {
      method: "POST",
      headers: { authorization: `Basic ${auth}`, accept: "application/json" },
      json: { statement, parameters },
    },
  );
  if (res.body?.errors?.length) {
    throw new Error(`Neo4j error: ${res.body.errors.map((e) => `${e.code}: ${e.message}`).join("; ")}`);
  }
  if ((res.status !== 200 && res.status !== 202) || !res.body?.data) {
    throw new Error(`Neo4j Query API answered HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  }
  return res.body.data;
}

/** A unique id for this test run (bot ids, signal ids), so reruns against kept state never clash. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Calls the exchange simulator's admin API (`/__admin/...`): GET without `json`, POST with it
 * (or the given method). Throws unless it answers 2xx, so a broken fixture never passes silently.
 */
export async function simAdmin<T = unknown>(path: string, json?: unknown, method?: string): Promise<T> {
  const res = await fetchJson<T>(`${keel().simUrl}${path}`, {
    method: method ?? (json === undefined ? "GET" : "POST"),
    json,
  });
  if (res.status < 200 || res.status > 299) throw new Error(`sim ${path} answered ${res.status}: ${res.text.slice(0, 300)}`);
  return res.body as T;
}
