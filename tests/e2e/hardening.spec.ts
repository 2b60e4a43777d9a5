// Issue 26 items 3, 7 and 8 end to end: where a bot's signed requests go (re-resolved on every
// config change; a live bot only to the exchange's official hosts), what a live bot must limit,
// secrets a viewer never sees (API, audit, Neo4j), and webhook-secret rotation with a grace period.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminFetch, fetchJson, keel, neo4jQuery, simAdmin, uniqueId } from "./harness.js";
import { MARKETS, createSimBot, lastSeq, signal, simRequests } from "./venue-helpers.js";

interface ApiError {
  code: string;
  message: string;
  field?: string;
  detail?: { errors?: { field: string; reason: string }[] };
}

const LIVE_CAPS = { max_order_notional: "100", max_position_notional: "500", max_signal_age_secs: 30 };
const CHAT_TOKEN = "8123456789:AAH-fakeTelegramTokenForKeelTests_0123";
const ALERT_URL = `https://api.telegram.org/bot${CHAT_TOKEN}/sendMessage`;

function liveConfig(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: "live e2e",
    exchange: "binance",
    market: "spot",
    mode: "live",
    instruments: ["BTCUSDT"],
    sizing: { mode: "fixed_qty", value: "0.001" },
    risk: LIVE_CAPS,
    ...extra,
  };
}

async function auditText(id: string): Promise<string> {
  const res = await adminFetch<{ events: unknown[] }>(`/api/v1/bots/${id}/audit?limit=1000`);
  expect(res.status, res.text).toBe(200);
  return JSON.stringify(res.body?.events ?? []);
}

const created: string[] = [];
afterAll(async () => {
  for (const id of created) await adminFetch(`/api/v1/bots/${id}`, { method: "DELETE" });
});

beforeAll(async () => {
  await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
});

describe("where signed requests go", () => {
  it("a base-URL change takes effect on the very next request, and so does setting it back", async () => {
    const m = MARKETS[0];
    const bot = await createSimBot(m);
    created.push(bot.id);
    const first = await signal(bot, "buy", { qty: m.qty });
    expect(first.status, first.text).toBe(200);

    // Nothing listens on port 9 of the loopback: the next request must go there and fail.
    const moved = await adminFetch(`/api/v1/bots/${bot.id}`, { method: "PATCH", json: { base_url: "http://127.0.0.1:9" } });
    expect(moved.status, moved.text).toBe(200);
    const since = await lastSeq();
    const away = await signal(bot, "sell", { qty: m.qty });
    expect(away.status, away.text).toBeGreaterThanOrEqual(500);
    const reached = (await simRequests(since)).filter((r) => r.path.includes("/order"));
    expect(reached.length, "the simulator (the old host) got no order").toBe(0);

    const back = await adminFetch(`/api/v1/bots/${bot.id}`, { method: "PATCH", json: { base_url: keel().simUrl } });
    expect(back.status, back.text).toBe(200);
    // The failures above may have opened the bot's circuit to the other host; the host change
    // starts a fresh one, so the next signal executes.
    const again = await signal(bot, "sell", { qty: m.qty });
    expect(again.status, again.text).toBe(200);
    expect(again.body?.status, again.text).toBe("executed");
  });

  it("a live bot accepts only the exchange's official hosts, over https", async () => {
    for (const url of [keel().simUrl, "http://api.binance.com", "https://api.binance.com.evil.example", "https://testnet.binance.vision"]) {
      const res = await adminFetch<ApiError>("/api/v1/bots", { method: "POST", json: liveConfig(uniqueId("live-host"), { base_url: url }) });
      expect(res.status, `${url}: ${res.text}`).toBe(422);
      expect(res.body?.detail?.errors?.map((e) => e.field), res.text).toEqual(["base_url"]);
    }
    const ok = await adminFetch("/api/v1/bots", { method: "POST", json: liveConfig(uniqueId("live-ok"), { base_url: "https://api1.binance.com" }) });
    expect(ok.status, ok.text).toBe(201);
    created.push(String((ok.body as { id: string }).id));
    // Other modes: https, or plain http only to this machine.
    const plain = await adminFetch<ApiError>("/api/v1/bots", {
      method: "POST",
      json: { ...liveConfig(uniqueId("tn-http")), mode: "testnet", base_url: "http://example.com" },
    });
    expect(plain.status, plain.text).toBe(422);
    expect(plain.body?.field).toBe("base_url");
  });

  it("live → testnet on the simulator takes effect on the next signal", async () => {
    const id = uniqueId("live-to-testnet");
    const res = await adminFetch("/api/v1/bots", { method: "POST", json: liveConfig(id) });
    expect(res.status, res.text).toBe(201);
    created.push(id);
    const secret = String((res.body as { webhook_secret: string }).webhook_secret);
    const m = MARKETS[0];
    const creds = await adminFetch(`/api/v1/bots/${id}/credentials`, { method: "PUT", json: { api_key: m.key, api_secret: m.secret } });
    expect(creds.status, creds.text).toBe(200);
    const toTestnet = await adminFetch(`/api/v1/bots/${id}`, { method: "PATCH", json: { mode: "testnet", base_url: keel().simUrl } });
    expect(toTestnet.status, toTestnet.text).toBe(200);
    const since = await lastSeq();
    const ok = await signal({ id, secret }, "buy", { qty: m.qty });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body?.status, ok.text).toBe("executed");
    expect((await simRequests(since)).some((r) => r.path.includes("/order")), "the order reached the simulator").toBe(true);
    // And back to live is refused while the simulator is the base URL.
    const toLive = await adminFetch<ApiError>(`/api/v1/bots/${id}`, { method: "PATCH", json: { mode: "live" } });
    expect(toLive.status, toLive.text).toBe(422);
    expect(toLive.body?.field).toBe("base_url");
  });
});

describe("live bots must be bounded", () => {
  it("refuses a live bot without a notional cap, a position cap and a signal age limit, naming each", async () => {
    const res = await adminFetch<ApiError>("/api/v1/bots", { method: "POST", json: liveConfig(uniqueId("live-nocaps"), { risk: {} }) });
    expect(res.status, res.text).toBe(422);
    const fields = res.body?.detail?.errors?.map((e) => e.field) ?? [];
    expect(fields, res.text).toEqual(["risk.max_order_notional", "risk.max_position_notional", "risk.max_signal_age_secs"]);
    // Switching an unbounded testnet bot to live is refused the same way.
    const m = MARKETS[0];
    const bot = await createSimBot(m);
    created.push(bot.id);
    const patch = await adminFetch<ApiError>(`/api/v1/bots/${bot.id}`, { method: "PATCH", json: { mode: "live", base_url: null } });
    expect(patch.status, patch.text).toBe(422);
    expect(patch.body?.detail?.errors?.map((e) => e.field), patch.text).toEqual(fields);
  });
});

describe("secrets", () => {
  it("a viewer never sees the alert webhook URL: not in the API, the audit or Neo4j", async () => {
    const id = uniqueId("secret-alerts");
    const res = await adminFetch("/api/v1/bots", {
      method: "POST",
      json: { ...liveConfig(id), mode: "paper", base_url: keel().simUrl, alerts: { webhook: ALERT_URL } },
    });
    expect(res.status, res.text).toBe(201);
    created.push(id);
    const patched = await adminFetch(`/api/v1/bots/${id}`, { method: "PATCH", json: { alerts: { webhook: `${ALERT_URL}?v=2` } } });
    expect(patched.status, patched.text).toBe(200);
    // The admin's own answer may show the config, but its diff (the audit's) only fingerprints.
    expect(JSON.stringify((patched.body as { diff: unknown }).diff)).not.toContain(CHAT_TOKEN);

    const tok = await adminFetch<{ token: string }>("/api/v1/tokens", { method: "POST", json: { name: uniqueId("viewer"), role: "viewer" } });
    expect(tok.status, tok.text).toBe(201);
    const viewer = { authorization: `Bearer ${tok.body?.token}` };
    for (const path of [`/api/v1/bots/${id}`, `/api/v1/bots/${id}/versions`, `/api/v1/bots/${id}/audit?limit=1000`, "/api/v1/bots"]) {
      const r = await fetchJson(path, { headers: viewer });
      expect(r.status, `${path}: ${r.text.slice(0, 200)}`).toBe(200);
      expect(r.text, path).not.toContain(CHAT_TOKEN);
    }
    const viewed = await fetchJson<{ alerts: { webhook: string } }>(`/api/v1/bots/${id}`, { headers: viewer });
    expect(viewed.body?.alerts.webhook).toBe("[redacted]");
    // The admin still reads it (to check what is configured).
    const asAdmin = await adminFetch<{ alerts: { webhook: string } }>(`/api/v1/bots/${id}`);
    expect(asAdmin.body?.alerts.webhook).toBe(`${ALERT_URL}?v=2`);
    // The audit's config diffs show a fingerprint that changed.
    const audit = await auditText(id);
    expect(audit).not.toContain(CHAT_TOKEN);
    expect(audit).toMatch(/\[redacted\] sha256:[0-9a-f]{12}/);
    if (keel().neo4jUrl) {
      const deadline = Date.now() + 30_000;
      let rows: unknown[][] = [];
      while (Date.now() < deadline) {
        rows = (await neo4jQuery("MATCH (e:Event {bot_id: $b}) RETURN properties(e)", { b: id })).values;
        if (rows.length >= 2) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(rows.length, "config events reached Neo4j").toBeGreaterThanOrEqual(2);
      expect(JSON.stringify(rows)).not.toContain(CHAT_TOKEN);
    }
  });

  it("the exchange API key is never in the audit, whatever field carries it", async () => {
    const m = MARKETS[0];
    const bot = await createSimBot(m);
    created.push(bot.id);
    const ok = await signal(bot, "buy", { qty: m.qty });
    expect(ok.status, ok.text).toBe(200);
    const audit = await auditText(bot.id);
    expect(audit.length).toBeGreaterThan(1000);
    expect(audit).not.toContain(m.key);
    expect(audit).not.toContain(m.secret);
  });

  it("rotates the webhook secret with a grace period for the old one", async () => {
    const m = MARKETS[0];
    const bot = await createSimBot(m);
    created.push(bot.id);
    const rotated = await adminFetch<{ webhook_secret: string; previous_valid_until_ms: number; grace_secs: number }>(
      `/api/v1/bots/${bot.id}/webhook-secret/rotate`,
      { method: "POST", json: { grace_secs: 600 } },
    );
    expect(rotated.status, rotated.text).toBe(200);
    const second = rotated.body?.webhook_secret ?? "";
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(bot.secret);
    expect(rotated.body?.grace_secs).toBe(600);
    expect(rotated.body?.previous_valid_until_ms).toBeGreaterThan(Date.now() + 500_000);
    const withNew = await signal({ id: bot.id, secret: second }, "buy", { qty: m.qty });
    expect(withNew.status, withNew.text).toBe(200);
    const withOld = await signal(bot, "sell", { qty: m.qty });
    expect(withOld.status, `old secret within the grace period: ${withOld.text}`).toBe(200);

    // A rotation without grace: the secret it replaces stops working at once, and the one before
    // it too (only the last replaced secret is remembered).
    const now = await adminFetch<{ webhook_secret: string }>(`/api/v1/bots/${bot.id}/webhook-secret/rotate`, { method: "POST", json: { grace_secs: 0 } });
    expect(now.status, now.text).toBe(200);
    const third = now.body?.webhook_secret ?? "";
    for (const old of [second, bot.secret]) {
      const refused = await signal({ id: bot.id, secret: old }, "buy", { qty: m.qty });
      expect(refused.status, refused.text).toBe(401);
      expect(refused.body?.code).toBe("bad_secret");
    }
    const ok = await signal({ id: bot.id, secret: third }, "buy", { qty: m.qty });
    expect(ok.status, ok.text).toBe(200);
    const audit = await auditText(bot.id);
    for (const s of [bot.secret, second, third]) expect(audit).not.toContain(s);
    expect(audit).toContain("rotate_webhook_secret");

    const tooLong = await adminFetch<ApiError>(`/api/v1/bots/${bot.id}/webhook-secret/rotate`, { method: "POST", json: { grace_secs: 8 * 86_400 } });
    expect(tooLong.status, tooLong.text).toBe(422);
    expect(tooLong.body?.field).toBe("grace_secs");
  });
});
