// Issue 17, each bug of the operator's first hour with the test that would have caught it:
// - a bot created as the `npm start` banner prints it (no `risk`, no `base_url`) and one as the
//   dashboard's New bot form sends it (`base_url: null`) are accepted and fill their first alert
//   on the local simulator instead of asking the real exchange (before: 422 missing field risk,
//   then 503 exchange_unavailable);
// - the signal-chain view answers for an id containing `:` (before: 404, the path segment was
//   never percent-decoded and was encoded a second time towards neo4j-proxy);
// - spot fee dust left by a close (less than one lot, unsellable) is no open position (before: it
//   was listed and counted as one forever);
// - a strategy bot sizes through its `sizing` (before: exposure x equity), and after a risk
//   refusal it retries its target on the next bar (before: `target_unchanged`, flat for good).
import { afterAll, describe, expect, it } from "vitest";
import { adminFetch, fetchJson, keel, simAdmin, uniqueId, useStackSimulator } from "./harness.js";

// A bot created without base_url trades on the stack's own simulator (EXCHANGE_SIM_URL), not on
// this file's private one: this file checks that default, so it uses the stack's simulator.
useStackSimulator();

interface Created {
  webhook_secret: string;
}
interface SignalOk {
  status: string;
  signal_id: string;
}

async function createPaperBot(extra: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const id = uniqueId("first");
  // The banner's example, field for field (only the id is unique per run).
  const res = await adminFetch<Created>("/api/v1/bots", {
    method: "POST",
    json: {
      id,
      name: "Demo",
      strategy: "manual",
      exchange: "binance",
      market: "spot",
      mode: "paper",
      instruments: ["BTCUSDT"],
      sizing: { mode: "fixed_qty", value: "0.001" },
      ...extra,
    },
  });
  expect(res.status, res.text).toBe(201);
  return { id, secret: res.body?.webhook_secret ?? "" };
}

describe("first paste: the banner's and the New bot form's examples work as sent", () => {
  it("a paper bot without risk or base_url is created on the simulator and fills", async () => {
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
    const { id, secret } = await createPaperBot({});
    const config = await adminFetch<{ base_url: string | null; risk: Record<string, unknown> }>(`/api/v1/bots/${id}`);
    expect(config.status, config.text).toBe(200);
    expect(config.body?.base_url).toBe(keel().simUrl);
    const res = await fetchJson<SignalOk>(`/webhook/${id}`, {
      method: "POST",
      json: { secret, id: `${id}-1`, action: "buy", symbol: "BTCUSDT", qty: "0.001" },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body?.status).toBe("executed");
  });

  it("the form's shape (base_url null, risk limits given) gets the simulator too; an explicit base_url is kept", async () => {
    const form = await createPaperBot({ base_url: null, risk: { max_order_notional: "500", max_signal_age_secs: 30 } });
    const cfg = await adminFetch<{ base_url: string | null }>(`/api/v1/bots/${form.id}`);
    expect(cfg.body?.base_url).toBe(keel().simUrl);
    const explicit = await createPaperBot({ base_url: `${keel().simUrl}/` });
    const cfg2 = await adminFetch<{ base_url: string | null }>(`/api/v1/bots/${explicit.id}`);
    expect(cfg2.body?.base_url).toBe(`${keel().simUrl}/`);
  });
});

describe("spot fee dust after a close", () => {
  it("is held and valued, but is no open position: not listed, not counted, flagged in the P&L", async () => {
    await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: "65000" });
    const { id, secret } = await createPaperBot({});
    const send = async (n: number, action: string, extra: Record<string, unknown> = {}): Promise<void> => {
      const res = await fetchJson<SignalOk>(`/webhook/${id}`, {
        method: "POST",
        json: { secret, id: `${id}-d${n}`, action, symbol: "BTCUSDT", ...extra },
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body?.status, res.text).toBe("executed");
    };
    // A spot buy pays its fee in BTC: 0.001 bought, a little less held.
    await send(1, "buy", { qty: "0.001" });
    // The close sells every whole lot (step 0.00001); what is left is less than one lot.
    await send(2, "close");
    interface Pnl {
      by_instrument: Record<string, { position_qty: string; dust?: boolean }>;
    }
    const pnl = await adminFetch<Pnl>(`/api/v1/bots/${id}/pnl`);
    expect(pnl.status, pnl.text).toBe(200);
    const btc = pnl.body?.by_instrument.BTCUSDT;
    const held = Number(btc?.position_qty);
    expect(held, pnl.text).toBeGreaterThan(0);
    expect(held, pnl.text).toBeLessThan(0.00001);
    expect(btc?.dust, pnl.text).toBe(true);
    // Before: listed as an open position, counted by the summary and the overview, forever.
    const positions = await adminFetch<unknown[]>(`/api/v1/bots/${id}/positions`);
    expect(positions.status, positions.text).toBe(200);
    expect(positions.body, positions.text).toEqual([]);
    const summary = await adminFetch<{ open_positions: number }>(`/api/v1/bots/${id}/summary`);
    expect(summary.status, summary.text).toBe(200);
    expect(summary.body?.open_positions, summary.text).toBe(0);
    // The next buy opens a position again, holding the dust too.
    await send(3, "buy", { qty: "0.001" });
    const again = await adminFetch<{ qty: string }[]>(`/api/v1/bots/${id}/positions`);
    expect(again.body?.length, again.text).toBe(1);
    expect(Number(again.body?.[0].qty), again.text).toBeGreaterThan(0.00099);
  });
});

describe.runIf(keel().neo4jUrl !== null)("signal chain of an id with ':'", () => {
  it("answers 200 for a TradingView-style id holding colons", async () => {
    const { id, secret } = await createPaperBot({});
    // {{strategy.order.id}}-{{timenow}}, as the README suggests.
    const signalId = `Long-${new Date().toISOString().slice(0, 19)}Z-${id.slice(-6)}`;
    expect(signalId).toContain(":");
    const res = await fetchJson<SignalOk>(`/webhook/${id}`, {
      method: "POST",
      json: { secret, id: signalId, action: "buy", symbol: "BTCUSDT", qty: "0.001" },
    });
    expect(res.status, res.text).toBe(200);
    // The audit reaches Neo4j through the bot's outbox shortly after; poll until the chain reads.
    const deadline = Date.now() + 45_000;
    let last = await adminFetch<{ signal_id: string }>(`/api/v1/signals/${encodeURIComponent(signalId)}`);
    while (last.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      last = await adminFetch<{ signal_id: string }>(`/api/v1/signals/${encodeURIComponent(signalId)}`);
    }
    expect(last.status, last.text).toBe(200);
    expect(last.body?.signal_id).toBe(signalId);
    // A broken escape is a precise 400, not a 404 or a crash.
    const bad = await adminFetch<{ code: string }>("/api/v1/signals/a%zz");
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body?.code).toBe("invalid_path");
  }, 60_000);
});

describe("strategy bot: sizing and a refused target", () => {
  const SYMBOL = "SOLUSDT";
  const M = 60_000;
  const t0 = (Math.floor(Date.now() / M) - 300) * M;
  // A steady rise: the fast SMA stays above the slow one, so the target is long on every bar.
  const bar = (i: number): [number, string, string, string, string, string] => {
    const c = 150 + i;
    return [t0 + i * M, String(c - 1), String(c + 1), String(c - 2), String(c), "10"];
  };

  afterAll(async () => {
    await simAdmin("/__admin/price", { symbol: SYMBOL, price: "150.00" });
  });

  it("sizes through its sizing and retries after a risk refusal", async () => {
    await simAdmin("/__admin/klines", { symbol: SYMBOL, interval: "1m", bars: Array.from({ length: 12 }, (_, i) => bar(i)) });
    const id = uniqueId("strat-retry");
    const created = await adminFetch("/api/v1/bots", {
      method: "POST",
      json: {
        id,
        name: "retry",
        exchange: "binance",
        market: "linear",
        mode: "paper",
        base_url: keel().simUrl,
        instruments: [SYMBOL],
        // One unit of exposure is 1 SOL. Before: exposure x equity = 10000 / 161 = 62 SOL.
        // (fixed_quote above max_order_notional is refused by config validation itself.)
        sizing: { mode: "fixed_qty", value: "1" },
        risk: { max_order_notional: "100" },
        source: "strategy",
        strategy: "ma_crossover",
        params: { fast: 3, slow: 8 },
        timeframe: "1m",
      },
    });
    expect(created.status, created.text).toBe(201);
    interface Run {
      status: string;
      target_qty?: string;
      outcome?: { status: string; error?: { code: string } };
    }
    const first = await adminFetch<Run>(`/api/v1/bots/${id}/strategy`, { method: "POST", json: {} });
    expect(first.status, first.text).toBe(200);
    if (first.body?.status === "signalled") {
      expect(first.body.target_qty).toBe("1");
      expect(first.body.outcome?.status, JSON.stringify(first.body)).toBe("rejected");
      expect(first.body.outcome?.error?.code).toContain("max_order_notional");
    }
    const fills = async (): Promise<{ qty?: string; fill?: { qty: string } }[]> =>
      (await adminFetch<{ qty?: string; fill?: { qty: string } }[]>(`/api/v1/bots/${id}/fills`)).body ?? [];
    expect(await fills()).toEqual([]);

    // The operator raises the limit (not a new strategy version), and the next bar closes.
    const patched = await adminFetch(`/api/v1/bots/${id}`, { method: "PATCH", json: { risk: { max_order_notional: "500" } } });
    expect(patched.status, patched.text).toBe(200);
    await simAdmin("/__admin/klines", { symbol: SYMBOL, interval: "1m", append: true, bars: [bar(12)] });
    const second = await adminFetch<Run>(`/api/v1/bots/${id}/strategy`, { method: "POST", json: {} });
    expect(second.status, second.text).toBe(200);
    // The bar-close alarm may have run this bar first; either way the target is retried.
    expect(["signalled", "already_evaluated"], JSON.stringify(second.body)).toContain(second.body?.status);
    const got = await fills();
    expect(got.length, JSON.stringify(got)).toBe(1);
    expect(got[0].fill?.qty ?? got[0].qty).toMatch(/^1(\.0*)?$/);
  }, 60_000);
});
