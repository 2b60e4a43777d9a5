// The stack measurements: design-budget latency (testnet bot → simulator), webhook throughput
// (paper bots) and audit shipping into Neo4j. Each function drives the real local stack over HTTP
// on 127.0.0.1 and returns plain numbers; run.ts starts/stops the stack and prints the table.
import type { Neo4jRelay } from "../../scripts/neo4j-relay.ts";
import { type Answer, type Dist, call, dist, envInt, mustCall, nowUs, sleep } from "./lib.ts";

/** Where the running stack answers. */
export interface Target {
  baseUrl: string;
  simUrl: string;
  adminToken: string;
  neo4jUrl: string | null;
  neo4jUser: string;
  neo4jPassword: string;
}

/** The simulator's default Binance key (tests/exchange-sim/README.md, account `binance-main`). */
const SIM_BINANCE_KEY = { api_key: "simBinanceKeyMain0001", api_secret: "simBinanceSecretMain0001" };

/** One entry of the simulator's request log. */
interface SimRequest {
  seq: number;
  recv_us: number;
  method: string;
  path: string;
  query: string;
  body: string;
  status: number;
}

function admin<T>(t: Target, path: string, init: Parameters<typeof mustCall>[1] = {}): Promise<T> {
  return mustCall<T>(`${t.baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${t.adminToken}` } });
}

/**
 * Creates a Binance BTCUSDT bot pointed at the simulator; returns its webhook secret. Spot for the
 * latency run (sequential buy/sell round trips); linear for throughput, where concurrent buys and
 * sells just move a position around zero (a spot sell is capped at the free base balance, so
 * concurrent spot sells would be refused for want of coins, measuring the test, not Keel).
 */
export async function createBot(t: Target, id: string, mode: "paper" | "testnet", market: "spot" | "linear" = "spot"): Promise<string> {
  const created = await admin<{ webhook_secret: string }>(t, "/api/v1/bots", {
    method: "POST",
    json: {
      id,
      name: `bench ${id}`,
      exchange: "binance",
      market,
      mode,
      base_url: t.simUrl,
      instruments: ["BTCUSDT"],
      sizing: { mode: "fixed_qty", value: market === "spot" ? "0.001" : "0.002" },
      risk: { max_order_notional: "1000", max_signal_age_secs: 60 },
      allowed_ips: [],
    },
  });
  if (mode === "testnet") {
    await admin(t, `/api/v1/bots/${id}/credentials`, { method: "PUT", json: SIM_BINANCE_KEY });
  }
  return created.webhook_secret;
}

/**
 * Lifts the simulator's exchange limits: the benchmark measures Keel, not a simulated ban. (Keel's
 * own limiter still applies.)
 */
export async function liftSimLimits(t: Target): Promise<void> {
  await mustCall(`${t.simUrl}/__admin/ratelimit`, {
    json: {
      binance_spot_weight_1m: 10_000_000,
      binance_spot_orders_10s: 10_000_000,
      binance_spot_orders_1d: 10_000_000,
      binance_futures_weight_1m: 10_000_000,
      binance_futures_orders_10s: 10_000_000,
      binance_futures_orders_1m: 10_000_000,
      binance_requests_before_ban: 10_000_000,
    },
  });
  await mustCall(`${t.simUrl}/__admin/price`, { json: { symbol: "BTCUSDT", price: "65000" } });
}

let counter = 0;

/** A TradingView-style alert; buys and sells alternate so positions and balances stay flat. */
function alert(secret: string, tag: string): { id: string; text: string } {
  counter += 1;
  const id = `${tag}-${process.pid}-${counter}`;
  const action = counter % 2 === 0 ? "sell" : "buy";
  const text = JSON.stringify({ secret, id, action, symbol: "BTCUSDT", time: new Date().toISOString() });
  return { id, text };
}

/** Sends one webhook; returns its status, parsed answer and send/answer times (epoch µs). */
async function send(t: Target, bot: string, body: string): Promise<{ res: Answer | null; err: string | null; sentUs: number; doneUs: number }> {
  const sentUs = nowUs();
  try {
    const res = await call(`${t.baseUrl}/webhook/${bot}`, { body, headers: { "content-type": "application/json" }, timeoutMs: 15_000 });
    return { res, err: null, sentUs, doneUs: nowUs() };
  } catch (e) {
    return { res: null, err: String((e as Error).message ?? e), sentUs, doneUs: nowUs() };
  }
}

async function simRequestsSince(t: Target, since: number): Promise<SimRequest[]> {
  const log = await mustCall<SimRequest[] | { requests: SimRequest[] }>(`${t.simUrl}/__admin/requests?since=${since}`);
  return Array.isArray(log) ? log : log.requests;
}

async function lastSimSeq(t: Target): Promise<number> {
  const all = await simRequestsSince(t, 0);
  return all.reduce((m, r) => Math.max(m, r.seq), 0);
}

/** Result of the design-budget measurement. */
export interface LatencyResult {
  /** Webhook sent → order request received by the simulator, ms. */
  toExchangeMs: Dist;
  /** Webhook sent → answer received, ms. */
  roundTripMs: Dist;
  /**
   * Webhook sent → the bot's FIRST exchange request (price lookup) received, ms: our time before
   * any exchange round trip. `toExchangeMs` also contains that lookup's round trip.
   */
  toFirstCallMs: Dist;
  /** The first (cold) webhook of the bot, ms to the exchange and round trip. */
  cold: { toExchangeMs: number | null; roundTripMs: number };
  /** Simulator requests per webhook, by method and path (what the bot called besides the order). */
  simCallsPerWebhook: Record<string, number>;
  errors: Record<string, number>;
  unmatched: number;
}

/**
 * Sends `n` webhooks one after another to a testnet bot (real signed requests to the simulator)
 * and, for each, compares our send time with the simulator's receive time of its order request.
 * Sequential on purpose: it measures our own time per signal, not queueing behind other signals.
 */
export async function measureLatency(t: Target, n: number, warmup: number): Promise<LatencyResult> {
  const bot = `bench-lat-${Date.now().toString(36)}`;
  const secret = await createBot(t, bot, "testnet");
  const errors: Record<string, number> = {};
  const samples: { sentUs: number; doneUs: number; ok: boolean }[] = [];
  const seq0 = await lastSimSeq(t);
  // Binance spot allows 100 orders per 10 s and the bot keeps a fifth of that for exits, so
  // back-to-back webhooks (~9/s on an idle machine) would be refused by the bot's own limiter
  // (503, then an auto-pause): pace starts so the run measures latency, not the rate limit.
  const paceMs = envInt("KEEL_BENCH_PACE_MS", 150);
  let lastStart = 0;
  for (let i = 0; i < warmup + n; i++) {
    const wait = lastStart + paceMs - Date.now();
    if (wait > 0) await sleep(wait);
    lastStart = Date.now();
    const a = alert(secret, "lat");
    const r = await send(t, bot, a.text);
    const ok = r.res?.status === 200 && (r.res.body as { status?: string } | null)?.status === "executed";
    if (!ok) {
      const key = r.err ? `network: ${r.err}` : `${r.res?.status} ${(r.res?.body as { code?: string } | null)?.code ?? r.res?.text.slice(0, 80)}`;
      errors[key] = (errors[key] ?? 0) + 1;
    }
    samples.push({ sentUs: r.sentUs, doneUs: r.doneUs, ok });
  }
  await sleep(200);
  const log = (await simRequestsSince(t, seq0)).filter((q) => q.seq > seq0).sort((a, b) => a.seq - b.seq);
  const orders = log.filter((q) => q.method === "POST" && q.path === "/api/v3/order");
  const toExchange: number[] = [];
  const roundTrip: number[] = [];
  const toFirstCall: number[] = [];
  let unmatched = 0;
  let cold: LatencyResult["cold"] = { toExchangeMs: null, roundTripMs: 0 };
  samples.forEach((s, i) => {
    // Sequential sends: exactly one order request falls inside each webhook's send→answer window.
    const inWindow = orders.filter((o) => o.recv_us >= s.sentUs - 1_000 && o.recv_us <= s.doneUs + 1_000);
    const first = inWindow[0];
    const ms = first ? (first.recv_us - s.sentUs) / 1000 : null;
    if (i === 0) cold = { toExchangeMs: ms === null ? null : Math.round(ms * 100) / 100, roundTripMs: Math.round((s.doneUs - s.sentUs) / 10) / 100 };
    if (i < warmup || !s.ok) return;
    if (ms === null || inWindow.length !== 1) {
      unmatched += 1;
      return;
    }
    toExchange.push(ms);
    roundTrip.push((s.doneUs - s.sentUs) / 1000);
    const firstCall = log.find((q) => q.recv_us >= s.sentUs - 1_000 && q.recv_us <= s.doneUs + 1_000);
    if (firstCall) toFirstCall.push((firstCall.recv_us - s.sentUs) / 1000);
  });
  const perPath: Record<string, number> = {};
  const measuredFrom = samples[warmup]?.sentUs ?? 0;
  for (const q of log) {
    if (q.recv_us < measuredFrom - 1_000) continue;
    const key = `${q.method} ${q.path}`;
    perPath[key] = (perPath[key] ?? 0) + 1;
  }
  for (const k of Object.keys(perPath)) perPath[k] = Math.round(((perPath[k] ?? 0) / Math.max(1, n)) * 100) / 100;
  return { toExchangeMs: dist(toExchange), roundTripMs: dist(roundTrip), toFirstCallMs: dist(toFirstCall), cold, simCallsPerWebhook: perPath, errors, unmatched };
}

/** Result of one throughput run. */
export interface ThroughputResult {
  bots: number;
  concurrencyPerBot: number;
  seconds: number;
  sent: number;
  ok: number;
  webhooksPerSec: number;
  errors: Record<string, number>;
  latencyMs: Dist;
}

/** Creates `count` paper bots; returns their ids and secrets. */
export async function paperBots(t: Target, count: number, tag: string): Promise<{ id: string; secret: string }[]> {
  const out: { id: string; secret: string }[] = [];
  for (let i = 0; i < count; i++) {
    const id = `bench-${tag}-${i}-${Date.now().toString(36)}`;
    out.push({ id, secret: await createBot(t, id, "paper", "linear") });
  }
  return out;
}

/**
 * Closed-loop load for `seconds`: `concurrency` workers per bot, each sending its next webhook as
 * soon as the previous one is answered. Counts executed (200) answers per second of wall time.
 */
export async function measureThroughput(
  t: Target,
  bots: { id: string; secret: string }[],
  concurrency: number,
  seconds: number,
): Promise<ThroughputResult> {
  const errors: Record<string, number> = {};
  const lat: number[] = [];
  let sent = 0;
  let ok = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async (bot: { id: string; secret: string }): Promise<void> => {
    while (performance.now() < end) {
      const a = alert(bot.secret, "tp");
      sent += 1;
      const r = await send(t, bot.id, a.text);
      if (r.res?.status === 200) {
        ok += 1;
        lat.push((r.doneUs - r.sentUs) / 1000);
      } else {
        const key = r.err ? `network: ${r.err}` : `${r.res?.status} ${(r.res?.body as { code?: string } | null)?.code ?? ""}`;
        errors[key] = (errors[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(bots.flatMap((b) => Array.from({ length: concurrency }, () => worker(b))));
  const elapsed = (performance.now() - start) / 1000;
  return {
    bots: bots.length,
    concurrencyPerBot: concurrency,
    seconds: Math.round(elapsed * 10) / 10,
    sent,
    ok,
    webhooksPerSec: Math.round((ok / elapsed) * 10) / 10,
    errors,
    latencyMs: dist(lat),
  };
}

/** Counts the audit events of `bots` in Neo4j through its Query API. */
async function neo4jCount(t: Target, bots: string[]): Promise<number> {
  if (!t.neo4jUrl) throw new Error("Neo4j is not running");
  const auth = Buffer.from(`${t.neo4jUser}:${t.neo4jPassword}`).toString("base64");
  const res = await mustCall<{ data?: { values: unknown[][] }; errors?: { message: string }[] }>(`${t.neo4jUrl}/db/neo4j/query/v2`, {
    json: { statement: "MATCH (e:Event) WHERE e.bot_id IN $bots RETURN count(e)", parameters: { bots } },
    headers: { authorization: `Basic ${auth}`, accept: "application/json" },
  });
  if (res.errors?.length) throw new Error(`Neo4j: ${res.errors.map((e) => e.message).join("; ")}`);
  return Number(res.data?.values[0]?.[0] ?? 0);
}

/** The bot's newest audit seq (events written to its outbox) and what it has shipped. */
async function outboxState(t: Target, bot: string): Promise<{ last: number; shipped: number }> {
  const page = await admin<{ last_seq: number; shipped_seq: number }>(t, `/api/v1/bots/${bot}/audit?limit=1`);
  return { last: Number(page.last_seq), shipped: Number(page.shipped_seq) };
}

/** Result of the audit-shipping measurement. */
export interface ShippingResult {
  bots: number;
  /** Events written to the bots' outboxes (sum of their newest audit seq). */
  events: number;
  /** Events of these bots found in Neo4j at the end (label `Event`, by bot id, all seqs). */
  inNeo4j: number;
  /** Events/s from the first to the last poll that saw growth (load and drain). */
  eventsPerSec: number;
  /** Highest events/s over any 5 s window of polls. */
  peak5sPerSec: number;
  /** Seconds from the end of the webhook load until every outbox had shipped (null: not drained). */
  drainSecs: number | null;
  /**
   * Audit write calls neo4j-proxy made to Neo4j during the measurement, as counted by the relay in
   * front of Neo4j (scripts/neo4j-relay.ts): acknowledged batches, events per batch (mean, max).
   * Null when the stack runs without the relay.
   */
  batch: { writes: number; mean: number; max: number } | null;
}

/**
 * Samples Neo4j's event count for `bots` every second while `load` runs and afterwards until every
 * outboxed event is in Neo4j (or `maxDrainSecs` passes).
 */
export async function measureShipping(
  t: Target,
  bots: string[],
  load: () => Promise<unknown>,
  maxDrainSecs: number,
  relay: Neo4jRelay | null = null,
): Promise<ShippingResult> {
  relay?.resetStats();
  const polls: { t: number; n: number }[] = [];
  const base = await neo4jCount(t, bots);
  const t0 = performance.now();
  let running = true;
  const poller = (async (): Promise<void> => {
    while (running) {
      polls.push({ t: (performance.now() - t0) / 1000, n: (await neo4jCount(t, bots)) - base });
      await sleep(1000);
    }
  })();
  await load();
  const loadEnd = (performance.now() - t0) / 1000;
  // Drained = every bot's outbox has shipped up to its newest event (polled every 2 s: the admin
  // API is rate limited per token).
  const deadline = performance.now() + maxDrainSecs * 1000;
  let drainSecs: number | null = null;
  let total = 0;
  while (performance.now() < deadline) {
    const states = await Promise.all(bots.map((b) => outboxState(t, b)));
    total = states.reduce((a, x) => a + x.last, 0);
    if (states.every((x) => x.shipped >= x.last)) {
      drainSecs = Math.round(((performance.now() - t0) / 1000 - loadEnd) * 10) / 10;
      break;
    }
    await sleep(2000);
  }
  running = false;
  await poller;
  // Loss check on absolute numbers: `total` is every seq since each bot was created, so it is
  // compared with every event of those bots in Neo4j. (Subtracting `base`, the events already
  // shipped before the load (bot creation, warm-up), made a complete copy look short: the
  // "5601 of 5823" of an earlier run was exactly that baseline.) Rates below use the delta.
  const inNeo4j = await neo4jCount(t, bots);
  const shipped = inNeo4j - base;
  polls.push({ t: (performance.now() - t0) / 1000, n: shipped });
  const firstGrowth = polls.find((p) => p.n > 0);
  const lastGrowth = polls.find((p) => p.n >= shipped);
  let peak = 0;
  for (const a of polls) {
    const b = polls.find((p) => p.t >= a.t + 5);
    if (b) peak = Math.max(peak, (b.n - a.n) / (b.t - a.t));
  }
  const span = firstGrowth && lastGrowth ? lastGrowth.t - firstGrowth.t : 0;
  const relayBatch = relay?.stats().batch;
  return {
    bots: bots.length,
    events: total,
    inNeo4j,
    eventsPerSec: span > 0 && firstGrowth ? Math.round(((shipped - firstGrowth.n) / span) * 10) / 10 : 0,
    peak5sPerSec: Math.round(peak * 10) / 10,
    drainSecs,
    batch: relayBatch ? { writes: relayBatch.count, mean: relayBatch.mean, max: relayBatch.max } : null,
  };
}
