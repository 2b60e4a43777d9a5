import { describe, expect, it } from 'vitest';
import { defaultOptimize, normalizeOptimize, optimizeBody, verdict } from './optimize';
import type { ParamDef } from './strategyForm';

const DEFS: ParamDef[] = [
  { name: 'fast', default: 10, min: 2, max: 200, integer: true },
  { name: 'slow', default: 30, min: 3, max: 1000, integer: true },
  { name: 'short', default: 0, min: 0, max: 1, integer: true },
];
const BASE = { strategy: 'ma_crossover', params: { fast: 10, slow: 30, short: 0 }, symbol: 'BTCUSDT', timeframe: '1h' };

describe('optimizeBody', () => {
  it('moves ranged parameters into the space and keeps the others pinned', () => {
    const s = defaultOptimize();
    s.ranges = { fast: { min: '5', max: '20', step: '' }, slow: { min: '40', max: '200', step: '10' } };
    s.min_trades = '5';
    s.max_drawdown = '30';
    s.windows = '3';
    s.anchored = true;
    const { body, errors } = optimizeBody(BASE, DEFS, s);
    expect(errors).toEqual({});
    expect(body.params).toEqual({ short: 0 });
    expect(body.optimize).toEqual({
      sampler: 'tpe',
      trials: 60,
      seed: 0,
      objective: 'sharpe',
      constraints: { min_trades: 5, max_drawdown: 0.3 },
      space: { fast: { min: 5, max: 20 }, slow: { min: 40, max: 200, step: 10 } },
      walk_forward: { windows: 3, in_sample: 0.5, anchored: true },
    });
    expect(body.strategy).toBe('ma_crossover');
  });

  it('names each bad setting', () => {
    const s = defaultOptimize();
    s.ranges = {
      fast: { min: '1', max: '20', step: '' },
      slow: { min: '50', max: '40', step: '' },
      short: { min: '0', max: '0.5', step: '' },
    };
    s.seed = '-1';
    s.max_drawdown = '150';
    const { errors } = optimizeBody(BASE, DEFS, s);
    expect(Object.keys(errors).sort()).toEqual(['max_drawdown', 'range-fast', 'range-short', 'range-slow', 'seed']);
    const t = defaultOptimize();
    t.trials = '100';
    t.windows = '3';
    expect(optimizeBody(BASE, DEFS, t).errors.trials).toContain('at most 200');
  });
});

describe('normalizeOptimize', () => {
  it('reads the report and survives missing parts', () => {
    const rep = normalizeOptimize({
      strategy: 'ma_crossover',
      sampler: 'tpe',
      seed: 7,
      result: {
        trials: 60,
        feasible: 55,
        best: [
          { params: { fast: 10, slow: 80 }, objective: 1.5, metrics: { net: '328.93', sharpe: 1.5, max_drawdown: 0.12, executions: 72 } },
        ],
        deflated: { dsr: 0.42, trials: 60, sharpe: 0.004, expected_max_sharpe: 0.01 },
        pbo: { pbo: 0.6, blocks: 16, combinations: 12870, trials: 55 },
      },
      walk_forward: {
        anchored: false,
        windows: [
          {
            index: 0,
            search: { span: { bars: 100 } },
            out_of_sample: { bars: 50 },
            chosen: { fast: 5 },
            oos: { net: '-1.5', sharpe: -0.3 },
          },
        ],
        stitched: {
          net: '-1.5',
          sharpe: -0.3,
          max_drawdown: 0.05,
          executions: 4,
          equity_curve: [
            [1, 10000],
            [2, 9998.5],
          ],
        },
      },
    });
    expect(rep.best[0]).toEqual({
      rank: 1,
      params: { fast: 10, slow: 80 },
      objective: 1.5,
      net: '328.93',
      sharpe: 1.5,
      maxDrawdown: 0.12,
      trades: 72,
    });
    expect(rep.walk?.windows[0].inSampleBars).toBe(100);
    expect(rep.walk?.stitched.equity).toHaveLength(2);
    expect(verdict(rep)).toContain('could be luck');
    expect(verdict(rep)).toContain('PBO 60.0 %');
    const empty = normalizeOptimize(null);
    expect(empty.best).toEqual([]);
    expect(empty.dsr).toBeNull();
    expect(verdict(empty)).toContain('No feasible');
  });
});
