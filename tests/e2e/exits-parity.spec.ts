// Issue 18, done-when: the same bars and the same strategy with a stop-loss and a take-profit
// give identical fills (side, quantity, price, fee, reason) in the backtester, in a paper bot
// and in a testnet bot trading on the simulator.
//
// One spec strategy (long after a bar that closed up, flat otherwise) with `exits` 2 % / 3 %
// runs bar by bar as a paper bot and as a testnet bot (Binance USDⓈ-M on this file's
// simulator). Each bar is appended with `walk: true`: the simulator moves its price open → the
// extreme against the position → the other extreme → close, stopping at every trigger, so its
// own algo triggers fire by the backtester's rule; the paper bot's venue sees the same bar when
// the bot runs. The 14 bars take a target (bar 4), a stop when one bar touches both (bar 7), a
// gap through the stop (bar 10) and a strategy close that cancels the exits before a crash
// (bars 12–13). The backtester (engine example `strategy_replay`) then runs on the served bars:
// paper fees and 5 bps slippage for the paper bot, the simulator's futures fees and none for the
// testnet bot.
//
// Prices are whole multiples of 20 where orders fill, so 5 bps of slippage lands on the tick.
import { beforeAll, describe, expect, it } from "vitest";
import { adminFetch, fetchJson, keel, simAdmin, uniqueId } from "./harness.js";
import { canon, strategyReplay } from "./replay-helpers.js";

const SYMBOL = "BNBUSDT";
const M = 60_000;
const FIRST = 3;

/** [open, high, low, close] per bar. */
const OHLC: [number, number, number, number][] = [
  [600, 600, 600, 600],
  [600, 600, 600, 600],
  [600, 600, 600, 600],
  [600, 620, 580, 620], // up: long at the close
  [620, 660, 610, 650], // the high takes the profit
  [650, 650, 630, 640], // down: flat (already)
  [640, 660, 640, 660], // up: long
  [660, 700, 640, 680], // both touched: the stop
  [680, 680, 660, 660], // down
  [660, 680, 660, 680], // up: long
  [640, 660, 620, 640], // opens below the stop: filled at the open
  [640, 660, 640, 660], // up: long
  [660, 665, 655, 660], // not up: the strategy closes (its exits cancelled first)
  [660, 660, 600, 620], // a crash nothing fires in
];

const SPEC = {
  name: "e2e_up_bar",
  version: 1,
  params: {},
  target: { expr: { if: [{ gt: ["close", "close[1]"] }, 1, 0] }, min: 0, max: 1 },
};

interface Fill {
  side: string;
  price: string;
  qty: string;
  fee: string;
  fee_asset: string;
  trade_id: string;
  client_order_id?: string;
  time_ms: number;
}
interface Report {
  fills: Fill[];
  exits?: { trade_id: string; reason: string }[];
  rejected: unknown[];
  pnl: { realized: string; fees: { total_quote: string } };
}

function kline(t0: number, i: number): [number, string, string, string, string, string] {
  const [o, h, l, c] = OHLC[i];
  return [t0 + i * M, String(o), String(h), String(l), String(c), "1"];
}

async function runStrategy(id: string): Promise<{ status: string; outcome?: { status: string } }> {
  const res = await adminFetch<{ status: string; outcome?: { status: string } }>(`/api/v1/bots/${id}/strategy`, { method: "POST", json: {} });
  expect(res.status, res.text).toBe(200);
  return res.body as { status: string; outcome?: { status: string } };
}

/** A bot's fills, oldest first, each with the exit it was (from its exit rows), or null. */
async function botFills(id: string) {
  const fills = await adminFetch<(Fill & { fill?: Fill })[]>(`/api/v1/bots/${id}/fills?limit=1000`);
  expect(fills.status, fills.text).toBe(200);
  const orders = await adminFetch<{ client_order_id: string; status: string; exit_trigger?: string }[]>(`/api/v1/bots/${id}/orders?limit=100`);
  expect(orders.status, orders.text).toBe(200);
  const reason = new Map((orders.body ?? []).filter((o) => o.exit_trigger).map((o) => [o.client_order_id, o.exit_trigger as string]));
  return {
    rows: orders.body ?? [],
    fills: (fills.body ?? [])
      .map((r) => ({ ...r, ...(r.fill ?? {}) }))
      .sort((a, b) => a.time_ms - b.time_ms)
      .map((f) => ({ ...f, reason: reason.get(f.client_order_id ?? "") ?? null })),
  };
}

const view = (f: Fill & { reason: string | null }) => ({
  side: f.side.toLowerCase(),
  qty: canon(f.qty),
  price: canon(f.price),
  fee: canon(f.fee),
  reason: f.reason,
});

function backtestView(r: Report) {
  const reason = new Map((r.exits ?? []).map((x) => [x.trade_id, x.reason]));
  return r.fills.map((f) => view({ ...f, reason: reason.get(f.trade_id) ?? null }));
}

describe("stop-loss and take-profit: backtest = paper = testnet", () => {
  let t0: number;
  let paper: Record<string, unknown>;
  let testnet: Record<string, unknown>;

  beforeAll(async () => {
    t0 = (Math.floor(Date.now() / M) - 600) * M;
    await simAdmin("/__admin/klines", { symbol: SYMBOL, interval: "1m", bars: Array.from({ length: FIRST }, (_, i) => kline(t0, i)) });
    paper = {
      id: uniqueId("exits-paper"),
      name: "Exits parity paper",
      exchange: "binance",
      market: "linear",
      mode: "paper",
      base_url: keel().simUrl,
      instruments: [SYMBOL],
      sizing: { mode: "fixed_qty", value: "1" },
      risk: {},
      source: "strategy",
      strategy_spec: SPEC,
      timeframe: "1m",
      exits: { stop_loss_pct: "2", take_profit_pct: "3" },
    };
    testnet = { ...paper, id: uniqueId("exits-tn"), name: "Exits parity testnet", mode: "testnet" };
    for (const cfg of [paper, testnet]) {
      const res = await adminFetch("/api/v1/bots", { method: "POST", json: cfg });
      expect(res.status, res.text).toBe(201);
    }
    const creds = await adminFetch(`/api/v1/bots/${String(testnet.id)}/credentials`, {
      method: "PUT",
      json: { api_key: "simBinanceKeyBnb0002", api_secret: "simBinanceSecretBnb0002" },
    });
    expect(creds.status, creds.text).toBe(200);
    const capital = await adminFetch(`/api/v1/bots/${String(testnet.id)}/capital`, { method: "POST", json: { amount: "10000" } });
    expect(capital.status, capital.text).toBe(200);
  });

  it("fills every exit as the backtester does, with its reason", async () => {
    for (const cfg of [paper, testnet]) await runStrategy(String(cfg.id));
    for (let i = FIRST; i < OHLC.length; i++) {
      await simAdmin("/__admin/klines", { symbol: SYMBOL, interval: "1m", append: true, walk: true, bars: [kline(t0, i)] });
      for (const cfg of [testnet, paper]) {
        const out = await runStrategy(String(cfg.id));
        expect(["already_evaluated", "target_unchanged", "signalled"], JSON.stringify(out)).toContain(out.status);
        if (out.status === "signalled") expect(["executed", "nothing_to_do"], JSON.stringify(out)).toContain(out.outcome?.status);
      }
    }
    const sim = keel().simUrl;
    const klines = await fetchJson(`${sim}/fapi/v1/klines?symbol=${SYMBOL}&interval=1m&limit=1000`);
    expect((klines.body as unknown[]).length).toBe(OHLC.length);
    const info = await fetchJson(`${sim}/fapi/v1/exchangeInfo`);
    const [btPaper, btTestnet] = await Promise.all([
      strategyReplay<Report>({ config: paper, klines: klines.text, exchangeInfo: info.text }),
      strategyReplay<Report>({ config: testnet, klines: klines.text, exchangeInfo: info.text, fees: { taker: "0.0005", maker: "0.0002", slippage: "0" } }),
    ]);
    for (const bt of [btPaper, btTestnet]) {
      expect(bt.rejected).toEqual([]);
      // Four entries; a target, two stops (one through a gap); the strategy's own close.
      expect(backtestView(bt).map((f) => `${f.side}:${f.reason ?? "-"}`)).toEqual([
        "buy:-",
        "sell:take_profit",
        "buy:-",
        "sell:stop_loss",
        "buy:-",
        "sell:stop_loss",
        "buy:-",
        "sell:-",
      ]);
    }
    const paperBot = await botFills(String(paper.id));
    const testnetBot = await botFills(String(testnet.id));
    expect(paperBot.fills.map(view)).toEqual(backtestView(btPaper));
    expect(testnetBot.fills.map(view)).toEqual(backtestView(btTestnet));
    // The gap filled at the open (640 less 5 bps on paper), not at the stop.
    expect(backtestView(btTestnet)[5].price).toBe("640");
    expect(backtestView(btPaper)[5].price).toBe("639.68");
    // Both bots' exit rows ended as the exchange ended them: 3 filled, the rest cancelled.
    for (const bot of [paperBot, testnetBot]) {
      const statuses = bot.rows.filter((o) => o.status.startsWith("trigger_")).map((o) => o.status);
      expect(statuses.filter((s) => s === "trigger_filled").length, JSON.stringify(bot.rows)).toBe(3);
      expect(statuses.filter((s) => s === "trigger_open"), JSON.stringify(bot.rows)).toEqual([]);
    }
    // P&L exact: each bot's ledger books the exits as the backtester's ledger does.
    for (const [cfg, bt] of [
      [paper, btPaper],
      [testnet, btTestnet],
    ] as const) {
      const pnl = await adminFetch<{ realized: string; fees: { total_quote: string } }>(`/api/v1/bots/${String(cfg.id)}/pnl`);
      expect(pnl.status, pnl.text).toBe(200);
      expect(canon(pnl.body?.realized ?? "NaN"), pnl.text).toBe(canon(bt.pnl.realized));
      expect(canon(pnl.body?.fees.total_quote ?? "NaN"), pnl.text).toBe(canon(bt.pnl.fees.total_quote));
    }
    const pnl = await adminFetch<{ realized: string }>(`/api/v1/bots/${String(paper.id)}/pnl`);
    console.log(
      `exits parity: ${paperBot.fills.length} paper and ${testnetBot.fills.length} testnet fills equal the backtester's; paper realized ${pnl.body?.realized}`,
    );
  }, 300_000);
});
