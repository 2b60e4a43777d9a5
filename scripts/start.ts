// `npm start`: the whole Keel platform on this machine, until Ctrl-C (or SIGTERM).
//
// Runs after scripts/start.sh has bootstrapped and built (Node 22 runs this TypeScript directly). State lives under .keel/ so bots, audit
// outboxes and the Neo4j graph survive a restart; the admin token, master key and Neo4j password
// are generated once and kept there unless given by environment.
//
// Environment: KEEL_PORT (8787), KEEL_SIM_PORT (9100), KEEL_NEO4J_HTTP_PORT (7474),
// KEEL_ADMIN_TOKEN, KEEL_NEO4J_PASSWORD, KEEL_NO_NEO4J=1 (run without Neo4j), KEEL_STATE_DIR
// (default .keel; the newcomer test runs a whole `npm start` in a temp folder with it).
//
// Like production: the simulator gets 30 days of 1-minute candles and a new bar each minute, and
// the cron fires every minute (scripts/local-market.ts); paper and testnet bots created without
// `base_url` trade against the simulator (the edge Worker's EXCHANGE_SIM_URL).

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { type LocalMarket, startLocalMarket } from "./local-market.ts";
import { ROOT, type Stack, randomToken, startStack } from "./stack.ts";

const stateRoot = process.env.KEEL_STATE_DIR ? path.resolve(process.env.KEEL_STATE_DIR) : path.join(ROOT, ".keel");

/** Reads `.keel/<name>`, creating it with `make()` the first time. */
function keptSecret(name: string, make: () => string): string {
  const file = path.join(stateRoot, name);
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const value = make();
  fs.mkdirSync(stateRoot, { recursive: true });
  fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

function portFromEnv(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    console.error(`keel: ${name}=${raw} is not a port number`);
    process.exit(2);
  }
  return n;
}

const port = portFromEnv("KEEL_PORT", 8787);
const simPort = portFromEnv("KEEL_SIM_PORT", 9100);
const neo4jPort = portFromEnv("KEEL_NEO4J_HTTP_PORT", 7474);
const adminToken = process.env.KEEL_ADMIN_TOKEN || keptSecret("admin-token", () => randomToken(24));
const neo4jPassword = process.env.KEEL_NEO4J_PASSWORD || keptSecret("neo4j-password", () => randomToken(18));
const masterKey = keptSecret("master-key", () => randomBytes(32).toString("base64"));

const logDir = path.join(stateRoot, "logs");
fs.rmSync(logDir, { recursive: true, force: true });

const info = (msg: string): void => console.log(`keel: ${msg}`);
let stack: Stack | null = null;
let market: LocalMarket | null = null;
let stopping = false;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  info("stopping every process…");
  market?.stop();
  if (stack) await stack.stop();
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
process.on("SIGHUP", () => void shutdown(0));
process.on("exit", () => stack?.killNow());

try {
  stack = await startStack({
    port,
    simPort,
    neo4jPort,
    neo4jPassword,
    adminToken,
    masterKey,
    neo4jDataDir: path.join(stateRoot, "neo4j"),
    stateDir: path.join(stateRoot, "wrangler-state"),
    runDir: path.join(stateRoot, "run"),
    logDir,
    withNeo4j: process.env.KEEL_NO_NEO4J === "1" ? false : undefined,
    echo: true,
    info,
  });
} catch (err) {
  console.error(`keel: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  console.error(`keel: logs in ${logDir}`);
  await shutdown(1);
}
if (!stack) process.exit(1);

try {
  market = await startLocalMarket({ baseUrl: stack.baseUrl, simUrl: stack.simUrl, info });
} catch (err) {
  console.error(`keel: cannot seed the simulator / start the cron: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}

const health = await fetch(`${stack.baseUrl}/health`)
  .then((r) => r.text())
  .catch((e: unknown) => String(e));
const b = stack.baseUrl;
console.log(`
──────────────────────────────────────────────────────────────────────────────
 Dashboard + API   ${b}/          (admin API under ${b}/api/v1)
 Admin token       ${adminToken}
 Exchange sim      ${stack.simUrl}
 Neo4j             ${stack.neo4jUrl ? `${stack.neo4jUrl}  (user neo4j, password ${neo4jPassword})` : "not running (no java/mvn): audit stays in the bots' outboxes"}
 Logs              ${logDir}
 Health            ${health.trim()}

 Create a paper bot, then send it a TradingView-style alert:
   curl -s -X POST ${b}/api/v1/bots -H 'Authorization: Bearer ${adminToken}' \\
     -H 'Content-Type: application/json' \\
     -d '{"id":"demo","name":"Demo","strategy":"manual","exchange":"binance","market":"spot","mode":"paper","base_url":"${stack.simUrl}","instruments":["BTCUSDT"],"sizing":{"mode":"fixed_qty","value":"0.001"},"risk":{}}'
   # the answer carries the bot's webhook secret once: put it in "secret" below
   curl -s -X POST ${b}/webhook/demo -H 'Content-Type: application/json' \\
     -d '{"secret":"<webhook secret>","id":"demo-1","action":"buy","symbol":"BTCUSDT","qty":"0.001"}'

 Run a built-in strategy (moving-average crossover on 1-minute bars; it trades at each bar close):
   curl -s -X POST ${b}/api/v1/bots -H 'Authorization: Bearer ${adminToken}' \\
     -H 'Content-Type: application/json' \\
     -d '{"id":"ma-demo","name":"MA demo","source":"strategy","strategy":"ma_crossover","timeframe":"1m","params":{"fast":3,"slow":8,"short":1},"exchange":"binance","market":"linear","mode":"paper","instruments":["BTCUSDT"],"sizing":{"mode":"fixed_quote","value":"200"}}'
   # watch it:  curl -s ${b}/api/v1/bots/ma-demo/fills -H 'Authorization: Bearer ${adminToken}'
──────────────────────────────────────────────────────────────────────────────
Keel ready at ${b}`);
