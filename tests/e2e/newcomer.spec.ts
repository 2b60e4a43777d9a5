// Issue 17, "done when": a scripted newcomer. It starts Keel exactly as `npm start` does after
// its build (node scripts/start.ts, in a temp state folder on free ports), reads the banner, and
// pastes the banner's curl commands AS PRINTED into a shell (only `<webhook secret>` is replaced,
// as the banner tells the reader to). Then, with no manual seeding and no /__scheduled call:
//   - the paper bot's alert fills (time from "Keel ready" to that fill is printed and written
//     to .keel/e2e-logs/newcomer.json);
//   - the strategy bot trades on its own at a bar close (candles seeded and kept current by the
//     local stack);
//   - the cron fires by itself: the bot's health shows a last_tick.
// Neo4j is left out (KEEL_NO_NEO4J=1, a documented `npm start` option): the suite's own stack
// already runs one, and this machine's cores are few.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, freePort } from "../../scripts/stack.ts";

let child: ChildProcess | null = null;
let out = "";
let readyAt = 0;
let tmp = "";
let baseUrl = "";
let token = "";
const figures: Record<string, number | string> = {};

/** The banner's curl commands, each with its continuation lines joined as a shell would. */
function bannerCommands(text: string): string[] {
  const lines = text.split("\n");
  const cmds: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s+curl /.test(lines[i])) continue;
    let cmd = lines[i];
    while (cmd.trimEnd().endsWith("\\") && i + 1 < lines.length) {
      i += 1;
      cmd = `${cmd}\n${lines[i]}`;
    }
    cmds.push(cmd.trim());
  }
  return cmds;
}

/** Runs one pasted command in bash; resolves with its stdout. */
function sh(cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("bash", ["-c", cmd], { encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd}\n${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function api<T>(p: string): Promise<T> {
  const res = await fetch(`${baseUrl}${p}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${p}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms (${String(last)})\n${out.slice(-3000)}`);
}

describe("a newcomer's first hour, as `npm start` prints it", () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keel-newcomer-"));
    const env = {
      ...process.env,
      KEEL_STATE_DIR: tmp,
      KEEL_PORT: String(await freePort()),
      KEEL_SIM_PORT: String(await freePort()),
      KEEL_NEO4J_HTTP_PORT: String(await freePort()),
      KEEL_NO_NEO4J: "1",
    };
    const started = Date.now();
    child = spawn(process.execPath, [path.join(ROOT, "scripts/start.ts")], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    await until("Keel ready", 240_000, async () => (/Keel ready at (\S+)/.test(out) ? true : null));
    readyAt = Date.now();
    figures.start_to_ready_ms = readyAt - started;
    baseUrl = /Keel ready at (\S+)/.exec(out)?.[1] ?? "";
    token = /Admin token\s+(\S+)/.exec(out)?.[1] ?? "";
  }, 300_000);

  afterAll(async () => {
    const logDir = path.join(ROOT, ".keel", "e2e-logs");
    fs.mkdirSync(logDir, { recursive: true });
    fs.writeFileSync(path.join(logDir, "newcomer.json"), `${JSON.stringify(figures, null, 2)}\n`);
    fs.writeFileSync(path.join(logDir, "newcomer-start.log"), out);
    console.log(`newcomer: ${JSON.stringify(figures)}`);
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it("the banner's paper bot example fills its first alert as pasted", async () => {
    const cmds = bannerCommands(out);
    expect(cmds.length, out).toBe(3);
    const created = JSON.parse(await sh(cmds[0])) as { webhook_secret?: string; code?: string };
    expect(created.webhook_secret, JSON.stringify(created)).toBeTruthy();
    expect(cmds[1]).toContain("<webhook secret>");
    const answer = JSON.parse(await sh(cmds[1].replace("<webhook secret>", created.webhook_secret ?? ""))) as {
      status?: string;
      orders?: unknown[];
    };
    expect(answer.status, JSON.stringify(answer)).toBe("executed");
    const fills = await api<unknown[]>("/api/v1/bots/demo/fills");
    expect(fills.length).toBe(1);
    figures.ready_to_first_fill_ms = Date.now() - readyAt;
    const config = await api<{ base_url: string | null; mode: string }>("/api/v1/bots/demo");
    expect(config.base_url, "a paper bot without base_url trades on the local simulator").toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("the banner's strategy bot trades on its own at a bar close", async () => {
    const cmds = bannerCommands(out);
    const created = JSON.parse(await sh(cmds[2])) as { id?: string; strategy_version?: string };
    expect(created.strategy_version, JSON.stringify(created)).toMatch(/^ma_crossover@1#/);
    const createdAt = Date.now();
    // The first bar closes within a minute; `short: 1` means the strategy always holds a side.
    const fills = await until("a strategy fill", 200_000, async () => {
      const f = await api<unknown[]>("/api/v1/bots/ma-demo/fills");
      return f.length > 0 ? f : null;
    });
    figures.strategy_created_to_first_fill_ms = Date.now() - createdAt;
    expect(fills.length).toBeGreaterThan(0);
    const strategy = await api<{ state: { last_bar_ms: number | null } }>("/api/v1/bots/ma-demo/strategy");
    expect(strategy.state.last_bar_ms).not.toBeNull();
  }, 240_000);

  it("the cron fires by itself: ticks, marks and reconciliation without /__scheduled", async () => {
    const health = await until("a cron tick on the demo bot", 130_000, async () => {
      const h = await api<{ last_tick: unknown; reconciliation: { status: string } }>("/api/v1/bots/demo/health");
      return h.last_tick !== null && h.reconciliation.status !== "never_run" ? h : null;
    });
    expect(health.last_tick).not.toBeNull();
    expect(health.reconciliation.status).not.toBe("never_run");
  }, 150_000);
});
