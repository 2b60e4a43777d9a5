// Issue 5 end to end: a paper bot (Binance spot, prices from the simulator) through the real
// Worker. Valid alert → fill → position and P&L exact; every rejection path answers its documented
// status and code, places nothing, and is in the bot's audit trail.
import { createHmac } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { adminFetch, fetchJson, keel, simAdmin, uniqueId } from "./harness.js";
import { botFills, dec, decSum } from "./venue-helpers.js";

interface ApiError {
  code: string;
  message: string;
  field?: string;
  detail?: Record<string, unknown>;
}
interface SignalOk {
  signal_id: string;
  mode?: string;
  status: string;
  orders: Record<string, unknown>[];
}
interface AuditPage {
  events: { seq: number; kind: string; record: Record<string, unknown> }[];
}

const PRICE = "65000";

let botId: string;
let secret: string;

function nowIso(): string {
  return new Date().toISOString();
}

function webhook(body: unknown, headers: Record<string, string> = {}, id = botId) {
  return fetchJson<SignalOk & ApiError>(`/webhook/${id}`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function buy(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { secret, id: uniqueId("sig"), action: "buy", symbol: "BTCUSDT", qty: "0.001", time: nowIso(), ...extra };
}

async function orderCount(id = botId): Promise<number> {
  const res = await adminFetch<unknown[]>(`/api/v1/bots/${id}/orders`);
  expect(res.status, res.text).toBe(200);
  return (res.body ?? []).length;
}

async function auditText(id = botId): Promise<string> {
  const res = await adminFetch<AuditPage>(`/api/v1/bots/${id}/audit?limit=1000`);
  expect(res.status, res.text).toBe(200);
  return JSON.stringify(res.body?.events ?? []);
}

/** Expects a rejection, nothing placed, and the reason in the audit trail. */
async function expectRejected(
  res: { status: number; body: (SignalOk & ApiError) | null; text: string },
  status: number,
  code: string,
): Promise<ApiError> {
  expect(res.status, res.text).toBe(status);
  expect(res.body?.code, res.text).toBe(code);
  expect(res.body?.message.length ?? 0).toBeGreaterThan(0);
  // Every answer of a configured bot names its mode, refusals included (all bots here are paper).
  expect(res.body?.mode, res.text).toBe("paper");
  const audit = await auditText();
  expect(audit).toContain("signal_rejected");
  expect(audit).toContain(code);
  return res.body as ApiError;
}

beforeAll(async () => {
  await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: PRICE });
  botId = uniqueId("paper");
  const res = await adminFetch<{ webhook_secret: string }>("/api/v1/bots", {
    method: "POST",
    json: {
      id: botId,
      name: "paper e2e",
      exchange: "binance",
      market: "spot",
      mode: "paper",
      base_url: keel().simUrl,
      instruments: ["BTCUSDT", "ETHUSDT"],
      sizing: { mode: "fixed_qty", value: "0.001" },
      risk: { max_order_notional: "1000", max_signal_age_secs: 30 },
      allowed_ips: [],
    },
  });
  expect(res.status, res.text).toBe(201);
  secret = res.body?.webhook_secret ?? "";
  expect(secret.length).toBeGreaterThan(8);
});

describe("paper bot: webhook to fill", () => {
  let first: SignalOk;
  let firstBody: Record<string, unknown>;

  it("executes a buy and the position and P&L reflect the fill exactly", async () => {
    firstBody = buy();
    const res = await webhook(firstBody);
    expect(res.status, res.text).toBe(200);
    first = res.body as SignalOk;
    expect(first.status).toBe("executed");
    expect(first.signal_id).toBe(firstBody.id);
    expect(first.orders.length).toBe(1);

    const fills = await botFills(botId);
    expect(fills.length, JSON.stringify(fills)).toBe(1);
    const fill = fills[0];
    expect(dec(String(fill.qty)), JSON.stringify(fills)).toBe("0.001");
    expect(typeof fill.price).toBe("string");
    const price = Number(fill.price);
    expect(price).toBeGreaterThan(0);


    const pnl = await adminFetch<{
      realized: string;
      fees: { by_asset: Record<string, string> };
      by_instrument: Record<string, { position_qty: string; avg_entry_price: string }>;
    }>(`/api/v1/bots/${botId}/pnl`);
    expect(pnl.status, pnl.text).toBe(200);
    const inst = pnl.body?.by_instrument.BTCUSDT;
    expect(typeof pnl.body?.realized).toBe("string");
    expect(pnl.body?.realized).toMatch(/^0(\.0*)?$/);
    // Spot buy: the fee is charged in the received asset (base), so the position is the net.
    const feeAsset = String(fill.fee_asset);
    const fee = String(fill.fee);
    expect(pnl.body?.fees.by_asset[feeAsset], pnl.text).toBe(fee);
    expect(dec(inst?.avg_entry_price ?? "NaN"), pnl.text).toBe(dec(String(fill.price)));
    // Net of a fee taken in the base asset, exactly.
    const expectedQty = feeAsset === "BTC" ? decSum(["0.001", `-${fee}`]) : "0.001";
    expect(dec(inst?.position_qty ?? "NaN"), pnl.text).toBe(expectedQty);
    const pos = await adminFetch<{ symbol: string; qty: string }[]>(`/api/v1/bots/${botId}/positions`);
    expect(pos.status, pos.text).toBe(200);
    const p = (pos.body ?? []).find((x) => x.symbol === "BTCUSDT");
    expect(dec(p?.qty ?? "NaN"), pos.text).toBe(expectedQty);
  });

  it("answers a repeated id with 409 and the first outcome, placing nothing", async () => {
    const before = await orderCount();
    const res = await webhook({ ...firstBody, time: nowIso() });
    expect(res.status, res.text).toBe(409);
    expect(res.body?.code).toBe("duplicate_signal");
    expect(res.body?.mode, res.text).toBe("paper");
    expect(JSON.stringify(res.body?.detail)).toContain(JSON.stringify(first.orders[0]).slice(0, 20));
    expect(await orderCount()).toBe(before);
  });

  it("places exactly one order for 20 concurrent duplicates", async () => {
    const before = await orderCount();
    const body = buy();
    const answers = await Promise.all(Array.from({ length: 20 }, () => webhook(body)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 200).length, JSON.stringify(statuses)).toBe(1);
    expect(statuses.filter((s) => s === 409).length, JSON.stringify(statuses)).toBe(19);
    expect(await orderCount()).toBe(before + 1);
  });
});

describe("paper bot: every rejection answers its status, places nothing, and is audited", () => {
  it("401 for a bad secret", async () => {
    const before = await orderCount();
    await expectRejected(await webhook(buy({ secret: "wrong-secret-value" })), 401, "bad_secret");
    expect(await orderCount()).toBe(before);
  });

  it("400 naming an unknown field", async () => {
    const res = await webhook(buy({ levrage: "5" }));
    expect(res.status, res.text).toBe(400);
    expect(res.text).toContain("levrage");
  });

  it("422 for a stale time", async () => {
    const res = await webhook(buy({ time: new Date(Date.now() - 120_000).toISOString() }));
    expect(res.status, res.text).toBe(422);
    expect(res.body?.code, res.text).toMatch(/stale/);
  });

  it("413 for an oversize body", async () => {
    const res = await webhook(JSON.stringify(buy({ comment: "x".repeat(17 * 1024) })));
    expect(res.status, res.text).toBe(413);
    expect(res.body?.code).toBe("body_too_large");
    expect(await auditText()).toContain("body_too_large");
  });

  it("accepts a good X-Keel-Signature and refuses a wrong or expired one with 401", async () => {
    const sign = (body: string, t: number, key = secret): string =>
      `t=${t},v1=${createHmac("sha256", key).update(`${t}.${body}`).digest("hex")}`;
    const rest = buy();
    delete rest.secret;
    const body = JSON.stringify(rest);
    const now = Math.floor(Date.now() / 1000);
    const good = await webhook(body, { "X-Keel-Signature": sign(body, now) });
    expect(good.status, good.text).toBe(200);
    expect(good.body?.status).toBe("executed");

    const body2 = JSON.stringify({ ...rest, id: uniqueId("sig") });
    const before = await orderCount();
    const wrong = await webhook(body2, { "X-Keel-Signature": sign(body2, now, "not-the-secret") });
    expect(wrong.status, wrong.text).toBe(401);
    const expired = await webhook(body2, { "X-Keel-Signature": sign(body2, now - 600) });
    expect(expired.status, expired.text).toBe(401);
    expect(await orderCount()).toBe(before);
  });

  it("403 for a source IP outside the allowlist", async () => {
    const patch = await adminFetch(`/api/v1/bots/${botId}`, { method: "PATCH", json: { allowed_ips: ["tradingview"] } });
    expect(patch.status, patch.text).toBe(200);
    try {
      const before = await orderCount();
      const res = await webhook(buy(), { "CF-Connecting-IP": "203.0.113.9" });
      expect(res.status, res.text).toBe(403);
      expect(await orderCount()).toBe(before);
      const ok = await webhook(buy(), { "CF-Connecting-IP": "52.89.214.238" });
      expect(ok.status, ok.text).toBe(200);
    } finally {
      const back = await adminFetch(`/api/v1/bots/${botId}`, { method: "PATCH", json: { allowed_ips: [] } });
      expect(back.status, back.text).toBe(200);
    }
  });

  it("422 risk_whitelist for a symbol not whitelisted", async () => {
    const before = await orderCount();
    await expectRejected(await webhook(buy({ symbol: "SOLUSDT" })), 422, "risk_whitelist");
    expect(await orderCount()).toBe(before);
  });

  it("422 with rule, limit and observed for a max_order_notional breach", async () => {
    const before = await orderCount();
    const err = await expectRejected(await webhook(buy({ qty: "0.1" })), 422, "risk_max_order_notional");
    const detail = err.detail ?? {};
    expect(detail.rule, JSON.stringify(err)).toBe("max_order_notional");
    expect(detail.limit).toBe("1000");
    expect(typeof detail.observed).toBe("string");
    expect(Number(detail.observed)).toBeGreaterThan(1000);
    expect(await orderCount()).toBe(before);
  });

  it("423 for entries while the bot is paused", async () => {
    const p = await adminFetch(`/api/v1/bots/${botId}/pause`, { method: "POST", json: { reason: "e2e" } });
    expect(p.status, p.text).toBe(200);
    try {
      const before = await orderCount();
      const res = await webhook(buy());
      expect(res.status, res.text).toBe(423);
      expect(await orderCount()).toBe(before);
      expect(await auditText()).toContain("423");
    } finally {
      const r = await adminFetch(`/api/v1/bots/${botId}/resume`, { method: "POST", json: {} });
      expect(r.status, r.text).toBe(200);
    }
  });
});

describe("five bots side by side", () => {
  it("each applies its own whitelist and limits, and books only its own orders", async () => {
    const specs = [
      { instruments: ["BTCUSDT"], limit: "1000", expect: 200 },
      { instruments: ["ETHUSDT"], limit: "1000", expect: 422, code: "risk_whitelist" },
      { instruments: ["BTCUSDT"], limit: "50", expect: 422, code: "risk_max_order_notional" },
      { instruments: ["*USDT"], limit: "100", expect: 200 },
      { instruments: ["BTCUSDT", "ETHUSDT"], limit: "70", expect: 200 },
    ];
    const bots = await Promise.all(
      specs.map(async (s, i) => {
        const id = uniqueId(`side${i}`);
        const res = await adminFetch<{ webhook_secret: string }>("/api/v1/bots", {
          method: "POST",
          json: {
            id,
            name: `side by side ${i}`,
            exchange: "binance",
            market: "spot",
            mode: "paper",
            base_url: keel().simUrl,
            instruments: s.instruments,
            sizing: { mode: "fixed_qty", value: "0.001" },
            risk: { max_order_notional: s.limit },
          },
        });
        expect(res.status, res.text).toBe(201);
        return { id, secret: res.body?.webhook_secret ?? "" };
      }),
    );
    const answers = await Promise.all(
      bots.map((b) =>
        webhook({ secret: b.secret, id: uniqueId("sig"), action: "buy", symbol: "BTCUSDT", qty: "0.001", time: nowIso() }, {}, b.id),
      ),
    );
    for (const [i, s] of specs.entries()) {
      expect(answers[i].status, answers[i].text).toBe(s.expect);
      if (s.code) expect(answers[i].body?.code, answers[i].text).toBe(s.code);
      expect(await orderCount(bots[i].id)).toBe(s.expect === 200 ? 1 : 0);
    }
  });
});
