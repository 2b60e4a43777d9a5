/**
 * Numbers for humans, the dashboard's copy of the engine's rule (`engine/src/format.rs`): prices
 * at the instrument's tick, quantities at its lot step, money in its currency (cents for fiat and
 * USD stablecoins, 4 significant digits below a cent, up to 8 decimals for other assets), "—"
 * for an unset limit. Pure string arithmetic (no float ever touches an amount); both copies are
 * checked against `engine/test_data/format/vectors.json`. The exact value goes in a hover title.
 */

/** What an unset limit reads as. */
export const UNSET = '—';

const CENT_CURRENCIES = ['USD', 'USDT', 'USDC', 'BUSD', 'FDUSD', 'TUSD', 'DAI', 'USDE', 'EUR', 'GBP'];
const MAX_DP = 8;
const SMALL_SIGNIFICANT = 4;
const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?$/;

interface Parts {
  neg: boolean;
  int: string;
  frac: string;
}

function parts(value: string): Parts | null {
  const m = DECIMAL_RE.exec(value.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const int = (m[2] || '0').replace(/^0+(?=\d)/, '');
  return { neg: m[1] === '-', int, frac: m[3] ?? '' };
}

/** Decimal places of a tick or step (`0.010` → 2, `1` → 0), at most 8. */
export function placesOf(increment: string): number {
  const p = parts(increment);
  if (!p) return 0;
  return Math.min(p.frac.replace(/0+$/, '').length, MAX_DP);
}

function group(sign: string, int: string, frac: string | null): string {
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${grouped}${frac === null ? '' : `.${frac}`}`;
}

/** `value` rounded half away from zero to `dp` places, `dp` decimals shown, grouped. */
export function fixed(value: string, dp: number): string {
  const p = parts(value);
  if (!p) return value;
  const frac = p.frac.padEnd(dp + 1, '0');
  let digits = p.int + frac.slice(0, dp);
  if (frac[dp] >= '5') {
    // Add one unit in the last kept place, carrying through the digit string.
    const arr = digits.split('');
    let i = arr.length - 1;
    for (; i >= 0; i--) {
      if (arr[i] === '9') arr[i] = '0';
      else {
        arr[i] = String(Number(arr[i]) + 1);
        break;
      }
    }
    digits = (i < 0 ? '1' : '') + arr.join('');
  }
  const int = digits.slice(0, digits.length - dp).replace(/^0+(?=\d)/, '') || '0';
  const f = dp > 0 ? digits.slice(digits.length - dp) : null;
  const zero = /^0*$/.test(int + (f ?? ''));
  return group(p.neg && !zero ? '-' : '', int, f);
}

/** A price at the instrument's tick precision. */
export function formatPrice(value: string, tick: string): string {
  return fixed(value, placesOf(tick));
}

/** A quantity at the instrument's lot-step precision. */
export function formatQty(value: string, step: string): string {
  return fixed(value, placesOf(step));
}

function moneyPlaces(p: Parts, currency: string): [number, boolean] {
  if (!CENT_CURRENCIES.includes(currency.toUpperCase())) return [MAX_DP, true];
  const allZero = /^0*$/.test(p.int + p.frac);
  const atLeastCent = p.int !== '0' || /[1-9]/.test(p.frac.slice(0, 2));
  if (allZero || atLeastCent) return [2, false];
  const zeros = Math.min(/^0*/.exec(p.frac)?.[0].length ?? 0, MAX_DP);
  return [Math.min(zeros + SMALL_SIGNIFICANT, MAX_DP), true];
}

/** An amount with its currency: `-0.40 USDT`, `65,975.07 USDT`, `0.0000123 BTC`. */
export function formatMoney(value: string, currency: string): string {
  const p = parts(value);
  if (!p) return `${value} ${currency}`;
  const [dp, trim] = moneyPlaces(p, currency);
  let text = fixed(value, dp);
  if (trim && text.includes('.')) {
    while (text.endsWith('0') && text.split('.')[1].length > 2) text = text.slice(0, -1);
  }
  if (text === '-0.00') text = '0.00';
  return `${text} ${currency}`;
}

function plain(value: string): string {
  const p = parts(value);
  if (!p) return value;
  const frac = p.frac.replace(/0+$/, '');
  const zero = /^0*$/.test(p.int + frac);
  return group(p.neg && !zero ? '-' : '', p.int, frac === '' ? null : frac);
}

/** A limit as given, or "—" when unset. */
export function formatLimit(value: string | number | null | undefined): string {
  return value == null ? UNSET : plain(String(value));
}

/** Usage against a limit: `2 of 3`, or `2 (no limit)` when unset (never `2 of 0`). */
export function formatUsage(used: string | number, limit: string | number | null | undefined): string {
  const u = plain(String(used));
  return limit == null ? `${u} (no limit)` : `${u} of ${plain(String(limit))}`;
}
