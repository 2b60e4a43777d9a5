// Runs before every end-to-end spec file (vitest `setupFiles`): gives the file what it owns, so no
// spec file can spend another's budget or see another's state, whatever order the files run in.
//
//   - an admin token of its own, minted with the bootstrap token through `POST /api/v1/tokens`
//     (role admin): the admin API's per-token budget is the file's alone;
//   - a client IP of its own (`CF-Connecting-IP`, from 198.18.0.0/15, the benchmarking range) on
//     every harness request to the edge: the per-IP admin and webhook budgets are the file's alone;
//   - an exchange simulator of its own, started by global-setup's control endpoint and kept until
//     the run ends (a later file's global halt or cron tick still reaches this file's bots): its
//     own accounts, balances, prices, faults, Binance IP weight and order counts; and since bots
//     point `base_url` at it, Keel's AccountDO budgets (keyed by exchange, market, URL and key)
//     are the file's alone too.
//
// `keel()`, `fetchJson`, `adminFetch` and `simAdmin` (harness.ts) pick these up, so existing specs
// and helpers get isolation without edits. The stack's shared parts are Neo4j (queried by bot id)
// and the ControlDO (platform halt, tokens), which specs restore when they change it.
import { afterAll, expect, inject } from "vitest";
import { adminRateLimitWaits, fetchJson, hash32, setFileContext } from "./harness.js";
import { laneOf } from "./lanes.ts";

const stack = inject("keel");
const testPath = expect.getState().testPath ?? "";
const label = testPath ? testPath.split(/[\\/]/).pop() ?? testPath : `file-${process.pid}`;
const h = hash32(`${stack.seed ?? 0}:${label}`);
const clientIp = `198.${18 + ((h >>> 16) & 1)}.${(h >>> 8) & 255}.${Math.max(1, h & 255)}`;

if (!stack.control) throw new Error("the e2e stack has no control endpoint (global-setup.ts)");
const control = stack.control;

/** POSTs to the stack's control endpoint (a lane wait answers within 20 s, inside fetchJson's 30 s). */
async function controlPost<T>(route: string, json: Record<string, unknown>): Promise<T> {
  const res = await fetchJson<T & { error?: string }>(`${control.url}${route}`, {
    method: "POST",
    json,
    headers: { "x-control-token": control.token },
  });
  if (res.status !== 200 || !res.body) throw new Error(`control ${route}: ${res.status} ${res.text}`);
  return res.body;
}

// This file's simulator.
const sim = await fetchJson<{ url?: string; error?: string }>(`${stack.control.url}/sim`, {
  method: "POST",
  json: { name: label.replace(/\.spec\.ts$/, "") },
  headers: { "x-control-token": stack.control.token },
  signal: AbortSignal.timeout(60_000),
});
if (sim.status !== 200 || !sim.body?.url) throw new Error(`starting this file's simulator: ${sim.status} ${sim.text}`);

// This file's admin token (minted once; the bootstrap token is used for nothing else).
const minted = await fetchJson<{ id?: string; token?: string }>(`${stack.baseUrl}/api/v1/tokens`, {
  method: "POST",
  headers: { authorization: `Bearer ${stack.adminToken}`, "cf-connecting-ip": clientIp },
  json: { name: `e2e ${label}`.slice(0, 60), role: "admin" },
});
if (minted.status !== 201 || !minted.body?.token || !minted.body.id) {
  throw new Error(`minting this file's admin token: ${minted.status} ${minted.text}`);
}

// This file's lane (lanes.ts): wait until it may run beside whatever runs now, and hold the lane
// until its last afterAll has run (this one is registered first, so it runs last). Taken last in
// this setup, after the file's own simulator and token, so nothing here can fail while holding it.
const lane = laneOf(label);
const laneStart = Date.now();
const { ticket } = await controlPost<{ ticket: number }>("/lane/enter", { file: label, mode: lane });
let beside: string[] = [];
for (;;) {
  const answer = await controlPost<{ granted: boolean; holders: string[] }>("/lane/wait", { ticket });
  if (answer.granted) {
    beside = answer.holders.filter((h) => !h.startsWith(`${label} `));
    break;
  }
}
const laneWaitMs = Date.now() - laneStart;
afterAll(async () => {
  await controlPost("/lane/leave", { ticket });
});

setFileContext({ label, adminToken: minted.body.token, adminTokenId: minted.body.id, simUrl: sim.body.url, clientIp });

afterAll(() => {
  const waits = adminRateLimitWaits.count;
  console.log(
    `e2e ${label}: own simulator ${sim.body?.url}, own token ${minted.body?.id}, client IP ${clientIp}; ` +
      `admin 429 waits ${waits}${waits ? " (this file's own polling outran its budget)" : ""}; ` +
      `lane ${lane} after ${laneWaitMs} ms${beside.length ? `, beside ${beside.join(", ")}` : ""}`,
  );
});
