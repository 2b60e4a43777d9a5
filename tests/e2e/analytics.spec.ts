// Issue 23, live analytics (docs/admin-api.md, `GET /api/v1/bots/{id}/analytics`): a testnet bot
// trades round trips on the simulator at moving prices, then
//   - its analytics answer matches the OpenAPI document;
//   - the net P&L attributed by instrument, strategy and hour sums exactly (decimal strings) to
//     the total, and the total equals the P&L view's realized − fees + funding;
//   - the executions' win rate counts the round trips that gained after fees;
//   - a period that is no timeframe is a 422 naming `period`;
//   - `keel analytics ID` prints the same net, and every table;
//   - `GET /api/v1/compare` puts it beside a second bot (an A/B test): both sides' nets as their
//     analytics report them, the tests' answers (here too few periods for the Sharpe test, said
//     so), bad requests and a token scoped to one of the two bots refused.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { type OpenApi, openApi } from "./admin-openapi.js";
import { adminFetch, fetchJson, keel, simAdmin, uniqueId } from "./harness.js";
import { runCron } from "./ops-helpers.js";
import { Dec, sum } from "./pnl-helpers.js";
import { createSimBot, MARKETS } from "./venue-helpers.js";

interface Slice {
  realized: string;
  fees: string;
  funding: string;
  net: string;
  fills: number;
}
interface Analytics {
  bot_id: string;
  quote_asset: string;
  period: string;
  points: number;
  metrics: { win_rate: number; total_return: number; sharpe: number; max_drawdown: number };
  attribution: {
    total: Slice;
    by_instrument: Record<string, Slice>;
    by_strategy: Record<string, Slice>;
    by_hour: Record<string, Slice>;
  };
}
interface PnlView {
  realized: string;
  funding: string;
  fees: { total_quote: string };
}

const cliBin = process.env.KEEL_CLI_BIN ?? path.join(ROOT, "target/release/keel");
let api: OpenApi;
const bot = { id: "", secret: "" };
const other = { id: "", secret: "" };

async function send(action: string, qty: string, b = bot): Promise<void> {
  const res = await fetchJson<{ status?: string }>(`/webhook/${b.id}`, {
    method: "POST",
    json: { secret: b.secret, id: uniqueId("sig"), action, symbol: "BTCUSDT", qty, time: new Date().toISOString() },
  });
  expect(res.status, res.text).toBe(200);
  expect(res.body?.status, res.text).toBe("executed");
}

async function price(p: string): Promise<void> {
  await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: p, venue: "binance_futures" });
}

async function createBot(b: { id: string; secret: string }, prefix: string): Promise<void> {
  Object.assign(b, await createSimBot(MARKETS[1], {}, prefix));
}

beforeAll(async () => {
  api = await openApi();
  await createBot(bot, "analytics");
  await createBot(other, "analytics-b");
  // Three round trips on USDⓈ-M futures (fees in USDT, a close is exact): up, down, up, with
  // the cron marking the equity in between.
  for (const [entry, exit] of [
    ["65000", "65650"],
    ["65600", "65100"],
    ["65000", "65900"],
  ]) {
    await price(entry);
    await send("buy", "0.002");
    await runCron();
    await price(exit);
    await send("sell", "0.002");
    await runCron();
  }
  // B: one losing round trip.
  await price("66000");
  await send("buy", "0.002", other);
  await price("65800");
  await send("sell", "0.002", other);
  await runCron();
}, 120_000);

describe("live analytics of a trading bot", () => {
  it("attributes the net P&L exactly, by instrument, strategy and hour, and counts the round trips", async () => {
    const res = await api.call<Analytics>("get", "/bots/{bot_id}/analytics", { bot_id: bot.id });
    expect(res.status, res.text).toBe(200);
    const a = res.body as Analytics;
    expect(a.bot_id).toBe(bot.id);
    expect(a.period).toBe("1d");
    expect(a.points).toBeGreaterThanOrEqual(1);
    const pnl = await adminFetch<PnlView>(`/api/v1/bots/${bot.id}/pnl`);
    expect(pnl.status, pnl.text).toBe(200);
    const p = pnl.body as PnlView;
    const t = a.attribution.total;
    expect(t.fills).toBe(6);
    expect(Dec.of(t.realized).cmp(p.realized) === 0, `${t.realized} vs ${p.realized}`).toBe(true);
    expect(Dec.of(t.fees).cmp(p.fees.total_quote) === 0, `${t.fees} vs ${p.fees.total_quote}`).toBe(true);
    expect(Dec.of(t.funding).cmp(p.funding) === 0).toBe(true);
    const net = Dec.of(p.realized).sub(Dec.of(p.fees.total_quote)).add(Dec.of(p.funding));
    expect(Dec.of(t.net).cmp(net) === 0, `${t.net} vs ${net.toString()}`).toBe(true);
    for (const [name, by] of Object.entries({ instrument: a.attribution.by_instrument, strategy: a.attribution.by_strategy, hour: a.attribution.by_hour })) {
      const s = sum(Object.values(by).map((x) => Dec.of(x.net)));
      expect(s.cmp(t.net) === 0, `by ${name}: ${s.toString()} vs ${t.net}`).toBe(true);
    }
    expect(Object.keys(a.attribution.by_instrument)).toEqual(["BTCUSDT"]);
    expect(Object.keys(a.attribution.by_strategy)).toEqual(["untagged"]);
    // Round trips: +650 × 0.002 and +900 × 0.002 gain more than their fees, −500 × 0.002
    // loses: two of three closing executions are wins.
    expect(a.metrics.win_rate).toBeCloseTo(2 / 3, 12);

    const hourly = await api.call<Analytics>("get", "/bots/{bot_id}/analytics", { bot_id: bot.id }, { query: "period=1h" });
    expect(hourly.status, hourly.text).toBe(200);
    expect(hourly.body?.period).toBe("1h");
    expect(hourly.body?.attribution.total).toEqual(t);
  });

  it("refuses a period that is no timeframe, naming the field", async () => {
    for (const bad of ["7x", "%E2%9C%93", ""]) {
      const res = await adminFetch<{ code: string; field: string }>(`/api/v1/bots/${bot.id}/analytics?period=${bad}`);
      expect(res.status, `${bad}: ${res.text}`).toBe(422);
      expect(res.body?.code).toBe("invalid_period");
      expect(res.body?.field).toBe("period");
    }
  });

  it("keel analytics prints the ratios, each attribution table and the same net", async () => {
    expect(fs.existsSync(cliBin), `${cliBin} missing: run scripts/build.sh`).toBe(true);
    const env = { ...process.env, KEEL_URL: keel().baseUrl, KEEL_TOKEN: keel().adminToken };
    const run = spawnSync(cliBin, ["analytics", bot.id, "--period", "1h"], { encoding: "utf8", env, timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    for (const want of [`analytics of ${bot.id} over`, "periods of 1h (USDT, 365-day year)", "Sharpe", "win rate", "66.67 %", "INSTRUMENT", "BTCUSDT", "STRATEGY", "untagged", "HOUR (UTC)", "(each table sums to it exactly)"]) {
      expect(run.stdout, run.stdout).toContain(want);
    }
    const json = spawnSync(cliBin, ["--json", "analytics", bot.id], { encoding: "utf8", env, timeout: 60_000 });
    expect(json.status, json.stderr).toBe(0);
    const a = JSON.parse(json.stdout) as Analytics;
    const pnl = await adminFetch<PnlView>(`/api/v1/bots/${bot.id}/pnl`);
    const p = pnl.body as PnlView;
    expect(Dec.of(a.attribution.total.net).cmp(Dec.of(p.realized).sub(p.fees.total_quote).add(p.funding))).toBe(0);
    const bad = spawnSync(cliBin, ["analytics", bot.id, "--period", "1 d"], { encoding: "utf8", env, timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("invalid value for --period: `1 d`");
  });

  it("compares two bots side by side, and refuses what it cannot compare", async () => {
    interface Comparison {
      period: string;
      pairs: number;
      a: { bot_id: string; net: string };
      b: { bot_id: string; net: string };
      sharpe_difference: { hac: unknown; iid: unknown; error: string | null };
      sequential: { n: number; decision: string; p_value: number; decided_at_ms: number | null };
      series: { time: number; a: number; b: number }[];
    }
    const res = await api.call<Comparison>("get", "/compare", {}, { query: `a=${bot.id}&b=${other.id}&period=1m` });
    expect(res.status, res.text).toBe(200);
    const c = res.body as Comparison;
    expect([c.a.bot_id, c.b.bot_id, c.period]).toEqual([bot.id, other.id, "1m"]);
    for (const [id, net] of [
      [bot.id, c.a.net],
      [other.id, c.b.net],
    ]) {
      const a = await adminFetch<Analytics>(`/api/v1/bots/${id}/analytics?period=1m`);
      expect(Dec.of(net).cmp(a.body?.attribution.total.net ?? "NaN"), id).toBe(0);
    }
    // B lost: its net is below A's.
    expect(Dec.of(c.b.net).cmp(c.a.net)).toBeLessThan(0);
    expect(c.series.length).toBe(c.pairs);
    expect(c.sequential.n).toBe(c.pairs);
    // Seconds of trading give a few one-minute periods at most: the Sharpe test says why it
    // has no answer, and the sequential test has decided nothing.
    expect(c.pairs).toBeLessThan(10);
    expect(c.sharpe_difference.hac).toBeNull();
    expect(c.sharpe_difference.error).toContain(`${c.pairs} pairs; the Sharpe-difference test needs at least 10`);
    expect(c.sequential.decision).toBe("continue");

    for (const [query, code, field] of [
      [`a=${bot.id}`, "invalid_compare", "b"],
      [`b=${bot.id}`, "invalid_compare", "a"],
      [`a=${bot.id}&b=${other.id}&period=1%20d`, "invalid_period", "period"],
      [`a=${bot.id}&b=${other.id}&period=7x`, "invalid_period", "period"],
      [`a=${bot.id}&b=${other.id}&c=1`, "invalid_compare", "c"],
    ]) {
      const bad = await api.call<{ code: string; field: string }>("get", "/compare", {}, { query });
      expect(bad.status, `${query}: ${bad.text}`).toBe(422);
      expect([bad.body?.code, bad.body?.field], query).toEqual([code, field]);
    }
    const ghost = await api.call<{ code: string }>("get", "/compare", {}, { query: `a=${bot.id}&b=${uniqueId("no-such-bot")}` });
    expect(ghost.status, ghost.text).toBe(404);
    // A token scoped to A alone learns nothing about B.
    const minted = await adminFetch<{ token: string }>("/api/v1/tokens", { method: "POST", json: { name: uniqueId("tok"), role: "viewer", bots: [bot.id] } });
    expect(minted.status, minted.text).toBe(201);
    const scoped = await api.call<{ code: string }>("get", "/compare", {}, { query: `a=${bot.id}&b=${other.id}`, token: minted.body?.token });
    expect(scoped.status, scoped.text).toBe(404);
    expect(scoped.body?.code).toBe("unknown_bot");
    const own = await api.call<Comparison>("get", "/compare", {}, { query: `a=${bot.id}&b=${bot.id}`, token: minted.body?.token });
    expect(own.status, own.text).toBe(200);

    // The CLI prints the same comparison.
    const env = { ...process.env, KEEL_URL: keel().baseUrl, KEEL_TOKEN: keel().adminToken };
    const run = spawnSync(cliBin, ["compare-bots", bot.id, other.id, "--period", "1m"], { encoding: "utf8", env, timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    for (const want of ["paired periods of 1m", `A ${bot.id}`, `B ${other.id}`, "Sharpe difference: no answer yet (", "undecided: keep both running"]) {
      expect(run.stdout, run.stdout).toContain(want);
    }
  });
});
