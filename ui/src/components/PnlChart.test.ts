import { describe, expect, it } from 'vitest';
import { timeAxis, toSeries } from './PnlChart';

describe('P&L chart time axis', () => {
  it('shows seconds when every point sits in a few minutes (no repeated "HH:MM" label)', () => {
    const pts = [0, 15, 30, 45].map((s) => ({ time: new Date(Date.UTC(2026, 11, 7, 5, 0, s)).toISOString(), equity: '10000', drawdown: '0' }));
    const { equity } = toSeries(pts);
    expect(timeAxis(equity[0].time, equity[equity.length - 1].time)).toEqual({ timeVisible: true, secondsVisible: true });
  });
  it('shows minutes over hours, dates only over weeks', () => {
    expect(timeAxis(0, 6 * 3600)).toEqual({ timeVisible: true, secondsVisible: false });
    expect(timeAxis(0, 30 * 86_400)).toEqual({ timeVisible: false, secondsVisible: false });
  });
});
