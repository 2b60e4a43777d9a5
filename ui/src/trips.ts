/**
 * Round trips of one bot, rebuilt from its fills: a trip opens when an instrument's position
 * leaves flat and closes when it is flat again (a position below one lot step, fee dust in the
 * base asset, counts as flat). Its P&L is the ledger's realized P&L of its fills minus their fees
 * in quote, added exactly. Why in the dashboard: the API serves fills with the P&L each booked,
 * and a trader reads trades, not fills. Win rate counts closed trips only.
 */
import type { Fill } from './api';
import { compare, mul, sub, sum } from './numbers';

/** One round trip. `exit_*` and `pnl` are null while it is still open. */
export interface Trip {
  instrument: string;
  side: 'long' | 'short';
  entry_time: string;
  exit_time: string | null;
  /** Largest absolute position held during the trip. */
  qty: string;
  /** Quantity-weighted entry price (exact quotient, rounded to 12 places). */
  entry_price: string;
  exit_price: string | null;
  /** Realized minus fees (quote), null while open. */
  pnl: string | null;
  fees: string;
  fills: number;
}

const abs = (d: string) => (d.trim().startsWith('-') ? d.trim().slice(1) : d.trim());
const neg = (d: string) => (d.trim().startsWith('-') ? d.trim().slice(1) : `-${d.trim()}`);

/** Exact `a / b` rounded half away from zero to `dp` places (b ≠ 0). */
export function div(a: string, b: string, dp = 12): string {
  const parse = (s: string): [bigint, number] => {
    const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s.trim());
    if (!m) return [0n, 0];
    const f = m[3] ?? '';
    const n = BigInt((m[2] || '0') + f);
    return [m[1] === '-' ? -n : n, f.length];
  };
  const [x, xs] = parse(a);
  const [y, ys] = parse(b);
  if (y === 0n) return '0';
  // a/b = (x/10^xs)/(y/10^ys); scaled by 10^dp.
  let num = x * 10n ** BigInt(dp + ys);
  let den = y * 10n ** BigInt(xs);
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const q = num / den;
  const r = num % den;
  const rounded = 2n * (r < 0n ? -r : r) >= den ? q + (num < 0n ? -1n : 1n) : q;
  const negative = rounded < 0n;
  const digits = (negative ? -rounded : rounded).toString().padStart(dp + 1, '0');
  const text = dp > 0 ? `${digits.slice(0, -dp)}.${digits.slice(-dp)}` : digits;
  return `${negative ? '-' : ''}${text}`;
}

interface Open {
  trip: Trip;
  pos: string;
  entryQty: string;
  entryNotional: string;
  exitQty: string;
  exitNotional: string;
  realized: string;
}

/** Trips from fills in any order (sorted by time here); `steps` maps an instrument to its lot step. */
export function roundTrips(fills: Fill[], steps: Record<string, string | null | undefined> = {}): Trip[] {
  const sorted = [...fills].sort((a, b) => a.time.localeCompare(b.time) || a.trade_id.localeCompare(b.trade_id));
  const open = new Map<string, Open>();
  const done: Trip[] = [];
  const flat = (pos: string, inst: string) => {
    const step = steps[inst];
    return step ? compare(abs(pos), step) < 0 : compare(pos, '0') === 0;
  };
  for (const f of sorted) {
    const signed = f.side === 'buy' ? f.qty : neg(f.qty);
    const fee = f.fee_quote ?? (f.fee_asset && f.instrument.endsWith(f.fee_asset) ? f.fee : '0');
    let o = open.get(f.instrument);
    if (!o) {
      o = {
        trip: {
          instrument: f.instrument,
          side: f.side === 'buy' ? 'long' : 'short',
          entry_time: f.time,
          exit_time: null,
          qty: '0',
          entry_price: '0',
          exit_price: null,
          pnl: null,
          fees: '0',
          fills: 0,
        },
        pos: '0',
        entryQty: '0',
        entryNotional: '0',
        exitQty: '0',
        exitNotional: '0',
        realized: '0',
      };
      open.set(f.instrument, o);
    }
    const adding = (o.trip.side === 'long') === (f.side === 'buy');
    if (adding) {
      o.entryQty = sum([o.entryQty, f.qty]);
      o.entryNotional = sum([o.entryNotional, mul(f.qty, f.price)]);
    } else {
      o.exitQty = sum([o.exitQty, f.qty]);
      o.exitNotional = sum([o.exitNotional, mul(f.qty, f.price)]);
    }
    o.pos = sum([o.pos, signed]);
    o.realized = sum([o.realized, f.realized ?? '0']);
    o.trip.fees = sum([o.trip.fees, fee]);
    o.trip.fills += 1;
    const crossed = o.trip.side === 'long' ? compare(o.pos, '0') < 0 : compare(o.pos, '0') > 0;
    if (!crossed && compare(abs(o.pos), o.trip.qty) > 0) o.trip.qty = abs(o.pos);
    o.trip.entry_price = div(o.entryNotional, o.entryQty);
    if (flat(o.pos, f.instrument) || crossed) {
      o.trip.exit_time = f.time;
      o.trip.exit_price = compare(o.exitQty, '0') === 0 ? null : div(o.exitNotional, o.exitQty);
      o.trip.pnl = sub(o.realized, o.trip.fees);
      done.push(o.trip);
      open.delete(f.instrument);
      if (crossed && !flat(o.pos, f.instrument)) {
        // A flip: the remainder opens the next trip at this fill's price.
        const rest = abs(o.pos);
        open.set(f.instrument, {
          trip: {
            instrument: f.instrument,
            side: f.side === 'buy' ? 'long' : 'short',
            entry_time: f.time,
            exit_time: null,
            qty: rest,
            entry_price: f.price,
            exit_price: null,
            pnl: null,
            fees: '0',
            fills: 0,
          },
          pos: o.pos,
          entryQty: rest,
          entryNotional: mul(rest, f.price),
          exitQty: '0',
          exitNotional: '0',
          realized: '0',
        });
      }
    }
  }
  return [...done, ...[...open.values()].map((o) => o.trip)].sort((a, b) => b.entry_time.localeCompare(a.entry_time));
}

/** Closed trips, wins (P&L > 0) and the win rate in percent (null with no closed trip). */
export function winRate(trips: Trip[]): { closed: number; wins: number; pct: number | null } {
  const closed = trips.filter((t) => t.pnl !== null);
  const wins = closed.filter((t) => compare(t.pnl ?? '0', '0') > 0).length;
  return { closed: closed.length, wins, pct: closed.length ? (wins / closed.length) * 100 : null };
}
