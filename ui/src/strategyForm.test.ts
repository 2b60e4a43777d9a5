import { describe, expect, it } from 'vitest';
import { CATALOGUE } from './test/fixtures';
import {
  apiDate,
  backtestBody,
  changedKeys,
  choiceFromConfig,
  defaultChoice,
  defaultSettings,
  paramDefs,
  parseParams,
  specParams,
  specFeeds,
  strategyBotFields,
  strategyErrorKey,
  withoutKeys,
  type StrategyChoice,
} from './strategyForm';

const template = (over: Partial<StrategyChoice> = {}): StrategyChoice => ({ ...defaultChoice(CATALOGUE), ...over });

describe('strategy params', () => {
  it('starts from the first template with its defaults', () => {
    const c = defaultChoice(CATALOGUE);
    expect(c.template).toBe('ma_crossover');
    expect(c.params).toEqual({ fast: '10', slow: '30', short: '0' });
    expect(paramDefs(c, CATALOGUE).map((d) => d.name)).toEqual(['fast', 'slow', 'short']);
  });

  it("reads a spec's params with their types and ranges", () => {
    const { defs, error } = specParams(JSON.stringify(CATALOGUE.specs[0].spec));
    expect(error).toBeUndefined();
    expect(defs).toEqual([
      { name: 'fast', default: 10, min: 1, max: 500, integer: true, bool: false },
      { name: 'k', default: 1.5, min: -Infinity, max: Infinity, integer: false, bool: false },
      { name: 'on', default: 1, min: 0, max: 1, integer: true, bool: true },
    ]);
  });

  it('says why a spec text is not a spec', () => {
    expect(specParams('{"name": ').error).toMatch(/^not JSON/);
    expect(specParams('[1]').error).toBe('a spec is a JSON object');
    expect(specParams('{"params": 3}').error).toBe('params: must be an object');
    expect(specParams('{"name": "x"}')).toEqual({ defs: [] });
  });

  it('types params and names each bad one', () => {
    const defs = paramDefs(template(), CATALOGUE);
    expect(parseParams(defs, { fast: '12', slow: ' 40 ', short: '1' })).toEqual({ params: { fast: 12, slow: 40, short: 1 }, errors: {} });
    // Empty takes the default.
    expect(parseParams(defs, { fast: '', slow: '30', short: '0' }).params.fast).toBe(10);
    const bad = parseParams(defs, { fast: '2.5', slow: '1', short: 'x' }).errors;
    expect(bad).toEqual({
      'params.fast': 'must be a whole number',
      'params.slow': 'must be between 2 and 2000',
      'params.short': 'must be a number like 10 or 0.5',
    });
    const rsi = paramDefs(template({ template: 'rsi_reversion' }), CATALOGUE);
    expect(parseParams(rsi, { band: '0.75' })).toEqual({ params: { band: 0.75 }, errors: {} });
  });
});

describe('strategy bot config fields', () => {
  it('a template bot: source, template name, typed params, timeframe, one instrument', () => {
    const c = template({ params: { fast: '3', slow: '8', short: '1' }, timeframe: '1m', symbol: 'solusdt' });
    const r = strategyBotFields(c, paramDefs(c, CATALOGUE));
    expect(r.errors).toEqual({});
    expect(r.fields).toEqual({
      source: 'strategy',
      strategy: 'ma_crossover',
      params: { fast: 3, slow: 8, short: 1 },
      timeframe: '1m',
      instruments: ['SOLUSDT'],
    });
  });

  it('a spec bot carries the document as strategy_spec and no template name', () => {
    const specText = JSON.stringify(CATALOGUE.specs[0].spec);
    const c = template({ kind: 'spec', specText, params: { fast: '5' } });
    const r = strategyBotFields(c, paramDefs(c, CATALOGUE));
    expect(r.errors).toEqual({});
    expect(r.fields.strategy_spec).toEqual(CATALOGUE.specs[0].spec);
    expect('strategy' in r.fields).toBe(false);
    expect(r.fields.params).toEqual({ fast: 5, k: 1.5, on: 1 });
  });

  it('a multi-series spec bot lists its series symbols and runs at its base timeframe', () => {
    const spec = {
      name: 'pair',
      timeframe: '1m',
      series: { b: { symbol: 'BTCUSDT', timeframe: '5m' }, e: { symbol: 'ETHUSDT' }, b1: { symbol: 'BTCUSDT' } },
      targets: { b: { expr: 1 } },
    };
    const c = template({ kind: 'spec', specText: JSON.stringify(spec), symbol: '', timeframe: '1h' });
    const r = strategyBotFields(c, paramDefs(c, CATALOGUE));
    expect(r.errors).toEqual({});
    expect(r.fields.instruments).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(r.fields.timeframe).toBe('1m');
    expect(specFeeds({ spec: CATALOGUE.specs[0].spec })).toBeNull();
    const bt = backtestBody(c, paramDefs(c, CATALOGUE), defaultSettings(Date.UTC(2026, 0, 2)));
    expect(bt.errors).toEqual({});
    expect(bt.body).toMatchObject({ symbol: 'BTCUSDT', timeframe: '1m', spec });
  });

  it('refuses a broken spec, a bad symbol and an unknown timeframe locally', () => {
    const c = template({ kind: 'spec', specText: '{oops', symbol: 'BTC/USDT', timeframe: '7m' });
    const r = strategyBotFields(c, paramDefs(c, CATALOGUE));
    expect(Object.keys(r.errors).sort()).toEqual(['strategy_spec', 'symbol', 'timeframe']);
  });

  it("reads a strategy bot's config back (template and spec)", () => {
    const fallback = defaultChoice(CATALOGUE);
    const t = choiceFromConfig(
      { source: 'strategy', strategy: 'ma_crossover', params: { fast: 3 }, timeframe: '1m', instruments: ['SOLUSDT'] },
      fallback,
    );
    expect(t).toMatchObject({ kind: 'template', template: 'ma_crossover', params: { fast: '3' }, timeframe: '1m', symbol: 'SOLUSDT' });
    const s = choiceFromConfig(
      { source: 'strategy', strategy_spec: { name: 'x' }, params: {}, timeframe: '4h', instruments: ['ETHUSDT'] },
      fallback,
    );
    expect(s.kind).toBe('spec');
    expect(JSON.parse(s.specText)).toEqual({ name: 'x' });
  });
});

describe('backtest request', () => {
  const now = Date.UTC(2026, 11, 7, 11, 25, 42);
  it('defaults to the last 24 hours in the API date form', () => {
    const s = defaultSettings(now);
    expect(s.from).toBe('2026-12-06T11:25Z');
    expect(s.to).toBe('2026-12-07T11:25Z');
    expect(apiDate(now)).toBe('2026-12-07T11:25Z');
  });

  it('builds the body the engine reads; empty fees are left to the venue', () => {
    const c = template({ params: { fast: '3', slow: '8', short: '0' }, timeframe: '1m', symbol: 'SOLUSDT' });
    const r = backtestBody(c, paramDefs(c, CATALOGUE), {
      ...defaultSettings(now),
      market: 'linear',
      initial_capital: '5000',
      slippage_bps: '2',
    });
    expect(r.errors).toEqual({});
    expect(r.body).toEqual({
      strategy: 'ma_crossover',
      params: { fast: 3, slow: 8, short: 0 },
      exchange: 'binance',
      market: 'linear',
      symbol: 'SOLUSDT',
      timeframe: '1m',
      from: '2026-12-06T11:25Z',
      to: '2026-12-07T11:25Z',
      initial_capital: '5000',
      slippage_bps: '2',
      fill: 'next_open',
    });
    const stored = backtestBody(c, paramDefs(c, CATALOGUE), { ...defaultSettings(now), source: 'stored', taker_fee_rate: '0.0004' });
    expect(stored.body.source).toBe('stored');
    expect(stored.body.taker_fee_rate).toBe('0.0004');
    expect('maker_fee_rate' in stored.body).toBe(false);
  });

  it('a spec run sends `spec`, not `strategy`', () => {
    const c = template({ kind: 'spec', specText: JSON.stringify(CATALOGUE.specs[0].spec) });
    const r = backtestBody(c, paramDefs(c, CATALOGUE), defaultSettings(now));
    expect(r.body.spec).toEqual(CATALOGUE.specs[0].spec);
    expect('strategy' in r.body).toBe(false);
  });

  it('names each bad setting', () => {
    const c = template();
    const r = backtestBody(c, paramDefs(c, CATALOGUE), {
      ...defaultSettings(now),
      from: '2026-12-07',
      to: '2026-12-01',
      initial_capital: '0',
      slippage_bps: '-1',
      maker_fee_rate: '1e-3',
    });
    expect(Object.keys(r.errors).sort()).toEqual(['initial_capital', 'maker_fee_rate', 'slippage_bps', 'to']);
    expect(backtestBody(c, paramDefs(c, CATALOGUE), { ...defaultSettings(now), from: 'yesterday' }).errors.from).toMatch(/UTC date/);
  });
});

describe('API error fields land on their input', () => {
  const defs = paramDefs(template(), CATALOGUE);
  const cases: [string | null, string | null][] = [
    ['strategy_spec.factors.m.kind', 'strategy_spec'],
    ['spec', 'strategy_spec'],
    ['params.fast', 'params.fast'],
    ['params.nope', 'params'],
    ['params', 'params'],
    ['instruments[0]', 'symbol'],
    ['timeframe', 'timeframe'],
    ['from', 'from'],
    ['initial_capital', 'initial_capital'],
    ['risk.max_daily_loss', null],
    ['body', null],
    [null, null],
  ];
  for (const [field, key] of cases) it(`${field} → ${key}`, () => expect(strategyErrorKey(field, defs)).toBe(key));
});

describe('stale errors', () => {
  it('names the inputs an edit changed', () => {
    const a = template();
    expect(changedKeys(a, a)).toEqual([]);
    expect(changedKeys(a, { ...a, params: { ...a.params, slow: '8' } })).toEqual(['params.slow']);
    expect(changedKeys(a, { ...a, symbol: 'ETHUSDT', timeframe: '5m' })).toEqual(['symbol', 'timeframe']);
    expect(changedKeys(a, { ...a, kind: 'spec' })).toEqual(['strategy', 'params', 'strategy_spec']);
  });
  it('drops only those errors, keeping the object when none is there', () => {
    const e = { 'params.slow': 'x', symbol: 'y', '': 'z' };
    expect(withoutKeys(e, ['params.slow'])).toEqual({ symbol: 'y', '': 'z' });
    expect(withoutKeys(e, ['timeframe'])).toBe(e);
  });
});
