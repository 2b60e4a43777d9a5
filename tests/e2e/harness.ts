// Helpers for end-to-end spec files: where the stack is, and small typed HTTP helpers.
//
//   import { keel, fetchJson, adminFetch, neo4jQuery } from "./harness.js";
//
// The stack itself is started once by global-setup.ts. Every spec file is isolated from the others
// by construction (file-context.ts, a vitest setup file, runs before each file): it gets an admin
// token of its own (so its own admin rate budget), a client IP of its own on every request to the
// edge (so its own per-IP admin and webhook budgets), and an exchange simulator of its own (so its
// own accounts, balances, prices, faults, IP weight and order budgets, and, because bots point
// their `base_url` at it, its own AccountDO budgets in Keel). `keel()` hands out this file's token
// and simulator, so specs and helpers written against the shared stack pick isolation up unchanged.
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
  /** The stack's control endpoint (Neo4j stop/kill/start, Neo4j relay, simulators): see outage-helpers.ts. */
  control?: { url: string; token: string };
  /** The run's order seed (KEEL_TEST_SEED): file order and every seeded choice derive from it. */
  seed?: number;
}

/** What one spec file owns (file-context.ts sets it before the file's code runs). */
export interface FileContext {
  /** The spec file's name, e.g. `signal.spec.ts`. */
  label: string;
  /** An admin-role token minted for this file through `POST /api/v1/tokens`. */
  adminToken: string;
  /** Its public id (audit events name the actor `token:<id>`). */
  adminTokenId: string;
  /** This file's own exchange simulator. */
  simUrl: string;
  /** The `CF-Connecting-IP` this file's requests to the edge carry unless they set one. */
  clientIp: string;
}

/** The stack as one spec file sees it: `adminToken` and `simUrl` are the file's own. */
export interface KeelInfo extends KeelStackInfo {
  /** The run's bootstrap `ADMIN_TOKEN` (token id `bootstrap`); specs use `adminToken`. */
  bootstrapToken: string;
  /** Token id of `adminToken` (`bootstrap` outside a file context). */
  adminTokenId: string;
  /**
   * The simulator the Worker itself is configured with (`KEEL_EXCHANGE_URLS`: /health probes,
   * kline imports for backtests and history). Shared by the files that call
   * `useStackSimulator()`.
   */
  stackSimUrl: string;
  /** This file's client IP (see FileContext), or null outside a file context. */
  clientIp: string | null;
}

declare module "vitest" {
  export interface ProvidedContext {
    keel: KeelStackInfo;
  }
}

let fileContext: FileContext | null = null;
let standaloneStack: KeelStackInfo | null = null;

/**
 * Lets a plain Node script that started its own stack (scripts/soak.ts) use these helpers:
 * `keel()` then answers from `info` instead of vitest's `inject`, which exists only inside a
 * vitest run. Pair it with `setFileContext` for the script's token, simulator and client IP.
 */
export function useStandaloneStack(info: KeelStackInfo): void {
  standaloneStack = info;
}

/** Installs this file's context (file-context.ts does, before the spec file is imported). */
export function setFileContext(ctx: FileContext): void {
  fileContext = ctx;
}

/** This file's context, or null when the harness runs outside file-context.ts. */
export function currentFileContext(): FileContext | null {
  return fileContext;
}

/**
 * For a spec that drives Worker routes which reach the exchange through the Worker's own
 * configuration rather than a bot's `base_url` (kline imports for backtests and history, /health
 * probes): from here on `keel().simUrl`, `simAdmin` and the venue helpers use the stack's
 * simulator. Such files share that simulator, so each must use instruments no other such file
 * touches and leave no faults armed. Call it at the top level of the spec file.
 */
export function useStackSimulator(): void {
  if (fileContext) fileContext = { ...fileContext, simUrl: inject("keel").simUrl };
}

/** The running stack's addresses and credentials, with this file's token and simulator. */
export function keel(): KeelInfo {
  const stack = standaloneStack ?? inject("keel");
  const base: KeelInfo = {
    ...stack,
    bootstrapToken: stack.adminToken,
    adminTokenId: "bootstrap",
    stackSimUrl: stack.simUrl,
    clientIp: null,
  };
  if (!fileContext) return base;
  return {
    ...base,
    adminToken: fileContext.adminToken,
    adminTokenId: fileContext.adminTokenId,
    simUrl: fileContext.simUrl,
    clientIp: fileContext.clientIp,
  };
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
  const k = keel();
  const url = /^https?:\/\//.test(target) ? target : `${k.baseUrl}${target}`;
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  // This file's own client IP towards the edge (its own per-IP budgets), unless the test sets one.
  if (k.clientIp && (url === k.baseUrl || url.startsWith(`${k.baseUrl}/`)) && !headers.has("cf-connecting-ip")) {
    headers.set("cf-connecting-ip", k.clientIp);
  }
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

/** How often `adminFetch` waited out a `429 rate_limited` in this file (file-context.ts prints it). */
export const adminRateLimitWaits = { count: 0 };

/**
 * `fetchJson` with this file's admin bearer token. The token and the client IP are the file's own
 * (150 requests per 10 s per token, 300 per IP: wrangler.toml), so no other file can spend them.
 * A `429 rate_limited` is refused at the edge before any handler runs, so sending it again changes
 * nothing on the server: the product's contract for that answer is "slow down and resend". This
 * waits (Retry-After, else 1 s) and resends for up to 30 s, and counts each wait, which the file's
 * report prints: a file whose own polling outruns its budget shows up there. Any other answer is
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
    adminRateLimitWaits.count += 1;
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

/**
 * A small seeded pseudo-random generator (mulberry32) returning numbers in [0, 1). Tests draw
 * their random choices from one of these, seeded from KEEL_TEST_SEED, so a failing run can be
 * replayed; `Math.random` is not used in tests.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A 32-bit FNV-1a hash of `text` (stable seeds and labels from names). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** This file's seed: the run's KEEL_TEST_SEED mixed with the file's name. */
export function fileSeed(): number {
  const runSeed = Number(process.env.KEEL_TEST_SEED ?? 0) >>> 0;
  return (hash32(`${runSeed}:${fileContext?.label ?? "no-file"}`) ^ runSeed) >>> 0;
}

let idRandom: (() => number) | null = null;

/**
 * A unique id for this test run (bot ids, signal ids): the time keeps reruns against kept state
 * apart, a seeded draw (fileSeed) keeps ids made in the same millisecond apart.
 */
export function uniqueId(prefix: string): string {
  idRandom ??= seededRandom(fileSeed());
  const draw = Math.floor(idRandom() * 36 ** 6).toString(36).padStart(6, "0");
  return `${prefix}-${Date.now().toString(36)}-${draw}`;
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
