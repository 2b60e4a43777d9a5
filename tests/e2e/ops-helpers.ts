// Helpers of the controls and alerts specs: bots on the simulator, signals, a local webhook sink
// that records every alert message it receives, and waiting for asynchronous deliveries.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import { adminFetch, fetchJson, keel, simAdmin, uniqueId } from "./harness.js";

export interface Bot {
  id: string;
  secret: string;
}

/** Creates a bot on the simulator (`mode` paper or testnet; testnet gets the sim credentials). */
export async function createBot(opts: {
  prefix: string;
  exchange?: "binance" | "bybit";
  market?: "spot" | "linear";
  mode?: "paper" | "testnet";
  instruments: string[];
  qty: string;
  risk?: Record<string, unknown>;
  alerts?: Record<string, unknown>;
  key?: string;
  secretKey?: string;
}): Promise<Bot> {
  const id = uniqueId(opts.prefix);
  const res = await adminFetch<{ webhook_secret: string }>("/api/v1/bots", {
    method: "POST",
    json: {
      id,
      name: `${opts.prefix} e2e`,
      exchange: opts.exchange ?? "binance",
      market: opts.market ?? "spot",
      mode: opts.mode ?? "paper",
      base_url: keel().simUrl,
      instruments: opts.instruments,
      sizing: { mode: "fixed_qty", value: opts.qty },
      risk: opts.risk ?? {},
      ...(opts.alerts ? { alerts: opts.alerts } : {}),
    },
  });
  expect(res.status, res.text).toBe(201);
  if (opts.mode === "testnet") {
    const creds = await adminFetch(`/api/v1/bots/${id}/credentials`, {
      method: "PUT",
      json: { api_key: opts.key, api_secret: opts.secretKey },
    });
    expect(creds.status, creds.text).toBe(200);
  }
  return { id, secret: res.body?.webhook_secret ?? "" };
}

export interface SignalAnswer {
  status?: string;
  code?: string;
  message?: string;
  orders?: { status: string; error?: string }[];
}

/** Sends one alert to a bot. */
export function signal(bot: Bot, action: string, symbol: string, extra: Record<string, unknown> = {}) {
  return fetchJson<SignalAnswer>(`/webhook/${bot.id}`, {
    method: "POST",
    json: { secret: bot.secret, id: uniqueId("sig"), action, symbol, time: new Date().toISOString(), ...extra },
  });
}

export interface PositionRow {
  symbol: string;
  qty: string;
}

export async function positions(bot: Bot): Promise<PositionRow[]> {
  const res = await adminFetch<PositionRow[]>(`/api/v1/bots/${bot.id}/positions`);
  expect(res.status, res.text).toBe(200);
  return res.body ?? [];
}

export async function health(bot: Bot): Promise<Record<string, unknown> & { state: string; flags: { paused: boolean; pause_reason: string | null } }> {
  const res = await adminFetch<Record<string, unknown> & { state: string; flags: { paused: boolean; pause_reason: string | null } }>(`/api/v1/bots/${bot.id}/health`);
  expect(res.status, res.text).toBe(200);
  return res.body as Record<string, unknown> & { state: string; flags: { paused: boolean; pause_reason: string | null } };
}

/** The simulator's signed position of an account on a venue key such as `BybitLinear:SOLUSDT`. */
export async function simPosition(account: string, key: RegExp): Promise<number> {
  const st = await simAdmin<{ accounts: { name: string; positions: Record<string, { amt: string }> }[] }>(`/__admin/state?account=${account}`);
  const acc = st.accounts.find((a) => a.name === account);
  const entry = Object.entries(acc?.positions ?? {}).find(([k]) => key.test(k));
  return entry ? Number(entry[1].amt) : 0;
}

/** Runs the cron trigger once (wrangler dev --test-scheduled): a tick on every bot. */
export async function runCron(): Promise<void> {
  const res = await fetch(`${keel().baseUrl}/__scheduled?cron=*+*+*+*+*`);
  expect(res.status).toBe(200);
}

/** A local HTTP receiver for outgoing alert webhooks. */
export interface Sink {
  url: string;
  messages: Record<string, unknown>[];
  close: () => Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const messages: Record<string, unknown>[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      try {
        messages.push(JSON.parse(body) as Record<string, unknown>);
      } catch {
        messages.push({ raw: body });
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls `check` until it returns true or `ms` pass. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}
