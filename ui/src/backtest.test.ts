import { describe, expect, it } from 'vitest';
import { curvePoints, keyMetrics, normalizeReport, pct, ratio, tripCells } from './backtest';
import { REPORT } from './test/fixtures';

describe('backtest report', () => {
  it('keeps decimals as strings and non-finite ratios as null', () => {
    const r = normalizeReport(REPORT);
    expect(r.metrics.net_pnl).toBe('123.4512345678901');
    expect(r.metrics.sortino).toBeNull();
    expect(r.trades[1].exit_ms).toBeNull();
    expect(r.rejected).toEqual([{ time_ms: 1765002000000, status: 422, code: 'below_min_notional' }]);
  });

  it('survives a partial or foreign document', () => {
    const r = normalizeReport({ metrics: { sharpe: 'NaN' }, trades: [null], equity_curve: [[1, 'x'], 'y'] });
    expect(r.metrics.sharpe).toBeNull();
    expect(r.trades).toHaveLength(1);
    expect(r.equity_curve).toEqual([]);
    expect(normalizeReport(null).bars).toBe(0);
  });

  it('shows the key metrics with the shared number rules', () => {
    const m = Object.fromEntries(keyMetrics(normalizeReport(REPORT)).map((x) => [x.id, x.text]));
    expect(m).toEqual({
      return: '+1.23 %',
      'net-pnl': '123.45 USDT',
      'final-equity': '10,123.45 USDT',
      'max-drawdown': '-4.56 %',
      sharpe: '1.23',
      trades: '3',
      'win-rate': '60.00 %',
      fees: '1.23 USDT',
    });
  });

  it('holds trips to the tick and step; an open trip has no exit', () => {
    const r = normalizeReport(REPORT);
    expect(tripCells(r.trades[0], r.precision)).toEqual({
      side: 'long',
      entry: '2025-12-06 05:47',
      exit: '2025-12-06 05:56',
      qty: '1.234',
      entryPrice: '150.12',
      exitPrice: '151.50',
      pnl: '-0.40 USDT',
      fees: '0.18 USDT',
    });
    const open = tripCells(r.trades[1], r.precision);
    expect([open.exit, open.exitPrice, open.pnl]).toEqual(['open', '—', '—']);
  });

  it('formats fractions and ratios', () => {
    expect(pct(null)).toBe('—');
    expect(pct(-0.00001)).toBe('0.00 %');
    expect(pct(0.5, true)).toBe('+50.00 %');
    expect(ratio(-0.001)).toBe('0.00');
  });

  it('turns the curves into chart points with drawdown in percent', () => {
    expect(curvePoints(normalizeReport(REPORT))).toEqual([
      { time: '2025-12-06T05:47:40.000Z', equity: '10000', drawdown: '0' },
      { time: '2025-12-06T05:48:40.000Z', equity: '10010.5', drawdown: '1.25' },
    ]);
  });
});
