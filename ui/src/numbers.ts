/**
 * The dashboard's number vocabulary on top of `format.ts` (the rule shared with the engine):
 * a price at the instrument's tick, a quantity at its lot step, money in its currency, and exact
 * sums of decimal strings for the portfolio totals. Why a module: every screen formats through
 * these few functions, so no figure can show more digits than its instrument allows, and totals
 * are added as scaled integers (BigInt), never through a float.
 */
import { fixed, formatMoney, formatPrice, formatQty, placesOf } from './format';

/** Tick and lot step of one instrument (`GET /bots/{id}/market`); null while unknown. */
export interface Precision {
  tick: string | null;
  step: string | null;
}

/** Places used when the instrument's rules could not be read: the money rule's ceiling. */
export const FALLBACK_PLACES = 8;

const DEC_RE = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Trailing zeros removed after rounding to `dp` places (`1.50000` → `1.5`). */
function trimmed(value: string, dp: number): string {
  const t = fixed(value, dp);
  return t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
}

/** A price: to the tick when known, else at most 8 places without trailing zeros. */
export function price(value: string | null | undefined, p?: Precision | null): string {
  if (value == null || value === '') return '—';
  return p?.tick ? formatPrice(value, p.tick) : trimmed(value, FALLBACK_PLACES);
}

/** A quantity: to the lot step when known, else at most 8 places without trailing zeros. */
export function qty(value: string | null | undefined, p?: Precision | null): string {
  if (value == null || value === '') return '—';
  return p?.step ? formatQty(value, p.step) : trimmed(value, FALLBACK_PLACES);
}

/** A non-zero quantity below one lot step: fee dust in the base asset, not a tradable position. */
export function isDust(value: string, p?: Precision | null): boolean {
  if (!p?.step || compare(value, '0') === 0) return false;
  const abs = value.trim().replace(/^[+-]/, '');
  return compare(abs, p.step) < 0;
}

/** A position's quantity: to the step, or `< step` (dust) when it holds less than one lot. */
export function positionQty(value: string, p?: Precision | null): string {
  return isDust(value, p) ? `< ${qty(p?.step ?? '', p)}` : qty(value, p);
}

/** Money without its currency (for cells whose header names it): `-0.40`, `65,975.07`. */
export function amount(value: string | null | undefined, currency: string): string {
  if (value == null || value === '') return '—';
  const t = formatMoney(value, currency || 'USDT');
  return t.slice(0, t.length - (currency || 'USDT').length - 1);
}

/** Money with an explicit sign for gains (`+1.20`), for P&L cells; no currency. */
export function signedAmount(value: string | null | undefined, currency: string): string {
  const t = amount(value, currency);
  return t !== '—' && compare(value ?? '0', '0') > 0 && !t.startsWith('+') ? `+${t}` : t;
}

/** Money with its currency, signed for gains: `+1.20 USDT`. */
export function signedMoney(value: string | null | undefined, currency: string): string {
  const t = signedAmount(value, currency);
  return t === '—' ? t : `${t} ${currency}`;
}

interface Scaled {
  n: bigint;
  scale: number;
}

function scaled(value: string): Scaled | null {
  const m = DEC_RE.exec(value.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const frac = m[3] ?? '';
  const n = BigInt((m[2] || '0') + frac);
  return { n: m[1] === '-' ? -n : n, scale: frac.length };
}

function rescale(a: Scaled, scale: number): bigint {
  return a.n * 10n ** BigInt(scale - a.scale);
}

function text(v: Scaled): string {
  const neg = v.n < 0n;
  let digits = (neg ? -v.n : v.n).toString().padStart(v.scale + 1, '0');
  if (v.scale > 0) digits = `${digits.slice(0, -v.scale)}.${digits.slice(-v.scale)}`;
  return `${neg ? '-' : ''}${digits}`;
}

/** Exact sum of decimal strings (unparseable entries are skipped). */
export function sum(values: (string | null | undefined)[]): string {
  const parsed = values.map((v) => (v == null ? null : scaled(v))).filter((v): v is Scaled => v !== null);
  const scale = Math.max(0, ...parsed.map((p) => p.scale));
  const total = parsed.reduce((acc, p) => acc + rescale(p, scale), 0n);
  return text({ n: total, scale });
}

/** Exact difference `a − b`. */
export function sub(a: string, b: string): string {
  const neg = b.trim().startsWith('-') ? b.trim().slice(1) : `-${b.trim().replace(/^\+/, '')}`;
  return sum([a, neg]);
}

/** Exact product of two decimal strings ("0" for unparseable input). */
export function mul(a: string, b: string): string {
  const x = scaled(a);
  const y = scaled(b);
  if (!x || !y) return '0';
  return text({ n: x.n * y.n, scale: x.scale + y.scale });
}

/** -1, 0 or 1 as `a` is below, equal to or above `b` (exact). */
export function compare(a: string, b: string): -1 | 0 | 1 {
  const x = scaled(a);
  const y = scaled(b);
  if (!x || !y) return 0;
  const scale = Math.max(x.scale, y.scale);
  const d = rescale(x, scale) - rescale(y, scale);
  return d > 0n ? 1 : d < 0n ? -1 : 0;
}

/** Decimal places a displayed number string carries (`65,975.07` → 2). */
export function shownPlaces(shown: string): number {
  const m = /\.(\d+)/.exec(shown);
  return m ? m[1].length : 0;
}

/** Decimal places of a tick/step, re-exported for the chart's price format. */
export { placesOf };
