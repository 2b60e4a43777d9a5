// Global halt latency: how long `POST /api/v1/halt` takes to answer with every bot halted.
//
// Why a benchmark and not a test: issue #9 asks that a halt stops every bot's entries "within one
// second". The API answers only after the flag is durable in every BotDO (pushed in parallel), so
// the answer time IS the time until the last bot refuses entries. Timing belongs here; the e2e
// spec (tests/e2e/controls.spec.ts) proves the causal part (every bot acknowledged, entries refused).
import { type Dist, dist, mustCall, nowUs } from "./lib.ts";
import type { Target } from "./load.ts";

/** Halt round trips measured against a stack with `bots` bots registered. */
export interface HaltResult {
  bots: number;
  haltMs: Dist;
  resumeMs: Dist;
  /** Bots that did not acknowledge a halt (answered with an error) over all rounds. */
  unacknowledged: number;
}

function admin<T>(t: Target, path: string, json: unknown): Promise<T> {
  return mustCall<T>(`${t.baseUrl}${path}`, { method: "POST", json, headers: { authorization: `Bearer ${t.adminToken}` } });
}

/** `rounds` × (halt, then resume), sequential; the platform ends resumed. */
export async function measureHalt(t: Target, rounds: number): Promise<HaltResult> {
  const halt: number[] = [];
  const resume: number[] = [];
  let bots = 0;
  let unacknowledged = 0;
  try {
    for (let i = 0; i < rounds; i++) {
      const t0 = nowUs();
      const answer = await admin<{ bots: Record<string, { error?: unknown }> }>(t, "/api/v1/halt", { reason: "bench" });
      halt.push((nowUs() - t0) / 1000);
      const acks = Object.values(answer.bots ?? {});
      bots = acks.length;
      unacknowledged += acks.filter((a) => a === null || typeof a !== "object" || "error" in a).length;
      const t1 = nowUs();
      await admin(t, "/api/v1/resume", {});
      resume.push((nowUs() - t1) / 1000);
    }
  } finally {
    await admin(t, "/api/v1/resume", {}).catch(() => undefined);
  }
  return { bots, haltMs: dist(halt), resumeMs: dist(resume), unacknowledged };
}
