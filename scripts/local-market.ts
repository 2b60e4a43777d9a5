// The local stack's clock: what Cloudflare and the exchanges do on their own in production, done
// for `npm start` (scripts/start.ts) so a local Keel behaves like a deployed one.
//
// - Candles: the simulator starts with no history, so strategy bots, `keel data import` and
//   backtests had nothing to read. This seeds every simulated symbol with a deterministic 1-minute
//   random walk ending at the last closed minute, then appends each new minute's bar as it closes
//   (every venue's price follows the last close, so paper fills and marks move with the chart).
// - Cron: `wrangler dev` never fires `[triggers] crons` by itself; this calls its
//   `/__scheduled` endpoint once a minute, as Cloudflare runs `* * * * *`, so marks, unrealized
//   P&L, health.last_tick and reconciliation work without a manual call.
//
// The end-to-end suite does NOT use this: its specs drive ticks and prices themselves.

/** What the clock needs to know. */
export interface LocalMarketOptions {
  /** The edge Worker (wrangler dev with --test-scheduled). */
  baseUrl: string;
  /** The exchange simulator. */
  simUrl: string;
  /** Days of 1-minute history to seed (default 30). */
  historyDays?: number;
  /** Largest move per 1-minute bar in basis points (default 10: about BTC's daily range). */
  stepBps?: number;
  /** Progress and failures. */
  info?: (msg: string) => void;
}

/** A running clock. */
export interface LocalMarket {
  /** Symbols seeded, with their bar count. */
  seeded: Record<string, number>;
  /** Stops the timers (idempotent). */
  stop: () => void;
}

const MINUTE_MS = 60_000;
/** After a minute closes, wait this long before appending its bar and firing the cron. */
const AFTER_CLOSE_MS = 1_000;
/** The cron expression of wrangler.toml's `[triggers]`. */
const CRON = "* * * * *";

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Every symbol the simulator lists, from its running config. */
async function simSymbols(simUrl: string): Promise<string[]> {
  const res = await fetch(`${simUrl}/__admin/config`, { signal: AbortSignal.timeout(10_000) });
  const cfg = (await res.json()) as unknown;
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (typeof o.symbol === "string" && o.tick_size !== undefined) found.add(o.symbol);
      Object.values(o).forEach(walk);
    }
  };
  walk(cfg);
  return [...found].sort();
}

/**
 * How many 1-minute bars to append so the history ends with the last closed minute at `nowMs`,
 * given the open time of the last stored bar. Exported for its unit test.
 */
export function barsDue(lastOpenMs: number, nowMs: number): number {
  const lastClosedOpen = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
  return Math.max(0, Math.round((lastClosedOpen - lastOpenMs) / MINUTE_MS));
}

/** Seeds the simulator's candles, then keeps them and the cron going every minute. */
export async function startLocalMarket(o: LocalMarketOptions): Promise<LocalMarket> {
  const info = o.info ?? ((): void => {});
  const days = o.historyDays ?? 30;
  const stepBps = o.stepBps ?? 10;
  const count = days * 24 * 60;
  const symbols = await simSymbols(o.simUrl);
  const lastOpen = new Map<string, number>();
  const seeded: Record<string, number> = {};
  for (const [i, symbol] of symbols.entries()) {
    // No start_ms: the simulator ends the walk at the last closed minute.
    const out = await post(`${o.simUrl}/__admin/klines`, {
      symbol,
      interval: "1m",
      generate: { count, step_bps: stepBps, seed: 1000 + i },
    });
    lastOpen.set(symbol, Number(out.last_open_time));
    seeded[symbol] = Number(out.bars);
  }
  info(`simulator seeded with ${days} days of 1m candles for ${symbols.join(", ")}`);

  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let tickNo = 0;
  const tick = async (): Promise<void> => {
    const now = Date.now();
    for (const [i, symbol] of symbols.entries()) {
      const last = lastOpen.get(symbol);
      if (last === undefined) continue;
      const due = barsDue(last, now);
      if (due === 0) continue;
      try {
        const out = await post(`${o.simUrl}/__admin/klines`, {
          symbol,
          interval: "1m",
          append: true,
          generate: { count: due, step_bps: stepBps, seed: 1000 + i + Math.floor(now / MINUTE_MS) },
        });
        lastOpen.set(symbol, Number(out.last_open_time));
      } catch (err) {
        info(`candles: ${symbol}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    try {
      const res = await fetch(`${o.baseUrl}/__scheduled?cron=${encodeURIComponent(CRON)}`, {
        signal: AbortSignal.timeout(55_000),
      });
      await res.text();
      tickNo += 1;
      if (!res.ok) info(`cron: HTTP ${res.status}`);
      else if (tickNo === 1) info("cron fired (every minute from now on, as Cloudflare would)");
    } catch (err) {
      info(`cron: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const schedule = (): void => {
    if (stopped) return;
    const now = Date.now();
    const wait = MINUTE_MS - (now % MINUTE_MS) + AFTER_CLOSE_MS;
    timer = setTimeout(() => {
      void tick().finally(schedule);
    }, wait);
  };
  // The first cron now: health.last_tick and reconciliation need not wait a minute.
  await tick();
  schedule();
  return {
    seeded,
    stop: (): void => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
