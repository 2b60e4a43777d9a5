// Alerts and metrics: an injected storm of exchange rejections produces exactly one alert and,
// once an order goes through again, exactly one resolution on the bot's webhook channel; a
// consecutive-rejection auto-pause alerts and its resume resolves; /api/v1/metrics (viewer token)
// counts what the scenario did, as JSON and as Prometheus text.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminFetch, fetchJson, simAdmin } from "./harness.js";
import { type Bot, type Sink, createBot, health, signal, startSink, waitFor } from "./ops-helpers.js";

let sink: Sink;

beforeAll(async () => {
  sink = await startSink();
});

afterAll(async () => {
  await simAdmin("/__admin/faults", undefined, "DELETE");
  await sink.close();
});

function spotBot(prefix: string): Promise<Bot> {
  return createBot({
    prefix,
    mode: "testnet",
    instruments: ["ETHUSDT"],
    qty: "0.01",
    key: "simBinanceKeyThird0003",
    secretKey: "simBinanceSecretThird0003",
    alerts: { webhook: sink.url },
  });
}

function forBot(id: string): Record<string, unknown>[] {
  return sink.messages.filter((m) => m.bot_id === id);
}

describe("alert storm", () => {
  it("one alert per storm, one resolution, and metrics that count it", async () => {
    const bot = await spotBot("alert-storm");
    await simAdmin("/__admin/faults", { kind: "reject", code: -2010, msg: "Market is closed.", path: "/api/v3/order", method: "POST", count: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await signal(bot, "buy", "ETHUSDT");
      expect(r.status, r.text).toBe(422);
    }
    expect(await waitFor(() => forBot(bot.id).length >= 1)).toBe(true);
    const ok = await signal(bot, "buy", "ETHUSDT");
    expect(ok.status, ok.text).toBe(200);
    expect(await waitFor(() => forBot(bot.id).length >= 2)).toBe(true);
    // Nothing more arrives for this storm.
    await new Promise((r) => setTimeout(r, 1_500));
    const msgs = forBot(bot.id);
    expect(msgs.map((m) => [m.kind, m.phase, m.subject])).toEqual([
      ["order_rejected", "firing", "ETHUSDT"],
      ["order_rejected", "resolved", "ETHUSDT"],
    ]);
    expect(msgs[0].severity).toBe("warning");
    expect(msgs[1].occurrences).toBe(2);
    expect(String(msgs[0].text)).toMatch(/^\[WARNING\] bot .*order_rejected \[ETHUSDT\]: .*Market is closed/);

    // Metrics with a viewer token.
    const tok = await adminFetch<{ token: string }>("/api/v1/tokens", { method: "POST", json: { name: "metrics-e2e", role: "viewer" } });
    expect(tok.status, tok.text).toBe(201);
    const auth = { authorization: `Bearer ${tok.body?.token}` };
    const m = await fetchJson<{ bots: Record<string, Record<string, unknown>>; totals: Record<string, unknown> }>("/api/v1/metrics", { headers: auth });
    expect(m.status, m.text).toBe(200);
    const mine = m.body?.bots[bot.id] as {
      signals_total: number;
      orders_by_status: Record<string, number>;
      rejections_by_rule: Record<string, number>;
      fills_total: number;
      latency_ms: { webhook_to_exchange: { count: number }; exchange_round_trip: { count: number } };
    };
    expect(mine.signals_total).toBe(3);
    expect(mine.orders_by_status.rejected).toBe(2);
    expect(Object.values(mine.orders_by_status).reduce((a, b) => a + b, 0)).toBe(3);
    expect(mine.rejections_by_rule.exchange_rejected).toBe(2);
    expect(mine.fills_total).toBeGreaterThanOrEqual(1);
    expect(mine.latency_ms.webhook_to_exchange.count).toBe(3);
    expect(mine.latency_ms.exchange_round_trip.count).toBe(3);

    const prom = await fetchJson(`/api/v1/metrics?format=prometheus`, { headers: auth });
    expect(prom.status).toBe(200);
    expect(prom.headers.get("content-type")).toMatch(/text\/plain/);
    expect(prom.text).toContain(`keel_rejections_total{bot="${bot.id}",rule="exchange_rejected"} 2\n`);
    expect(prom.text).toContain(`keel_webhook_to_exchange_ms_count{bot="${bot.id}"} 3\n`);
    const negotiated = await fetchJson("/api/v1/metrics", { headers: { ...auth, accept: "text/plain" } });
    expect(negotiated.headers.get("content-type")).toMatch(/text\/plain/);
    expect(negotiated.text).toContain(`keel_fills_total{bot="${bot.id}"} `);
  });

  it("consecutive rejections auto-pause with one critical alert; resume resolves it", async () => {
    const bot = await spotBot("alert-pause");
    await simAdmin("/__admin/faults", { kind: "reject", code: -2010, msg: "Market is closed.", path: "/api/v3/order", method: "POST", count: 3 });
    for (let i = 0; i < 3; i++) {
      const r = await signal(bot, "buy", "ETHUSDT");
      expect(r.status, r.text).toBe(422);
    }
    const paused = await signal(bot, "buy", "ETHUSDT");
    expect(paused.status, paused.text).toBe(423);
    expect((await health(bot)).state).toBe("paused");
    expect(await waitFor(() => forBot(bot.id).length >= 2)).toBe(true);

    const resume = await adminFetch(`/api/v1/bots/${bot.id}/resume`, { method: "POST", json: {} });
    expect(resume.status, resume.text).toBe(200);
    expect(await waitFor(() => forBot(bot.id).some((m) => m.kind === "auto_paused" && m.phase === "resolved"))).toBe(true);
    await new Promise((r) => setTimeout(r, 1_000));
    const msgs = forBot(bot.id).map((m) => `${String(m.kind)}:${String(m.phase)}:${String(m.severity)}`);
    expect(msgs).toEqual(["order_rejected:firing:warning", "auto_paused:firing:critical", "auto_paused:resolved:info"]);
  });
});
