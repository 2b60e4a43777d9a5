// Helpers of the P&L history spec: exact decimal arithmetic (BigInt, no floating point), an
// independent average-cost book computed from the simulator's own trade history, and a seeded
// random generator so a failing run can be replayed.
//
// Written apart from the platform's ledger on purpose: it implements the stated accounting rule
// from the exchange's raw trades, so a mistake in the engine shows up as a difference here.

import { seededRandom } from "./harness.js";

/** An exact decimal: `n / 10^scale`. Immutable. */
export class Dec {
  readonly n: bigint;
  readonly scale: number;

  private constructor(n: bigint, scale: number) {
    this.n = n;
    this.scale = scale;
  }

  static readonly ZERO = new Dec(0n, 0);

  /** Parses a plain decimal string ("-12.3400", "65000"); throws on anything else. */
  static of(s: string | number | Dec): Dec {
    if (s instanceof Dec) return s;
    const str = typeof s === "number" ? String(s) : s.trim();
    const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(str);
    if (!m) throw new Error(`not a decimal string: ${JSON.stringify(s)}`);
    const frac = m[3] ?? "";
    const n = BigInt(m[2] + frac) * (m[1] === "-" ? -1n : 1n);
    return new Dec(n, frac.length);
  }

  private static align(a: Dec, b: Dec): [bigint, bigint, number] {
    const s = Math.max(a.scale, b.scale);
    return [a.n * 10n ** BigInt(s - a.scale), b.n * 10n ** BigInt(s - b.scale), s];
  }

  add(o: Dec | string): Dec {
    const [x, y, s] = Dec.align(this, Dec.of(o));
    return new Dec(x + y, s);
  }

  sub(o: Dec | string): Dec {
    const [x, y, s] = Dec.align(this, Dec.of(o));
    return new Dec(x - y, s);
  }

  mul(o: Dec | string): Dec {
    const b = Dec.of(o);
    return new Dec(this.n * b.n, this.scale + b.scale);
  }

  neg(): Dec {
    return new Dec(-this.n, this.scale);
  }

  abs(): Dec {
    return this.n < 0n ? this.neg() : this;
  }

  cmp(o: Dec | string): number {
    const [x, y] = Dec.align(this, Dec.of(o));
    return x < y ? -1 : x > y ? 1 : 0;
  }

  isZero(): boolean {
    return this.n === 0n;
  }

  sign(): number {
    return this.n < 0n ? -1 : this.n > 0n ? 1 : 0;
  }

  min(o: Dec): Dec {
    return this.cmp(o) <= 0 ? this : o;
  }

  /** `this / o` rounded to `dp` decimals, ties to even (banker's rounding). */
  divRound(o: Dec | string, dp: number, mode: "half_even" | "half_away" = "half_even"): Dec {
    const b = Dec.of(o);
    if (b.n === 0n) throw new Error("division by zero");
    // this / b = (this.n / 10^sa) / (b.n / 10^sb); scaled to dp: this.n * 10^(dp + sb - sa) / b.n
    const shift = dp + b.scale - this.scale;
    let num = this.n;
    let den = b.n;
    if (shift >= 0) num *= 10n ** BigInt(shift);
    else den *= 10n ** BigInt(-shift);
    if (den < 0n) {
      num = -num;
      den = -den;
    }
    const neg = num < 0n;
    const a = neg ? -num : num;
    let q = a / den;
    const r2 = (a % den) * 2n;
    if (r2 > den || (r2 === den && (mode === "half_away" || q % 2n === 1n))) q += 1n;
    return new Dec(neg ? -q : q, dp);
  }

  /** Rounded to `dp` decimals. */
  round(dp: number, mode: "half_even" | "half_away" = "half_even"): Dec {
    return this.scale <= dp ? this : this.divRound(Dec.of("1"), dp, mode);
  }

  /** Canonical string: no trailing zeros, no "-0" ("65000.10" → "65000.1"). */
  toString(): string {
    const neg = this.n < 0n;
    const digits = (neg ? -this.n : this.n).toString().padStart(this.scale + 1, "0");
    let int = this.scale ? digits.slice(0, -this.scale) : digits;
    let frac = this.scale ? digits.slice(-this.scale) : "";
    frac = frac.replace(/0+$/, "");
    int = int.replace(/^0+(?=\d)/, "");
    const zero = /^0*$/.test(int + frac);
    return `${neg && !zero ? "-" : ""}${int}${frac ? `.${frac}` : ""}`;
  }
}

/** Exact sum. */
export function sum(values: (Dec | string)[]): Dec {
  return values.reduce<Dec>((acc, v) => acc.add(Dec.of(v)), Dec.ZERO);
}

/** Canonical form of a decimal string (what the assertions compare). */
export const canon = (s: string | Dec | undefined | null): string => Dec.of(s ?? "0").toString();

/**
 * Decimals the platform keeps when it removes cost from a partly closed position: the cost of
 * the closed part, `cost × closed / held`, is generally a non-terminating decimal, so it is
 * rounded (half to even) to 16 decimals, far below any exchange's printed precision.
 */
export const COST_DP = 16;

/**
 * One instrument's average-cost book, as Binance USDⓈ-M and Bybit compute realized P&L: the
 * position carries its total cost; a fill in the position's direction adds `qty × price` to it;
 * a fill against it realizes `closed × price − cost × closed / held` (the closed part at the
 * average entry price) and the rest, if any, opens the other way at the fill price. A spot fee
 * paid in the base asset leaves the position like a sale of that amount at the fill price.
 */
export class AvgCostBook {
  qty = Dec.ZERO;
  cost = Dec.ZERO;
  realized = Dec.ZERO;

  /** Applies one fill; returns the P&L it realized. */
  apply(side: "buy" | "sell", qty: Dec, price: Dec): Dec {
    const dir = side === "buy" ? 1 : -1;
    const signed = dir > 0 ? qty : qty.neg();
    if (this.qty.isZero() || this.qty.sign() === dir) {
      this.qty = this.qty.add(signed);
      this.cost = this.cost.add(signed.mul(price));
      return Dec.ZERO;
    }
    const held = this.qty.abs();
    const closed = qty.min(held);
    const costRemoved = closed.cmp(held) === 0 ? this.cost : this.cost.mul(closed).divRound(held, COST_DP);
    // Selling out of a long receives closed × price; buying back a short pays it.
    const proceeds = dir < 0 ? closed.mul(price) : closed.mul(price).neg();
    const r = proceeds.sub(costRemoved);
    const rest = qty.sub(closed);
    if (rest.isZero()) {
      this.qty = this.qty.add(dir > 0 ? closed : closed.neg());
      this.cost = this.cost.sub(costRemoved);
    } else {
      this.qty = dir > 0 ? rest : rest.neg();
      this.cost = this.qty.mul(price);
    }
    if (this.qty.isZero()) this.cost = Dec.ZERO;
    this.realized = this.realized.add(r);
    return r;
  }
}

/** A seeded generator (mulberry32): the same seed replays the same signals. */
export const rng = seededRandom;

/** A multiple of `step` between `lo` and `hi` steps (inclusive), from `r`. */
export function steps(r: () => number, step: string, lo: number, hi: number): Dec {
  const k = lo + Math.floor(r() * (hi - lo + 1));
  return Dec.of(step).mul(Dec.of(String(k)));
}

/** `price` rounded to the nearest multiple of `tick`. */
export function toTick(price: Dec, tick: string): Dec {
  const t = Dec.of(tick);
  const k = price.divRound(t, 0, "half_even");
  return k.mul(t);
}
