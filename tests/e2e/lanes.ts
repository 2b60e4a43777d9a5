// Two lanes for the end-to-end files: vitest runs two spec files at a time (vitest.config.ts), and
// this lock decides which may run together. A file that changes what every file shares — the
// platform halt, a cron tick reaching every bot, a Workers or Neo4j restart, the audit relay, the
// master-key rotation, the shared candle store — runs ALONE ("exclusive"); a file that touches
// only what it owns (file-context.ts: its token, client IP, simulator, bots) runs beside another
// such file ("shared"). Every file is exclusive unless it is named in SHARED_FILES, so a new spec
// is safe by default and earns its lane by review.
//
// The lock is a readers–writer lock with strict arrival order: a file is granted when everything
// ahead of it in the queue is compatible with it, so an exclusive file waits for the shared file
// running beside it to end, and no file overtakes it meanwhile (no starvation, the seeded file
// order is kept). At most two files are ever in the queue (one per vitest worker).

/**
 * Spec files that may run beside another shared file: each touches only what it owns (and
 * newcomer.spec.ts a whole stack of its own). Not here, on purpose: first-hour (its bots trade on
 * the stack's own simulator, where dashboard-views seeds candles), backtest-api and history-r2
 * (they load the shared candle store), every file that halts, ticks the cron or restarts a part.
 */
export const SHARED_FILES: ReadonlySet<string> = new Set([
  "audit-mode.spec.ts",
  "audit-verify.spec.ts",
  "audit-zero-loss.spec.ts",
  "audit.spec.ts",
  "ccxt.spec.ts",
  "dashboard-views.spec.ts",
  "exchange-faults.spec.ts",
  "exchanges.spec.ts",
  "exits-parity.spec.ts",
  "hardening.spec.ts",
  "health.spec.ts",
  "hostile-webhooks.spec.ts",
  "newcomer.spec.ts",
  "protection-close.spec.ts",
  "protection.spec.ts",
  "security-headers.spec.ts",
  "signal.spec.ts",
  "strategy-live.spec.ts",
  "strategy-multi.spec.ts",
  "strategy-spec.spec.ts",
  "streams.spec.ts",
  "tokens.spec.ts",
  "webhook.spec.ts",
]);

/** How a file holds the lock. */
export type LaneMode = "shared" | "exclusive";

/** The lane a spec file (by its base name) runs in. */
export function laneOf(file: string): LaneMode {
  return SHARED_FILES.has(file) ? "shared" : "exclusive";
}

interface Ticket {
  id: number;
  file: string;
  mode: LaneMode;
  granted: boolean;
  waiters: (() => void)[];
}

/** The readers–writer lock itself (served by stack-control.ts to the vitest workers). */
export class Lanes {
  private next = 1;
  private queue: Ticket[] = [];

  /** Joins the queue; the ticket is granted at once when compatible with all ahead of it. */
  enter(file: string, mode: LaneMode): number {
    const ticket: Ticket = { id: this.next++, file, mode, granted: false, waiters: [] };
    this.queue.push(ticket);
    this.grant();
    return ticket.id;
  }

  /** Resolves true once the ticket is granted, or false after `ms` (the client asks again). */
  wait(id: number, ms: number): Promise<boolean> {
    const ticket = this.queue.find((t) => t.id === id);
    if (!ticket) return Promise.reject(new Error(`no lane ticket ${id}`));
    if (ticket.granted) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        ticket.waiters = ticket.waiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      ticket.waiters.push(done);
    });
  }

  /** Leaves the queue (granted or not) and grants whoever may now run. */
  leave(id: number): void {
    this.queue = this.queue.filter((t) => t.id !== id);
    this.grant();
  }

  /** The files holding the lock now, for the log. */
  holders(): string[] {
    return this.queue.filter((t) => t.granted).map((t) => `${t.file} (${t.mode})`);
  }

  private grant(): void {
    for (let i = 0; i < this.queue.length; i++) {
      const t = this.queue[i];
      const ahead = this.queue.slice(0, i);
      const ok = t.mode === "exclusive" ? ahead.length === 0 : ahead.every((a) => a.mode === "shared");
      if (!ok) break;
      if (!t.granted) {
        t.granted = true;
        for (const w of t.waiters) w();
        t.waiters = [];
      }
    }
  }
}
