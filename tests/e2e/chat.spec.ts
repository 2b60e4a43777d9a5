// Issue 24, two-way chat control, end to end against a local fake of the Telegram Bot API (a
// small HTTP server on 127.0.0.1 started here, recording every `sendMessage`): the operator sets
// the bot token, the webhook secret, the allowlisted chat and the Bot API base URL; updates from
// an unknown chat or with a wrong secret are refused, audited in the platform chain and never
// executed; `/status` answers with the bots' real figures; `/halt` from the allowlisted chat
// halts every bot (entries refused afterwards).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminFetch, fetchJson } from "./harness.js";
import { type Bot, createBot, health, signal } from "./ops-helpers.js";

interface Sent {
  path: string;
  body: { chat_id?: number; text?: string };
}

/** The fake Bot API: records each call, answers like Telegram. */
const sent: Sent[] = [];
const fake = http.createServer((req, res) => {
  let raw = "";
  req.on("data", (c: Buffer) => (raw += c.toString("utf8")));
  req.on("end", () => {
    let body: Sent["body"];
    try {
      body = JSON.parse(raw) as Sent["body"];
    } catch {
      body = {};
    }
    sent.push({ path: req.url ?? "", body });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true, result: { message_id: sent.length } }));
  });
});

const TOKEN = "123456:e2e-fake-bot-token";
const SECRET = "e2e-chat-secret-0123456789";
const OPERATOR_CHAT = 4242;
const STRANGER_CHAT = 9999;
let updateId = 1;

/** A Telegram update carrying `text` from `chat`. */
function update(chat: number, text: string) {
  return {
    update_id: updateId++,
    message: { message_id: updateId, date: 0, chat: { id: chat, type: "private" }, from: { id: chat + 1, is_bot: false, username: "op" }, text },
  };
}

/** The webhook's answer: an error's code and field, or what the command did. */
interface WebhookAnswer {
  code?: string;
  field?: string;
  command?: string | null;
  outcome?: string;
  sent?: boolean;
}

function post(body: unknown, secret: string | null = SECRET, raw?: string) {
  const headers: Record<string, string> = {};
  if (secret !== null) headers["x-telegram-bot-api-secret-token"] = secret;
  return raw === undefined
    ? fetchJson<WebhookAnswer>("/telegram/webhook", { method: "POST", headers, json: body })
    : fetchJson<WebhookAnswer>("/telegram/webhook", { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: raw });
}

interface AuditPage {
  events: { kind: string; actor: string; record: { event: Record<string, unknown> } }[];
  last_seq: number;
  verified: boolean | null;
}

async function auditAfter(seq: number): Promise<AuditPage> {
  const res = await adminFetch<AuditPage>(`/api/v1/audit?after=${seq}&limit=1000`);
  expect(res.status, res.text).toBe(200);
  return res.body as AuditPage;
}

let bot: Bot;
let baseSeq = 0;

beforeAll(async () => {
  await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
  const port = (fake.address() as AddressInfo).port;
  const set = await adminFetch<Record<string, unknown>>("/api/v1/chat", {
    method: "PUT",
    json: { bot_token: TOKEN, webhook_secret: SECRET, allowed_chat_ids: [OPERATOR_CHAT], api_base_url: `http://127.0.0.1:${port}` },
  });
  expect(set.status, set.text).toBe(200);
  expect(set.body).toMatchObject({ enabled: true, bot_token_set: true, webhook_secret_set: true, allowed_chat_ids: [OPERATOR_CHAT] });
  expect(set.text).not.toContain(SECRET);
  expect(set.text).not.toContain("e2e-fake-bot-token");
  bot = await createBot({ prefix: "chat", market: "spot", instruments: ["BTCUSDT"], qty: "0.01" });
  const opened = await signal(bot, "buy", "BTCUSDT");
  expect(opened.status, opened.text).toBe(200);
  baseSeq = (await auditAfter(0)).last_seq;
});

afterAll(async () => {
  await adminFetch("/api/v1/resume", { method: "POST", json: { reason: "chat e2e over" } });
  await adminFetch("/api/v1/chat", { method: "PUT", json: { bot_token: null, webhook_secret: null, allowed_chat_ids: [] } });
  if (bot) await adminFetch(`/api/v1/bots/${bot.id}?force=true`, { method: "DELETE" });
  await new Promise<void>((r) => fake.close(() => r()));
});

describe("Telegram chat control", () => {
  it("refuses and audits a stranger's chat and a wrong secret, executing nothing; malformed updates get precise 4xx", async () => {
    const stranger = await post(update(STRANGER_CHAT, "/halt"));
    expect([stranger.status, stranger.body?.code], stranger.text).toEqual([403, "chat_not_allowed"]);
    const forged = await post(update(OPERATOR_CHAT, "/halt"), "wrong-secret-000000000");
    expect([forged.status, forged.body?.code], forged.text).toEqual([401, "bad_secret"]);
    const bare = await post(update(OPERATOR_CHAT, "/halt"), null);
    expect(bare.status, bare.text).toBe(401);
    // Nothing was executed or answered.
    expect(sent, JSON.stringify(sent)).toEqual([]);
    expect((await health(bot)).state).toBe("running");

    const page = await auditAfter(baseSeq);
    expect(page.verified, JSON.stringify(page)).toBe(true);
    const refused = page.events.filter((e) => e.kind === "chat_refused").map((e) => e.record.event);
    expect(refused, JSON.stringify(page.events)).toEqual([
      { kind: "chat_refused", chat_id: STRANGER_CHAT, user_id: STRANGER_CHAT + 1, reason: "chat_not_allowed", command: "/halt" },
      { kind: "chat_refused", chat_id: OPERATOR_CHAT, user_id: OPERATOR_CHAT + 1, reason: "bad_secret", command: "/halt" },
      { kind: "chat_refused", chat_id: OPERATOR_CHAT, user_id: OPERATOR_CHAT + 1, reason: "bad_secret", command: "/halt" },
    ]);
    expect(page.events.some((e) => e.kind === "halt")).toBe(false);

    // Hostile shapes: precise refusals, no crash.
    const notJson = await post(undefined, SECRET, "{not json");
    expect([notJson.status, notJson.body?.code]).toEqual([400, "invalid_json"]);
    const noChat = await post({ update_id: 1, message: { text: "/halt" } });
    expect([noChat.status, noChat.body?.field]).toEqual([400, "message.chat"]);
    const edit = await post({ update_id: 2, edited_message: {} });
    expect([edit.status, edit.body?.code]).toEqual([422, "no_message"]);
    const huge = await post(undefined, SECRET, JSON.stringify(update(OPERATOR_CHAT, "x".repeat(70_000))));
    expect([huge.status, huge.body?.code]).toEqual([413, "body_too_large"]);
    const unicode = await post(update(OPERATOR_CHAT, "/ᚠ🛑\u0000 ǅ"));
    expect(unicode.status, unicode.text).toBe(200);
    expect(unicode.body?.command).toBeNull();
  });

  it("answers /status from the allowlisted chat with the bot's real figures", async () => {
    const summary = await adminFetch<{ equity: string; pnl_today: string; open_positions: number }>(`/api/v1/bots/${bot.id}/summary`);
    expect(summary.status, summary.text).toBe(200);
    expect(summary.body?.open_positions).toBe(1);
    sent.length = 0;
    const res = await post(update(OPERATOR_CHAT, "/status"));
    expect([res.status, res.body?.command, res.body?.outcome, res.body?.sent], res.text).toEqual([200, "status", "ok", true]);
    expect(sent.length).toBe(1);
    expect(sent[0]?.path).toBe(`/bot${TOKEN}/sendMessage`);
    expect(sent[0]?.body.chat_id).toBe(OPERATOR_CHAT);
    const text = sent[0]?.body.text ?? "";
    expect(text).toContain("Platform running");
    expect(text).toContain(`${bot.id}: running, P&L today ${summary.body?.pnl_today} USDT, equity ${summary.body?.equity}, open positions 1`);
  });

  it("halts every bot on /halt from the allowlisted chat: entries are refused afterwards, and the command is audited with chat and user", async () => {
    const before = (await auditAfter(0)).last_seq;
    sent.length = 0;
    const res = await post(update(OPERATOR_CHAT, "/halt@KeelBot"));
    expect([res.status, res.body?.command, res.body?.outcome], res.text).toEqual([200, "halt", "ok"]);
    expect(sent[0]?.body.text ?? "").toContain("Platform halted");
    expect((await health(bot)).state).toBe("halted");
    const entry = await signal(bot, "buy", "BTCUSDT");
    expect(entry.status, entry.text).toBe(423);
    expect(entry.text).toContain("risk_platform_halted");

    const page = await auditAfter(before);
    const halt = page.events.find((e) => e.kind === "halt");
    expect(halt?.actor, JSON.stringify(page.events)).toBe(`token:telegram-${OPERATOR_CHAT}`);
    const cmd = page.events.find((e) => e.kind === "chat_command")?.record.event;
    expect(cmd).toEqual({ kind: "chat_command", chat_id: OPERATOR_CHAT, user_id: OPERATOR_CHAT + 1, username: "op", command: "halt", outcome: "ok" });
  });
});
