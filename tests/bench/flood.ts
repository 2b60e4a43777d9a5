// Flood benchmark (issue 26, item 2): 10,000 unauthenticated webhooks at one bot from several
// source addresses while its owner sends valid signals. Reports the valid signals' latency during
// the flood beside the quiet figure, how the flood was answered, and the bot's storage growth per
// refused request (audit events, `signals` rows, Neo4j events). Not part of `npm test`: it
// measures, it does not assert timings.
//
//   bash scripts/with-env.sh bash -c 'bash scripts/build.sh && node tests/bench/flood.ts'
//   env: KEEL_FLOOD_N (refused requests, 10000), KEEL_FLOOD_SOURCES (addresses, 8),
//        KEEL_FLOOD_CONCURRENCY (in-flight flood requests, 64), KEEL_FLOOD_VALID (valid signals in
//        each phase, 30), KEEL_FLOOD_PACE_MS (gap between valid signals, 200)
//
// Writes the report to .keel/bench/flood.json.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, freePort, randomToken, startStack, type Stack } from "../../scripts/stack.ts";
import { call, dist, envInt, mustCall, sleep, type Dist } from "./lib.ts";
import { createBot, liftSimLimits, type Target } from "./load.ts";

const info = (msg: string): void => console.log(`flood: ${msg}`);

/** The owner's alerts come from a TradingView address, as in production. */
const OWNER_IP = "52.89.214.238";

interface Storage {
  audit: number;
  signals: number;
  neo4j: number | null;
}

interface Phase {
  valid: Dist;
  validStatuses: Record<string, number>;
}

async function storage(t: Target, bot: string): Promise<Storage> {
  const audit = await mustCall<{ last_seq: number }>(`${t.baseUrl}/api/v1/bots/${bot}/audit?limit=1`, {
    headers: { authorization: `Bearer ${t.adminToken}` },
  });
  const signals = await mustCall<unknown[]>(`${t.baseUrl}/api/v1/bots/${bot}/signals?limit=500`, {
    headers: { authorization: `Bearer ${t.adminToken}` },
  });
  let neo4j: number | null = null;
  if (t.neo4jUrl) {
    const auth = Buffer.from(`${t.neo4jUser}:${t.neo4jPassword}`).toString("base64");
    const r = await mustCall<{ data: { values: unknown[][] } }>(`${t.neo4jUrl}/db/neo4j/query/v2`, {
      headers: { authorization: `Basic ${auth}`, accept: "application/json" },
      json: { statement: "MATCH (e:Event {bot_id: $b}) RETURN count(e)", parameters: { b: bot } },
    });
    neo4j = Number(r.data.values[0]?.[0] ?? 0);
  }
  return { audit: audit.last_seq, signals: signals.length, neo4j };
}

/** Waits until the bot's audit outbox has shipped everything (or 90 s). */
async function drained(t: Target, bot: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const a = await mustCall<{ last_seq: number; shipped_seq: number }>(`${t.baseUrl}/api/v1/bots/${bot}/audit?limit=1`, {
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    if (!t.neo4jUrl || a.shipped_seq >= a.last_seq) return;
    await sleep(1_000);
  }
}

let counter = 0;
function validAlert(secret: string): string {
  counter += 1;
  const action = counter % 2 === 0 ? "sell" : "buy";
  return JSON.stringify({ secret, id: `flood-valid-${process.pid}-${counter}`, action, symbol: "BTCUSDT", qty: "0.001", time: new Date().toISOString() });
}

/** Sends `n` valid signals `paceMs` apart and measures each answer's latency (ms). */
async function validSignals(t: Target, bot: string, secret: string, n: number, paceMs: number): Promise<Phase> {
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const r = await call<{ status?: string; code?: string }>(`${t.baseUrl}/webhook/${bot}`, {
      body: validAlert(secret),
      headers: { "content-type": "application/json", "cf-connecting-ip": OWNER_IP },
      timeoutMs: 15_000,
    }).catch((e: Error) => ({ status: 0, body: { code: e.message }, text: "" }));
    const key = r.status === 200 ? `200 ${r.body?.status}` : `${r.status} ${r.body?.code}`;
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (r.status === 200) lat.push(performance.now() - start);
    await sleep(paceMs);
  }
  return { valid: dist(lat), validStatuses: statuses };
}

/** A hostile request: wrong secrets, junk, forged signatures with many entries, oversize bodies. */
function hostile(i: number, secretLen: number): { body: string; headers: Record<string, string> } {
  const t = Math.floor(Date.now() / 1000);
  switch (i % 5) {
    case 0:
      return { body: JSON.stringify({ secret: "x".repeat(secretLen), id: `f${i}`, action: "buy", symbol: "BTCUSDT", time: new Date().toISOString() }), headers: {} };
    case 1:
      return { body: `{"${"k".repeat(2000)}${i}":1,"secret":"nope"}`, headers: {} };
    case 2:
      return { body: JSON.stringify({ action: "buy", symbol: "BTCUSDT", id: `f${i}` }), headers: { "x-keel-signature": `t=${t},${Array.from({ length: 40 }, () => `v1=${"0".repeat(64)}`).join(",")}` } };
    case 3:
      return { body: "é".repeat(9000), headers: {} };
    default:
      return { body: JSON.stringify({ secret: "wrong", action: "sell", symbol: "ETHUSDT", id: `f${i}`, qty: "1e400" }), headers: {} };
  }
}

async function flood(t: Target, bot: string, n: number, sources: number, concurrency: number): Promise<{ statuses: Record<string, number>; secs: number; rps: number }> {
  const statuses: Record<string, number> = {};
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const h = hostile(i, 24);
      const ip = `203.0.113.${(i % sources) + 1}`;
      const r = await call<{ code?: string }>(`${t.baseUrl}/webhook/${bot}`, {
        body: h.body,
        headers: { "content-type": "application/json", "cf-connecting-ip": ip, ...h.headers },
        timeoutMs: 15_000,
      }).catch((e: Error) => ({ status: 0, body: { code: e.message }, text: "" }));
      const key = `${r.status} ${r.body?.code ?? ""}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = (performance.now() - start) / 1000;
  return { statuses, secs: Math.round(secs * 10) / 10, rps: Math.round(n / secs) };
}

async function main(): Promise<void> {
  const n = envInt("KEEL_FLOOD_N", 10_000);
  const sources = envInt("KEEL_FLOOD_SOURCES", 8);
  const concurrency = envInt("KEEL_FLOOD_CONCURRENCY", 64);
  const validN = envInt("KEEL_FLOOD_VALID", 30);
  const pace = envInt("KEEL_FLOOD_PACE_MS", 200);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keel-flood-"));
  const logDir = path.join(ROOT, ".keel", "bench", "flood-logs");
  let stack: Stack | null = null;
  process.on("exit", () => stack?.killNow());
  try {
    stack = await startStack({
      port: await freePort(),
      simPort: await freePort(),
      neo4jPort: await freePort(),
      neo4jPassword: randomToken(18),
      adminToken: randomToken(24),
      masterKey: randomBytes(32).toString("base64"),
      neo4jDataDir: path.join(tmp, "neo4j"),
      stateDir: path.join(tmp, "wrangler-state"),
      runDir: path.join(tmp, "run"),
      logDir,
      info,
    });
    const t: Target = { ...stack, neo4jUrl: stack.neo4jUrl };
    await liftSimLimits(t);
    const bot = `flood-${Date.now().toString(36)}`;
    const secret = await createBot(t, bot, "paper", "spot");
    await validSignals(t, bot, secret, 5, pace); // warm-up

    info(`quiet: ${validN} valid signals, ${pace} ms apart`);
    await drained(t, bot);
    const s0 = await storage(t, bot);
    const quiet = await validSignals(t, bot, secret, validN, pace);
    await drained(t, bot);
    const s1 = await storage(t, bot);

    info(`flood: ${n} unauthenticated requests from ${sources} addresses (${concurrency} in flight), ${validN} valid signals meanwhile`);
    const [floodResult, during] = await Promise.all([
      flood(t, bot, n, sources, concurrency),
      validSignals(t, bot, secret, validN, pace),
    ]);
    // Counted refusals are written when their minute ends (the bot's alarm): wait for it.
    info("waiting 65 s for the coalesced counts to be written, then for the audit to ship");
    await sleep(65_000);
    await drained(t, bot);
    const s2 = await storage(t, bot);

    const perValid = {
      audit: (s1.audit - s0.audit) / validN,
      signals: (s1.signals - s0.signals) / validN,
      neo4j: s1.neo4j !== null && s0.neo4j !== null ? (s1.neo4j - s0.neo4j) / validN : null,
    };
    const refusedGrowth = {
      audit: s2.audit - s1.audit - perValid.audit * validN,
      signals: s2.signals - s1.signals - perValid.signals * validN,
      neo4j: s2.neo4j !== null && s1.neo4j !== null && perValid.neo4j !== null ? s2.neo4j - s1.neo4j - perValid.neo4j * validN : null,
    };
    const report = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, loadavg1m: os.loadavg()[0] },
      settings: { n, sources, concurrency, validN, paceMs: pace },
      quiet_ms: quiet.valid,
      quiet_statuses: quiet.validStatuses,
      during_flood_ms: during.valid,
      during_flood_statuses: during.validStatuses,
      flood: floodResult,
      storage: { before: s0, after_quiet: s1, after_flood: s2, per_valid_signal: perValid, refused_total: refusedGrowth,
        per_refused_request: {
          audit: refusedGrowth.audit / n,
          signals: refusedGrowth.signals / n,
          neo4j: refusedGrowth.neo4j === null ? null : refusedGrowth.neo4j / n,
        } },
    };
    fs.mkdirSync(path.join(ROOT, ".keel", "bench"), { recursive: true });
    fs.writeFileSync(path.join(ROOT, ".keel", "bench", "flood.json"), JSON.stringify(report, null, 2));
    console.log(JSON.stringify(report, null, 2));
    info(`valid signal p50 quiet ${quiet.valid.p50} ms, during flood ${during.valid.p50} ms (p95 ${quiet.valid.p95} → ${during.valid.p95})`);
    info(`storage per refused request: ${report.storage.per_refused_request.audit.toFixed(5)} audit events, ${report.storage.per_refused_request.signals.toFixed(5)} signals rows, neo4j ${report.storage.per_refused_request.neo4j?.toFixed(5) ?? "n/a"}`);
  } finally {
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
