// Native micro-benchmarks: `cargo bench -p keel-engine --bench <name>` for every bench target that
// exists under engine/benches/, with criterion's point estimates parsed from its output.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** One criterion benchmark: its id and the middle estimate of the time per iteration, in ns. */
export interface NativeResult {
  bench: string;
  id: string;
  ns: number;
}

const UNIT_NS: Record<string, number> = { ps: 0.001, ns: 1, "µs": 1_000, us: 1_000, ms: 1_000_000, s: 1_000_000_000 };

/** Criterion lines `group/name   time:   [lo unit mid unit hi unit]` (the id may be on the line before). */
export function parseCriterion(bench: string, out: string): NativeResult[] {
  const results: NativeResult[] = [];
  let lastId = "";
  for (const line of out.split("\n")) {
    const m = line.match(/^(\S.*?)?\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]/);
    if (!m) {
      const t = line.trim();
      if (t && !t.startsWith("Benchmarking") && !/^(Found|change|Performance|No change|Warning|\d)/.test(t)) lastId = t;
      continue;
    }
    const id = (m[1] ?? "").trim() || lastId;
    const scale = UNIT_NS[m[3] ?? ""];
    if (scale === undefined) continue;
    results.push({ bench, id, ns: Math.round(Number(m[2]) * scale * 10) / 10 });
  }
  return results;
}

/** The bench targets of keel-engine (engine/benches/*.rs). */
export function engineBenches(root: string): string[] {
  const dir = path.join(root, "engine/benches");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".rs"))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** Runs one bench target with the given cargo target dir; resolves with its parsed results. */
export function runCargoBench(root: string, bench: string, targetDir: string): Promise<NativeResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn("cargo", ["bench", "-p", "keel-engine", "--bench", bench, "--locked"], {
      cwd: root,
      env: { ...process.env, CARGO_TARGET_DIR: targetDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      process.stdout.write(c);
    });
    child.stderr.on("data", (c: Buffer) => process.stderr.write(c));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve(parseCriterion(bench, out));
      else reject(new Error(`cargo bench --bench ${bench} exited ${code}`));
    });
  });
}
