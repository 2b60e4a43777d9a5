// Peer backtesters timed beside Keel's (`npm run bench`, native half): tests/bench/peers.py runs
// backtesting.py and vectorbt on the same 1M one-minute bars and SMA(50, 200) crossover as
// `cargo bench --bench backtest` (`backtest/sma_crossover_1m_bars`), in a venv of their own
// (.tools/venv-bench, pinned by tests/bench/requirements.txt, created here on first use).
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { NativeResult } from "./native.ts";

/** One peer engine's timing. */
export interface PeerResult {
  engine: string;
  version: string;
  bars: number;
  seconds: number;
  bars_per_s: number;
  trades: number;
  note: string;
}

/** What peers.py prints, plus Keel's figure on the same data. */
export interface PeerReport {
  bars: number;
  close_checksum: string;
  results: PeerResult[];
  errors: string[];
  /** Wall time (criterion `backtest/sma_crossover_1m_bars`). */
  keel_bars_per_s: number | null;
  /** This thread's CPU time (`backtest_cpu/…`): one core's throughput on a shared machine. */
  keel_cpu_bars_per_s: number | null;
}

/** Creates (or refreshes when requirements changed) the bench venv; returns its python. */
function benchPython(root: string, log: (m: string) => void): string {
  const venv = path.join(root, ".tools", "venv-bench");
  const py = path.join(venv, "bin", "python");
  const req = path.join(root, "tests", "bench", "requirements.txt");
  const sum = crypto.createHash("sha256").update(fs.readFileSync(req)).digest("hex");
  const stamp = path.join(venv, ".requirements.sha256");
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8").trim() === sum) return py;
  log(`installing peer backtesters into ${path.relative(root, venv)} (first run only)`);
  if (!fs.existsSync(py)) execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
  execFileSync(py, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", req], {
    stdio: "inherit",
  });
  fs.writeFileSync(stamp, `${sum}\n`);
  return py;
}

/** Keel's bars/s on the same run: criterion's time per 1M-bar backtest (`group/…` id). */
function keelBarsPerSec(native: NativeResult[], bars: number, group: string): number | null {
  const r = native.find((n) => n.bench === "backtest" && n.id === `${group}/sma_crossover_1m_bars`);
  return r && r.ns > 0 ? Math.round(bars / (r.ns / 1e9)) : null;
}

/** Runs peers.py (1M bars unless KEEL_BENCH_PEER_BARS) and returns its report. */
export function peerBenches(root: string, native: NativeResult[], log: (m: string) => void): PeerReport {
  const py = benchPython(root, log);
  const bars = process.env.KEEL_BENCH_PEER_BARS ?? "1000000";
  log(`peers: backtesting.py and vectorbt on ${bars} bars`);
  const out = execFileSync(py, [path.join(root, "tests", "bench", "peers.py"), "--bars", bars], {
    cwd: root,
    env: { ...process.env, TQDM_DISABLE: "1" },
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 20,
  }).toString();
  const report = JSON.parse(out.trim().split("\n").pop() ?? "{}") as Omit<
    PeerReport,
    "keel_bars_per_s" | "keel_cpu_bars_per_s"
  >;
  // Keel's figures are for 1M bars; they are only comparable when the peers ran the same data.
  const same = report.bars === 1_000_000;
  return {
    ...report,
    keel_bars_per_s: same ? keelBarsPerSec(native, report.bars, "backtest") : null,
    keel_cpu_bars_per_s: same ? keelBarsPerSec(native, report.bars, "backtest_cpu") : null,
  };
}

/** Table rows: bars/s side by side. */
export function peerRows(p: PeerReport): string[][] {
  const fmt = (n: number | null): string => (n === null ? "-" : n.toLocaleString("en-US"));
  const rows: string[][] = [
    [
      `backtest SMA(50,200) crossover, ${fmt(p.bars)} 1m bars: Keel (live path)`,
      `${fmt(p.keel_bars_per_s)} bars/s wall, ${fmt(p.keel_cpu_bars_per_s)} bars/s of one core's CPU time`,
    ],
  ];
  for (const r of p.results) {
    rows.push([`  ${r.engine} ${r.version}`, `${fmt(r.bars_per_s)} bars/s (${r.seconds} s, ${r.trades} trades; ${r.note})`]);
  }
  for (const e of p.errors) rows.push(["  peer error", e]);
  return rows;
}
