// Issue 7 end to end: the secure admin API. Every answer these tests receive from /api/v1 is
// validated against the served OpenAPI 3.1 document (admin-openapi.ts), and the routes checked for
// authentication are generated from that document, not listed here.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type OpenApi, fillPath, openApi, operations } from "./admin-openapi.js";
import { fetchJson, keel, simAdmin, uniqueId } from "./harness.js";

interface ApiError {
  code: string;
  message: string;
  field?: string;
  detail?: Record<string, unknown>;
}
interface TokenCreated {
  id: string;
  role: string;
  token: string;
  expires_at: string;
}
interface AuditPage {
  events: { seq: number; kind: string; actor?: string; record: Record<string, unknown> }[];
  verified?: boolean | null;
}

let api: OpenApi;

/** A bot config the simulator can price (paper mode: in-process fills, prices from the sim). */
function paperConfig(id: string, risk: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: "admin e2e",
    exchange: "binance",
    market: "spot",
    mode: "paper",
    base_url: keel().simUrl,
    instruments: ["BTCUSDT"],
    sizing: { mode: "fixed_qty", value: "0.001" },
    risk: { max_order_notional: "1000", max_signal_age_secs: 30, ...risk },
    allowed_ips: [],
  };
}

async function createBot(id: string, risk: Record<string, unknown> = {}): Promise<string> {
  const res = await api.call<{ webhook_secret: string }>("post", "/bots", {}, { json: paperConfig(id, risk) });
  expect(res.status, res.text).toBe(201);
  return res.body?.webhook_secret ?? "";
}

function buy(secret: string): Record<string, unknown> {
  return { secret, id: uniqueId("sig"), action: "buy", symbol: "BTCUSDT", time: new Date().toISOString() };
}

async function createToken(role: "admin" | "viewer", name = uniqueId("tok")): Promise<TokenCreated> {
  const res = await api.call<TokenCreated>("post", "/tokens", {}, { json: { name, role } });
  expect(res.status, res.text).toBe(201);
  return res.body as TokenCreated;
}

/**
 * Every (method, path) the admin router matches, read from its Rust match arms
 * (`(Method::Post, [id, "credentials"])` in src/api/bots.rs gives POST /bots/ANY/credentials), with
 * the segment `*` for a bound variable and `a @ ("x" | "y")` expanded.
 */
function routerRoutes(): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  for (const [file, prefix] of [["src/api/bots.rs", "/bots"], ["src/api/platform.rs", ""]] as const) {
    const src = fs.readFileSync(path.join(process.cwd(), file), "utf8");
    for (const m of src.matchAll(/\(Method::(\w+),\s*\[([^\]]*)\]\)/g)) {
      let paths: string[] = [prefix];
      for (const seg of (m[2] ?? "").split(",").map((x) => x.trim()).filter(Boolean)) {
        const alt = /@\s*\(([^)]*)\)/.exec(seg);
        const names = alt ? [...(alt[1] ?? "").matchAll(/"([^"]+)"/g)].map((x) => x[1] ?? "") : seg.startsWith('"') ? [seg.slice(1, -1)] : ["*"];
        paths = paths.flatMap((p) => names.map((n) => `${p}/${n}`));
      }
      out.push(...paths.map((p) => ({ method: (m[1] ?? "").toUpperCase(), path: p || "/" })));
    }
  }
  return out;
}

/** Whether a router path (`*` = any segment) and a document template (`{x}`) can name the same URL. */
function sameRoute(routerPath: string, template: string): boolean {
  const a = routerPath.split("/");
  const b = template.split("/");
  return a.length === b.length && a.every((seg, i) => seg === "*" || /^\{\w+\}$/.test(b[i] ?? "") || seg === b[i]);
}

/** Example path parameters for routes of the document. */
const SAMPLE: Record<string, string> = { bot_id: "no-such-bot", token_id: "tok_none", signal_id: "sig-none", name: "no-such-scope", call_id: "no-such-call" };

beforeAll(async () => {
  api = await openApi();
  await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
});

describe("OpenAPI document", () => {
  it("is served without a token as OpenAPI 3.1 and describes the admin routes", () => {
    expect(api.doc.openapi).toBe("3.1.0");
    const ops = operations(api.doc);
    expect(ops.length).toBeGreaterThanOrEqual(34);
    for (const p of ["/bots", "/bots/{bot_id}", "/bots/{bot_id}/versions", "/bots/{bot_id}/credentials", "/tokens", "/audit", "/credentials/rotate"]) {
      expect(Object.keys(api.doc.paths)).toContain(p);
    }
  });
});

describe("authentication on every route", () => {
  // The two sweeps send a few hundred unauthenticated requests: each from a client IP of its own,
  // so they do not spend the per-IP budget (300 per 10 s) the rest of this file's calls share.
  it("answers 401 to every documented operation without a token or with a wrong one", async () => {
    const ops = operations(api.doc).filter((o) => o.path !== "/openapi.json");
    for (const { method, path: template } of ops) {
      for (const auth of [undefined, "Bearer keel_not-a-real-token", "Basic YWRtaW46YWRtaW4="]) {
        const res = await fetchJson<ApiError>(`/api/v1${fillPath(template, SAMPLE)}`, {
          method: method.toUpperCase(),
          headers: { "cf-connecting-ip": "198.51.100.21", ...(auth ? { authorization: auth } : {}) },
          json: method === "get" || method === "delete" ? undefined : {},
        });
        expect(res.status, `${method} ${template} with ${auth ?? "no auth"}: ${res.text}`).toBe(401);
        api.check(method, template, res);
      }
    }
  });

  it("every route of the router (read from its source) is documented and answers 401 without a token", async () => {
    const routes = routerRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(25);
    const documented = operations(api.doc).map((o) => ({ method: o.method.toUpperCase(), path: o.path }));
    for (const r of routes) {
      expect(documented.some((d) => d.method === r.method && sameRoute(r.path, d.path)), `${r.method} ${r.path} not in openapi.json`).toBe(true);
      const url = `/api/v1${r.path.replace(/\*/g, "no-such-bot")}`;
      for (const auth of [undefined, "Bearer keel_wrong"]) {
        const res = await fetchJson(url, { method: r.method, headers: { "cf-connecting-ip": "198.51.100.22", ...(auth ? { authorization: auth } : {}) } });
        expect(res.status, `${r.method} ${url} with ${auth ?? "no auth"}`).toBe(401);
      }
    }
  });

  it("authenticates before routing: unknown paths and methods answer 401 too", async () => {
    for (const [method, p] of [["GET", "/nothing"], ["POST", "/bots/x/unknown-op"], ["PUT", "/tokens"], ["GET", "/"]]) {
      const res = await fetchJson<ApiError>(`/api/v1${p}`, { method });
      expect(res.status, `${method} ${p}`).toBe(401);
    }
  });
});

describe("tokens and roles", () => {
  it("creates a viewer token that reads but gets 403 on every write", async () => {
    const viewer = await createToken("viewer");
    expect(viewer.token).toMatch(/^keel_[0-9a-f]{64}$/);
    const who = await api.call<{ token_id: string; role: string }>("get", "/whoami", {}, { token: viewer.token });
    expect(who.body).toEqual({ token_id: viewer.id, role: "viewer", expires_at: viewer.expires_at, bots: null });
    expect((await api.call("get", "/bots", {}, { token: viewer.token })).status).toBe(200);
    const writes = operations(api.doc).filter((o) => o.method !== "get");
    expect(writes.length).toBeGreaterThanOrEqual(10);
    for (const { method, path: template } of writes) {
      const res = await api.call<ApiError>(method, template, SAMPLE, { token: viewer.token, json: {} });
      expect(res.status, `${method} ${template}: ${res.text}`).toBe(403);
      expect(res.body?.code).toBe("forbidden_role");
    }
  });

  it("lists tokens without the token or its hash, and a revoked token fails at once", async () => {
    const t = await createToken("admin");
    const list = await api.call<{ id: string }[]>("get", "/tokens");
    expect(list.status).toBe(200);
    expect(list.body?.map((r) => r.id)).toContain(t.id);
    expect(list.text).not.toContain(t.token);
    expect(list.text).not.toContain("hash");
    expect((await api.call("get", "/whoami", {}, { token: t.token })).status).toBe(200);

    const revoked = await api.call("delete", "/tokens/{token_id}", { token_id: t.id });
    expect(revoked.status, revoked.text).toBe(200);
    const started = Date.now();
    const after = await api.call<ApiError>("get", "/whoami", {}, { token: t.token });
    expect(after.status).toBe(401);
    expect(after.body?.code).toBe("invalid_token");
    console.log(`admin e2e: revoked token refused ${Date.now() - started} ms after the revoke answered`);
    expect((await api.call<ApiError>("delete", "/tokens/{token_id}", { token_id: t.id })).status).toBe(404);
  });

  it("refuses a bad role or name naming the field", async () => {
    for (const [body, field] of [[{ role: "root" }, "role"], [{ name: "" }, "name"], [{ name: "x", extra: 1 }, "extra"]] as const) {
      const res = await api.call<ApiError>("post", "/tokens", {}, { json: body });
      expect(res.status, res.text).toBe(400);
      expect(res.body?.field).toBe(field);
    }
  });

  it("audits token, halt and resume actions in the verified platform chain with token ids only", async () => {
    const actorToken = await createToken("admin", "auditor");
    const viewer = await createToken("viewer", "to-revoke");
    await api.call("delete", "/tokens/{token_id}", { token_id: viewer.id }, { token: actorToken.token });
    const halt = await api.call<{ halt: { halted: boolean } }>("post", "/halt", {}, { json: { reason: "admin e2e drill" }, token: actorToken.token });
    expect(halt.status, halt.text).toBe(200);
    expect(halt.body?.halt.halted).toBe(true);
    const resume = await api.call("post", "/resume", {}, { json: { reason: "drill over" }, token: actorToken.token });
    expect(resume.status, resume.text).toBe(200);

    const page = await api.call<AuditPage>("get", "/audit", {}, { query: "limit=1000" });
    expect(page.status).toBe(200);
    expect(page.body?.verified).toBe(true);
    const mine = (page.body?.events ?? []).filter((e) => e.actor === `token:${actorToken.id}`).map((e) => e.kind);
    expect(mine).toEqual(["token_revoked", "halt", "resume"]);
    const created = page.body?.events.find((e) => JSON.stringify(e.record).includes(viewer.id) && e.kind === "token_created");
    // Created with this file's own admin token (file-context.ts): the audit names its id.
    expect(created?.actor).toBe(`token:${keel().adminTokenId}`);
    expect(page.text).not.toContain(viewer.token);
    expect(page.text).not.toContain(actorToken.token);
    expect(page.text).not.toContain(keel().adminToken);
    expect(page.text).not.toContain(keel().bootstrapToken);
  });
});

describe("bot config: validation, versions, next-signal effect", () => {
  it("refuses bad configs with 400/422 naming the field", async () => {
    const id = uniqueId("bad");
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...paperConfig(id), colour: "red" }, 422, "colour"],
      [paperConfig(id, { max_leverage: "-2" }), 422, "risk.max_leverage"],
      [{ ...paperConfig(id), sizing: { mode: "fixed_qty", value: "abc" } }, 422, "sizing.value"],
      [{ ...paperConfig(id), exchange: "kraken" }, 422, "exchange"],
      [{ ...paperConfig(id), id: "bad id!" }, 400, "id"],
      [{ name: "no id" }, 400, "id"],
    ];
    for (const [body, status, field] of cases) {
      const res = await api.call<ApiError>("post", "/bots", {}, { json: body });
      expect(res.status, `${field}: ${res.text}`).toBe(status);
      expect(res.body?.field, res.text).toContain(field);
    }
    const missing = await api.call<ApiError>("get", "/bots/{bot_id}", { bot_id: id });
    expect(missing.status).toBe(404);
  });

  it("versions a PATCH, audits its diff, and the next signal obeys it at once", async () => {
    const id = uniqueId("patch");
    const secret = await createBot(id);
    const first = await fetchJson<{ status: string }>(`/webhook/${id}`, { method: "POST", json: buy(secret) });
    expect(first.status, first.text).toBe(200);

    const patched = await api.call<{ version: number; diff: { path: string; old: unknown; new: unknown }[] }>(
      "patch", "/bots/{bot_id}", { bot_id: id }, { json: { risk: { max_order_notional: "10" } } },
    );
    expect(patched.status, patched.text).toBe(200);
    const applied = Date.now();
    expect(patched.body?.version).toBe(2);
    expect(patched.body?.diff).toContainEqual({ path: "/risk/max_order_notional", old: "1000", new: "10" });

    const refused = await fetchJson<ApiError>(`/webhook/${id}`, { method: "POST", json: buy(secret) });
    const tookMs = Date.now() - applied;
    expect(refused.status, refused.text).toBe(422);
    expect(refused.body?.code).toBe("risk_max_order_notional");
    console.log(`admin e2e: config patch applied to the next signal ${tookMs} ms after the PATCH answered`);
    expect(tookMs).toBeLessThan(60_000);

    const versions = await api.call<{ current_version: number; versions: { version: number; config: { risk: Record<string, string> } }[] }>(
      "get", "/bots/{bot_id}/versions", { bot_id: id },
    );
    expect(versions.body?.current_version).toBe(2);
    expect(versions.body?.versions.map((v) => [v.version, v.config.risk.max_order_notional])).toEqual([[1, "1000"], [2, "10"]]);

    const audit = await api.call<AuditPage>("get", "/bots/{bot_id}/audit", { bot_id: id }, { query: "limit=1000" });
    const change = audit.body?.events.find((e) => e.kind === "config_change" && JSON.stringify(e.record).includes("\"new_version\":2"));
    expect(JSON.stringify(change?.record)).toContain("/risk/max_order_notional");
    expect(change?.record.actor).toBe(`token:${keel().adminTokenId}`);

    const bad = await api.call<ApiError>("patch", "/bots/{bot_id}", { bot_id: id }, { json: { risk: { max_open_positions: -1 } } });
    expect(bad.status, bad.text).toBe(422);
    expect(bad.body?.field).toBe("risk.max_open_positions");
    const read = await api.call<{ version: number }>("get", "/bots/{bot_id}", { bot_id: id });
    expect(read.body?.version).toBe(2);
  });

  it("deletes only a flat bot; force with an open position is refused, never abandoned", async () => {
    const flat = uniqueId("flat");
    await createBot(flat);
    const del = await api.call<{ deleted: string }>("delete", "/bots/{bot_id}", { bot_id: flat });
    expect(del.status, del.text).toBe(200);
    expect((await api.call("get", "/bots/{bot_id}", { bot_id: flat })).status).toBe(404);

    const open = uniqueId("open");
    const secret = await createBot(open);
    const filled = await fetchJson(`/webhook/${open}`, { method: "POST", json: buy(secret) });
    expect(filled.status, filled.text).toBe(200);
    const refused = await api.call<ApiError>("delete", "/bots/{bot_id}", { bot_id: open });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body?.code).toBe("bot_not_flat");
    const forced = await api.call<ApiError>("delete", "/bots/{bot_id}", { bot_id: open }, { query: "force=true" });
    // 200 once a flatten exists and has closed the position; until then the bot refuses.
    if (forced.status === 200) {
      expect((await api.call("get", "/bots/{bot_id}/positions", { bot_id: open })).status).toBe(404);
    } else {
      expect(forced.status, forced.text).toBe(409);
      expect(["flatten_unavailable", "bot_not_flat"]).toContain(forced.body?.code);
      expect((await api.call("get", "/bots/{bot_id}", { bot_id: open })).status).toBe(200);
    }
  });
});

describe("credentials", () => {
  it("are write-only: never in any answer, audit or log; rotation re-seals them", async () => {
    const id = uniqueId("creds");
    await createBot(id);
    const apiKey = `AKtest${uniqueId("k").replace(/-/g, "")}`;
    const apiSecret = `SKtest${uniqueId("s").replace(/-/g, "")}`;
    const put = await api.call<{ stored: boolean }>("put", "/bots/{bot_id}/credentials", { bot_id: id }, { json: { api_key: apiKey, api_secret: apiSecret } });
    expect(put.status, put.text).toBe(200);
    const bad = await api.call<ApiError>("put", "/bots/{bot_id}/credentials", { bot_id: id }, { json: { api_key: "x" } });
    expect(bad.status).toBe(400);

    const rotated = await api.call<{ rotated: number; failed: string[]; bots: Record<string, { rotated?: boolean }> }>("post", "/credentials/rotate");
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body?.failed).toEqual([]);
    expect(rotated.body?.bots[id]?.rotated).toBe(true);

    const reads = [
      await api.call("get", "/bots/{bot_id}", { bot_id: id }),
      await api.call("get", "/bots/{bot_id}/versions", { bot_id: id }),
      await api.call("get", "/bots/{bot_id}/audit", { bot_id: id }, { query: "limit=1000" }),
      await api.call("get", "/bots/{bot_id}/health", { bot_id: id }),
      await api.call("get", "/bots"),
      await api.call("get", "/audit", {}, { query: "limit=1000" }),
      put,
      rotated,
      await api.call("get", "/bots/{bot_id}/audit/verify", { bot_id: id }),
    ];
    for (const r of reads) {
      expect(r.text).not.toContain(apiKey);
      expect(r.text).not.toContain(apiSecret);
    }
    const audit = reads[2]?.text ?? "";
    expect(audit).toContain("credential_change");
    const platform = reads[5]?.body as AuditPage;
    expect(platform.events.some((e) => e.kind === "credentials_rotated" && JSON.stringify(e.record).includes(id))).toBe(true);

    // Logs of this run (wrangler, simulator, proxy): the values never appear.
    const logDir = path.join(process.cwd(), ".keel", "e2e-logs");
    for (const f of fs.existsSync(logDir) ? fs.readdirSync(logDir) : []) {
      const text = fs.readFileSync(path.join(logDir, f), "utf8");
      expect(text.includes(apiKey) || text.includes(apiSecret), `secret in ${f}`).toBe(false);
    }
  });
});

describe("gateway", () => {
  it("puts the security headers on every answer, errors included", async () => {
    const answers = [
      await fetchJson("/api/v1/openapi.json"),
      await fetchJson("/api/v1/bots"),
      await api.call("get", "/bots"),
      await api.call("get", "/bots/{bot_id}", { bot_id: "no-such-bot" }),
    ];
    for (const r of answers) {
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("x-frame-options")).toBe("DENY");
      expect(r.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(r.headers.get("strict-transport-security")).toContain("max-age=");
      expect(r.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("keeps CORS closed to other origins (preflight and request)", async () => {
    const evil = "https://evil.example";
    const pre = await fetchJson<ApiError>("/api/v1/bots", {
      method: "OPTIONS",
      headers: { origin: evil, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });
    expect(pre.status).toBe(403);
    expect(pre.headers.get("access-control-allow-origin")).not.toBe(evil);
    expect(pre.headers.get("access-control-allow-methods")).toBeNull();
    const post = await fetchJson<ApiError>("/api/v1/halt", {
      method: "POST",
      headers: { origin: evil, authorization: `Bearer ${keel().adminToken}` },
      json: { reason: "csrf" },
    });
    expect(post.status).toBe(403);
    expect(post.body?.code).toBe("cors_origin_denied");
    const state = await api.call<{ halt: unknown }>("get", "/health");
    expect(JSON.stringify(state.body?.halt)).not.toContain("csrf");
  });

  it("caps request bodies at 64 KiB", async () => {
    const res = await fetchJson<ApiError>("/api/v1/bots", {
      method: "POST",
      headers: { authorization: `Bearer ${keel().adminToken}` },
      json: { ...paperConfig(uniqueId("big")), name: "x".repeat(70 * 1024) },
    });
    expect(res.status).toBe(413);
    expect(res.body?.code).toBe("body_too_large");
  });

  it("rate-limits per token and per IP with 429", async () => {
    const t = await createToken("viewer");
    // A distinct client IP per scenario so the suite's own traffic is not counted.
    const burst = async (ip: string, token: string, max: number): Promise<{ ok: number; limited: ApiError | null }> => {
      let ok = 0;
      // 25 in flight: a loaded machine still sends a budget's worth within one 10 s window.
      for (let sent = 0; sent < max; sent += 25) {
        const batch = await Promise.all(
          Array.from({ length: 25 }, () =>
            fetchJson<ApiError>("/api/v1/whoami", { headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": ip } }),
          ),
        );
        ok += batch.filter((r) => r.status === 200 || r.status === 401).length;
        const limited = batch.find((r) => r.status === 429);
        if (limited) {
          api.check("get", "/whoami", limited);
          return { ok, limited: limited.body };
        }
      }
      return { ok, limited: null };
    };
    // Budgets (wrangler.toml): 150 per 10 s per token, 300 per 10 s per IP; a burst may straddle
    // one window boundary, hence up to a little over twice the budget.
    const perToken = await burst("198.51.100.7", t.token, 400);
    expect(perToken.limited?.code).toBe("rate_limited");
    expect(perToken.limited?.field).toBe("token");
    expect(perToken.ok).toBeGreaterThanOrEqual(140);

    const perIp = await burst("198.51.100.8", "keel_wrong", 700);
    expect(perIp.limited?.code).toBe("rate_limited");
    expect(perIp.limited?.field).toBe("ip");
    expect(perIp.ok).toBeGreaterThanOrEqual(290);
  });
});

describe("call logger (issue 24)", () => {
  interface CallVersion { version: number; hash: string; prev_hash: string; fields: { stop?: string; targets?: string[] } }
  interface Scored { version: number; final: boolean; score: { status: string; r_multiple?: string; fill_price?: string } }
  it("an edited call cannot change its stored score", async () => {
    const source = uniqueId("chan");
    const id = uniqueId("call");
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 600_000;
    const text = "🔥 #BTCUSDT LONG 🔥\nEntry 100\nSL 90\nTP1 110\nTP2 120\nLeverage cross 10x";
    const created = await api.call<CallVersion>("post", "/calls", {}, { json: { call_id: id, source, call_time_ms: t0, text } });
    expect(created.status, created.text).toBe(201);
    expect(created.body?.version).toBe(1);
    expect(created.body?.fields.stop).toBe("90");
    expect(created.body?.fields.targets).toEqual(["110", "120"]);
    // After the loss, the channel moves its stop below the low: a new version on the chain.
    const edited = await api.call<CallVersion>("post", "/calls/{call_id}/versions", { call_id: id }, { json: { text: text.replace("SL 90", "SL 80") } });
    expect(edited.status, edited.text).toBe(201);
    expect(edited.body?.version).toBe(2);
    expect(edited.body?.prev_hash).toBe(created.body?.hash);
    expect(edited.body?.fields.stop).toBe("80");
    // Fill at 100 on the first candle, the second trades down to 85: stopped by the first
    // version's stop 90 (R = -1); the edited stop 80 would have left it open.
    const candle = (m: number, o: string, h: string, l: string, c: string) => ({ open_time_ms: t0 + m * 60_000, open: o, high: h, low: l, close: c, volume: "1" });
    const scoreBody = { candles: [candle(0, "101", "102", "99", "100"), candle(1, "99", "100", "85", "88")], as_of_ms: t0 + 120_000 };
    const scored = await api.call<Scored>("post", "/calls/{call_id}/score", { call_id: id }, { json: scoreBody });
    expect(scored.status, scored.text).toBe(200);
    expect(scored.body?.version).toBe(1);
    expect(scored.body?.score.status).toBe("stopped");
    expect(scored.body?.score.r_multiple).toBe("-1");
    // A further edit, then scoring again: the stored score does not move.
    const again = await api.call<CallVersion>("post", "/calls/{call_id}/versions", { call_id: id }, { json: { text: text.replace("SL 90", "SL 50") } });
    expect(again.status, again.text).toBe(201);
    const rescored = await api.call<Scored>("post", "/calls/{call_id}/score", { call_id: id }, { json: scoreBody });
    expect(rescored.status, rescored.text).toBe(200);
    expect(rescored.body?.final).toBe(true);
    expect(rescored.body?.score).toEqual(scored.body?.score);
    const detail = await api.call<{ versions: CallVersion[]; score: Scored["score"] }>("get", "/calls/{call_id}", { call_id: id });
    expect(detail.status, detail.text).toBe(200);
    expect(detail.body?.versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(detail.body?.score).toEqual(scored.body?.score);
    const list = await api.call<{ calls: { call_id: string }[]; chain_break: number | null }>("get", "/calls");
    expect(list.status, list.text).toBe(200);
    expect(list.body?.calls.map((c) => c.call_id)).toContain(id);
    expect(list.body?.chain_break).toBeNull();
    const board = await api.call<{ sources: { source: string; closed: number; mean_r: number; lcb_r: number | null }[] }>("get", "/calls/leaderboard");
    expect(board.status, board.text).toBe(200);
    expect(board.body?.sources.find((s) => s.source === source)).toMatchObject({ closed: 1, mean_r: -1, lcb_r: null });
    // Refusals: duplicate id, text and fields together, an unknown call.
    expect((await api.call<ApiError>("post", "/calls", {}, { json: { call_id: id, source, text } })).status).toBe(409);
    const both = await api.call<ApiError>("post", "/calls", {}, { json: { call_id: uniqueId("call"), source, text, fields: {} } });
    expect(both.status, both.text).toBe(400);
    expect(both.body?.code).toBe("text_or_fields");
    expect((await api.call<ApiError>("get", "/calls/{call_id}", { call_id: "no-such-call" })).status).toBe(404);
  });
});

describe("portfolio scopes", () => {
  interface ScopeView {
    name: string;
    spec: { limits: Record<string, string> };
    pool: { cap: string | null; reserved: string };
    halted: { breach: unknown; since_ms: number } | null;
  }

  it("sets, lists, halts, resumes and deletes a scope, each audited; bad specs and proposals name the field", async () => {
    const actor = await createToken("admin", "portfolio-desk");
    const as = { token: actor.token };
    const name = uniqueId("desk");
    const spec = { members: { kind: "group", bots: ["desk-a", "desk-b"] }, limits: { max_gross: "5000", max_daily_loss: "100" } };
    const set = await api.call<ScopeView>("put", "/portfolio/scopes/{name}", { name }, { json: spec, ...as });
    expect(set.status, set.text).toBe(200);
    expect([set.body?.name, set.body?.pool.cap, set.body?.pool.reserved, set.body?.halted]).toEqual([name, "5000", "0", null]);
    // A percentage over 100 and an unknown limit are refused, naming them; nothing is stored.
    const over = await api.call<{ code: string; message: string }>("put", "/portfolio/scopes/{name}", { name }, {
      json: { ...spec, limits: { max_asset_pct: "150" } },
      ...as,
    });
    expect([over.status, over.body?.code], over.text).toEqual([400, "invalid_portfolio_scope"]);
    expect(over.body?.message).toContain("max_asset_pct");
    const typo = await api.call<{ message: string }>("put", "/portfolio/scopes/{name}", { name }, { json: { ...spec, limits: { max_gros: "1" } }, ...as });
    expect(typo.status, typo.text).toBe(400);
    expect(typo.body?.message).toContain("max_gros");
    const list = await api.call<ScopeView[]>("get", "/portfolio");
    expect(list.body?.find((s) => s.name === name)?.spec.limits).toEqual({ max_gross: "5000", max_net: null, max_asset_pct: null, max_drawdown_pct: null, max_daily_loss: "100", max_risk: null });
    const halted = await api.call<ScopeView>("post", "/portfolio/scopes/{name}/halt", { name }, { json: { reason: "desk drill" }, ...as });
    expect(halted.status, halted.text).toBe(200);
    expect(halted.body?.halted?.breach).toBeNull();
    const resumed = await api.call<ScopeView>("post", "/portfolio/scopes/{name}/resume", { name }, { json: { reason: "drill over" }, ...as });
    expect(resumed.body?.halted).toBeNull();
    const deleted = await api.call("delete", "/portfolio/scopes/{name}", { name }, as);
    expect(deleted.status, deleted.text).toBe(200);
    const again = await api.call<{ code: string }>("delete", "/portfolio/scopes/{name}", { name }, as);
    expect([again.status, again.body?.code]).toEqual([404, "unknown_portfolio_scope"]);
    const page = await api.call<AuditPage>("get", "/audit", {}, { query: "limit=1000" });
    expect(page.body?.verified).toBe(true);
    const mine = (page.body?.events ?? []).filter((e) => e.actor === `token:${actor.id}`).map((e) => e.kind);
    expect(mine).toEqual(["portfolio_scope_set", "portfolio_halted", "portfolio_resumed", "portfolio_scope_deleted"]);

    // Allocation: no bots is refused by field; a proposal id that does not match its transfers too.
    const none = await api.call<{ field: string }>("post", "/portfolio/allocation", {}, { json: { bots: [], rule: { rule: "equal_risk" }, capital: "1000" }, ...as });
    expect([none.status, none.body?.field], none.text).toEqual([422, "bots"]);
    const forged = await api.call<{ field: string }>("post", "/portfolio/allocation/accept", {}, {
      json: { proposal_id: "alloc-000000000000", transfers: { "desk-a": "1000000" } },
      ...as,
    });
    expect([forged.status, forged.body?.field], forged.text).toEqual([422, "proposal_id"]);
  });
});

describe("exchange accounts (issue 25)", () => {
  it("shows an account's view and switches its user-data stream, naming what is wrong", async () => {
    // An account of this file's simulator under a key no bot uses: switching its stream off
    // changes nothing anywhere else.
    const hash = createHash("sha256").update(uniqueId("acct-key")).digest("hex").slice(0, 16);
    const account = `Binance-Linear-${keel().simUrl.replace(/\/$/, "")}-${hash}`;
    const query = `account=${encodeURIComponent(account)}`;
    const state = await api.call<{ stream: { state: string } }>("get", "/accounts/state", {}, { query });
    expect(state.status, state.text).toBe(200);
    expect(state.body?.stream.state, state.text).toBe("disabled");
    const off = await api.call<{ stream: { state: string } }>("post", "/accounts/stream", {}, { query, json: { enabled: false } });
    expect(off.status, off.text).toBe(200);
    expect(off.body?.stream.state, off.text).toBe("disabled");
    const noFlag = await api.call<ApiError>("post", "/accounts/stream", {}, { query, json: { enabled: "yes" } });
    expect(noFlag.status, noFlag.text).toBe(422);
    const badName = await api.call<ApiError>("get", "/accounts/state", {}, { query: "account=nonsense" });
    expect([badName.status, badName.body?.code], badName.text).toEqual([400, "invalid_account"]);
    const noName = await api.call<ApiError>("get", "/accounts/state", {}, { query: "x=1" });
    expect([noName.status, noName.body?.code], noName.text).toEqual([400, "account_required"]);
  });
});

describe("chat control settings (issue 24, docs/chat.md)", () => {
  it("reads the settings without secrets and refuses a bad field by name, changing nothing", async () => {
    const before = await api.call<{ enabled: boolean; allowed_chat_ids: number[] }>("get", "/chat");
    expect(before.status, before.text).toBe(200);
    const bad = await api.call<ApiError & { field?: string }>("put", "/chat", {}, { json: { webhook_secret: "short" } });
    expect([bad.status, bad.body?.code, bad.body?.field], bad.text).toEqual([422, "invalid_chat_settings", "webhook_secret"]);
    const after = await api.call("get", "/chat");
    expect(after.body).toEqual(before.body);
  });
});

describe("OpenAPI coverage", () => {
  it("validated live answers of most documented operations", () => {
    const seen = new Set([...api.checked.keys()].map((k) => k.split(" ").slice(0, 2).join(" ")));
    const all = operations(api.doc).map((o) => `${o.method.toUpperCase()} ${o.path}`);
    const covered = all.filter((o) => seen.has(o));
    console.log(`admin e2e: ${api.checked.size} (operation, status) pairs validated; ${covered.length}/${all.length} operations`);
    expect(covered.length).toBeGreaterThanOrEqual(all.length - 2);
  });
});
