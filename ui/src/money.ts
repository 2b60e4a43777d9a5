/**
 * Display helpers for decimal strings. Why string-only: money from the API is exact, and the UI
 * must never round it through a float. These functions look at the text, they do no arithmetic.
 */
import type { Decimal } from './api';

const DECIMAL_RE = /^[+-]?(\d+)(\.\d+)?$/;

/** -1, 0 or 1 from the text of a decimal; 0 for anything unparseable. */
export function sign(d: Decimal | null | undefined): -1 | 0 | 1 {
  if (d == null) return 0;
  const s = d.trim();
  if (!DECIMAL_RE.test(s)) return 0;
  if (/^[+-]?0*(\.0*)?$/.test(s)) return 0;
  return s.startsWith('-') ? -1 : 1;
}

/** Groups the integer part by thousands and keeps every fractional digit as sent. */
export function formatDecimal(d: Decimal | number | null | undefined): string {
  if (d == null) return '—';
  const s = String(d).trim();
  const m = /^([+-]?)(\d+)(\.\d+)?$/.exec(s);
  if (!m) return s;
  const [, sg, int, frac = ''] = m;
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sg === '-' ? '−' : ''}${grouped}${frac}`;
}

/** A signed amount with an explicit + for gains, for P&L cells. */
export function formatSigned(d: Decimal | null | undefined): string {
  if (d == null) return '—';
  const f = formatDecimal(d);
  return sign(d) > 0 && !d.trim().startsWith('+') ? `+${f}` : f;
}

/** CSS class for a P&L value: gains green, losses red. */
export function pnlClass(d: Decimal | null | undefined): string {
  const s = sign(d);
  return s > 0 ? 'pos' : s < 0 ? 'neg' : 'zero';
}

/** Age of a timestamp as "12s", "5m", "3h", "2d"; "never" when null. */
export function age(ts: string | null | undefined, nowMs: number): string {
  if (!ts) return 'never';
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return ts;
  const s = Math.max(0, Math.floor((nowMs - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Share of a limit in use, 0..100, for a usage bar (display only; floats are fine here). */
export function usagePct(used: Decimal | number, limit: Decimal | number): number {
  const u = Math.abs(Number(used));
  const l = Math.abs(Number(limit));
  if (!Number.isFinite(u) || !Number.isFinite(l) || l === 0) return 0;
  return Math.min(100, (u / l) * 100);
}

/** Local short date-time for tables. */
export function shortTime(ts: string | null | undefined): string {
  if (!ts) return '—';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  return d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}
