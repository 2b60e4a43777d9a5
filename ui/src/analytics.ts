/**
 * The live analytics of a bot (`GET /bots/{id}/analytics`) and the A/B comparison of two bots
 * (`GET /compare`), as the dashboard reads and shows them. Why a module: the ratios are floats
 * (statistics of an equity curve) while the attribution is exact money, and the two must never
 * mix; the rules for "—" (a ratio that means nothing, e.g. a win rate without executions), the
 * numeric order of the UTC hours and the exact check that each table adds up to the net live
 * here, in pure functions the unit tests pin.
 */
import type { Decimal } from './api';
import { compare, sum } from './numbers';

/**
 * The resampling periods offered (timeframe labels the API accepts). Minutes suit a bot that
 * started today; a long history at `1m` exceeds the API's 100,000 periods and shows its 422.
 */
export const PERIODS = ['1m', '15m', '1h', '4h', '1d'] as const;

/** One attribution row: exact decimal strings and the fills counted. */
export interface AttributionSlice {
  realized: Decimal;
  fees: Decimal;
  funding: Decimal;
  net: Decimal;
  fills: number;
}

/** The ratios of `keel_engine::backtest::Metrics`; a float that is not finite arrives as null. */
export interface AnalyticsMetrics {
  total_return: number | null;
  annual_return: number | null;
  volatility: number | null;
  sharpe: number | null;
  sortino: number | null;
  calmar: number | null;
  max_drawdown: number | null;
  max_drawdown_bars: number | null;
  win_rate: number | null;
  profit_factor: number | null;
  exposure: number | null;
  turnover: number | null;
  executions: number | null;
  fees: Decimal | null;
}

/** `GET /bots/{id}/analytics?period=`. */
export interface BotAnalytics {
  bot_id: string;
  quote_asset: string;
  period: string;
  points: number;
  from_ms: number | null;
  to_ms: number | null;
  metrics: AnalyticsMetrics;
  attribution: {
    total: AttributionSlice;
    by_instrument: Record<string, AttributionSlice>;
    by_strategy: Record<string, AttributionSlice>;
    by_hour: Record<string, AttributionSlice>;
    /** By the instrument's regime label at each fill (`unlabelled` without one); older APIs omit it. */
    by_regime?: Record<string, AttributionSlice>;
  };
}

/** The Ledoit-Wolf test of `sharpe_a − sharpe_b` under one variance estimate. */
export interface SharpeDiff {
  n: number;
  sharpe_a: number | null;
  sharpe_b: number | null;
  diff: number | null;
  std_error: number | null;
  t_stat: number | null;
  p_value: number | null;
  bandwidth: number | null;
}

/** The mixture SPRT on the paired return differences. */
export interface Sequential {
  n: number;
  mean_diff: number | null;
  p_value: number | null;
  decision: 'continue' | 'a_better' | 'b_better';
  decided_at_ms: number | null;
  /** More paired periods expected before a decision at the current effect and noise (0 once decided; null: none in sight). */
  periods_to_decision?: number | null;
  /** The same in milliseconds (periods × period length). */
  expected_decision_in_ms?: number | null;
}

/** `GET /bots/{id}/shadow`: a bot's A/B links, both ways. */
export interface ShadowLinks {
  bot_id: string;
  shadow_of: { parent: string; patch: Record<string, unknown>; created_ms: number } | null;
  shadows: string[];
}

/** A duration in the largest sensible unit ("3.5 days", "40 min"). */
export function durationText(ms: number): string {
  const min = ms / 60_000;
  if (min < 120) return `${Math.round(min)} min`;
  const h = min / 60;
  if (h < 48) return `${h.toFixed(1)} h`;
  const d = h / 24;
  if (d < 730) return `${d.toFixed(1)} days`;
  return `${(d / 365).toFixed(1)} years`;
}

/** The expected time to a decision of the sequential test, as the compare page says it. */
export function etaText(s: Sequential, period: string): string {
  if (s.decision !== 'continue') return 'decided';
  const n = s.periods_to_decision;
  if (n == null) return 'none in sight (no effect measured yet)';
  const ms = s.expected_decision_in_ms;
  return ms == null ? `~${n} periods of ${period}` : `~${n} periods of ${period} (${durationText(ms)})`;
}

/** One side of a comparison. */
export interface CompareSide {
  bot_id: string;
  quote_asset: string;
  metrics: AnalyticsMetrics;
  net: Decimal;
  /** Equity points behind the side's own ratios. */
  points?: number | null;
}

/** `GET /compare?a=&b=&period=`. */
export interface Comparison {
  period: string;
  from_ms: number | null;
  to_ms: number | null;
  pairs: number;
  a: CompareSide;
  b: CompareSide;
  sharpe_difference: { hac: SharpeDiff | null; iid: SharpeDiff | null; error: string | null };
  sequential: Sequential;
  series: { time: number; a: number; b: number }[];
}

/** What a ratio card shows: a percentage, a plain ratio, or a count. */
export type RatioKind = 'pct' | 'ratio' | 'count';

/** One ratio card: label, key, kind, and what the number means (hover text). */
export interface RatioDef {
  key: keyof AnalyticsMetrics;
  label: string;
  kind: RatioKind;
  hint: string;
  /** True when the ratio is about executions (meaningless without any). */
  perExecution?: boolean;
  /** True when the ratio needs at least two periods of equity. */
  perPeriod?: boolean;
}

/** The cards, in reading order. */
export const RATIOS: RatioDef[] = [
  { key: 'total_return', label: 'Total return', kind: 'pct', hint: 'final / first equity − 1', perPeriod: true },
  { key: 'annual_return', label: 'Annual return', kind: 'pct', hint: 'compounded over a 365-day year', perPeriod: true },
  { key: 'volatility', label: 'Volatility', kind: 'pct', hint: 'annualised standard deviation of period returns', perPeriod: true },
  { key: 'sharpe', label: 'Sharpe', kind: 'ratio', hint: 'annualised mean / std of period returns (risk-free 0)', perPeriod: true },
  { key: 'sortino', label: 'Sortino', kind: 'ratio', hint: 'annualised mean / downside deviation', perPeriod: true },
  { key: 'calmar', label: 'Calmar', kind: 'ratio', hint: 'annual return / max drawdown', perPeriod: true },
  { key: 'max_drawdown', label: 'Max drawdown', kind: 'pct', hint: 'largest fall below a previous peak', perPeriod: true },
  { key: 'max_drawdown_bars', label: 'Longest drawdown', kind: 'count', hint: 'periods spent under a previous peak', perPeriod: true },
  { key: 'win_rate', label: 'Win rate', kind: 'pct', hint: 'closing executions with P&L net of fees > 0', perExecution: true },
  { key: 'profit_factor', label: 'Profit factor', kind: 'ratio', hint: 'gross gains / gross losses', perExecution: true },
  { key: 'exposure', label: 'Exposure', kind: 'pct', hint: 'share of periods holding a position', perPeriod: true },
  { key: 'turnover', label: 'Turnover', kind: 'ratio', hint: 'traded notional / average equity' },
  { key: 'executions', label: 'Executions', kind: 'count', hint: 'signals that traded' },
];

/** The "not meaningful" mark. */
export const NONE = '—';

/** A fraction as a percentage with two decimals (`0.1234` → `12.34%`); "—" if not finite. */
export function pct(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return NONE;
  const t = (v * 100).toFixed(2);
  return `${t === '-0.00' ? '0.00' : t}%`;
}

/** A ratio with two decimals (`1.5` → `1.50`); "—" if not finite. */
export function ratio(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return NONE;
  const t = v.toFixed(2);
  return t === '-0.00' ? '0.00' : t;
}

/** A p-value: four decimals, `< 0.0001` below that; "—" if not finite. */
export function pValue(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return NONE;
  return v < 0.0001 ? '< 0.0001' : v.toFixed(4);
}

/**
 * A card's text: "—" when the ratio means nothing for this history (no executions for a
 * per-execution ratio, fewer than two periods for a per-period one, or a non-finite value).
 */
export function ratioText(def: RatioDef, m: AnalyticsMetrics, points: number): string {
  const v = m[def.key];
  if (def.perExecution && !(m.executions && m.executions > 0)) return NONE;
  if (def.perPeriod && points < 2) return NONE;
  if (typeof v !== 'number') return NONE;
  if (def.kind === 'pct') return pct(v);
  if (def.kind === 'ratio') return ratio(v);
  return Number.isFinite(v) ? String(v) : NONE;
}

/** Attribution rows by UTC hour, in numeric order (`"2"` before `"10"`). */
export function hourRows(byHour: Record<string, AttributionSlice>): [string, AttributionSlice][] {
  return Object.entries(byHour).sort(([a], [b]) => Number(a) - Number(b));
}

/** Attribution rows by strategy: version tags in natural order, then `untagged`, then `funding`. */
export function strategyRows(byStrategy: Record<string, AttributionSlice>): [string, AttributionSlice][] {
  const rank = (k: string) => (k === 'funding' ? 2 : k === 'untagged' ? 1 : 0);
  return Object.entries(byStrategy).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
}

/** Attribution rows by instrument, alphabetical. */
export function instrumentRows(byInstrument: Record<string, AttributionSlice>): [string, AttributionSlice][] {
  return Object.entries(byInstrument).sort(([a], [b]) => a.localeCompare(b));
}

/** The exact sum of a table's nets, and whether it equals the total's net. */
export function sumsToNet(rows: [string, AttributionSlice][], net: Decimal): { sum: Decimal; exact: boolean } {
  const s = sum(rows.map(([, r]) => r.net));
  return { sum: s, exact: compare(s, net) === 0 };
}

/** The 24 UTC hours with their net (zero where nothing happened), for the hourly bar chart. */
export function hourBars(byHour: Record<string, AttributionSlice>): { hour: number; net: Decimal; fills: number }[] {
  return Array.from({ length: 24 }, (_, h) => {
    const s = byHour[String(h)];
    return { hour: h, net: s?.net ?? '0', fills: s?.fills ?? 0 };
  });
}

/** `1970-01-01 00:00Z` for a millisecond time; "—" when unknown. */
export function msTime(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return NONE;
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + 'Z';
}

/**
 * Cumulative returns of both bots over the common periods (compounded: ∏(1 + r) − 1), one
 * point per distinct time in ascending order; non-finite returns are skipped. Time in seconds
 * (the chart's unit): the API's `time` is read as milliseconds like its `from_ms`, or as seconds
 * when it is below 10^11 (a millisecond time that small would be in 1973).
 */
export function cumulative(series: Comparison['series']): { time: number; a: number; b: number }[] {
  const sorted = series
    .filter((p) => Number.isFinite(p.time) && Number.isFinite(p.a) && Number.isFinite(p.b))
    .sort((x, y) => x.time - y.time);
  const out: { time: number; a: number; b: number }[] = [];
  let ga = 1;
  let gb = 1;
  for (const p of sorted) {
    ga *= 1 + p.a;
    gb *= 1 + p.b;
    const time = p.time < 1e11 ? Math.floor(p.time) : Math.floor(p.time / 1000);
    const point = { time, a: ga - 1, b: gb - 1 };
    if (out.length && out[out.length - 1].time === time) out[out.length - 1] = point;
    else out.push(point);
  }
  return out;
}

/** The sequential test's decision in words. */
export function decisionText(s: Sequential, a: string, b: string): string {
  switch (s.decision) {
    case 'a_better':
      return `${a} is better (decided ${msTime(s.decided_at_ms)})`;
    case 'b_better':
      return `${b} is better (decided ${msTime(s.decided_at_ms)})`;
    default:
      return 'no decision yet: keep running';
  }
}

/** `GET /bots/{id}/regime`: a regime-gated bot's label per instrument and its changes. */
export interface RegimeView {
  bot_id: string;
  gated: boolean;
  symbols: Record<string, { label: string; since_ms: number; history: [number, string][] }>;
}
