// The soak run (issue 27): `npm run soak -- --minutes N [--seed S]`. Not part of `npm test`.
//
// Starts a stack of its own (scripts/stack.ts: simulator, Neo4j, wrangler dev), creates testnet
// bots on the simulator (both exchanges, spot and linear, two pairs of them sharing an API key),
// and for N minutes sends them random signals drawn from a printed seed while it moves prices,
// pays funding, injects exchange faults (5xx before and after execution, dropped answers, answers
// slower than the bot's timeout, late answers, order rejections, 429 rate-limit squeezes), kills
// (SIGKILL) and restarts Neo4j and the Workers process at random intervals, and fires the cron. A
// sender that gets no answer (the Workers were down) resends the same alert, as a careful client
// would. One progress line per minute.
//
// Then it stops the chaos, lets orders settle and outboxes drain, and computes its verdict
// independently of the platform's own summaries:
//   - zero lost signals: every signal a bot claimed has a final outcome (none left `processing`),
//     and every alert got an answer;
//   - zero duplicate orders: client ids unique at the simulator, no signal with more than one
//     order, no order at the simulator that no bot owns;
//   - the audit trail: every bot's events in Neo4j exactly once, hash chain and NEXT links intact,
//     the admin API's verify endpoint agreeing (tests/e2e/outage-helpers.ts `expectExactCopy`);
//   - P&L: each bot's realized P&L, position, fees (by asset and in quote) and funding equal, to
//     the last decimal, the average-cost book computed from the simulator's own trade, fee and
//     funding history (tests/e2e/pnl-helpers.ts; method as in pnl-history.spec.ts);
//   - reconciliation finds no difference.
// Writes .keel/soak/<run>/report.json and report.md (plus the stack's logs) and exits 1 on a failed
// verdict. The e2e helpers are imported as they are (scripts/ts-resolve.ts lets plain Node load
// their `./x.js` imports).

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { register } from "node:module";
import os from "node:os";
import path from "node:path";
import { ROOT, freePort, randomToken, startStack, type Stack } from "./stack.ts";

register("./ts-resolve.ts", import.meta.url);
const { adminFetch, fetchJson, neo4jQuery, seededRandom, setFileContext, simAdmin, uniqueId, useStandaloneStack } = await import(
  "../tests/e2e/harness.ts"
);
const { expectExactCopy, waitDrained } = await import("../tests/e2e/outage-helpers.ts");
const { AvgCostBook, Dec, canon, steps, sum, toTick } = await import("../tests/e2e/pnl-helpers.ts");
type DecT = import("../tests/e2e/pnl-helpers.ts").Dec;

// ---------------------------------------------------------------------------------------------
// Arguments

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const MINUTES = Number(arg("minutes") ?? 10);
const SEED = Number(arg("seed") ?? Math.floor(Math.random() * 2 ** 31));
if (!(MINUTES > 0) || !Number.isSafeInteger(SEED) || SEED < 0) {
  console.error("usage: npm run soak -- --minutes N [--seed S]   (N > 0, S a non-negative integer)");
  process.exit(2);
}
process.env.KEEL_TEST_SEED = String(SEED);
const rand = seededRandom(SEED);
const between = (lo: number, hi: number): number => lo + rand() * (hi - lo);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
const runDir = path.join(ROOT, ".keel", "soak", `${stamp}-seed${SEED}`);
fs.mkdirSync(runDir, { recursive: true });
const say = (msg: string): void => console.log(`soak: ${msg}`);
say(`seed ${SEED} (replay the same draws: npm run soak -- --minutes ${MINUTES} --seed ${SEED}); report in ${path.relative(ROOT, runDir)}`);

// ---------------------------------------------------------------------------------------------
// Bots

interface BotSpec {
  name: string;
  exchange: "binance" | "bybit";
  market: "spot" | "linear";
  venue: "binance_spot" | "binance_futures" | "bybit_spot" | "bybit_linear";
  account: string;
  key: string;
  secret: string;
  symbol: "BTCUSDT" | "ETHUSDT";
  base: string;
  tick: string;
  step: string;
  lo: number;
  hi: number;
}
const BINANCE = { account: "binance-main", key: "simBinanceKeyMain0001", secret: "simBinanceSecretMain0001" };
const BYBIT = { account: "bybit-main", key: "simBybitKeyMain0001", secret: "simBybitSecretMain0001" };
// Pairs on one account (and one venue) trade different symbols: each (account, venue, symbol)
// position at the exchange is one bot's, so its funding rows are that bot's too.
const SPECS: BotSpec[] = [
  { name: "binance-spot-btc", exchange: "binance", market: "spot", venue: "binance_spot", ...BINANCE, symbol: "BTCUSDT", base: "BTC", tick: "0.01", step: "0.00001", lo: 10, hi: 60 },
  { name: "binance-spot-eth", exchange: "binance", market: "spot", venue: "binance_spot", ...BINANCE, symbol: "ETHUSDT", base: "ETH", tick: "0.01", step: "0.0001", lo: 20, hi: 150 },
  { name: "binance-usdm-btc", exchange: "binance", market: "linear", venue: "binance_futures", ...BINANCE, symbol: "BTCUSDT", base: "BTC", tick: "0.1", step: "0.001", lo: 2, hi: 6 },
  { name: "bybit-spot-btc", exchange: "bybit", market: "spot", venue: "bybit_spot", ...BYBIT, symbol: "BTCUSDT", base: "BTC", tick: "0.01", step: "0.000001", lo: 100, hi: 600 },
  { name: "bybit-linear-btc", exchange: "bybit", market: "linear", venue: "bybit_linear", ...BYBIT, symbol: "BTCUSDT", base: "BTC", tick: "0.1", step: "0.001", lo: 1, hi: 6 },
  { name: "bybit-linear-eth", exchange: "bybit", market: "linear", venue: "bybit_linear", ...BYBIT, symbol: "ETHUSDT", base: "ETH", tick: "0.01", step: "0.01", lo: 1, hi: 6 },
];
const ORDER_PATHS = ["/api/v3/order", "/fapi/v1/order", "/v5/order/create"];
const QUERY_PATHS = ["/api/v3/order", "/fapi/v1/order", "/v5/order/realtime"];
const OPEN = new Set(["sent", "accepted", "partially_filled", "cancel_sent", "unknown"]);

interface Bot extends BotSpec {
  id: string;
  whSecret: string;
}

/** One alert the soak sent, and what it heard. */
interface SentSignal {
  id: string;
  bot: string;
  action: string;
  /** Answers in order (a resend after no answer adds one). */
  answers: string[];
  /** Sends without an answer (the Workers were down), each followed by a resend of the same alert. */
  unanswered: number;
  /** Gave up: no answer within the resend window. */
  lost: boolean;
  /** The HTTP status of the last answer (0 when none). */
  status: number;
}

// ---------------------------------------------------------------------------------------------
// Counters

const tally = {
  signals: 0,
  answers: {} as Record<string, number>,
  resends: 0,
  faults: {} as Record<string, number>,
  workersRestarts: 0,
  /** Kills made while an order had executed at the exchange and its answer was pending. */
  aimedKills: 0,
  /** Bots the operator step resumed after they paused themselves. */
  resumes: 0,
  workersRestartMs: [] as number[],
  neo4jRestarts: 0,
  crons: 0,
  fundings: 0,
  priceMoves: 0,
  serverErrors: [] as string[],
};
const sent: SentSignal[] = [];
let running = true;
let workersUp = true;

// ---------------------------------------------------------------------------------------------
// Stack

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keel-soak-"));
say("starting the stack (simulator, Neo4j, Workers)");
const stack: Stack = await startStack({
  port: await freePort(),
  simPort: await freePort(),
  neo4jPort: await freePort(),
  neo4jPassword: randomToken(18),
  adminToken: randomToken(24),
  masterKey: randomBytes(32).toString("base64"),
  neo4jDataDir: path.join(tmp, "neo4j"),
  stateDir: path.join(tmp, "wrangler-state"),
  runDir: path.join(tmp, "run"),
  logDir: path.join(runDir, "logs"),
  info: say,
});
const onExit = (): void => stack.killNow();
process.on("exit", onExit);
process.on("SIGINT", () => process.exit(130));
if (!stack.neo4jUrl) {
  await stack.stop();
  throw new Error("the soak needs Neo4j (java, javac, mvn): its verdict reads the audit trail there");
}
useStandaloneStack({
  baseUrl: stack.baseUrl,
  adminToken: stack.adminToken,
  simUrl: stack.simUrl,
  proxyUrl: null,
  neo4jUrl: stack.neo4jUrl,
  neo4jUser: stack.neo4jUser,
  neo4jPassword: stack.neo4jPassword,
  startupMs: stack.startupMs,
  seed: SEED,
});
setFileContext({ label: "soak", adminToken: stack.adminToken, adminTokenId: "bootstrap", simUrl: stack.simUrl, clientIp: "198.18.200.1" });

async function createBot(s: BotSpec): Promise<Bot> {
  const id = uniqueId(`soak-${s.name}`);
  const res = await adminFetch<{ webhook_secret: string }>("/api/v1/bots", {
    method: "POST",
    json: {
      id,
      name: `soak ${s.name}`,
      exchange: s.exchange,
      market: s.market,
      mode: "testnet",
      base_url: stack.simUrl,
      instruments: [s.symbol],
      sizing: { mode: "fixed_qty", value: Dec.of(s.step).mul(String(s.lo)).toString() },
      risk: {},
    },
  });
  if (res.status !== 201) throw new Error(`creating ${s.name}: ${res.status} ${res.text}`);
  const creds = await adminFetch(`/api/v1/bots/${id}/credentials`, { method: "PUT", json: { api_key: s.key, api_secret: s.secret } });
  if (creds.status !== 200) throw new Error(`credentials of ${s.name}: ${creds.status} ${creds.text}`);
  return { ...s, id, whSecret: res.body?.webhook_secret ?? "" };
}

const simConfig = await simAdmin<{ rate_limits: Record<string, number> }>("/__admin/config");
const prices: Record<string, DecT> = { BTCUSDT: Dec.of("65000"), ETHUSDT: Dec.of("3200") };
for (const [symbol, p] of Object.entries(prices)) await simAdmin("/__admin/price", { symbol, price: p.toString() });
const bots: Bot[] = [];
for (const s of SPECS) bots.push(await createBot(s));
say(`bots: ${bots.map((b) => `${b.name}=${b.id}`).join(", ")}`);

// ---------------------------------------------------------------------------------------------
// Signals

/** Waits until the Workers answer /health again (a restart in progress). */
async function waitUp(): Promise<void> {
  for (;;) {
    if (workersUp) {
      try {
        const res = await fetch(`${stack.baseUrl}/health`, { signal: AbortSignal.timeout(5_000) });
        if (res.status < 500) return;
      } catch {
        // Still down.
      }
    }
    await sleep(500);
  }
}

/** Sends one alert; with no answer (or a non-JSON one from a dying process) resends it as is. */
async function send(bot: Bot, action: string, extra: Record<string, unknown>): Promise<SentSignal> {
  const rec: SentSignal = { id: uniqueId("sig"), bot: bot.id, action, answers: [], unanswered: 0, lost: false, status: 0 };
  sent.push(rec);
  tally.signals += 1;
  const body = { secret: bot.whSecret, id: rec.id, action, symbol: bot.symbol, time: new Date().toISOString(), ...extra };
  const first = Date.now();
  for (;;) {
    let res: { status: number; body: Record<string, unknown> | null; text: string } | null;
    try {
      res = await fetchJson<Record<string, unknown>>(`/webhook/${bot.id}`, { method: "POST", json: body, signal: AbortSignal.timeout(30_000) });
    } catch {
      res = null;
    }
    const answer = res?.body && (typeof res.body.status === "string" || typeof res.body.code === "string") ? res : null;
    if (answer) {
      const key = `${answer.status} ${String(answer.body?.code ?? answer.body?.status)}`;
      rec.answers.push(key);
      rec.status = answer.status;
      tally.answers[key] = (tally.answers[key] ?? 0) + 1;
      if (answer.status >= 500 && answer.status !== 503) tally.serverErrors.push(`${bot.name} ${rec.id}: ${answer.text.slice(0, 300)}`);
      return rec;
    }
    rec.unanswered += 1;
    tally.resends += 1;
    if (Date.now() - first > 10 * 60_000) {
      rec.lost = true;
      return rec;
    }
    await waitUp();
  }
}

/** One random signal for `bot` at the current price. */
async function randomSignal(bot: Bot): Promise<void> {
  const r = rand();
  const action = r < 0.36 ? "buy" : r < 0.72 ? "sell" : r < 0.95 ? "close" : "cancel_all";
  const extra: Record<string, unknown> = {};
  if (action === "buy" || action === "sell") {
    extra.qty = steps(rand, bot.step, bot.lo, bot.hi).toString();
    if (rand() < 0.25) {
      // Limit: half marketable (crosses the spread), half resting 5-30 bp away.
      const marketable = rand() < 0.5;
      const bps = marketable ? 20 : 5 + Math.floor(rand() * 26);
      const towards = (action === "buy") === marketable ? 1 : -1;
      const price = prices[bot.symbol] as DecT;
      extra.order_type = "limit";
      extra.price = toTick(price.mul(Dec.of(String(10_000 + towards * bps))).divRound("10000", 8), bot.tick).toString();
    }
  }
  await send(bot, action, extra);
}

/**
 * Pause between two signals of one lane (two bots each): at most ~700 signals per bot whatever the
 * length, so every order stays inside the orders view's page of 1,000.
 */
const GAP_MS = Math.max(400, (MINUTES * 60_000) / 1_400);

async function lane(mine: Bot[]): Promise<void> {
  while (running) {
    await randomSignal(pick(mine));
    await sleep(between(0.5, 1.5) * GAP_MS);
  }
}

// ---------------------------------------------------------------------------------------------
// Chaos

function fault(): { label: string; body: unknown } {
  const r = rand();
  const p = pick(ORDER_PATHS);
  if (r < 0.2) return { label: "5xx before execution", body: { kind: "error", status: pick([500, 502, 503]), path: p, method: "POST" } };
  if (r < 0.35) return { label: "5xx after execution", body: { kind: "error", status: 502, process: true, path: p, method: "POST" } };
  if (r < 0.55) return { label: "lost ack (dropped answer)", body: { kind: "drop", path: p, method: "POST" } };
  if (r < 0.65) return { label: "timeout (answer after 11 s)", body: { kind: "delay", ms: 11_000, path: p, method: "POST" } };
  if (r < 0.75) return { label: "late answer (3 s after execution)", body: { kind: "delay", ms: 3_000, after: true, path: p, method: "POST" } };
  if (r < 0.82) return { label: "5xx on order query", body: { kind: "error", status: 503, path: pick(QUERY_PATHS), method: "GET" } };
  const code = p === "/api/v3/order" || p === "/fapi/v1/order" ? -2010 : 170131;
  return { label: "order rejected", body: { kind: "reject", code, msg: "Insufficient balance (soak)", path: p, method: "POST" } };
}

/** A short 429 squeeze on one venue's order budget, then the configured limits again. */
async function squeeze(): Promise<void> {
  const which = pick(["bybit_linear_orders_per_s", "bybit_spot_orders_per_s", "binance_futures_orders_10s", "binance_spot_orders_10s"]);
  await simAdmin("/__admin/ratelimit", { [which]: 1 });
  tally.faults["429 squeeze"] = (tally.faults["429 squeeze"] ?? 0) + 1;
  await sleep(between(3_000, 8_000));
  await simAdmin("/__admin/ratelimit", simConfig.rate_limits);
}

async function cron(): Promise<void> {
  try {
    await fetch(`${stack.baseUrl}/__scheduled?cron=*+*+*+*+*`, { signal: AbortSignal.timeout(60_000) });
    tally.crons += 1;
  } catch {
    // The Workers are restarting: the next cron comes.
  }
}

async function marketLoop(): Promise<void> {
  let nextCron = Date.now() + 20_000;
  let nextFault = Date.now() + between(5_000, 15_000);
  let nextFunding = Date.now() + between(40_000, 80_000);
  while (running) {
    for (const symbol of Object.keys(prices)) {
      if (rand() < 0.7) {
        const bp = Math.floor(rand() * 41) - 20;
        const tick = symbol === "BTCUSDT" ? "0.1" : "0.01";
        prices[symbol] = toTick((prices[symbol] as DecT).mul(Dec.of(String(10_000 + bp))).divRound("10000", 8), tick);
        await simAdmin("/__admin/price", { symbol, price: (prices[symbol] as DecT).toString() });
        tally.priceMoves += 1;
      }
    }
    const now = Date.now();
    if (now >= nextFault) {
      nextFault = now + between(3_000, 12_000);
      if (rand() < 0.12) {
        await squeeze();
      } else {
        const f = fault();
        await simAdmin("/__admin/faults", f.body);
        tally.faults[f.label] = (tally.faults[f.label] ?? 0) + 1;
      }
    }
    if (now >= nextFunding) {
      nextFunding = now + between(40_000, 80_000);
      for (const venue of ["binance_futures", "bybit_linear"]) {
        for (const symbol of Object.keys(prices)) {
          const rate = (Math.floor(rand() * 9) - 4) * 0.0001 || 0.0001;
          await simAdmin("/__admin/funding", { symbol, rate: rate.toFixed(4), venue });
          tally.fundings += 1;
        }
      }
    }
    if (now >= nextCron) {
      nextCron = now + 20_000;
      void cron();
    }
    await sleep(2_000);
  }
}

/**
 * The first Workers kill and half the others are aimed: an order answer is held (a `delay` fault with `after`: the
 * order executes at once), and the kill comes as soon as the simulator has executed it, so an
 * order is left `sent` by the crash for the recovery to resolve.
 */
async function aim(): Promise<boolean> {
  const p = pick(ORDER_PATHS);
  await simAdmin("/__admin/requests", undefined, "DELETE");
  await simAdmin("/__admin/faults", { kind: "delay", ms: 20_000, after: true, path: p, method: "POST" });
  const until = Date.now() + 30_000;
  while (running && Date.now() < until) {
    const log = await simAdmin<{ requests: { method: string; path: string }[] }>("/__admin/requests");
    if (log.requests.some((r) => r.method === "POST" && r.path === p)) return true;
    await sleep(100);
  }
  return false;
}

async function workersLoop(): Promise<void> {
  for (;;) {
    const wait = between(90_000, 240_000);
    const until = Date.now() + wait;
    while (running && Date.now() < until) await sleep(500);
    if (!running) return;
    if ((tally.workersRestarts === 0 || rand() < 0.5) && (await aim())) tally.aimedKills += 1;
    const t = Date.now();
    workersUp = false;
    await stack.stopWorkers({ kill: true });
    await stack.startWorkers();
    workersUp = true;
    tally.workersRestarts += 1;
    tally.workersRestartMs.push(Date.now() - t);
  }
}

async function neo4jLoop(): Promise<void> {
  for (;;) {
    const until = Date.now() + between(120_000, 300_000);
    while (running && Date.now() < until) await sleep(500);
    if (!running) return;
    await stack.stopNeo4j({ kill: true });
    await sleep(between(5_000, 30_000));
    await stack.startNeo4j();
    tally.neo4jRestarts += 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Observation

interface SignalView {
  signal_id: string;
  status: number;
  outcome: Record<string, unknown>;
}
/** Last seen status of every signal each bot holds (its view pages the newest 500). */
const seenStatus = new Map<string, number>();
/** Signals whose execution died with a Workers kill and were answered by the recovery. */
const interrupted = new Set<string>();

async function pollSignals(): Promise<void> {
  for (const b of bots) {
    const res = await adminFetch<SignalView[]>(`/api/v1/bots/${b.id}/signals?limit=500`);
    if (res.status !== 200) continue;
    for (const s of res.body ?? []) {
      seenStatus.set(`${b.id} ${s.signal_id}`, Number(s.status));
      if (s.outcome?.interrupted === true || s.outcome?.code === "execution_interrupted") interrupted.add(`${b.id} ${s.signal_id}`);
    }
  }
}

interface SimOrder {
  id: number;
  venue: string;
  symbol: string;
  client_id: string;
  time: number;
}
interface SimTrade {
  id: number;
  venue: string;
  symbol: string;
  order_id: number;
  side: "Buy" | "Sell";
  price: string;
  qty: string;
  commission: string;
  commission_asset: string;
  time: number;
}
interface SimIncome {
  venue: string;
  symbol: string;
  kind: string;
  income: string;
  time: number;
}
interface SimState {
  orders: SimOrder[];
  trades: SimTrade[];
  income: SimIncome[];
}
const accounts = [...new Set(SPECS.map((s) => s.account))];
async function simStates(): Promise<Map<string, SimState>> {
  const out = new Map<string, SimState>();
  for (const a of accounts) out.set(a, await simAdmin<SimState>(`/__admin/state?account=${a}`));
  return out;
}

/**
 * What an operator does once a minute: resume a bot that paused itself (three consecutive
 * exchange rejections pause a bot until someone resumes it), so the run keeps trading on it.
 */
async function operator(): Promise<void> {
  for (const b of bots) {
    const h = await adminFetch<{ flags?: { paused?: boolean } }>(`/api/v1/bots/${b.id}/health`);
    if (h.status !== 200 || h.body?.flags?.paused !== true) continue;
    const res = await adminFetch(`/api/v1/bots/${b.id}/resume`, { method: "POST", json: {} });
    if (res.status === 200) tally.resumes += 1;
  }
}

async function progress(): Promise<void> {
  const states = await simStates().catch(() => null);
  const orders = states ? [...states.values()].reduce((n, s) => n + s.orders.filter((o) => o.time >= started).length, 0) : -1;
  const faults = Object.values(tally.faults).reduce((a, b) => a + b, 0);
  const answered = sent.filter((s) => s.status > 0);
  const executed = answered.filter((s) => s.status === 200 || s.status === 202).length;
  const mins = ((Date.now() - tradingStarted) / 60_000).toFixed(1);
  say(
    `[${mins} min] signals ${tally.signals} (executed/accepted ${executed}, refused ${answered.length - executed}, ` +
      `resent ${tally.resends}) orders ${orders} faults ${faults} restarts workers ${tally.workersRestarts} ` +
      `neo4j ${tally.neo4jRestarts} crons ${tally.crons} interrupted ${interrupted.size} resumes ${tally.resumes}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Run

say(`trading for ${MINUTES} min: ${bots.length} bots in 3 lanes, a signal every ~${Math.round(GAP_MS)} ms per lane`);
const lanes = [lane(bots.slice(0, 2)), lane(bots.slice(2, 4)), lane(bots.slice(4, 6))];
const chaos = [marketLoop(), workersLoop(), neo4jLoop()];
const tradingStarted = Date.now();
const endAt = tradingStarted + MINUTES * 60_000;
let nextProgress = Date.now() + 60_000;
while (Date.now() < endAt) {
  await sleep(1_000);
  if (Date.now() >= nextProgress) {
    nextProgress += 60_000;
    await progress().catch((e: unknown) => say(`progress: ${String(e)}`));
    await pollSignals().catch(() => undefined);
    await operator().catch((e: unknown) => say(`operator: ${String(e)}`));
  }
}
running = false;
say("stopping the chaos; letting orders settle and outboxes drain");
await Promise.all([...lanes, ...chaos]);
await stack.startNeo4j();
await stack.startWorkers();
await simAdmin("/__admin/faults", undefined, "DELETE");
await simAdmin("/__admin/ratelimit", simConfig.rate_limits);
const tradingMs = Date.now() - tradingStarted;
for (const b of bots) await send(b, "cancel_all", {});

interface OrderRow {
  client_order_id: string;
  signal_id?: string | null;
  status: string;
}
async function ordersOf(b: Bot): Promise<OrderRow[]> {
  const res = await adminFetch<OrderRow[]>(`/api/v1/bots/${b.id}/orders?limit=1000`);
  if (res.status !== 200) throw new Error(`orders of ${b.name}: ${res.status} ${res.text}`);
  return res.body ?? [];
}

// Settle: unknown orders resolve by client id (a never-placed one after the not-found window).
const settleBy = Date.now() + 8 * 60_000;
let unsettled: string[];
for (;;) {
  await cron();
  await pollSignals();
  unsettled = [];
  for (const b of bots) {
    for (const o of await ordersOf(b)) if (OPEN.has(o.status)) unsettled.push(`${b.name} order ${o.client_order_id} ${o.status}`);
  }
  const pending = sent.filter((s) => seenStatus.get(`${s.bot} ${s.id}`) === 0).map((s) => `signal ${s.id} processing`);
  unsettled.push(...pending);
  if (unsettled.length === 0 || Date.now() > settleBy) break;
  await sleep(10_000);
}

// ---------------------------------------------------------------------------------------------
// Verdict

interface Check {
  name: string;
  ok: boolean;
  detail: string[];
}
const checks: Check[] = [];
const check = (name: string, problems: string[]): void => {
  checks.push({ name, ok: problems.length === 0, detail: problems.slice(0, 50) });
};

check("every order settled (none left sent/unknown/open) and no signal left processing", unsettled);

// Reconciliation.
const recon: string[] = [];
for (const b of bots) {
  const res = await adminFetch<{ needs_attention: boolean; mismatches: unknown[] }>(`/api/v1/bots/${b.id}/reconcile`, { method: "POST", json: {} });
  if (res.status !== 200) recon.push(`${b.name}: reconcile answered ${res.status} ${res.text.slice(0, 200)}`);
  else if (res.body?.needs_attention || (res.body?.mismatches ?? []).length > 0) recon.push(`${b.name}: ${JSON.stringify(res.body?.mismatches).slice(0, 500)}`);
}
check("reconciliation finds no difference", recon);

// Lost signals.
await pollSignals();
const lost: string[] = [];
for (const s of sent) {
  if (s.lost) lost.push(`${s.bot} ${s.id}: no answer within 10 min of resends`);
  const st = seenStatus.get(`${s.bot} ${s.id}`);
  if (st === 0) lost.push(`${s.bot} ${s.id}: still processing (answers ${s.answers.join(", ")})`);
  if ((s.status === 200 || s.status === 202) && st === undefined) lost.push(`${s.bot} ${s.id}: answered ${s.status} but absent from the bot's signals`);
}
check("zero lost signals", lost);

// Duplicates and ownership.
const states = await simStates();
const dups: string[] = [];
const ownedBy = new Map<string, { bot: Bot; signal: string | null }>();
const orderRows = new Map<string, OrderRow[]>();
for (const b of bots) {
  const rows = await ordersOf(b);
  orderRows.set(b.id, rows);
  if (rows.length >= 1000) dups.push(`${b.name}: 1,000 orders or more, past the view's page (shorten the run)`);
  for (const o of rows) ownedBy.set(o.client_order_id, { bot: b, signal: o.signal_id ?? null });
}
const perSignal = new Map<string, number>();
let simOrders = 0;
for (const [account, st] of states) {
  const mine = st.orders.filter((o) => o.time >= started);
  simOrders += mine.length;
  const byCoid = new Map<string, number>();
  for (const o of mine) {
    const key = `${o.venue} ${o.client_id}`;
    byCoid.set(key, (byCoid.get(key) ?? 0) + 1);
    const owner = ownedBy.get(o.client_id);
    if (!owner) dups.push(`${account} ${key}: an order no bot owns`);
    else if (owner.signal) perSignal.set(owner.signal, (perSignal.get(owner.signal) ?? 0) + 1);
  }
  for (const [key, n] of byCoid) if (n > 1) dups.push(`${account} ${key}: ${n} orders with one client id`);
}
for (const [sig, n] of perSignal) if (n > 1) dups.push(`signal ${sig}: ${n} orders`);
check("zero duplicate orders", dups);

// Audit trail.
const audit: string[] = [];
let auditEvents = 0;
for (const b of bots) {
  try {
    await waitDrained(b.id, 5 * 60_000);
    auditEvents += await expectExactCopy(b.id);
  } catch (err) {
    audit.push(`${b.name}: ${String((err as Error).message ?? err).slice(0, 600)}`);
  }
}
check("audit: every event in Neo4j once, hash chain intact, verify ok", audit);
const neo4jEvents = Number((await neo4jQuery("MATCH (e:Event) RETURN count(e) AS n")).values[0]?.[0] ?? 0);

// P&L.
interface PnlView {
  fees: { total_quote: string; by_asset: Record<string, string> };
  funding: string;
  by_instrument: Record<string, { realized: string; position_qty: string; funding: string; fees_quote: string }>;
}
const pnlProblems: string[] = [];
const pnlRows: Record<string, unknown>[] = [];
let trades = 0;
for (const b of bots) {
  const st = states.get(b.account) as SimState;
  const own = new Set((orderRows.get(b.id) ?? []).map((o) => o.client_order_id));
  const ids = new Set(st.orders.filter((o) => o.venue === b.venue && own.has(o.client_id)).map((o) => o.id));
  const ts = st.trades.filter((t) => t.venue === b.venue && ids.has(t.order_id)).sort((x, y) => x.id - y.id);
  trades += ts.length;
  const book = new AvgCostBook();
  const feesByAsset: Record<string, DecT> = {};
  let feesQuote: DecT = Dec.ZERO;
  for (const t of ts) {
    const price = Dec.of(t.price);
    const fee = Dec.of(t.commission);
    book.apply(t.side === "Buy" ? "buy" : "sell", Dec.of(t.qty), price);
    if (b.market === "spot" && t.commission_asset === b.base && !fee.isZero()) book.apply("sell", fee, price);
    if (t.commission_asset !== "USDT" && t.commission_asset !== b.base) pnlProblems.push(`${b.name}: fee in ${t.commission_asset}`);
    feesByAsset[t.commission_asset] = (feesByAsset[t.commission_asset] ?? Dec.ZERO).add(fee);
    feesQuote = feesQuote.add(fee.mul(t.commission_asset === "USDT" ? Dec.of("1") : price));
  }
  const funding = st.income.filter(
    (f) => f.venue === b.venue && f.symbol === b.symbol && f.time >= started && (f.kind === "FUNDING_FEE" || f.kind === "SETTLEMENT"),
  );
  const want = {
    realized: book.realized.toString(),
    position_qty: book.qty.toString(),
    fees_by_asset: Object.fromEntries(Object.entries(feesByAsset).map(([k, v]) => [k, v.toString()]).filter(([, v]) => v !== "0")),
    fees_quote: feesQuote.toString(),
    funding: sum(funding.map((f) => f.income)).toString(),
  };
  const res = await adminFetch<PnlView>(`/api/v1/bots/${b.id}/pnl`);
  const v = res.body;
  const inst = v?.by_instrument[b.symbol];
  const got = {
    realized: canon(inst?.realized),
    position_qty: canon(inst?.position_qty),
    fees_by_asset: Object.fromEntries(Object.entries(v?.fees.by_asset ?? {}).map(([k, x]) => [k, canon(x)]).filter(([, x]) => x !== "0")),
    fees_quote: canon(v?.fees.total_quote),
    funding: canon(v?.funding),
  };
  if (JSON.stringify(got) !== JSON.stringify(want)) pnlProblems.push(`${b.name}: bot ${JSON.stringify(got)} vs exchange ${JSON.stringify(want)}`);
  const fills = await adminFetch<unknown[]>(`/api/v1/bots/${b.id}/fills?limit=1000`);
  const booked = (fills.body ?? []).length;
  if (booked !== ts.length) pnlProblems.push(`${b.name}: ${booked} fills booked for ${ts.length} exchange trades`);
  pnlRows.push({ bot: b.name, id: b.id, trades: ts.length, fills: booked, ...want, matches: JSON.stringify(got) === JSON.stringify(want) });
}
check("P&L equals the exchange's trade/fee/funding history to the last decimal", pnlProblems);
check("no internal error answered (a 5xx other than 503 unavailable)", tally.serverErrors);

// ---------------------------------------------------------------------------------------------
// Report

const ok = checks.every((c) => c.ok);
const durationMs = Date.now() - started;
const faultsTotal = Object.values(tally.faults).reduce((a, b) => a + b, 0);
const command = `npm run soak -- --minutes ${MINUTES} --seed ${SEED}`;
const report = {
  verdict: ok ? "pass" : "fail",
  command,
  seed: SEED,
  minutes: MINUTES,
  started: new Date(started).toISOString(),
  trading_ms: tradingMs,
  duration_ms: durationMs,
  bots: bots.map((b) => ({ name: b.name, id: b.id, exchange: b.exchange, market: b.market, account: b.account, symbol: b.symbol })),
  signals: tally.signals,
  answers: tally.answers,
  resends_after_no_answer: tally.resends,
  server_errors: tally.serverErrors,
  orders_at_exchange: simOrders,
  trades_at_exchange: trades,
  faults_injected: faultsTotal,
  faults: tally.faults,
  workers_restarts: tally.workersRestarts,
  workers_restart_ms: tally.workersRestartMs,
  workers_kills_with_an_order_answer_pending: tally.aimedKills,
  signals_interrupted_and_answered_by_recovery: interrupted.size,
  neo4j_restarts: tally.neo4jRestarts,
  crons: tally.crons,
  operator_resumes: tally.resumes,
  fundings: tally.fundings,
  price_moves: tally.priceMoves,
  audit_events_checked: auditEvents,
  neo4j_events: neo4jEvents,
  pnl: pnlRows,
  checks,
};
fs.writeFileSync(path.join(runDir, "report.json"), JSON.stringify(report, null, 2) + "\n");
const md = [
  `# Soak run ${new Date(started).toISOString()} — ${ok ? "PASS" : "FAIL"}`,
  "",
  `Command: \`${command}\``,
  "",
  "| figure | value |",
  "|---|---|",
  `| duration | ${(durationMs / 60_000).toFixed(1)} min (trading ${(tradingMs / 60_000).toFixed(1)} min) |`,
  `| bots | ${bots.length} (${bots.map((b) => b.name).join(", ")}) |`,
  `| signals | ${tally.signals} (resent after no answer: ${tally.resends}) |`,
  `| orders at the exchange | ${simOrders} (trades ${trades}) |`,
  `| faults injected | ${faultsTotal} |`,
  `| Workers restarts (SIGKILL) | ${tally.workersRestarts} (${tally.aimedKills} with an executed order's answer pending) |`,
  `| signals interrupted by a kill, answered by the recovery | ${interrupted.size} |`,
  `| Neo4j restarts (SIGKILL) | ${tally.neo4jRestarts} |`,
  `| cron ticks | ${tally.crons} |`,
  `| paused bots resumed by the operator step | ${tally.resumes} |`,
  `| audit events checked / in Neo4j | ${auditEvents} / ${neo4jEvents} |`,
  "",
  "## Answers",
  "",
  ...Object.entries(tally.answers).sort().map(([k, n]) => `- \`${k}\`: ${n}`),
  "",
  "## Faults",
  "",
  ...Object.entries(tally.faults).sort().map(([k, n]) => `- ${k}: ${n}`),
  "",
  "## Verdict",
  "",
  ...checks.map((c) => `- ${c.ok ? "PASS" : "FAIL"} ${c.name}${c.ok ? "" : `\n${c.detail.map((d) => `  - ${d}`).join("\n")}`}`),
  "",
].join("\n");
fs.writeFileSync(path.join(runDir, "report.md"), md);
console.log(md);
say(`report: ${path.relative(ROOT, path.join(runDir, "report.md"))}`);

await stack.stop();
process.off("exit", onExit);
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(ok ? 0 : 1);
