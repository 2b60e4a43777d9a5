// Issue 26 item 7 end to end: API tokens expire (401 `token_expired`, at most a year, never past
// the token that mints them; the bootstrap ADMIN_TOKEN never does), a token scoped to some bots
// sees and acts on those only (other bots answer 404 exactly like bots that do not exist, lists
// are filtered, platform-wide routes answer 403 `token_scoped`), tokens are listed without their
// secret and revoked at once, from the API and from `keel tokens`.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { adminFetch, fetchJson, keel, uniqueId } from "./harness.js";
import { type Bot, createBot } from "./ops-helpers.js";

interface ApiError {
  code: string;
  message: string;
  field?: string;
}

interface Token {
  id: string;
  name: string;
  role: string;
  created_ms: number;
  expires_ms: number;
  expires_at: string;
  expired: boolean;
  bots: string[] | null;
  token?: string;
}

async function mint(body: Record<string, unknown>, token?: string): Promise<Token> {
  const init = { method: "POST", json: { name: uniqueId("tok"), ...body } };
  const res = token
    ? await fetchJson<Token>("/api/v1/tokens", { ...init, headers: { authorization: `Bearer ${token}` } })
    : await adminFetch<Token>("/api/v1/tokens", init);
  expect(res.status, res.text).toBe(201);
  return res.body as Token;
}

/** A request with `token` as the bearer. */
function as<T = unknown>(token: string, target: string, init: RequestInit & { json?: unknown } = {}) {
  return fetchJson<T>(target, { ...init, headers: { authorization: `Bearer ${token}` } });
}

let mine: Bot;
let other: Bot;
let shortLived: Token;
const bots: string[] = [];

beforeAll(async () => {
  // Minted first, so the one-minute wait for its expiry overlaps the other tests.
  shortLived = await mint({ role: "viewer", ttl_secs: 60 });
  expect((await as(shortLived.token as string, "/api/v1/whoami")).status, "alive before its expiry").toBe(200);
  mine = await createBot({ prefix: "tok-mine", instruments: ["BTCUSDT"], qty: "0.001" });
  other = await createBot({ prefix: "tok-other", instruments: ["BTCUSDT"], qty: "0.001" });
  bots.push(mine.id, other.id);
});

afterAll(async () => {
  for (const id of bots) await adminFetch(`/api/v1/bots/${id}?force=true`, { method: "DELETE" });
});

describe("scope", () => {
  it("a viewer scoped to one bot reads it, and another bot's config, fills, audit and positions answer like a bot that does not exist", async () => {
    const viewer = await mint({ role: "viewer", bots: [mine.id] });
    expect(viewer.bots).toEqual([mine.id]);
    const who = await as<{ bots: string[]; role: string; expires_at: string }>(viewer.token as string, "/api/v1/whoami");
    expect(who.body).toEqual({ token_id: viewer.id, role: "viewer", bots: [mine.id], expires_at: viewer.expires_at });

    const list = await as<{ id: string }[]>(viewer.token as string, "/api/v1/bots");
    expect(list.status, list.text).toBe(200);
    expect(list.body?.map((b) => b.id)).toEqual([mine.id]);
    expect((await as(viewer.token as string, `/api/v1/bots/${mine.id}`)).status).toBe(200);
    expect((await as(viewer.token as string, `/api/v1/bots/${mine.id}/fills`)).status).toBe(200);

    const ghost = uniqueId("no-such-bot");
    for (const tail of ["", "/versions", "/fills", "/audit", "/audit/verify", "/positions", "/pnl", "/health", "/orders"]) {
      const res = await as<ApiError>(viewer.token as string, `/api/v1/bots/${other.id}${tail}`);
      expect(res.status, `${tail}: ${res.text}`).toBe(404);
      expect(res.body?.code, tail).toBe("unknown_bot");
      expect(res.text, tail).not.toContain(other.secret);
      // The same answer as for a bot that does not exist: the token learns nothing about it.
      const missing = await as<ApiError>(viewer.token as string, `/api/v1/bots/${ghost}${tail}`);
      expect([missing.status, missing.body?.code, missing.body?.message.replace(ghost, "X")], tail).toEqual([
        404,
        "unknown_bot",
        res.body?.message.replace(other.id, "X"),
      ]);
    }
    // The file's unscoped token still reads it.
    expect((await adminFetch(`/api/v1/bots/${other.id}/audit`)).status).toBe(200);

    // Lists and fan-outs keep the scope's bots only.
    const pnl = await as<{ bots: Record<string, unknown> }>(viewer.token as string, "/api/v1/pnl");
    expect(pnl.status, pnl.text).toBe(200);
    expect(Object.keys(pnl.body?.bots ?? {})).toEqual([mine.id]);
    const rec = await as<{ bots: Record<string, unknown> }>(viewer.token as string, "/api/v1/reconciliation");
    expect(Object.keys(rec.body?.bots ?? {})).toEqual([mine.id]);
    const metrics = await as<{ bots: Record<string, unknown>; totals: { bots: number } }>(viewer.token as string, "/api/v1/metrics");
    expect(metrics.status, metrics.text).toBe(200);
    expect(Object.keys(metrics.body?.bots ?? {})).toEqual([mine.id]);
    expect(metrics.body?.totals.bots).toBe(1);
    const prom = await fetchJson(`/api/v1/metrics?format=prometheus`, { headers: { authorization: `Bearer ${viewer.token}` } });
    expect(prom.text).toContain(mine.id);
    expect(prom.text).not.toContain(other.id);

    // Platform-wide reads are refused with a reason.
    for (const p of ["/api/v1/tokens", "/api/v1/audit", "/api/v1/health", "/api/v1/signals/x"]) {
      const res = await as<ApiError>(viewer.token as string, p);
      expect(res.status, `${p}: ${res.text}`).toBe(403);
      expect(res.body?.code, p).toBe("token_scoped");
      expect(res.body?.message, p).toContain(mine.id);
    }
    const health = await as<ApiError>(viewer.token as string, "/health");
    expect([health.status, health.body?.code]).toEqual([403, "token_scoped"]);
  });

  it("an admin scoped to one bot acts on it only: no other bot's webhook secret, config change, pause, and no halt or token minting", async () => {
    const admin = await mint({ role: "admin", bots: [mine.id] });
    const tok = admin.token as string;

    const rotated = await as<{ webhook_secret?: string }>(tok, `/api/v1/bots/${mine.id}/webhook-secret/rotate`, { method: "POST", json: { grace_secs: 3600 } });
    expect(rotated.status, rotated.text).toBe(200);
    const stolen = await as<ApiError>(tok, `/api/v1/bots/${other.id}/webhook-secret/rotate`, { method: "POST", json: { grace_secs: 0 } });
    expect([stolen.status, stolen.body?.code], stolen.text).toEqual([404, "unknown_bot"]);
    expect(stolen.text).not.toMatch(/secret"/);

    for (const [method, tail, json] of [
      ["PATCH", "", { name: "taken over" }],
      ["POST", "/pause", { reason: "x" }],
      ["POST", "/flatten", {}],
      ["PUT", "/credentials", { api_key: "k", api_secret: "s" }],
      ["POST", "/capital", { amount: "1" }],
      ["DELETE", "", undefined],
    ] as const) {
      const res = await as<ApiError>(tok, `/api/v1/bots/${other.id}${tail}`, { method, json });
      expect([res.status, res.body?.code], `${method} ${tail}: ${res.text}`).toEqual([404, "unknown_bot"]);
    }
    const untouched = await adminFetch<{ name: string; flags: { paused: boolean } }>(`/api/v1/bots/${other.id}`);
    expect(untouched.status, untouched.text).toBe(200);
    expect(untouched.body?.name).not.toBe("taken over");
    expect(untouched.body?.flags.paused).toBe(false);

    // Its own bot: a write works.
    const paused = await as(tok, `/api/v1/bots/${mine.id}/pause`, { method: "POST", json: { reason: "scoped admin" } });
    expect(paused.status, paused.text).toBe(200);
    expect((await as(tok, `/api/v1/bots/${mine.id}/resume`, { method: "POST", json: {} })).status).toBe(200);

    // Platform-wide writes: 403 with a clear reason, and nothing happened.
    for (const [p, method, json] of [
      ["/api/v1/halt", "POST", { reason: "scoped" }],
      ["/api/v1/resume", "POST", {}],
      ["/api/v1/tokens", "POST", { role: "admin" }],
      [`/api/v1/tokens/${admin.id}`, "DELETE", undefined],
      ["/api/v1/credentials/rotate", "POST", {}],
      ["/api/v1/data/import", "POST", {}],
    ] as const) {
      const res = await as<ApiError>(tok, p, { method, json });
      expect([res.status, res.body?.code], `${method} ${p}: ${res.text}`).toEqual([403, "token_scoped"]);
      expect(res.body?.message).toMatch(/platform-wide/);
    }
    const platform = await adminFetch<{ halt: { halted: boolean } }>("/api/v1/health");
    expect(platform.body?.halt.halted, platform.text).toBe(false);

    // Creating a bot: only under an id the scope names.
    const outside = await as<ApiError>(tok, "/api/v1/bots", { method: "POST", json: { id: uniqueId("tok-new"), mode: "paper" } });
    expect([outside.status, outside.body?.code, outside.body?.field], outside.text).toEqual([403, "token_scoped", "id"]);

    // A fan-out action reaches its bot only.
    const rec = await as<{ bots: Record<string, unknown> }>(tok, "/api/v1/reconcile", { method: "POST", json: {} });
    expect(rec.status, rec.text).toBe(200);
    expect(Object.keys(rec.body?.bots ?? {})).toEqual([mine.id]);
  });

  it("refuses a malformed scope naming the field", async () => {
    for (const bots of [[], ["bad id"], "x", [1]]) {
      const res = await adminFetch<ApiError>("/api/v1/tokens", { method: "POST", json: { bots } });
      expect([res.status, res.body?.code, res.body?.field], res.text).toEqual([400, "invalid_scope", "bots"]);
    }
  });
});

describe("listing and revocation", () => {
  it("lists tokens with role, scope and expiry but never the token, and a revoked token fails on the next request", async () => {
    const t = await mint({ role: "viewer", bots: [mine.id], ttl_secs: 3600 });
    const list = await adminFetch<Token[]>("/api/v1/tokens");
    expect(list.status).toBe(200);
    const row = list.body?.find((r) => r.id === t.id);
    expect(row).toEqual({ ...t, token: undefined, expired: false });
    expect(row?.expires_ms).toBe((row?.created_ms ?? 0) + 3_600_000);
    expect(list.text).not.toContain(t.token as string);
    expect(list.text).not.toContain("hash");

    const revoked = await adminFetch(`/api/v1/tokens/${t.id}`, { method: "DELETE" });
    expect(revoked.status, revoked.text).toBe(200);
    const after = await as<ApiError>(t.token as string, `/api/v1/bots/${mine.id}`);
    expect([after.status, after.body?.code]).toEqual([401, "invalid_token"]);
    expect((await adminFetch<Token[]>("/api/v1/tokens")).body?.map((r) => r.id)).not.toContain(t.id);
  });

  it("`keel tokens create | list | revoke` print human tables, and --json the API's answer", () => {
    const bin = process.env.KEEL_CLI_BIN ?? path.join(ROOT, "target/release/keel");
    expect(fs.existsSync(bin), `${bin} missing: run scripts/build.sh`).toBe(true);
    const cli = (args: string[]) => {
      const run = spawnSync(bin, args, { encoding: "utf8", timeout: 60_000, env: { ...process.env, KEEL_URL: keel().baseUrl, KEEL_TOKEN: keel().adminToken } });
      if (run.error) throw run.error;
      return { code: run.status, stdout: run.stdout, stderr: run.stderr };
    };
    const name = uniqueId("cli-tok").slice(0, 40);
    const created = cli(["tokens", "create", "--name", name, "--role", "viewer", "--ttl", "2h", "--bots", mine.id]);
    expect(created.code, created.stderr).toBe(0);
    const head = created.stdout.split("\n")[0] ?? "";
    expect(head).toMatch(new RegExp(`^created token tok_[0-9a-f]{16} \\(viewer, bots: ${mine.id}, expires \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\)$`));
    const id = head.split(" ")[2] ?? "";
    const secret = /token: (keel_[0-9a-f]{64})/.exec(created.stdout)?.[1] ?? "";
    expect(secret).not.toBe("");

    const table = cli(["tokens", "list"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+ROLE\s+BOTS\s+EXPIRES\s+STATE$/);
    const line = table.stdout.split("\n").find((l) => l.startsWith(`${id} `)) ?? "";
    expect(line.split(/\s+/)).toEqual([id, name, "viewer", mine.id, expect.stringMatching(/^\d{4}-/), expect.stringMatching(/^\d\d:\d\d$/), "UTC", "active"]);
    expect(table.stdout).not.toContain(secret);

    const json = cli(["tokens", "list", "--json"]);
    const rows = JSON.parse(json.stdout) as Token[];
    expect(rows.find((r) => r.id === id)?.bots).toEqual([mine.id]);

    const revoked = cli(["tokens", "revoke", id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe(`revoked ${id}: it stops working at once\n`);
    const again = cli(["tokens", "revoke", id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^unknown_token: /);
    const bad = cli(["tokens", "create", "--ttl", "400d"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^invalid_ttl: .* \(ttl_secs\)/);
  });
});

describe("expiry", () => {
  it("refuses a lifetime over a year, and a token cannot outlive the token that mints it", async () => {
    for (const ttl of [59, 365 * 86_400 + 1, "3600"]) {
      const res = await adminFetch<ApiError>("/api/v1/tokens", { method: "POST", json: { ttl_secs: ttl } });
      expect([res.status, res.body?.code, res.body?.field], res.text).toEqual([400, "invalid_ttl", "ttl_secs"]);
    }
    const short = await mint({ role: "admin", ttl_secs: 600 });
    const longer = await as<ApiError>(short.token as string, "/api/v1/tokens", { method: "POST", json: { ttl_secs: 3600 } });
    expect([longer.status, longer.body?.code], longer.text).toEqual([400, "invalid_ttl"]);
    expect(longer.body?.message).toContain("cannot outlive");
    const within = await mint({ role: "viewer", ttl_secs: 300 }, short.token);
    expect(within.expires_ms).toBeLessThanOrEqual(short.expires_ms);
    // Without ttl_secs the default lifetime is cut to the minter's rather than refused.
    const cut = await mint({ role: "viewer" }, short.token);
    expect(cut.expires_ms).toBe(short.expires_ms);
    // Defaults: 90 days (from the bootstrap token, which never expires and has no scope).
    const dflt = await mint({}, keel().bootstrapToken);
    expect(dflt.expires_ms - dflt.created_ms).toBe(90 * 86_400_000);
    expect([dflt.role, dflt.bots]).toEqual(["viewer", null]);
    const boot = await fetchJson<{ expires_at: unknown; bots: unknown }>("/api/v1/whoami", { headers: { authorization: `Bearer ${keel().bootstrapToken}` } });
    expect(boot.body).toEqual({ token_id: "bootstrap", role: "admin", expires_at: null, bots: null });
  });

  it("an expired token answers 401 token_expired and is listed as expired", async () => {
    // Minted with a one-minute life at the start of the file, where it worked.
    expect(shortLived.expires_ms - shortLived.created_ms).toBe(60_000);
    const wait = shortLived.expires_ms - Date.now() + 1_000;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const res = await as<ApiError>(shortLived.token as string, "/api/v1/whoami");
    expect([res.status, res.body?.code], res.text).toEqual([401, "token_expired"]);
    expect(res.body?.message).toContain(shortLived.expires_at.slice(0, 19));
    const listed = (await adminFetch<Token[]>("/api/v1/tokens")).body?.find((r) => r.id === shortLived.id);
    expect(listed?.expired).toBe(true);
  }, 90_000);
});
