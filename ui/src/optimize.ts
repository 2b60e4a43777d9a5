/**
 * The Optimize page's logic (`POST /api/v1/optimize`, the engine's `backtest::optimize`): the
 * search settings form turned into the request's `optimize` object (a parameter with a min and a
 * max is searched, the others stay pinned at their value), and the report read into typed rows.
 * Money stays a decimal string (formatted with the shared rule); ratios are floats.
 */
import { UNSET, formatMoney } from './format';
import type { ParamDef, StrategyErrors } from './strategyForm';

/** A parameter's range as typed (empty min and max: pinned at its value). */
export interface RangeText {
  min: string;
  max: string;
  step: string;
}

/** The search settings as typed. */
export interface OptimizeSettings {
  sampler: 'tpe' | 'random' | 'grid';
  trials: string;
  seed: string;
  objective: 'sharpe' | 'sortino' | 'calmar' | 'net';
  min_trades: string;
  /** Percent (30 = 30 %). */
  max_drawdown: string;
  /** Walk-forward windows (empty: none). */
  windows: string;
  in_sample: string;
  anchored: boolean;
  ranges: Record<string, RangeText>;
}

/** The API's cap on trials per search (over all walk-forward windows). */
export const MAX_TRIALS = 200;

/** Defaults: TPE, 60 trials, seed 0, Sharpe, no constraints, no walk-forward. */
export function defaultOptimize(): OptimizeSettings {
  return {
    sampler: 'tpe',
    trials: '60',
    seed: '0',
    objective: 'sharpe',
    min_trades: '',
    max_drawdown: '',
    windows: '',
    in_sample: '0.5',
    anchored: false,
    ranges: {},
  };
}

const INT_RE = /^\d+$/;
const NUM_RE = /^-?\d+(\.\d+)?$/;

/**
 * The request body: the backtest body (`base`, with `params`) plus `optimize`. A parameter with
 * both a min and a max is searched (moved from `params` to `optimize.space`); errors are keyed
 * `range-<name>`, `trials`, `seed`, `min_trades`, `max_drawdown`, `windows`, `in_sample`.
 */
export function optimizeBody(
  base: Record<string, unknown>,
  defs: ParamDef[],
  s: OptimizeSettings,
): { body: Record<string, unknown>; errors: StrategyErrors } {
  const errors: StrategyErrors = {};
  const params = { ...((base.params as Record<string, number> | undefined) ?? {}) };
  const space: Record<string, { min: number; max: number; step?: number }> = {};
  for (const d of defs) {
    const r = s.ranges[d.name];
    if (!r || (r.min.trim() === '' && r.max.trim() === '')) continue;
    const [lo, hi, st] = [r.min.trim(), r.max.trim(), r.step.trim()];
    const key = `range-${d.name}`;
    if (!NUM_RE.test(lo) || !NUM_RE.test(hi) || (st !== '' && !NUM_RE.test(st))) {
      errors[key] = 'numbers: min and max (and an optional step)';
      continue;
    }
    const [min, max] = [Number(lo), Number(hi)];
    if (min > max) errors[key] = 'min must not exceed max';
    else if (min < d.min || max > d.max) errors[key] = `within ${d.min} … ${d.max}`;
    else if (d.integer && (!Number.isInteger(min) || !Number.isInteger(max))) errors[key] = 'whole numbers';
    else if (st !== '' && !(Number(st) > 0)) errors[key] = 'a positive step';
    else {
      space[d.name] = st === '' ? { min, max } : { min, max, step: Number(st) };
      delete params[d.name];
    }
  }
  const trials = Number(s.trials);
  const windows = s.windows.trim() === '' ? 0 : Number(s.windows);
  if (!INT_RE.test(s.trials.trim()) || trials < 1) errors.trials = 'a whole number of trials, 1 or more';
  if (s.windows.trim() !== '' && (!INT_RE.test(s.windows.trim()) || windows < 1 || windows > 100)) {
    errors.windows = 'empty, or 1 to 100 windows';
  }
  if (!errors.trials && !errors.windows && trials * Math.max(windows, 1) > MAX_TRIALS) {
    errors.trials = `at most ${MAX_TRIALS} trials per search here (trials × windows); run \`keel optimize\` for more`;
  }
  if (!INT_RE.test(s.seed.trim())) errors.seed = 'a whole number, 0 or more';
  if (s.min_trades.trim() !== '' && !INT_RE.test(s.min_trades.trim())) errors.min_trades = 'a whole number, or empty';
  const dd = s.max_drawdown.trim();
  if (dd !== '' && (!NUM_RE.test(dd) || Number(dd) < 0 || Number(dd) > 100)) errors.max_drawdown = 'a percentage 0 … 100, or empty';
  const inSample = Number(s.in_sample);
  if (windows && !(NUM_RE.test(s.in_sample.trim()) && inSample > 0 && inSample < 1)) errors.in_sample = 'a fraction between 0 and 1';
  const constraints: Record<string, number> = {};
  if (s.min_trades.trim() !== '') constraints.min_trades = Number(s.min_trades);
  if (dd !== '') constraints.max_drawdown = Number(dd) / 100;
  const optimize: Record<string, unknown> = {
    sampler: s.sampler,
    trials,
    seed: Number(s.seed),
    objective: s.objective,
    constraints,
    space,
  };
  if (windows) optimize.walk_forward = { windows, in_sample: inSample, anchored: s.anchored };
  return { body: { ...base, params, optimize }, errors };
}

/** One of the best trials as the table shows it. */
export interface TrialRow {
  rank: number;
  params: Record<string, number>;
  objective: number | null;
  net: string;
  sharpe: number | null;
  maxDrawdown: number | null;
  trades: number;
}

/** A walk-forward window. */
export interface WindowRow {
  index: number;
  inSampleBars: number;
  outOfSampleBars: number;
  chosen: Record<string, number> | null;
  oosNet: string | null;
  oosSharpe: number | null;
}

/** The report as the page shows it. */
export interface OptimizeReport {
  strategy: string;
  sampler: string;
  seed: number;
  trials: number;
  feasible: number;
  gridPoints: number | null;
  best: TrialRow[];
  dsr: { dsr: number; trials: number; sharpe: number; expectedMax: number } | null;
  pbo: { pbo: number; blocks: number; combinations: number; trials: number } | null;
  walk: {
    anchored: boolean;
    windows: WindowRow[];
    stitched: { net: string; sharpe: number | null; maxDrawdown: number | null; trades: number; equity: [number, number][] };
  } | null;
}

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const int = (v: unknown): number => num(v) ?? 0;
const str = (v: unknown): string => (v == null ? '' : String(v));
const numbers = (v: unknown): Record<string, number> =>
  Object.fromEntries(Object.entries(obj(v)).filter((e): e is [string, number] => typeof e[1] === 'number'));
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The report JSON with every field present and typed (missing parts empty, never a crash). */
export function normalizeOptimize(raw: unknown): OptimizeReport {
  const r = obj(raw);
  const res = obj(r.result);
  const d = r.result && res.deflated ? obj(res.deflated) : null;
  const p = r.result && res.pbo ? obj(res.pbo) : null;
  const wf = r.walk_forward ? obj(r.walk_forward) : null;
  return {
    strategy: str(r.strategy),
    sampler: str(r.sampler),
    seed: int(r.seed),
    trials: int(res.trials),
    feasible: int(res.feasible),
    gridPoints: num(res.grid_points),
    best: list(res.best).map((t, i) => {
      const o = obj(t);
      const m = obj(o.metrics);
      return {
        rank: i + 1,
        params: numbers(o.params),
        objective: num(o.objective),
        net: str(m.net),
        sharpe: num(m.sharpe),
        maxDrawdown: num(m.max_drawdown),
        trades: int(m.executions),
      };
    }),
    dsr: d && {
      dsr: num(d.dsr) ?? 0,
      trials: int(d.trials),
      sharpe: num(d.sharpe) ?? 0,
      expectedMax: num(d.expected_max_sharpe) ?? 0,
    },
    pbo: p && { pbo: num(p.pbo) ?? 0, blocks: int(p.blocks), combinations: int(p.combinations), trials: int(p.trials) },
    walk: wf && {
      anchored: wf.anchored === true,
      windows: list(wf.windows).map((w) => {
        const o = obj(w);
        const oos = o.oos ? obj(o.oos) : null;
        return {
          index: int(o.index),
          inSampleBars: int(obj(obj(o.search).span).bars),
          outOfSampleBars: int(obj(o.out_of_sample).bars),
          chosen: o.chosen ? numbers(o.chosen) : null,
          oosNet: oos ? str(oos.net) : null,
          oosSharpe: oos ? num(oos.sharpe) : null,
        };
      }),
      stitched: (() => {
        const s = obj(wf.stitched);
        return {
          net: str(s.net),
          sharpe: num(s.sharpe),
          maxDrawdown: num(s.max_drawdown),
          trades: int(s.executions),
          equity: list(s.equity_curve).filter(
            (q): q is [number, number] => Array.isArray(q) && typeof q[0] === 'number' && typeof q[1] === 'number',
          ),
        };
      })(),
    },
  };
}

/** `fast=10 slow=80`. */
export function paramsText(p: Record<string, number> | null): string {
  if (!p) return 'none feasible';
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** A ratio with two decimals, or "—". */
export function ratioText(x: number | null): string {
  return x === null ? UNSET : x.toFixed(2);
}

/** Money in the quote currency, or "—". */
export function moneyText(v: string | null, quote: string): string {
  return v ? formatMoney(v, quote) : UNSET;
}

/** A verdict on the deflated Sharpe ratio and the PBO, in words. */
export function verdict(rep: OptimizeReport): string {
  if (!rep.dsr) return 'No feasible configuration: nothing to judge.';
  const dsr = rep.dsr.dsr;
  const luck = dsr < 0.95 ? 'could be luck given how many configurations were tried' : 'survives the number of configurations tried';
  const pbo = rep.pbo
    ? ` PBO ${(rep.pbo.pbo * 100).toFixed(1)} %: ${rep.pbo.pbo >= 0.5 ? 'the in-sample winner usually disappoints out of sample' : 'the selection mostly carries over out of sample'}.`
    : '';
  return `DSR ${dsr.toFixed(3)}: the best Sharpe ratio ${luck}.${pbo}`;
}
