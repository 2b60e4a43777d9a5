// `npm run bench`: Keel's performance benchmarks against the real local stack, then the native
// micro-benchmarks. Prints a summary table and writes it as JSON to .keel/bench/latest.json.
//
//   node tests/bench/run.ts [--only stack|native]
//   env: KEEL_BENCH_N (latency webhooks, 200), KEEL_BENCH_WARMUP (5), KEEL_BENCH_SECS (throughput
//        seconds per run, 20), KEEL_BENCH_CONCURRENCY (in-flight webhooks per bot, 4),
//        KEEL_BENCH_DRAIN_SECS (audit drain wait, 120), KEEL_BENCH_HALT_ROUNDS (20),
//        KEEL_BENCH_PACE_MS (min gap between latency webhook starts, 150)
//
// The stack (simulator, Neo4j when available, wrangler dev) runs on free 127.0.0.1 ports with its
// state in a temp folder, and is stopped at the end, also on failure or Ctrl-C. Performance is
// measured here, never by timed assertions in tests.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, freePort, randomToken, startStack, type Stack } from "../../scripts/stack.ts";
import { envInt } from "./lib.ts";
import {
  type LatencyResult,
  type ShippingResult,
  type Target,
  type ThroughputResult,
  liftSimLimits,
  measureLatency,
  measureShipping,
  measureThroughput,
  paperBots,
} from "./load.ts";
import { type HaltResult, measureHalt } from "./halt.ts";
import { type NativeResult, engineBenches, runCargoBench } from "./native.ts";
import { type PeerReport, peerBenches, peerRows } from "./peers.ts";

interface Report {
  date: string;
  commit: string;
  machine: { cpus: number; loadavg1m: number; node: string; note: string };
  latency: LatencyResult | null;
  throughput: ThroughputResult[];
  shipping: ShippingResult | { skipped: string } | null;
  halt?: HaltResult;
  native: NativeResult[];
  peers?: PeerReport;
  errors: string[];
}

const info = (msg: string): void => console.log(`bench: ${msg}`);

function gitCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
  } catch {
    return "unknown";
  }
}

async function stackBenches(report: Report): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keel-bench-"));
  const logDir = path.join(ROOT, ".keel", "bench", "logs");
  fs.rmSync(logDir, { recursive: true, force: true });
  let stack: Stack | null = null;
  const onExit = (): void => stack?.killNow();
  const onSignal = (sig: NodeJS.Signals): void => {
    info(`${sig}: stopping the stack`);
    void (stack?.stop() ?? Promise.resolve()).finally(() => {
      fs.rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.on("exit", onExit);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
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
      // Counts the audit batches neo4j-proxy writes (batch size in the report).
      neo4jRelay: true,
      info,
    });
    const t: Target = { ...stack, neo4jUrl: stack.neo4jUrl };
    await liftSimLimits(t);

    const n = envInt("KEEL_BENCH_N", 200);
    const warmup = envInt("KEEL_BENCH_WARMUP", 5);
    const secs = envInt("KEEL_BENCH_SECS", 20);
    const conc = envInt("KEEL_BENCH_CONCURRENCY", 4);
    const drain = envInt("KEEL_BENCH_DRAIN_SECS", 120);

    info(`latency: ${warmup} warm-up + ${n} sequential webhooks to a testnet bot (simulator)`);
    report.latency = await measureLatency(t, n, warmup);

    const one = await paperBots(t, 1, "tp1");
    const five = await paperBots(t, 5, "tp5");
    // Warm each bot (Durable Object start, instrument rules, first price) outside the timed runs.
    await measureThroughput(t, [...one, ...five], 1, 1);
    const runs = async (): Promise<void> => {
      info(`throughput: 1 paper bot, ${conc} in flight, ${secs} s`);
      report.throughput.push(await measureThroughput(t, one, conc, secs));
      info(`throughput: 5 paper bots in parallel, ${conc} in flight each, ${secs} s`);
      report.throughput.push(await measureThroughput(t, five, conc, secs));
    };
    if (stack.neo4jUrl) {
      info("audit shipping: Neo4j event count sampled every second during the throughput runs and until drained");
      report.shipping = await measureShipping(t, [...one, ...five].map((b) => b.id), runs, drain, stack.relay);
    } else {
      await runs();
      report.shipping = { skipped: "Neo4j not running (needs java, javac, mvn)" };
    }
    const haltRounds = envInt("KEEL_BENCH_HALT_ROUNDS", 20);
    info(`global halt: ${haltRounds} × halt + resume with every bench bot registered`);
    report.halt = await measureHalt(t, haltRounds);
  } finally {
    await stack?.stop();
    process.off("exit", onExit);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    fs.rmSync(tmp, { recursive: true, force: true });
    info("stack stopped");
  }
}

async function nativeBenches(report: Report): Promise<void> {
  const benches = engineBenches(ROOT);
  if (benches.length === 0) {
    info("no engine/benches/*.rs: native micro-benchmarks skipped");
    return;
  }
  const targetDir = process.env.KEEL_BENCH_TARGET_DIR ?? process.env.CARGO_TARGET_DIR ?? path.join(ROOT, "target");
  for (const b of benches) {
    info(`cargo bench -p keel-engine --bench ${b}`);
    report.native.push(...(await runCargoBench(ROOT, b, targetDir)));
  }
  try {
    report.peers = peerBenches(ROOT, report.native, info);
  } catch (e) {
    report.errors.push(`peers: ${(e as Error).message ?? e}`);
  }
}

function fmt(v: number | null | undefined): string {
  return v === null || v === undefined || Number.isNaN(v) ? "-" : String(v);
}

function table(r: Report): string {
  const rows: string[][] = [["measurement", "figure"]];
  const l = r.latency;
  if (l) {
    const d = l.toExchangeMs;
    rows.push([`webhook → order at exchange (testnet, n=${d.n}) ms`, `p50 ${fmt(d.p50)}  p95 ${fmt(d.p95)}  p99 ${fmt(d.p99)}  max ${fmt(d.max)}`]);
    const f = l.toFirstCallMs;
    rows.push([`webhook → first exchange call (price lookup) ms`, `p50 ${fmt(f.p50)}  p95 ${fmt(f.p95)}  p99 ${fmt(f.p99)}  max ${fmt(f.max)}`]);
    const w = l.roundTripMs;
    rows.push([`webhook round trip send → 200 (testnet) ms`, `p50 ${fmt(w.p50)}  p95 ${fmt(w.p95)}  p99 ${fmt(w.p99)}  max ${fmt(w.max)}`]);
    rows.push(["first (cold) webhook: to exchange / round trip ms", `${fmt(l.cold.toExchangeMs)} / ${fmt(l.cold.roundTripMs)}`]);
    rows.push(["latency run errors / unmatched", `${JSON.stringify(l.errors)} / ${l.unmatched}`]);
  }
  for (const tp of r.throughput) {
    rows.push([
      `throughput ${tp.bots} paper bot(s), ${tp.concurrencyPerBot} in flight each, ${tp.seconds} s`,
      `${tp.webhooksPerSec} webhooks/s (${tp.ok}/${tp.sent} ok, p50 ${fmt(tp.latencyMs.p50)} ms, p99 ${fmt(tp.latencyMs.p99)} ms) errors ${JSON.stringify(tp.errors)}`,
    ]);
  }
  const s = r.shipping;
  if (s && "skipped" in s) rows.push(["audit shipping", `skipped: ${s.skipped}`]);
  else if (s) {
    rows.push([
      `audit shipping to Neo4j (${s.bots} bots)`,
      `${s.eventsPerSec} events/s sustained, peak ${s.peak5sPerSec}/s (5 s), ${s.inNeo4j}/${s.events} events, drained ${fmt(s.drainSecs)} s after load`,
    ]);
    if (s.batch) {
      rows.push([
        "audit batches written to Neo4j (outbox → proxy → Neo4j)",
        `${s.batch.writes} batches, mean ${s.batch.mean} events/batch, max ${s.batch.max} (outbox cap 500)`,
      ]);
    }
  }
  if (r.halt) {
    const h = r.halt.haltMs;
    rows.push([
      `global halt answered, every bot halted (${r.halt.bots} bots, n=${h.n}) ms`,
      `p50 ${fmt(h.p50)}  p95 ${fmt(h.p95)}  p99 ${fmt(h.p99)}  max ${fmt(h.max)}; unacknowledged ${r.halt.unacknowledged}`,
    ]);
  }
  for (const nr of r.native) {
    const v = nr.ns >= 1000 ? `${Math.round(nr.ns / 10) / 100} µs` : `${nr.ns} ns`;
    rows.push([`native ${nr.bench}: ${nr.id}`, `${v} per iteration`]);
  }
  if (r.peers) rows.push(...peerRows(r.peers));
  for (const e of r.errors) rows.push(["ERROR", e]);
  const w0 = Math.max(...rows.map((x) => (x[0] ?? "").length));
  return rows.map((x) => `${(x[0] ?? "").padEnd(w0)}  ${x[1] ?? ""}`).join("\n");
}

async function main(): Promise<void> {
  const onlyIdx = process.argv.indexOf("--only");
  const only = onlyIdx >= 0 ? process.argv[onlyIdx + 1] : undefined;
  const report: Report = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: {
      cpus: os.cpus().length,
      loadavg1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
      node: process.version,
      note: "local stack: wrangler dev (workerd) + exchange simulator + Neo4j on one shared machine; not Cloudflare's edge",
    },
    latency: null,
    throughput: [],
    shipping: null,
    native: [],
    errors: [],
  };
  if (only !== "native") {
    try {
      await stackBenches(report);
    } catch (e) {
      report.errors.push(`stack: ${(e as Error).message ?? e}`);
    }
  }
  if (only !== "stack") {
    try {
      await nativeBenches(report);
    } catch (e) {
      report.errors.push(`native: ${(e as Error).message ?? e}`);
    }
  }
  const text = table(report);
  console.log(`\n=== Keel benchmarks (${report.date}, ${report.commit}, ${report.machine.cpus} CPUs, load ${report.machine.loadavg1m})\n${text}`);
  const out = path.join(ROOT, ".keel", "bench", "latest.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
  info(`wrote ${path.relative(ROOT, out)}`);
  if (report.errors.length > 0) process.exitCode = 1;
}

await main();
