// The local Keel stack: exchange simulator, Neo4j and ONE `wrangler dev` running both Workers.
//
// Why one module for `npm start` and the end-to-end tests: both must start the same processes the
// same way, and both must stop every one of them (each child runs in its own process group, so a
// stop kills grandchildren such as workerd and the JVM too). Callers choose ports and folders:
// `npm start` keeps state under .keel/, the tests use temp folders and free ports.
//
// Plain TypeScript that Node 22 runs directly (type stripping): no enums, no parameter properties.
// Requires the environment of scripts/env.sh (PATH with Node 22 first, WRANGLER_* variables).

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Neo4jRelay, startNeo4jRelay } from "./neo4j-relay.ts";

/** Repository root (scripts/..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** A port the OS reports free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** A random URL-safe secret of `bytes` bytes. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString("base64url");
}

/** Whether `cmd` resolves on PATH. */
function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "")
    .split(path.delimiter)
    .some((dir) => dir !== "" && fs.existsSync(path.join(dir, cmd)));
}

/** Whether this machine can run the local Neo4j (a JDK, Maven and the project's launcher). */
export function neo4jAvailable(): boolean {
  return onPath("java") && onPath("javac") && onPath("mvn") && fs.existsSync(path.join(ROOT, "scripts/neo4j.sh"));
}

/**
 * Lines of `KEY='value'` for a .dev.vars file (dotenv: single quotes keep the value literal, so a
 * JSON value survives); empty values are left out.
 */
function devVars(vars: Record<string, string>): string {
  return (
    Object.entries(vars)
      .filter(([, v]) => v !== "")
      .map(([k, v]) => {
        if (/['\n]/.test(v)) throw new Error(`${k}: a local secret may not contain a quote or newline`);
        return `${k}='${v}'`;
      })
      .join("\n") + "\n"
  );
}

/**
 * Copies a committed wrangler config into `dir` with absolute paths, next to its own .dev.vars.
 * Why: wrangler reads .dev.vars beside the config file, so a generated copy per run keeps secrets
 * out of the work tree and lets `npm start` and a test run live side by side.
 */
function writeWorkerConfig(srcToml: string, dir: string, vars: Record<string, string>): string {
  const srcDir = path.dirname(srcToml);
  const abs = (rel: string): string => JSON.stringify(path.resolve(srcDir, rel));
  const text = fs
    .readFileSync(srcToml, "utf8")
    .replace(/^main\s*=\s*"([^"]+)"/m, (_m, rel: string) => `main = ${abs(rel)}`)
    .replace(/^directory\s*=\s*"([^"]+)"/m, (_m, rel: string) => `directory = ${abs(rel)}`);
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, "wrangler.toml");
  fs.writeFileSync(out, text);
  fs.writeFileSync(path.join(dir, ".dev.vars"), devVars(vars), { mode: 0o600 });
  return out;
}

function prefixLines(prefix: string, text: string): string {
  return text.replace(/^(?=.)/gm, prefix);
}

/** Options of one child process. */
interface ChildOptions {
  logDir: string;
  /** Copy output to our stdout with a `[name]` prefix. */
  echo?: boolean;
  cwd?: string;
  /**
   * Give the child a stdin pipe. A child that watches its stdin (Neo4j with --exit-on-stdin-eof)
   * then ends with us even when we are killed outright: the pipe closes with our process.
   */
  stdinPipe?: boolean;
}

/** A started child process in its own process group, its output appended to a log file. */
class Child {
  readonly name: string;
  readonly logFile: string;
  exited = false;
  exitCode: number | string | null = null;
  readonly exitPromise: Promise<number | string | null>;
  private readonly log: fs.WriteStream;
  private readonly proc: ChildProcess;
  private readonly lines: string[] = [];
  private listeners: ((line: string) => void)[] = [];

  constructor(name: string, cmd: string, args: string[], opts: ChildOptions) {
    this.name = name;
    this.logFile = path.join(opts.logDir, `${name}.log`);
    this.log = fs.createWriteStream(this.logFile, { flags: "a" });
    this.proc = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: process.env,
      stdio: [opts.stdinPipe ? "pipe" : "ignore", "pipe", "pipe"],
      detached: true,
    });
    const onData = (chunk: Buffer): void => {
      this.log.write(chunk);
      const text = chunk.toString();
      if (opts.echo) process.stdout.write(prefixLines(`[${name}] `, text));
      for (const line of text.split("\n")) {
        if (!line) continue;
        this.lines.push(line);
        if (this.lines.length > 200) this.lines.shift();
        for (const l of this.listeners) l(line);
      }
    };
    this.proc.stdout?.on("data", onData);
    this.proc.stderr?.on("data", onData);
    this.exitPromise = new Promise((resolve) => {
      this.proc.on("exit", (code, signal) => {
        this.exited = true;
        this.exitCode = code ?? signal;
        resolve(this.exitCode);
      });
      this.proc.on("error", (err) => {
        this.log.write(`spawn error: ${err.message}\n`);
        this.exited = true;
        this.exitCode = err.message;
        resolve(this.exitCode);
      });
    });
  }

  /** The last lines of output, for error messages. */
  tail(n = 30): string {
    return this.lines.slice(-n).join("\n");
  }

  /** Resolves with the first output line matching `re`, or rejects on exit or timeout. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      for (const l of this.lines) {
        const m = l.match(re);
        if (m) return resolve(m);
      }
      let settled = false;
      const done = (err: Error | null, m?: RegExpMatchArray): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
        if (err || !m) reject(err ?? new Error("no match"));
        else resolve(m);
      };
      const listener = (line: string): void => {
        const m = line.match(re);
        if (m) done(null, m);
      };
      const timer = setTimeout(
        () => done(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms; log ${this.logFile}\n${this.tail()}`)),
        timeoutMs,
      );
      this.listeners.push(listener);
      void this.exitPromise.then((code) =>
        done(new Error(`${this.name} exited (${code}) before it was ready; log ${this.logFile}\n${this.tail()}`)),
      );
    });
  }

  /** Signals the whole process group. */
  signal(sig: NodeJS.Signals): void {
    if (this.exited || this.proc.pid === undefined) return;
    try {
      process.kill(-this.proc.pid, sig);
    } catch {
      // The group is already gone.
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.exited) {
      this.signal("SIGTERM");
      const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    this.log.end();
  }
}

/**
 * Polls `url` until it answers with a status accepted by `ok`, or rejects after `timeoutMs` or when
 * `child` exits. Returns the accepted response's status and text.
 */
export async function waitForHttp(
  url: string,
  opts: { timeoutMs: number; child?: Child; ok?: (status: number) => boolean },
): Promise<{ status: number; text: string }> {
  const ok = opts.ok ?? ((): boolean => true);
  const deadline = Date.now() + opts.timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    const child = opts.child;
    if (child?.exited) {
      throw new Error(`${child.name} exited (${child.exitCode}) before ${url} answered; log ${child.logFile}\n${child.tail()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const text = await res.text();
      if (ok(res.status)) return { status: res.status, text };
      last = `HTTP ${res.status}: ${text.slice(0, 300)}`;
    } catch (err) {
      const e = err as { cause?: { code?: string }; message?: string };
      last = String(e.cause?.code ?? e.message ?? err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready within ${opts.timeoutMs} ms (last: ${last})${opts.child ? `\n${opts.child.tail()}` : ""}`);
}

/** What to start, where. */
export interface StackOptions {
  /** Edge Worker port (127.0.0.1). */
  port: number;
  /** Exchange simulator port. */
  simPort: number;
  /** Neo4j HTTP port. */
  neo4jPort: number;
  /** Password of Neo4j user `neo4j` (at least 8 characters). */
  neo4jPassword: string;
  /** ADMIN_TOKEN of the edge Worker. */
  adminToken: string;
  /** MASTER_KEY of the edge Worker (base64 of 32 bytes). */
  masterKey: string;
  /** Neo4j data folder. */
  neo4jDataDir: string;
  /** wrangler --persist-to folder: Durable Object storage and the simulated R2 bucket (HISTORY). */
  stateDir: string;
  /** Folder for the generated wrangler configs and .dev.vars. */
  runDir: string;
  /** Folder for one log file per process. */
  logDir: string;
  /** Start Neo4j (default: when java, javac, mvn and scripts/neo4j.sh exist). */
  withNeo4j?: boolean;
  /**
   * Also serve neo4j-proxy alone on this port: tests call it directly, while in the stack it is
   * reachable only through the edge Worker's service binding.
   */
  proxyPort?: number;
  /**
   * Put a fault-injecting relay (scripts/neo4j-relay.ts) between neo4j-proxy and Neo4j: the
   * proxy's NEO4J_URL is the relay's, tests can then cut answers and count batches.
   */
  neo4jRelay?: boolean;
  /** Copy wrangler's output to stdout. */
  echo?: boolean;
  /** Progress messages. */
  info?: (msg: string) => void;
}

/** A running stack. */
export interface Stack {
  /** The edge Worker, e.g. http://127.0.0.1:8787. */
  baseUrl: string;
  /** The exchange simulator. */
  simUrl: string;
  /** Neo4j's HTTP URL, or null when Neo4j is not running. */
  neo4jUrl: string | null;
  /** The standalone neo4j-proxy (only with `proxyPort`). */
  proxyUrl: string | null;
  neo4jUser: string;
  neo4jPassword: string;
  adminToken: string;
  /** Time each part took to become ready, in ms. */
  startupMs: { sim: number; neo4j: number | null; wrangler: number };
  /** The relay in front of Neo4j (with `neo4jRelay`), else null. */
  relay: Neo4jRelay | null;
  /**
   * Starts one more exchange simulator on a free port (its own accounts, balances, prices, faults
   * and rate budgets; log `exchange-sim-<name>.log`) and resolves with its URL once it answers.
   * It runs until the stack stops. Why: each end-to-end spec file trades on a simulator of its
   * own, so no file can spend another's exchange budget or leave it prices or faults.
   */
  startSimulator: (name: string) => Promise<string>;
  /**
   * Stops Neo4j: SIGKILL of the JVM with `kill` (a crash: no checkpoint, recovery on the next
   * start), else SIGTERM. Resolves once it has exited. No-op when it is not running.
   */
  stopNeo4j: (opts?: { kill?: boolean }) => Promise<void>;
  /** Starts Neo4j again on the same port with the same data folder; resolves once it is ready. */
  startNeo4j: () => Promise<void>;
  /**
   * Stops the Workers process (wrangler dev with its workerd, both Workers and every Durable
   * Object): with `kill` a SIGKILL of the whole process group (a crash: requests in flight get no
   * answer, nothing is flushed), else SIGTERM. Durable Object storage stays in `stateDir`.
   * Resolves once it has exited. No-op when it is not running.
   */
  stopWorkers: (opts?: { kill?: boolean }) => Promise<void>;
  /**
   * Starts the Workers again on the same port with the same persisted Durable Object state
   * (`--persist-to stateDir`); resolves once /health answers. Why: crash-recovery tests and the
   * soak run prove that what a bot committed survives the process and that what it was doing
   * when it died is resolved afterwards.
   */
  startWorkers: () => Promise<void>;
  logDir: string;
  /** Stops every process, last started first (idempotent). */
  stop: () => Promise<void>;
  /** Synchronous SIGKILL of every process group, for exit handlers. */
  killNow: () => void;
}

/**
 * Starts simulator, Neo4j (when available) and wrangler dev; resolves once /health answers.
 * On any failure every process already started is stopped before the error propagates.
 */
export async function startStack(o: StackOptions): Promise<Stack> {
  const info = o.info ?? ((): void => {});
  for (const d of [o.stateDir, o.runDir, o.logDir, o.neo4jDataDir]) fs.mkdirSync(d, { recursive: true });
  const children: Child[] = [];
  let neo4jChild: Child | null = null;
  let relay: Neo4jRelay | null = null;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const c of [...children].reverse()) await c.stop();
    await relay?.close();
  };
  const killNow = (): void => {
    for (const c of children) c.signal("SIGKILL");
  };
  const startupMs: Stack["startupMs"] = { sim: 0, neo4j: null, wrangler: 0 };

  try {
    // 1. Exchange simulator.
    const simBin = process.env.KEEL_SIM_BIN ?? path.join(ROOT, "target/release/keel-exchange-sim");
    if (!fs.existsSync(simBin)) throw new Error(`exchange simulator not built: ${simBin} (run: bash scripts/build.sh)`);
    const spawnSim = async (name: string, port: number): Promise<string> => {
      if (stopped) throw new Error("the stack is stopped");
      const sim = new Child(name, simBin, ["--port", String(port)], { logDir: o.logDir });
      children.push(sim);
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/api/v3/ping`, { timeoutMs: 30_000, child: sim, ok: (s) => s === 200 });
      return url;
    };
    let t = Date.now();
    const simUrl = await spawnSim("exchange-sim", o.simPort);
    startupMs.sim = Date.now() - t;
    info(`exchange simulator ready at ${simUrl} (${startupMs.sim} ms)`);

    // 2. Neo4j (optional: without it audit stays in the bots' outboxes).
    let neo4jUrl: string | null = null;
    const withNeo4j = o.withNeo4j ?? neo4jAvailable();
    const spawnNeo4j = async (): Promise<string | null> => {
      const neo = new Child(
        "neo4j",
        "bash",
        [
          path.join(ROOT, "scripts/neo4j.sh"), "run",
          "--data", o.neo4jDataDir,
          "--port", String(o.neo4jPort),
          "--password", o.neo4jPassword,
          "--exit-on-stdin-eof",
        ],
        { logDir: o.logDir, stdinPipe: true },
      );
      neo4jChild = neo;
      children.push(neo);
      const m = await neo.waitForLine(/NEO4J_READY\s+(\S+)/, 240_000);
      return m[1] ?? null;
    };
    if (withNeo4j) {
      t = Date.now();
      neo4jUrl = await spawnNeo4j();
      startupMs.neo4j = Date.now() - t;
      info(`Neo4j ready at ${neo4jUrl} (${startupMs.neo4j} ms)`);
    } else {
      info("Neo4j not started (needs java, javac, mvn and scripts/neo4j.sh); audit stays in the bots' outboxes");
    }

    // 3. Both Workers in one wrangler dev (multi-config, so the service binding works locally).
    for (const f of [path.join(ROOT, "build/index.js"), path.join(ROOT, "neo4j-proxy/build/index.js")]) {
      if (!fs.existsSync(f)) throw new Error(`Worker not built: ${f} (run: bash scripts/build.sh)`);
    }
    const proxyToken = randomToken(24);
    const edgeToml = writeWorkerConfig(path.join(ROOT, "wrangler.toml"), path.join(o.runDir, "keel"), {
      ADMIN_TOKEN: o.adminToken,
      MASTER_KEY: o.masterKey,
      // /health probes each configured exchange; locally both venues are the simulator.
      KEEL_EXCHANGE_URLS: JSON.stringify({ binance: simUrl, bybit: simUrl }),
      // Paper and testnet bots created without base_url trade against the simulator (never live).
      EXCHANGE_SIM_URL: simUrl,
      // Shared with neo4j-proxy: set on both, as in production, so every audit call proves it.
      PROXY_TOKEN: proxyToken,
    });
    if (neo4jUrl && o.neo4jRelay) {
      relay = await startNeo4jRelay(neo4jUrl);
      info(`Neo4j relay at ${relay.url} (fault injection for tests)`);
    }
    const proxyVars = {
      NEO4J_URL: relay?.url ?? neo4jUrl ?? "",
      NEO4J_USER: neo4jUrl ? "neo4j" : "",
      NEO4J_PASSWORD: neo4jUrl ? o.neo4jPassword : "",
      NEO4J_DATABASE: "neo4j",
    };
    const proxyToml = writeWorkerConfig(path.join(ROOT, "neo4j-proxy/wrangler.toml"), path.join(o.runDir, "neo4j-proxy"), {
      ...proxyVars,
      PROXY_TOKEN: proxyToken,
    });
    // The standalone proxy (direct tests of its wire format) runs without the token.
    const aloneToml = writeWorkerConfig(path.join(ROOT, "neo4j-proxy/wrangler.toml"), path.join(o.runDir, "neo4j-proxy-alone"), proxyVars);
    const wranglerDev = async (name: string, configs: string[], port: number, persistTo: string, echo: boolean): Promise<Child> =>
      new Child(
        name,
        process.execPath,
        [
          path.join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
          "dev",
          ...configs.flatMap((c) => ["-c", c]),
          "--port", String(port),
          "--ip", "127.0.0.1",
          "--inspector-port", String(await freePort()),
          "--persist-to", persistTo,
          "--test-scheduled",
          "--show-interactive-dev-session=false",
          "--log-level", "info",
        ],
        { logDir: o.logDir, echo, cwd: o.runDir },
      );
    t = Date.now();
    const baseUrl = `http://127.0.0.1:${o.port}`;
    let workersChild: Child | null = null;
    const spawnWorkers = async (): Promise<Child> => {
      const w = await wranglerDev("wrangler", [edgeToml, proxyToml], o.port, o.stateDir, o.echo ?? false);
      workersChild = w;
      children.push(w);
      return w;
    };
    const wrangler = await spawnWorkers();
    let proxyUrl: string | null = null;
    const waits = [waitForHttp(`${baseUrl}/health`, { timeoutMs: 120_000, child: wrangler })];
    if (o.proxyPort) {
      const proxy = await wranglerDev("wrangler-proxy", [aloneToml], o.proxyPort, path.join(o.stateDir, "proxy-alone"), false);
      children.push(proxy);
      proxyUrl = `http://127.0.0.1:${o.proxyPort}`;
      waits.push(waitForHttp(`${proxyUrl}/`, { timeoutMs: 120_000, child: proxy }));
    }
    await Promise.all(waits);
    startupMs.wrangler = Date.now() - t;
    info(`wrangler dev ready at ${baseUrl} (${startupMs.wrangler} ms)`);

    return {
      baseUrl,
      simUrl,
      neo4jUrl,
      proxyUrl,
      neo4jUser: "neo4j",
      neo4jPassword: o.neo4jPassword,
      adminToken: o.adminToken,
      startupMs,
      logDir: o.logDir,
      stop,
      killNow,
      relay,
      startSimulator: async (name: string): Promise<string> => {
        const label = `exchange-sim-${name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 80)}`;
        // A free port can be taken by another process before the simulator binds it: try anew.
        for (let attempt = 1; ; attempt++) {
          try {
            return await spawnSim(label, await freePort());
          } catch (err) {
            if (attempt >= 3 || stopped) throw err;
          }
        }
      },
      stopNeo4j: async (opts = {}): Promise<void> => {
        const neo = neo4jChild;
        if (!neo || neo.exited) return;
        if (opts.kill) {
          neo.signal("SIGKILL");
          await neo.exitPromise;
        }
        await neo.stop();
        children.splice(children.indexOf(neo), 1);
        info(`Neo4j ${opts.kill ? "killed" : "stopped"} (exit ${neo.exitCode})`);
      },
      stopWorkers: async (opts = {}): Promise<void> => {
        const w: Child | null = workersChild;
        if (!w || w.exited) return;
        if (opts.kill) {
          w.signal("SIGKILL");
          await w.exitPromise;
        }
        await w.stop();
        children.splice(children.indexOf(w), 1);
        info(`Workers ${opts.kill ? "killed" : "stopped"} (exit ${w.exitCode})`);
      },
      startWorkers: async (): Promise<void> => {
        if (stopped) throw new Error("the stack is stopped");
        const current: Child | null = workersChild;
        if (current && !current.exited) return;
        const started = Date.now();
        const w = await spawnWorkers();
        await waitForHttp(`${baseUrl}/health`, { timeoutMs: 120_000, child: w });
        info(`Workers restarted at ${baseUrl} (${Date.now() - started} ms)`);
      },
      startNeo4j: async (): Promise<void> => {
        if (!withNeo4j) throw new Error("this stack runs without Neo4j");
        if (stopped) throw new Error("the stack is stopped");
        if (neo4jChild && !neo4jChild.exited) return;
        const started = Date.now();
        await spawnNeo4j();
        info(`Neo4j restarted at ${neo4jUrl} (${Date.now() - started} ms)`);
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
