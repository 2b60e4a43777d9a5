/**
 * The strategy half of the New bot form and the Backtest form: which strategy (a built-in
 * template or a declarative spec document), its params as typed inputs with the catalogue's
 * defaults and ranges, its timeframe and symbol, and the conversions to a bot config's strategy
 * fields (docs/bot-config.md: `source`, `strategy` | `strategy_spec`, `params`, `timeframe`) and
 * to a `POST /backtest` body (engine/src/backtest/request.rs). Pure functions, so the rules are
 * unit-tested; the API stays the authority and its 422 `field` is mapped onto the input it names.
 */
import type { StrategyCatalogue } from './api';

/** Bar intervals a strategy bot or a backtest may run on (the engine's `Timeframe::parse`). */
export const STRATEGY_TIMEFRAMES = ['1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d'];

/** One parameter as the form edits it. */
export interface ParamDef {
  name: string;
  default: number;
  min: number;
  max: number;
  /** Whole numbers only (window lengths; a spec's `int` and `bool`). */
  integer: boolean;
  /** A spec's `bool` parameter (0 or 1). */
  bool?: boolean;
}

/** What strategy runs: a template by name, or a spec document typed as JSON text. */
export interface StrategyChoice {
  kind: 'template' | 'spec';
  template: string;
  specText: string;
  /** Param values as typed, by name. */
  params: Record<string, string>;
  timeframe: string;
  symbol: string;
}

/** Errors keyed by form key (`strategy`, `strategy_spec`, `params.fast`, `timeframe`, `symbol`, …; "" = the form). */
export type StrategyErrors = Record<string, string>;

/** A first choice: the first template of the catalogue (or `ma_crossover` before it loads). */
export function defaultChoice(catalogue?: StrategyCatalogue): StrategyChoice {
  const t = catalogue?.templates[0];
  const defs = t ? t.params : [];
  return {
    kind: 'template',
    template: t?.name ?? 'ma_crossover',
    specText: catalogue?.specs[0] ? JSON.stringify(catalogue.specs[0].spec, null, 2) : '',
    params: initialParams(defs),
    timeframe: '1h',
    symbol: 'BTCUSDT',
  };
}

/** The params a spec document declares, or why the text is not a spec document. */
export function specParams(specText: string): { defs: ParamDef[]; error?: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(specText);
  } catch (e) {
    return { defs: [], error: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return { defs: [], error: 'a spec is a JSON object' };
  const params = (doc as { params?: unknown }).params;
  if (params == null) return { defs: [] };
  if (typeof params !== 'object' || Array.isArray(params)) return { defs: [], error: 'params: must be an object' };
  const defs: ParamDef[] = [];
  for (const [name, raw] of Object.entries(params as Record<string, unknown>)) {
    const p = (raw ?? {}) as { type?: unknown; default?: unknown; min?: unknown; max?: unknown };
    const bool = p.type === 'bool';
    const num = (v: unknown, fallback: number) =>
      typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'boolean' ? Number(v) : fallback;
    defs.push({
      name,
      default: num(p.default, 0),
      min: bool ? 0 : num(p.min, Number.NEGATIVE_INFINITY),
      max: bool ? 1 : num(p.max, Number.POSITIVE_INFINITY),
      integer: p.type === 'int' || bool,
      bool,
    });
  }
  return { defs };
}

/** The param definitions of the current choice (a template's from the catalogue, a spec's from its text). */
export function paramDefs(choice: StrategyChoice, catalogue?: StrategyCatalogue): ParamDef[] {
  if (choice.kind === 'spec') return specParams(choice.specText).defs;
  return catalogue?.templates.find((t) => t.name === choice.template)?.params ?? [];
}

/** Text values for `defs`: the given value where there is one, else the default. */
export function initialParams(defs: ParamDef[], given: Record<string, number> = {}): Record<string, string> {
  return Object.fromEntries(defs.map((d) => [d.name, String(given[d.name] ?? d.default)]));
}

const NUMBER_RE = /^-?\d+(\.\d+)?$/;

/** Typed params and the problems of each (`params.<name>`): a number, whole when it must be, in range. */
export function parseParams(defs: ParamDef[], values: Record<string, string>): { params: Record<string, number>; errors: StrategyErrors } {
  const params: Record<string, number> = {};
  const errors: StrategyErrors = {};
  for (const d of defs) {
    const raw = (values[d.name] ?? '').trim();
    const key = `params.${d.name}`;
    if (raw === '') {
      params[d.name] = d.default;
      continue;
    }
    if (!NUMBER_RE.test(raw)) {
      errors[key] = 'must be a number like 10 or 0.5';
      continue;
    }
    const x = Number(raw);
    if (d.integer && !Number.isInteger(x)) errors[key] = 'must be a whole number';
    else if (x < d.min || x > d.max) errors[key] = `must be between ${d.min} and ${d.max}`;
    params[d.name] = x;
  }
  return { params, errors };
}

/** The spec document of a spec choice, or the reason it is not one (keyed `strategy_spec`). */
function specDoc(choice: StrategyChoice): { doc?: unknown; errors: StrategyErrors } {
  const r = specParams(choice.specText);
  if (r.error) return { errors: { strategy_spec: r.error } };
  return { doc: JSON.parse(choice.specText), errors: {} };
}

const SYMBOL_RE = /^[A-Z0-9]{2,30}$/;

function common(choice: StrategyChoice, defs: ParamDef[]) {
  const errors: StrategyErrors = {};
  const { params, errors: pe } = parseParams(defs, choice.params);
  Object.assign(errors, pe);
  const symbol = choice.symbol.trim().toUpperCase();
  if (!SYMBOL_RE.test(symbol)) errors.symbol = 'one symbol like BTCUSDT';
  if (!STRATEGY_TIMEFRAMES.includes(choice.timeframe)) errors.timeframe = `one of ${STRATEGY_TIMEFRAMES.join(', ')}`;
  let strategy: { strategy?: string; spec?: unknown };
  if (choice.kind === 'template') {
    if (!choice.template) errors.strategy = 'choose a template';
    strategy = { strategy: choice.template };
  } else {
    const s = specDoc(choice);
    Object.assign(errors, s.errors);
    strategy = { spec: s.doc };
  }
  return { params, symbol, strategy, errors };
}

/**
 * A multi-series spec's instruments (its series' symbols, sorted and distinct) and base
 * timeframe, or null for any other strategy: such a bot lists exactly those instruments and runs
 * at that timeframe (docs/strategies.md, multi-series specs), whatever the symbol input says.
 */
export function specFeeds(strategy: { spec?: unknown }): { symbols: string[]; timeframe: string } | null {
  const doc = strategy.spec as { series?: unknown; timeframe?: unknown } | undefined;
  if (!doc || typeof doc !== 'object' || !doc.series || typeof doc.series !== 'object') return null;
  const symbols = Object.values(doc.series as Record<string, { symbol?: unknown }>)
    .map((x) => (x && typeof x.symbol === 'string' ? x.symbol : ''))
    .filter((x) => x !== '');
  return { symbols: [...new Set(symbols)].sort(), timeframe: typeof doc.timeframe === 'string' ? doc.timeframe : '' };
}

/** The strategy fields of a bot config (merged over the rest of the form's config). */
export function strategyBotFields(choice: StrategyChoice, defs: ParamDef[]): { fields: Record<string, unknown>; errors: StrategyErrors } {
  const { params, symbol, strategy, errors } = common(choice, defs);
  const fields: Record<string, unknown> = { source: 'strategy', params, timeframe: choice.timeframe, instruments: [symbol] };
  const feeds = specFeeds(strategy);
  if (feeds) {
    fields.instruments = feeds.symbols;
    if (feeds.timeframe) fields.timeframe = feeds.timeframe;
    delete errors.symbol;
  }
  if (strategy.strategy !== undefined) fields.strategy = strategy.strategy;
  else fields.strategy_spec = strategy.spec;
  return { fields, errors };
}

/** A config's strategy as a choice (a strategy bot's own, for "backtest this strategy" and the JSON tab). */
export function choiceFromConfig(cfg: Record<string, unknown>, fallback: StrategyChoice): StrategyChoice {
  const spec = cfg.strategy_spec;
  const params = (cfg.params && typeof cfg.params === 'object' ? cfg.params : {}) as Record<string, number>;
  const instruments = Array.isArray(cfg.instruments) ? (cfg.instruments as string[]) : [];
  return {
    kind: spec ? 'spec' : 'template',
    template: !spec && typeof cfg.strategy === 'string' ? cfg.strategy : fallback.template,
    specText: spec ? JSON.stringify(spec, null, 2) : fallback.specText,
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])),
    timeframe: typeof cfg.timeframe === 'string' ? cfg.timeframe : fallback.timeframe,
    symbol: instruments[0] ?? fallback.symbol,
  };
}

/** The rest of a backtest request, as typed. Empty fee fields take the venue's base tier. */
export interface BacktestSettings {
  exchange: 'binance' | 'bybit';
  market: 'spot' | 'linear';
  from: string;
  to: string;
  source: 'exchange' | 'stored';
  initial_capital: string;
  taker_fee_rate: string;
  maker_fee_rate: string;
  slippage_bps: string;
  fill: 'next_open' | 'close';
}

/** `2026-12-07T11:25Z`: the API's date form, minute precision, UTC. */
export function apiDate(ms: number): string {
  return new Date(Math.floor(ms / 60000) * 60000).toISOString().replace(/:00\.000Z$/, 'Z');
}

/** The last 24 hours on the venue's defaults, 10,000 of capital, fills at the next bar's open. */
export function defaultSettings(nowMs: number): BacktestSettings {
  return {
    exchange: 'binance',
    market: 'spot',
    from: apiDate(nowMs - 86_400_000),
    to: apiDate(nowMs),
    source: 'exchange',
    initial_capital: '10000',
    taker_fee_rate: '',
    maker_fee_rate: '',
    slippage_bps: '0',
    fill: 'next_open',
  };
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z)?$/;
const DEC_RE = /^\d+(\.\d+)?$/;

/** The `POST /backtest` body, or the problems of each field (keyed like the form). */
export function backtestBody(
  choice: StrategyChoice,
  defs: ParamDef[],
  s: BacktestSettings,
): { body: Record<string, unknown>; errors: StrategyErrors } {
  const { params, symbol, strategy, errors } = common(choice, defs);
  for (const k of ['from', 'to'] as const) if (!DATE_RE.test(s[k].trim())) errors[k] = 'a UTC date like 2026-01-31 or 2026-01-31T12:00Z';
  if (!errors.from && !errors.to && Date.parse(s.to.trim()) <= Date.parse(s.from.trim())) errors.to = 'must be after from';
  if (!DEC_RE.test(s.initial_capital.trim()) || Number(s.initial_capital) <= 0) errors.initial_capital = 'a positive amount like 10000';
  if (!DEC_RE.test(s.slippage_bps.trim())) errors.slippage_bps = 'basis points, 0 or more';
  for (const k of ['taker_fee_rate', 'maker_fee_rate'] as const) {
    if (s[k].trim() !== '' && !DEC_RE.test(s[k].trim())) errors[k] = 'a rate like 0.001 (0.1 %), or empty for the venue default';
  }
  // A multi-series spec reads each of its instruments at its base timeframe.
  const feeds = specFeeds(strategy);
  if (feeds) delete errors.symbol;
  const body: Record<string, unknown> = {
    ...(strategy.strategy !== undefined ? { strategy: strategy.strategy } : { spec: strategy.spec }),
    params,
    exchange: s.exchange,
    market: s.market,
    symbol: feeds?.symbols[0] ?? symbol,
    timeframe: feeds?.timeframe || choice.timeframe,
    from: s.from.trim(),
    to: s.to.trim(),
    initial_capital: s.initial_capital.trim(),
    slippage_bps: s.slippage_bps.trim(),
    fill: s.fill,
  };
  if (s.source === 'stored') body.source = 'stored';
  if (s.taker_fee_rate.trim()) body.taker_fee_rate = s.taker_fee_rate.trim();
  if (s.maker_fee_rate.trim()) body.maker_fee_rate = s.maker_fee_rate.trim();
  return { body, errors };
}

/**
 * The form key an API error `field` belongs to: a spec's paths (`strategy_spec.factors.m.kind`,
 * a backtest's `spec`) land on the spec editor, `params.fast` on its input, a strategy bot's
 * `instruments…` on the symbol. Unknown fields return null (shown at the form's foot).
 */
export function strategyErrorKey(field: string | null, defs: ParamDef[]): string | null {
  if (!field) return null;
  if (field === 'spec' || field === 'strategy_spec' || field.startsWith('strategy_spec.')) return 'strategy_spec';
  if (field.startsWith('params.')) {
    const name = field.slice('params.'.length);
    return defs.some((d) => d.name === name) ? field : 'params';
  }
  if (field === 'params') return 'params';
  if (field === 'instruments' || field.startsWith('instruments[') || field === 'symbol') return 'symbol';
  if (
    ['strategy', 'timeframe', 'from', 'to', 'source', 'initial_capital', 'slippage_bps', 'taker_fee_rate', 'maker_fee_rate'].includes(field)
  ) {
    return field;
  }
  return null;
}

/** The form keys whose input differs between two choices (their stale errors are dropped as the operator types). */
export function changedKeys(a: StrategyChoice, b: StrategyChoice): string[] {
  const keys: string[] = [];
  if (a.kind !== b.kind || a.template !== b.template) keys.push('strategy', 'params');
  if (a.specText !== b.specText || a.kind !== b.kind) keys.push('strategy_spec');
  if (a.symbol !== b.symbol) keys.push('symbol');
  if (a.timeframe !== b.timeframe) keys.push('timeframe');
  for (const k of new Set([...Object.keys(a.params), ...Object.keys(b.params)])) if (a.params[k] !== b.params[k]) keys.push(`params.${k}`);
  return keys;
}

/** `errors` without `keys` (the same object when none of them is there). */
export function withoutKeys<E extends Record<string, string>>(errors: E, keys: string[]): E {
  if (!keys.some((k) => k in errors)) return errors;
  const out = { ...errors };
  for (const k of keys) delete out[k];
  return out;
}
