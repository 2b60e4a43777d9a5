// Small helpers of the load generator: a microsecond wall clock, percentiles, typed HTTP calls.
//
// Why a wall clock and not performance.now() alone: the design-budget measurement compares our
// send time with the exchange simulator's receive timestamp (`recv_us`, epoch µs from the same
// machine's system clock), so both sides must read the same clock.

/** Epoch time in µs (fractional), from the monotonic clock anchored at the process' time origin. */
export function nowUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

/** Distribution summary, in the unit of the samples. */
export interface Dist {
  n: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted samples (`q` in 0..1). */
function rank(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/** p50/p95/p99/min/max/mean of `samples` (nearest rank), rounded to 0.01. */
export function dist(samples: number[]): Dist {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 100) / 100;
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : Number.NaN;
  return {
    n: s.length,
    min: r(s[0] ?? Number.NaN),
    p50: r(rank(s, 0.5)),
    p95: r(rank(s, 0.95)),
    p99: r(rank(s, 0.99)),
    max: r(s[s.length - 1] ?? Number.NaN),
    mean: r(mean),
  };
}

/** A parsed HTTP answer. */
export interface Answer<T = unknown> {
  status: number;
  body: T | null;
  text: string;
}

/** Sends a request (JSON body when `json` is given) and parses a JSON answer when there is one. */
export async function call<T = unknown>(
  url: string,
  init: { method?: string; json?: unknown; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  if (init.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(init.json);
  }
  const res = await fetch(url, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
    signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  let parsed: T | null;
  try {
    parsed = text ? (JSON.parse(text) as T) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed, text };
}

/** `call` that throws unless the answer is 2xx: a broken fixture must never pass silently. */
export async function mustCall<T = unknown>(
  url: string,
  init: Parameters<typeof call>[1] = {},
): Promise<T> {
  const res = await call<T>(url, init);
  if (res.status < 200 || res.status > 299) {
    throw new Error(`${init.method ?? "GET"} ${url} answered ${res.status}: ${res.text.slice(0, 400)}`);
  }
  return res.body as T;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A positive integer from an environment variable, else `fallback`. */
export function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}
