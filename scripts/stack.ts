// The local Keel stack: exchange simulator, Neo4j and ONE `wrangler dev` running both Workers.
//
// Why one module for `npm start` and the end-to-end tests: both must start the same processes the
// same way, and both must stop every one of them (each child runs in its own process group, so a
// stop kills grandchildren such as workerd and the JVM too). Callers choose ports and folders:
// `npm start` keeps state under .keel/, the tests use temp folders and free ports.
//
// Requires the environment of scripts/env.sh (PATH with Node 22 first, WRANGLER_* variables).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (scripts/..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * A port the OS reports free on 127.0.0.1 right now.
 * @returns {Promise<number>}
 */
export function freePort() {
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
export function randomToken(bytes = 24) {
  return randomBytes(bytes).toString("base64url");
}

/** Whether `cmd` resolves on PATH. */
function onPath(cmd) {
  return (process.env.PATH ?? "")
    .split(path.delimiter)
    .some((dir) => dir && fs.existsSync(path.join(dir, cmd)));
}

/** Whether this machine can run the local Neo4j (a JDK, Maven and the project's launcher). */
export function neo4jAvailable() {
  return onPath("java") && onPath("mvn") && fs.existsSync(path.join(ROOT, "scripts/neo4j.sh"));
}

/** Lines of `KEY=value` for a .dev.vars file; values are quoted for dotenv. */
function devVars(vars) {
  return (
    Object.entries(vars)
      .filter(([, v]) => v !== undefined && v !== null && v !== "")
      .map(([k, v]) => `${k}=${JSON.stringify(String(v))}`)
      .join("\n") + "\n"
  );
}

/**
 * Copies a committed wrangler config into `dir` with absolute paths, next to its own .dev.vars.
 * Why: wrangler reads .dev.vars beside the config file, so a generated copy per run keeps secrets
 * out of the work tree and lets `npm start` and a test run live side by side.
 */
function writeWorkerConfig(srcToml, dir, vars) {
  const srcDir = path.dirname(srcToml);
  let text = fs.readFileSync(srcToml, "utf8");
  const abs = (rel) => JSON.stringify(path.resolve(srcDir, rel));
  text = text.replace(/^main\s*=\s*"([^"]+)"/m, (_, rel) => `main = ${abs(rel)}`);
  text = text.replace(/^directory\s*=\s*"([^"]+)"/m, (_, rel) => `directory = ${abs(rel)}`);
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, "wrangler.toml");
  fs.writeFileSync(out, text);
  fs.writeFileSync(path.join(dir, ".dev.vars"), devVars(vars), { mode: 0o600 });
  return out;
}

/** A started child process in its own process group, its output appended to a log file. */
class Child {
  /**
   * @param {string} name short label
   * @param {string} cmd executable
   * @param {string[]} args arguments
   * @param {{logDir: string, echo?: boolean, cwd?: string, env?: NodeJS.ProcessEnv}} opts
   */
  constructor(name, cmd, args, opts) {
    this.name = name;
    this.logFile = path.join(opts.logDir, `${name}.log`);
    this.log = fs.createWriteStream(this.logFile, { flags: "a" });
    this.lines = [];
    this.listeners = [];
    this.exited = false;
    this.exitCode = null;
    this.proc = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const onData = (chunk) => {
      this.log.write(chunk);
      if (opts.echo) process.stdout.write(prefixLines(`[${name}] `, chunk.toString()));
      for (const line of chunk.toString().split("\n")) {
        if (!line) continue;
        this.lines.push(line);
        if (this.lines.length > 200) this.lines.shift();
        for (const l of this.listeners) l(line);
      }
    };
    this.proc.stdout.on("data", onData);
    this.proc.stderr.on("data", onData);
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
  tail(n = 30) {
    return this.lines.slice(-n).join("\n");
  }

  /** Resolves with the first output line matching `re` (its match), or rejects on exit/timeout. */
  waitForLine(re, timeoutMs) {
    return new Promise((resolve, reject) => {
      const existing = this.lines.map((l) => l.match(re)).find(Boolean);
      if (existing) return resolve(existing);
      const timer = setTimeout(() => done(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms\n${this.tail()}`)), timeoutMs);
      const listener = (line) => {
        const m = line.match(re);
        if (m) done(null, m);
      };
      const done = (err, m) => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
        if (err) reject(err);
        else resolve(m);
      };
      this.listeners.push(listener);
      this.exitPromise.then((code) => done(new Error(`${this.name} exited (${code}) before it was ready; log ${this.logFile}\n${this.tail()}`)));
    });
  }

  /** Signals the whole process group. */
  signal(sig) {
    if (this.exited || !this.proc.pid) return;
    try {
      process.kill(-this.proc.pid, sig);
    } catch {
      // The group is already gone.
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
  async stop(graceMs = 10_000) {
    if (this.exited) return;
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
    // Grandchildren that ignored SIGTERM (none expected) go with the group.
    this.signal("SIGKILL");
    this.log.end();
  }
}

function prefixLines(prefix, text) {
  return text.replace(/^(?=.)/gm, prefix);
}

/**
 * Polls `url` until it answers with a status accepted by `ok`, or rejects after `timeoutMs` or when
 * `child` exits. Returns the last response's status and text.
 */
export async function waitForHttp(url, { timeoutMs, child, ok = (s) => s > 0 }) {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (child?.exited) {
      throw new Error(`${child.name} exited (${child.exitCode}) before ${url} answered; log ${child.logFile}\n${child.tail()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const text = await res.text();
      if (ok(res.status)) return { status: res.status, text };
      last = `HTTP ${res.status}: ${text.slice(0, 300)}`;
    } catch (err) {
      last = String(err?.cause?.code ?? err?.message ?? err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (last: ${last})${child ? `\n${child.tail()}` : ""}`);
}

/**
 * @typedef {object} StackOptions
 * @property {number} port Worker port (127.0.0.1)
 * @property {number} simPort exchange simulator port
 * @property {number} neo4jPort Neo4j HTTP port
 * @property {string} neo4jPassword password of user `neo4j`
 * @property {string} adminToken ADMIN_TOKEN for the Worker
 * @property {string} masterKey MASTER_KEY (base64 of 32 bytes)
 * @property {string} neo4jDataDir Neo4j data folder
 * @property {string} stateDir wrangler --persist-to folder (Durable Object storage)
 * @property {string} runDir folder for the generated wrangler configs and .dev.vars
 * @property {string} logDir folder for one log file per process
 * @property {boolean} [withNeo4j] start Neo4j (default: when java, mvn and scripts/neo4j.sh exist)
 * @property {boolean} [echo] copy child output to stdout with a [name] prefix
 * @property {(msg: string) => void} [info] progress messages
 */

/**
 * @typedef {object} Stack
 * @property {string} baseUrl the edge Worker, e.g. http://127.0.0.1:8787
 * @property {string} simUrl the exchange simulator
 * @property {string|null} neo4jUrl Neo4j HTTP URL, or null when Neo4j is not running
 * @property {string} neo4jUser
 * @property {string} neo4jPassword
 * @property {string} adminToken
 * @property {{sim: number, neo4j: number|null, wrangler: number}} startupMs
 * @property {() => Promise<void>} stop stops every process (idempotent)
 * @property {() => void} killNow synchronous SIGKILL of every process group (for exit handlers)
 */

/**
 * Starts simulator, Neo4j (when available) and wrangler dev; resolves once /health answers.
 * On any failure every process already started is stopped before the error propagates.
 * @param {StackOptions} o
 * @returns {Promise<Stack>}
 */
export async function startStack(o) {
  const info = o.info ?? (() => {});
  for (const d of [o.stateDir, o.runDir, o.logDir, o.neo4jDataDir]) fs.mkdirSync(d, { recursive: true });
  /** @type {Child[]} */
  const children = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const c of [...children].reverse()) await c.stop();
  };
  const killNow = () => {
    for (const c of children) c.signal("SIGKILL");
  };
  const startupMs = { sim: 0, neo4j: null, wrangler: 0 };

  try {
    // 1. Exchange simulator.
    const simBin = process.env.KEEL_SIM_BIN ?? path.join(ROOT, "target/release/keel-exchange-sim");
    if (!fs.existsSync(simBin)) throw new Error(`exchange simulator not built: ${simBin} (run: bash scripts/build.sh)`);
    let t = Date.now();
    const sim = new Child("exchange-sim", simBin, ["--port", String(o.simPort)], { logDir: o.logDir });
    children.push(sim);
    const simUrl = `http://127.0.0.1:${o.simPort}`;
    await waitForHttp(`${simUrl}/api/v3/ping`, { timeoutMs: 30_000, child: sim, ok: (s) => s === 200 });
    startupMs.sim = Date.now() - t;
    info(`exchange simulator ready at ${simUrl} (${startupMs.sim} ms)`);

    // 2. Neo4j (optional: without it audit stays in the bots' outboxes).
    const withNeo4j = o.withNeo4j ?? neo4jAvailable();
    let neo4jUrl = null;
    if (withNeo4j) {
      t = Date.now();
      const neo = new Child(
        "neo4j",
        "bash",
        [path.join(ROOT, "scripts/neo4j.sh"), "run", "--data", o.neo4jDataDir, "--port", String(o.neo4jPort), "--password", o.neo4jPassword],
        { logDir: o.logDir },
      );
      children.push(neo);
      const m = await neo.waitForLine(/NEO4J_READY\s+(\S+)/, 240_000);
      neo4jUrl = m[1];
      startupMs.neo4j = Date.now() - t;
      info(`Neo4j ready at ${neo4jUrl} (${startupMs.neo4j} ms)`);
    } else {
      info("Neo4j not started (needs java, mvn and scripts/neo4j.sh); audit stays in the bots' outboxes");
    }

    // 3. Both Workers in one wrangler dev (multi-config, so the service binding works locally).
    const edgeToml = writeWorkerConfig(path.join(ROOT, "wrangler.toml"), path.join(o.runDir, "keel"), {
      ADMIN_TOKEN: o.adminToken,
      MASTER_KEY: o.masterKey,
      EXCHANGE_SIM_URL: simUrl,
    });
    const proxyToml = writeWorkerConfig(path.join(ROOT, "neo4j-proxy/wrangler.toml"), path.join(o.runDir, "neo4j-proxy"), {
      NEO4J_URL: neo4jUrl ?? "",
      NEO4J_USER: neo4jUrl ? "neo4j" : "",
      NEO4J_PASSWORD: neo4jUrl ? o.neo4jPassword : "",
      NEO4J_DATABASE: "neo4j",
    });
    for (const f of [path.join(ROOT, "build/index.js"), path.join(ROOT, "neo4j-proxy/build/index.js")]) {
      if (!fs.existsSync(f)) throw new Error(`Worker not built: ${f} (run: bash scripts/build.sh)`);
    }
    const inspectorPort = await freePort();
    t = Date.now();
    const wrangler = new Child(
      "wrangler",
      process.execPath,
      [
        path.join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
        "dev",
        "-c", edgeToml,
        "-c", proxyToml,
        "--port", String(o.port),
        "--ip", "127.0.0.1",
        "--inspector-port", String(inspectorPort),
        "--persist-to", o.stateDir,
        "--test-scheduled",
        "--show-interactive-dev-session=false",
        "--log-level", "info",
      ],
      { logDir: o.logDir, echo: o.echo, cwd: o.runDir },
    );
    children.push(wrangler);
    const baseUrl = `http://127.0.0.1:${o.port}`;
    await waitForHttp(`${baseUrl}/health`, { timeoutMs: 120_000, child: wrangler });
    startupMs.wrangler = Date.now() - t;
    info(`wrangler dev ready at ${baseUrl} (${startupMs.wrangler} ms)`);

    return {
      baseUrl,
      simUrl,
      neo4jUrl,
      neo4jUser: "neo4j",
      neo4jPassword: o.neo4jPassword,
      adminToken: o.adminToken,
      startupMs,
      logDir: o.logDir,
      stop,
      killNow,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
