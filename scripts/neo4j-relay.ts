// A fault-injecting HTTP relay between neo4j-proxy and Neo4j, for tests and benchmarks.
//
// Why: "Neo4j committed the batch but the proxy never got the ack" cannot be produced with Neo4j
// alone, and the proxy's NEO4J_URL cannot change at runtime. With NEO4J_URL pointing here, every
// Query API call passes through this relay, which forwards it unchanged unless told to fail:
// - `armDrop({count, botId})`: the next `count` audit WRITES (statements starting `UNWIND $events`,
//   optionally only those carrying `botId`'s events) are forwarded, Neo4j answers (so it has
//   committed), and then the caller's connection is destroyed without a byte of that answer;
// - `block: true` (with armDrop): after the drops, further matching writes are refused without
//   being forwarded, until `release()`, so a test can inspect the state between drop and retry;
// - `answer: {status, body}` (with armDrop): the matching writes are NOT forwarded and get this
//   answer instead, e.g. a Neo4j error body, to see how proxy and outbox classify `errors[].code`.
// Neo4j unreachable (stopped, killed) makes the relay destroy the caller's connection, which is
// what the proxy would see without the relay. Every write call is recorded (bot, first..last seq,
// outcome), which also gives benchmarks the batch sizes the outboxes really ship.
//
// Plain TypeScript that Node 22 runs directly (type stripping): no enums, no parameter properties.

import http from "node:http";
import type { AddressInfo } from "node:net";

/** The part of one audit write batch that belongs to one bot. */
export interface WriteSpan {
  bot_id: string;
  first_seq: number;
  last_seq: number;
  count: number;
}

/** One audit write call seen by the relay. */
export interface WriteCall {
  /** Time the call arrived (ms since epoch). */
  at_ms: number;
  /** Events in the call. */
  events: number;
  spans: WriteSpan[];
  /** forwarded: answer relayed; dropped: Neo4j answered, caller's connection cut; blocked: refused
   *  without forwarding; unreachable: Neo4j did not answer (connection cut); answered: not
   *  forwarded, the armed answer sent instead. */
  outcome: "forwarded" | "dropped" | "blocked" | "unreachable" | "answered";
  /** Neo4j's HTTP status (forwarded and dropped calls). */
  status: number | null;
}

/** Counters and the recent write calls. */
export interface RelayStats {
  /** Query API calls (any statement). */
  calls: number;
  /** Calls Neo4j did not answer (down): connection cut. */
  unreachable: number;
  /** Audit write calls seen (any outcome). */
  writes: number;
  /** Write answers dropped after Neo4j answered. */
  dropped: number;
  /** Writes refused while blocked. */
  blocked: number;
  /** Drops still armed. */
  armed: number;
  /** Whether matching writes are being refused. */
  blocking: boolean;
  /** Batch sizes of forwarded (acknowledged) writes: count, mean, max. */
  batch: { count: number; mean: number; max: number; events: number };
  /** The last write calls (at most 2000), oldest first. */
  recent: WriteCall[];
}

/** What to fail next. */
export interface DropPlan {
  /** How many matching writes lose their answer. */
  count: number;
  /** Only writes carrying this bot's events (default: any write). */
  botId?: string;
  /** After the drops, refuse matching writes without forwarding until `release()`. */
  block?: boolean;
  /** Instead of forwarding and dropping: answer the matching writes with this (a Neo4j error). */
  answer?: { status: number; body: string };
}

/** A running relay. */
export interface Neo4jRelay {
  /** URL to give neo4j-proxy as NEO4J_URL. */
  url: string;
  /** Where it forwards to. */
  upstream: string;
  armDrop: (plan: DropPlan) => void;
  /** Stops blocking and disarms remaining drops. */
  release: () => void;
  stats: () => RelayStats;
  /** Clears counters and the call log (not armed drops). */
  resetStats: () => void;
  close: () => Promise<void>;
}

const RECENT_MAX = 2000;

/** Reads the bot spans of a Query API body when it is an audit write, else null. */
export function writeSpans(body: string): WriteSpan[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  const p = parsed as { statement?: unknown; parameters?: { events?: unknown } };
  if (typeof p.statement !== "string" || !p.statement.startsWith("UNWIND $events")) return null;
  const events = p.parameters?.events;
  if (!Array.isArray(events)) return null;
  const spans = new Map<string, WriteSpan>();
  for (const e of events as { bot_id?: unknown; seq?: unknown }[]) {
    const bot = String(e.bot_id);
    const seq = Number(e.seq);
    const s = spans.get(bot);
    if (!s) spans.set(bot, { bot_id: bot, first_seq: seq, last_seq: seq, count: 1 });
    else {
      s.first_seq = Math.min(s.first_seq, seq);
      s.last_seq = Math.max(s.last_seq, seq);
      s.count += 1;
    }
  }
  return [...spans.values()];
}

/**
 * Starts a relay on 127.0.0.1 (`port` 0 = a free port) forwarding to `upstream`
 * (e.g. http://127.0.0.1:7474). The upstream may be down; calls then fail as described above.
 */
export async function startNeo4jRelay(upstream: string, port = 0): Promise<Neo4jRelay> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let plan: { left: number; botId: string | null; block: boolean; answer: DropPlan["answer"] | null } = {
    left: 0,
    botId: null,
    block: false,
    answer: null,
  };
  let blocking = false;
  let counters = { calls: 0, unreachable: 0, writes: 0, dropped: 0, blocked: 0, acked: 0, ackedEvents: 0, maxBatch: 0 };
  let recent: WriteCall[] = [];
  const record = (call: WriteCall): void => {
    recent.push(call);
    if (recent.length > RECENT_MAX) recent.shift();
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => res.destroy());
    req.on("end", () => {
      counters.calls += 1;
      const body = Buffer.concat(chunks);
      const spans = req.method === "POST" ? writeSpans(body.toString("utf8")) : null;
      const events = spans?.reduce((a, s) => a + s.count, 0) ?? 0;
      const matches = spans !== null && (plan.botId === null || spans.some((s) => s.bot_id === plan.botId));
      const call: WriteCall | null = spans ? { at_ms: Date.now(), events, spans, outcome: "forwarded", status: null } : null;
      if (call) counters.writes += 1;
      if (call && matches && plan.left === 0 && blocking) {
        counters.blocked += 1;
        call.outcome = "blocked";
        record(call);
        req.socket.destroy();
        return;
      }
      const drop = call !== null && matches && plan.left > 0;
      if (drop) {
        plan.left -= 1;
        if (plan.left === 0 && plan.block) blocking = true;
      }
      if (drop && call && plan.answer) {
        call.outcome = "answered";
        call.status = plan.answer.status;
        record(call);
        res.writeHead(plan.answer.status, { "content-type": "application/json" });
        res.end(plan.answer.body);
        return;
      }
      const headers = { ...req.headers, host: target.host };
      const up = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent },
        (upRes) => {
          const out: Buffer[] = [];
          upRes.on("data", (c: Buffer) => out.push(c));
          upRes.on("error", () => res.destroy());
          upRes.on("end", () => {
            if (call) {
              call.status = upRes.statusCode ?? null;
              if (drop) {
                counters.dropped += 1;
                call.outcome = "dropped";
              } else if ((upRes.statusCode ?? 0) < 300) {
                counters.acked += 1;
                counters.ackedEvents += events;
                counters.maxBatch = Math.max(counters.maxBatch, events);
              }
              record(call);
            }
            if (drop) {
              // Neo4j has answered (committed); the caller never hears of it.
              req.socket.destroy();
              return;
            }
            const h = { ...upRes.headers };
            delete h["transfer-encoding"];
            h["content-length"] = String(Buffer.concat(out).length);
            res.writeHead(upRes.statusCode ?? 502, h);
            res.end(Buffer.concat(out));
          });
        },
      );
      up.on("error", () => {
        counters.unreachable += 1;
        if (call) {
          call.outcome = "unreachable";
          record(call);
        }
        // An armed drop that never reached Neo4j stays armed.
        if (drop) {
          plan.left += 1;
          blocking = false;
        }
        req.socket.destroy();
      });
      up.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    upstream,
    armDrop: (p: DropPlan): void => {
      plan = { left: Math.max(0, Math.floor(p.count)), botId: p.botId ?? null, block: p.block ?? false, answer: p.answer ?? null };
      blocking = false;
    },
    release: (): void => {
      plan = { left: 0, botId: null, block: false, answer: null };
      blocking = false;
    },
    stats: (): RelayStats => ({
      calls: counters.calls,
      unreachable: counters.unreachable,
      writes: counters.writes,
      dropped: counters.dropped,
      blocked: counters.blocked,
      armed: plan.left,
      blocking,
      batch: {
        count: counters.acked,
        events: counters.ackedEvents,
        mean: counters.acked > 0 ? Math.round((counters.ackedEvents / counters.acked) * 10) / 10 : 0,
        max: counters.maxBatch,
      },
      recent: [...recent],
    }),
    resetStats: (): void => {
      counters = { calls: 0, unreachable: 0, writes: 0, dropped: 0, blocked: 0, acked: 0, ackedEvents: 0, maxBatch: 0 };
      recent = [];
    },
    close: async (): Promise<void> => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
