import { describe, expect, it } from 'vitest';
import {
  RATIOS,
  cumulative,
  decisionText,
  hourBars,
  hourRows,
  pValue,
  pct,
  ratio,
  ratioText,
  strategyRows,
  sumsToNet,
  type AnalyticsMetrics,
  type AttributionSlice,
} from './analytics';

const slice = (net: string, fills = 1): AttributionSlice => ({ realized: net, fees: '0', funding: '0', net, fills });
const metrics: AnalyticsMetrics = {
  total_return: 0.012345,
  annual_return: 1.5,
  volatility: 0.2,
  sharpe: 1.23456,
  sortino: -0.004,
  calmar: null,
  max_drawdown: 0.05,
  max_drawdown_bars: 3,
  win_rate: 0.6666666,
  profit_factor: 2.5,
  exposure: 0.5,
  turnover: 4.2,
  executions: 3,
  fees: '0.1',
};
const def = (key: keyof AnalyticsMetrics) => RATIOS.find((r) => r.key === key)!;

describe('ratio formatting', () => {
  it('percentages and ratios with two decimals, no negative zero', () => {
    expect(pct(0.012345)).toBe('1.23%');
    expect(pct(-0.00001)).toBe('0.00%');
    expect(ratio(1.23456)).toBe('1.23');
    expect(ratio(-0.004)).toBe('0.00');
    expect(ratio(-1.005)).toBe('-1.00');
  });
  it('"—" for null and non-finite values', () => {
    expect(pct(null)).toBe('—');
    expect(ratio(Number.POSITIVE_INFINITY)).toBe('—');
    expect(ratio(Number.NaN)).toBe('—');
    expect(pValue(undefined)).toBe('—');
  });
  it('p-values to four places, tiny ones as "< 0.0001"', () => {
    expect(pValue(0.04321)).toBe('0.0432');
    expect(pValue(0.00001)).toBe('< 0.0001');
    expect(pValue(1)).toBe('1.0000');
  });
  it('a card reads "—" when the ratio means nothing for the history', () => {
    expect(ratioText(def('win_rate'), metrics, 10)).toBe('66.67%');
    expect(ratioText(def('win_rate'), { ...metrics, executions: 0, win_rate: 0 }, 10)).toBe('—');
    expect(ratioText(def('profit_factor'), { ...metrics, executions: 0, profit_factor: 0 }, 10)).toBe('—');
    expect(ratioText(def('sharpe'), metrics, 1)).toBe('—');
    expect(ratioText(def('sharpe'), metrics, 2)).toBe('1.23');
    expect(ratioText(def('calmar'), metrics, 10)).toBe('—');
    expect(ratioText(def('max_drawdown_bars'), metrics, 10)).toBe('3');
    expect(ratioText(def('executions'), { ...metrics, executions: 0 }, 0)).toBe('0');
  });
});

describe('attribution ordering and sums', () => {
  it('hours sort numerically, not as text', () => {
    const rows = hourRows({ '10': slice('1'), '2': slice('2'), '23': slice('3'), '0': slice('4') });
    expect(rows.map(([k]) => k)).toEqual(['0', '2', '10', '23']);
  });
  it('strategy versions in natural order, then untagged, then funding', () => {
    const rows = strategyRows({ funding: slice('1'), untagged: slice('1'), 'ma_crossover@v10': slice('1'), 'ma_crossover@v2': slice('1') });
    expect(rows.map(([k]) => k)).toEqual(['ma_crossover@v2', 'ma_crossover@v10', 'untagged', 'funding']);
  });
  it('checks the exact sum of a table against the net (no float rounding)', () => {
    const rows = hourRows({ '1': slice('0.1'), '2': slice('0.2') });
    expect(sumsToNet(rows, '0.3')).toEqual({ sum: '0.3', exact: true });
    expect(sumsToNet(rows, '0.30000000000000004').exact).toBe(false);
    expect(sumsToNet([], '0')).toEqual({ sum: '0', exact: true });
  });
  it('24 hour bars, zero where nothing happened', () => {
    const bars = hourBars({ '3': slice('-1.5', 2), '22': slice('4') });
    expect(bars).toHaveLength(24);
    expect(bars[3]).toEqual({ hour: 3, net: '-1.5', fills: 2 });
    expect(bars[0]).toEqual({ hour: 0, net: '0', fills: 0 });
    expect(bars[22].net).toBe('4');
  });
});

describe('comparison helpers', () => {
  it('compounds both return series in time order, times in seconds', () => {
    const c = cumulative([
      { time: 2_000_000_000_000, a: -0.5, b: 0 },
      { time: 1_999_999_000_000, a: 0.1, b: 0.2 },
    ]);
    expect(c.map((p) => p.time)).toEqual([1_999_999_000, 2_000_000_000]);
    expect(c[0].a).toBeCloseTo(0.1, 12);
    expect(c[1].a).toBeCloseTo(1.1 * 0.5 - 1, 12);
    expect(c[1].b).toBeCloseTo(0.2, 12);
  });
  it('skips non-finite returns and reads small times as seconds', () => {
    const c = cumulative([
      { time: 1_700_000_000, a: Number.NaN, b: 0.1 },
      { time: 1_700_000_060, a: 0.1, b: 0.1 },
    ]);
    expect(c).toHaveLength(1);
    expect(c[0].time).toBe(1_700_000_060);
  });
  it('the sequential decision in words', () => {
    const s = { n: 10, mean_diff: 0.01, p_value: 0.01 };
    expect(decisionText({ ...s, decision: 'continue', decided_at_ms: null }, 'A', 'B')).toBe('no decision yet: keep running');
    expect(decisionText({ ...s, decision: 'b_better', decided_at_ms: 0 }, 'A', 'B')).toBe('B is better (decided 1970-01-01 00:00Z)');
  });
});
