// Issue 23, A/B with a paper shadow (docs/analytics.md, `POST /api/v1/bots/{id}/shadow` and
// `/promote`): a testnet bot A on the simulator gets two paper shadows, B (version under test:
// twice the size) and C (the same version: an A/A test of the execution gap). Then
//   - every signal A admits is fed to both shadows (A's answer says so), which execute it on the
//     same market: the same signal ids and as many fills, B at twice the quantity;
//   - the comparison puts A and B side by side with their live figures, the always-valid p-value,
//     the Sharpe-difference test and the expected time to a decision;
//   - what cannot be a shadow is refused precisely (self, a shadow of a shadow, a patched mode);
//   - a deleted shadow answers 404 once and is no longer fed;
//   - the shadow's internal signal route cannot be reached with A's secret at B's webhook;
//   - promotion is refused without a decision (409 with the test's reading), refused when forced
//     without a reason (422), and applied when forced with one: A's sizing becomes B's, and the
//     `promotion` event (forced, with the reason) is in A's chain and, shipped, in Neo4j;
//   - `keel shadow` and `keel promote` drive the same routes.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { adminFetch, fetchJson, keel, neo4jQuery, simAdmin, uniqueId } from "./harness.js";
import { runCron } from "./ops-helpers.js";
import { Dec } from "./pnl-helpers.js";
import { createSimBot, MARKETS } from "./venue-helpers.js";

const BINANCE_LINEAR = MARKETS[1];

interface Slice {
  net: string;
  fills: number;
}
interface Analytics {
  attribution: { total: Slice };
}
interface SignalAnswer {
  status?: string;
  shadows?: { bot_id: string; status: number | null }[];
}
interface AuditPage {
  events: { seq: number; kind: string; record: { event: Record<string, unknown> } }[];
  last_seq: number;
  shipped_seq: number;
}

const cliBin = process.env.KEEL_CLI_BIN ?? path.join(ROOT, "target/release/keel");
const a = { id: "", secret: "" };
const b = uniqueId("shadow-b");
const c = uniqueId("shadow-c");
const sent: string[] = [];

async function send(action: string, qty: string): Promise<SignalAnswer> {
  const id = uniqueId("sig");
  sent.push(id);
  const res = await fetchJson<SignalAnswer>(`/webhook/${a.id}`, {
    method: "POST",
    json: { secret: a.secret, id, action, symbol: "BTCUSDT", qty, time: new Date().toISOString() },
  });
  expect(res.status, res.text).toBe(200);
  expect(res.body?.status, res.text).toBe("executed");
  return res.body as SignalAnswer;
}

async function price(p: string): Promise<void> {
  await simAdmin("/__admin/price", { symbol: "BTCUSDT", price: p, venue: "binance_futures" });
}

async function analytics(id: string): Promise<Analytics> {
  const res = await adminFetch<Analytics>(`/api/v1/bots/${id}/analytics?period=1m`);
  expect(res.status, res.text).toBe(200);
  return res.body as Analytics;
}

beforeAll(async () => {
  Object.assign(a, await createSimBot(BINANCE_LINEAR, {}, "shadow-a"));
}, 60_000);

describe("A/B with a paper shadow", () => {
  it("creates a paper shadow B (twice the size) and an A/A shadow C, and refuses what cannot be one", async () => {
    const made = await adminFetch<{ parent: string; shadow: { id: string; mode: string; sizing: { value: string }; base_url: string } }>(`/api/v1/bots/${a.id}/shadow`, {
      method: "POST",
      json: { id: b, patch: { sizing: { mode: "fixed_qty", value: "0.004" } } },
    });
    expect(made.status, made.text).toBe(201);
    expect(made.body?.parent).toBe(a.id);
    expect(made.body?.shadow.mode).toBe("paper");
    expect(made.body?.shadow.sizing.value).toBe("0.004");
    expect(made.body?.shadow.base_url).toBe(keel().simUrl.replace(/\/$/, ""));
    const aa = await adminFetch(`/api/v1/bots/${a.id}/shadow`, { method: "POST", json: { id: c, name: "A/A" } });
    expect(aa.status, aa.text).toBe(201);

    const links = await adminFetch<{ shadows: string[]; shadow_of: unknown }>(`/api/v1/bots/${a.id}/shadow`);
    expect(links.status, links.text).toBe(200);
    expect(links.body?.shadows).toEqual([b, c].sort());
    expect(links.body?.shadow_of).toBeNull();
    const back = await adminFetch<{ shadow_of: { parent: string; patch: unknown } }>(`/api/v1/bots/${b}/shadow`);
    expect(back.body?.shadow_of.parent).toBe(a.id);
    expect(back.body?.shadow_of.patch).toEqual({ sizing: { mode: "fixed_qty", value: "0.004" } });

    for (const [parent, body, status, code, field] of [
      [a.id, { id: a.id }, 422, "invalid_shadow", "id"],
      [a.id, { id: uniqueId("x"), patch: { mode: "live" } }, 422, "invalid_shadow", "patch.mode"],
      [a.id, { id: uniqueId("x"), patch: [1] }, 422, "invalid_shadow", "patch"],
      [a.id, {}, 422, "invalid_shadow", "id"],
      [b, { id: uniqueId("x") }, 409, "shadow_of_a_shadow", undefined],
      [a.id, { id: b }, 409, "bot_exists", undefined],
    ] as const) {
      const bad = await adminFetch<{ code: string; field?: string }>(`/api/v1/bots/${parent}/shadow`, { method: "POST", json: body });
      expect(bad.status, `${JSON.stringify(body)}: ${bad.text}`).toBe(status);
      expect(bad.body?.code, bad.text).toBe(code);
      if (field) expect(bad.body?.field, bad.text).toBe(field);
    }
  });

  it("feeds every signal A admits to its shadows, which trade it on the same market", async () => {
    for (const [entry, exit] of [
      ["65000", "65650"],
      ["65600", "65100"],
    ]) {
      await price(entry);
      const opened = await send("buy", "0.002");
      expect(opened.shadows).toEqual([
        { bot_id: b, status: 200 },
        { bot_id: c, status: 200 },
      ].sort((x, y) => x.bot_id.localeCompare(y.bot_id)));
      await runCron();
      await price(exit);
      await send("sell", "0.002");
      await runCron();
    }
    // The shadows saw the same signal ids, each executed.
    for (const id of [b, c]) {
      const sigs = await adminFetch<{ signal_id: string; status: number }[]>(`/api/v1/bots/${id}/signals?limit=50`);
      expect(sigs.status, sigs.text).toBe(200);
      const seen = (sigs.body ?? []).map((s) => s.signal_id).sort();
      expect(seen, sigs.text).toEqual([...sent].sort());
      for (const s of sigs.body ?? []) expect(s.status, JSON.stringify(s)).toBe(200);
    }
    const [fa, fb, fc] = await Promise.all([a.id, b, c].map(analytics));
    expect(fa.attribution.total.fills).toBe(4);
    expect(fb.attribution.total.fills).toBe(4);
    expect(fc.attribution.total.fills).toBe(4);
    // The shadow's own webhook refuses A's secret: only the link feeds it A's signals.
    const wrong = await fetchJson(`/webhook/${b}`, {
      method: "POST",
      json: { secret: a.secret, id: uniqueId("sig"), action: "buy", symbol: "BTCUSDT", qty: "0.001", time: new Date().toISOString() },
    });
    expect(wrong.status, wrong.text).toBe(401);
  });

  it("compares A with its shadow: live figures, the always-valid p-value, the Sharpe test and the expected time to a decision", async () => {
    interface Comparison {
      pairs: number;
      a: { bot_id: string; net: string };
      b: { bot_id: string; net: string };
      sharpe_difference: { hac: unknown; error: string | null };
      sequential: { n: number; decision: string; p_value: number; periods_to_decision: number | null; expected_decision_in_ms: number | null };
    }
    const res = await adminFetch<Comparison>(`/api/v1/compare?a=${a.id}&b=${b}&period=1m`);
    expect(res.status, res.text).toBe(200);
    const cmp = res.body as Comparison;
    expect([cmp.a.bot_id, cmp.b.bot_id]).toEqual([a.id, b]);
    const [fa, fb] = await Promise.all([a.id, b].map(analytics));
    expect(Dec.of(cmp.a.net).cmp(fa.attribution.total.net)).toBe(0);
    expect(Dec.of(cmp.b.net).cmp(fb.attribution.total.net)).toBe(0);
    expect(cmp.sequential.decision).toBe("continue");
    expect(cmp.sequential.p_value).toBe(1);
    expect("periods_to_decision" in cmp.sequential).toBe(true);
    expect("expected_decision_in_ms" in cmp.sequential).toBe(true);
    if (cmp.sequential.periods_to_decision !== null) {
      expect(cmp.sequential.expected_decision_in_ms).toBe(cmp.sequential.periods_to_decision * 60_000);
    }
    expect(cmp.sharpe_difference.hac).toBeNull();
    expect(cmp.sharpe_difference.error).toContain("pairs");

    // A/A: the same version on the testnet simulator (A) and in paper (C) measures the execution
    // gap: same signals, same quantities, different fills (paper: the ticker ± 5 bps slippage).
    const aa = await adminFetch<Comparison>(`/api/v1/compare?a=${a.id}&b=${c}&period=1m`);
    expect(aa.status, aa.text).toBe(200);
    const fc = await analytics(c);
    expect(fc.attribution.total.fills).toBe(fa.attribution.total.fills);
    expect(Dec.of(aa.body?.b.net ?? "NaN").cmp(fc.attribution.total.net)).toBe(0);
    const gap = Dec.of(aa.body?.a.net ?? "NaN").sub(Dec.of(aa.body?.b.net ?? "NaN"));
    console.log(`A/A execution gap over 2 round trips: live ${aa.body?.a.net} − paper ${aa.body?.b.net} = ${gap.toString()} USDT`);
  });

  it("stops feeding a shadow that was deleted", async () => {
    const del = await adminFetch(`/api/v1/bots/${c}`, { method: "DELETE" });
    expect(del.status, del.text).toBe(200);
    await price("65200");
    const first = await send("buy", "0.002");
    expect(first.shadows).toEqual(
      [
        { bot_id: b, status: 200 },
        { bot_id: c, status: 404 },
      ].sort((x, y) => x.bot_id.localeCompare(y.bot_id)),
    );
    const second = await send("sell", "0.002");
    expect(second.shadows).toEqual([{ bot_id: b, status: 200 }]);
    const links = await adminFetch<{ shadows: string[] }>(`/api/v1/bots/${a.id}/shadow`);
    expect(links.body?.shadows).toEqual([b]);
  });

  it("refuses a promotion without a decision, or forced without a reason, and audits a forced one", async () => {
    const none = await adminFetch<{ code: string; detail: { decision: string; pairs: number } }>(`/api/v1/bots/${a.id}/promote`, { method: "POST", json: { shadow: b, period: "1m" } });
    expect(none.status, none.text).toBe(409);
    expect(none.body?.code).toBe("no_decision");
    expect(none.body?.detail.decision).toBe("continue");
    const noReason = await adminFetch<{ code: string; field: string }>(`/api/v1/bots/${a.id}/promote`, { method: "POST", json: { shadow: b, force: true } });
    expect(noReason.status, noReason.text).toBe(422);
    expect([noReason.body?.code, noReason.body?.field]).toEqual(["invalid_promotion", "reason"]);
    const stranger = await adminFetch<{ code: string }>(`/api/v1/bots/${b}/promote`, { method: "POST", json: { shadow: a.id, force: true, reason: "x" } });
    expect(stranger.status, stranger.text).toBe(409);
    expect(stranger.body?.code).toBe("not_a_shadow");
    const before = await adminFetch<{ version: number }>(`/api/v1/bots/${a.id}`);

    const reason = "e2e: bigger size wanted before the test decides";
    const done = await adminFetch<{ sizing: { value: string }; version: number; promoted_from: string; forced: boolean; mode: string }>(`/api/v1/bots/${a.id}/promote`, {
      method: "POST",
      json: { shadow: b, force: true, reason, period: "1m" },
    });
    expect(done.status, done.text).toBe(200);
    expect(done.body?.sizing.value).toBe("0.004");
    expect(done.body?.mode).toBe("testnet");
    expect(done.body?.promoted_from).toBe(b);
    expect(done.body?.forced).toBe(true);
    expect(done.body?.version).toBe((before.body?.version ?? 0) + 1);

    const page = await adminFetch<AuditPage>(`/api/v1/bots/${a.id}/audit?after=0&limit=1000`);
    expect(page.status, page.text).toBe(200);
    const promo = page.body?.events.filter((e) => e.kind === "promotion") ?? [];
    expect(promo.length, page.text).toBe(1);
    const ev = promo[0]?.record.event ?? {};
    expect(ev).toMatchObject({ shadow: b, forced: true, reason });
    expect(String(ev.evidence)).toMatch(/^decision=continue p=1\.000000 pairs=\d+ period=1m sharpe_diff_p=none$/);

    // Shipped through the audit outbox, the event is in Neo4j.
    if (keel().neo4jUrl !== null) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const c2 = await adminFetch<AuditPage>(`/api/v1/bots/${a.id}/audit?after=0&limit=1000`);
        if (c2.body && c2.body.shipped_seq === c2.body.last_seq) break;
        if (Date.now() > deadline) throw new Error("outbox not drained");
        await sleep(300);
      }
      const neo = await neo4jQuery("MATCH (e:Event {bot_id: $b, kind: 'promotion'}) RETURN e.body", { b: a.id });
      expect(neo.values.length, JSON.stringify(neo)).toBe(1);
      expect(String(neo.values[0]?.[0])).toContain(reason);
    }
  });

  it("keel shadow and keel promote drive the same routes", async () => {
    expect(fs.existsSync(cliBin), `${cliBin} missing: run scripts/build.sh`).toBe(true);
    const env = { ...process.env, KEEL_URL: keel().baseUrl, KEEL_TOKEN: keel().adminToken };
    const d = uniqueId("shadow-d");
    const made = spawnSync(cliBin, ["shadow", a.id, d, "--patch", '{"sizing":{"mode":"fixed_qty","value":"0.001"}}'], { encoding: "utf8", env, timeout: 60_000 });
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toContain(`${d} now shadows ${a.id} (paper)`);
    const refused = spawnSync(cliBin, ["promote", a.id, d], { encoding: "utf8", env, timeout: 60_000 });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("no_decision");
    const forced = spawnSync(cliBin, ["promote", a.id, d, "--force", "--reason", "cli e2e"], { encoding: "utf8", env, timeout: 60_000 });
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`promoted ${d} onto ${a.id}`);
    const now = await adminFetch<{ sizing: { value: string } }>(`/api/v1/bots/${a.id}`);
    expect(now.body?.sizing.value).toBe("0.001");
  });
});
