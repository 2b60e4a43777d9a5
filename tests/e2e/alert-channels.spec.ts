// Alert channels and the cron's calendar, asserted from what the channels captured:
// - an injected failure storm gives exactly one alert and one resolution on EACH channel: the
//   local webhook receiver and the e-mail output (wrangler dev's send_email binding writes each
//   message to a .eml file and logs its path in the wrangler log);
// - refused API credentials alert once (critical) and resolve once the right key is stored;
// - the daily P&L summary is sent once for a UTC day, however often the cron runs;
// - trading_hours: the cron ticks (keeps warm) a bot only inside its window (and a warm-up lead),
//   every 15 minutes outside it, and a bot without trading_hours every minute.
// The cron is driven through Miniflare's /cdn-cgi/local/scheduled, which takes the scheduled time
// (wrangler's /__scheduled drops it).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminFetch, keel, simAdmin } from "./harness.js";
import { type Bot, type Sink, createBot, health, signal, startSink, waitFor } from "./ops-helpers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const WRANGLER_LOG = path.join(ROOT, ".keel", "e2e-logs", "wrangler.log");
const DAY_MS = 86_400_000;

interface Mail {
  file: string;
  headers: Record<string, string>;
  fields: Record<string, string>;
}

/** Every e-mail the local send_email binding wrote, parsed (headers and the `key: value` body lines). */
function mails(): Mail[] {
  const log = fs.existsSync(WRANGLER_LOG) ? fs.readFileSync(WRANGLER_LOG, "utf8").replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "") : "";
  const files = [...new Set([...log.matchAll(/Email: (\S+\.eml)/g)].map((m) => m[1] ?? ""))];
  return files
    .filter((f) => fs.existsSync(f))
    .map((file) => {
      const raw = fs.readFileSync(file, "utf8");
      const cut = raw.search(/\r?\n\r?\n/);
      const head = cut < 0 ? raw : raw.slice(0, cut);
      const body = cut < 0 ? "" : raw.slice(cut);
      const pairs = (text: string): Record<string, string> =>
        Object.fromEntries(
          text
            .split(/\r?\n/)
            .map((l) => /^([A-Za-z_-]+):\s?(.*)$/.exec(l))
            .filter((m): m is RegExpExecArray => m !== null)
            .map((m) => [(m[1] ?? "").toLowerCase(), m[2] ?? ""]),
        );
      return { file, headers: pairs(head), fields: pairs(body) };
    });
}

function mailsFor(id: string): Mail[] {
  return mails().filter((m) => m.fields.bot === id);
}

/** Runs the cron trigger once with the given scheduled time. */
async function cronAt(timeMs: number): Promise<void> {
  const res = await fetch(`${keel().baseUrl}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${timeMs}`);
  expect(res.status).toBe(200);
}

let sink: Sink;

beforeAll(async () => {
  sink = await startSink();
});

afterAll(async () => {
  await simAdmin("/__admin/faults", undefined, "DELETE");
  await sink.close();
});

function hooks(id: string): Record<string, unknown>[] {
  return sink.messages.filter((m) => m.bot_id === id);
}

function testnetBot(prefix: string, alerts: Record<string, unknown>, secretKey = "simBinanceSecretThird0003"): Promise<Bot> {
  return createBot({ prefix, mode: "testnet", instruments: ["ETHUSDT"], qty: "0.01", key: "simBinanceKeyThird0003", secretKey, alerts });
}

describe("alert channels", () => {
  it("a failure storm: one alert and one resolution on the webhook AND by e-mail", async () => {
    const bot = await testnetBot("chan-storm", { webhook: sink.url, email: "ops-storm@example.com" });
    await simAdmin("/__admin/faults", { kind: "reject", code: -2010, msg: "Market is closed.", path: "/api/v3/order", method: "POST", count: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await signal(bot, "buy", "ETHUSDT");
      expect(r.status, r.text).toBe(422);
    }
    expect(await waitFor(() => hooks(bot.id).length >= 1 && mailsFor(bot.id).length >= 1)).toBe(true);
    const ok = await signal(bot, "buy", "ETHUSDT");
    expect(ok.status, ok.text).toBe(200);
    expect(await waitFor(() => hooks(bot.id).length >= 2 && mailsFor(bot.id).length >= 2)).toBe(true);
    await new Promise((r) => setTimeout(r, 2_000));

    expect(hooks(bot.id).map((m) => `${String(m.kind)}:${String(m.phase)}`)).toEqual(["order_rejected:firing", "order_rejected:resolved"]);
    const mail = mailsFor(bot.id).sort((a, b) => Number(a.fields.time_ms) - Number(b.fields.time_ms));
    expect(mail.map((m) => `${m.fields.kind}:${m.fields.phase}:${m.fields.severity}`)).toEqual(["order_rejected:firing:Warning", "order_rejected:resolved:Info"]);
    const [fire, done] = mail;
    expect(fire?.headers.to).toBe("ops-storm@example.com");
    expect(fire?.headers.from).toBe("keel-alerts@localhost");
    expect(fire?.headers.subject).toMatch(new RegExp(`^\\[WARNING\\] bot ${bot.id}: order_rejected \\[ETHUSDT\\]: .*Market is closed`));
    expect(done?.headers.subject).toMatch(/^\[RESOLVED\] bot .*resolved after 2 occurrence/);
    expect(fire?.headers["message-id"]).toMatch(/^<.+@.+>$/);
    expect(done?.fields.occurrences).toBe("2");

    // Each delivery is audited with its channel (never the destination URL).
    const audit = await adminFetch<{ events: { kind: string; record: unknown }[] }>(`/api/v1/bots/${bot.id}/audit?limit=500`);
    expect(audit.status, audit.text).toBe(200);
    const sentEvents = (audit.body?.events ?? []).filter((e) => e.kind === "alert_sent").map((e) => JSON.stringify(e.record));
    const sent = sentEvents.map((r) => /"channel":"(\w+)"/.exec(r)?.[1]).sort();
    expect(sent).toEqual(["email", "email", "webhook", "webhook"]);
    for (const r of sentEvents) expect(r).not.toContain(sink.url);
  });

  it("refused credentials: one critical alert for the storm, resolved by the right key", async () => {
    const bot = await testnetBot("chan-creds", { webhook: sink.url }, "notTheRightSecret0000");
    for (let i = 0; i < 2; i++) {
      const r = await signal(bot, "buy", "ETHUSDT");
      expect(r.status, r.text).toBe(422);
      expect(r.text).toMatch(/authentication refused/);
    }
    expect(await waitFor(() => hooks(bot.id).length >= 1)).toBe(true);
    const open = (await health(bot)) as unknown as { alerts: { open: { kind: string; count: number }[] } };
    expect(open.alerts.open.map((a) => a.kind)).toEqual(["credentials_failing"]);
    expect(open.alerts.open[0]?.count).toBeGreaterThanOrEqual(2);

    const fix = await adminFetch(`/api/v1/bots/${bot.id}/credentials`, { method: "PUT", json: { api_key: "simBinanceKeyThird0003", api_secret: "simBinanceSecretThird0003" } });
    expect(fix.status, fix.text).toBe(200);
    const ok = await signal(bot, "buy", "ETHUSDT");
    expect(ok.status, ok.text).toBe(200);
    expect(await waitFor(() => hooks(bot.id).length >= 2)).toBe(true);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(hooks(bot.id).map((m) => `${String(m.kind)}:${String(m.phase)}:${String(m.severity)}`)).toEqual([
      "credentials_failing:firing:critical",
      "credentials_failing:resolved:info",
    ]);
    expect(String(hooks(bot.id)[0]?.message)).toMatch(/refused the bot's API credentials.*-1022/);
  });
});

describe("cron calendar", () => {
  it("daily P&L summary: once per UTC day, however often the cron runs", async () => {
    const bot = await createBot({ prefix: "chan-daily", mode: "paper", instruments: ["ETHUSDT"], qty: "0.02", alerts: { webhook: sink.url } });
    await simAdmin("/__admin/price", { symbol: "ETHUSDT", price: "3000" });
    expect((await signal(bot, "buy", "ETHUSDT")).status).toBe(200);
    await simAdmin("/__admin/price", { symbol: "ETHUSDT", price: "3100" });
    expect((await signal(bot, "sell", "ETHUSDT")).status).toBe(200);
    const summaries = (): Record<string, unknown>[] => hooks(bot.id).filter((m) => m.kind === "daily_summary");

    // Same UTC day as the bot's registration: nothing to report yet.
    await cronAt(Date.now());
    const nextMidnight = (Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS;
    await cronAt(nextMidnight + 30_000);
    expect(await waitFor(() => summaries().length >= 1)).toBe(true);
    await cronAt(nextMidnight + 30_000);
    await cronAt(nextMidnight + 15 * 60_000);
    await new Promise((r) => setTimeout(r, 2_000));
    const got = summaries();
    expect(got).toHaveLength(1);
    const today = new Date(nextMidnight - DAY_MS).toISOString().slice(0, 10);
    expect(got[0]).toMatchObject({ subject: today, severity: "info", phase: "firing" });
    expect(String(got[0]?.message)).toMatch(new RegExp(`^${today}: net -?[0-9.]+ USDT \\(realized [0-9.]+, fees [0-9.]+, funding 0\\); 2 fill\\(s\\); [01] open position\\(s\\)$`));
  });

  it("trading_hours: ticked inside the window and its warm-up, every 15 min outside, always without", async () => {
    const bad = await adminFetch<{ error: { code: string; fields?: { field: string }[] } }>("/api/v1/bots", {
      method: "POST",
      json: { id: `bad-hours-${Date.now()}`, name: "bad", exchange: "binance", market: "spot", mode: "paper", instruments: ["ETHUSDT"], sizing: { mode: "fixed_qty", value: "1" }, risk: {}, trading_hours: [{ days: ["mon"], from: "9:00", to: "10:00" }] },
    });
    expect(bad.status, bad.text).toBe(422);
    expect(bad.text).toContain("trading_hours[0].from");

    const windowed = await createBot({ prefix: "hours-on", mode: "paper", instruments: ["ETHUSDT"], qty: "0.01" });
    const all = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    const patch = await adminFetch(`/api/v1/bots/${windowed.id}`, { method: "PATCH", json: { trading_hours: [{ days: all, from: "10:00", to: "11:00" }] } });
    expect(patch.status, patch.text).toBe(200);
    const always = await createBot({ prefix: "hours-off", mode: "paper", instruments: ["ETHUSDT"], qty: "0.01" });
    const lastTick = async (b: Bot): Promise<{ scheduled_ms: number; kind: string } | null> =>
      ((await health(b)) as unknown as { last_tick: { scheduled_ms: number; kind: string } | null }).last_tick;

    const day = (Math.floor(Date.now() / DAY_MS) + 2) * DAY_MS;
    const at = (h: number, m: number): number => day + h * 3_600_000 + m * 60_000;
    const cases: [string, number, string | null][] = [
      ["inside", at(10, 30), "keep_alive"],
      ["outside, off the quarter hour", at(12, 7), null],
      ["outside, on the quarter hour", at(12, 15), "maintenance"],
      ["warm-up before the open", at(9, 56), "keep_alive"],
      ["after the close", at(11, 1), null],
    ];
    for (const [name, t, kind] of cases) {
      const before = await lastTick(windowed);
      await cronAt(t);
      const after = await lastTick(windowed);
      if (kind === null) {
        expect(after, name).toEqual(before);
      } else {
        expect(after, name).toMatchObject({ scheduled_ms: t, kind });
      }
      expect(await lastTick(always), name).toMatchObject({ scheduled_ms: t, kind: "keep_alive" });
    }

    // Removing trading_hours (PATCH null) reaches the cron's registry.
    const clear = await adminFetch(`/api/v1/bots/${windowed.id}`, { method: "PATCH", json: { trading_hours: null } });
    expect(clear.status, clear.text).toBe(200);
    await cronAt(at(12, 8));
    expect(await lastTick(windowed)).toMatchObject({ scheduled_ms: at(12, 8), kind: "keep_alive" });
  });
});
