import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Pnl } from '../api';
import { DailyPnl, dailyNet } from './DailyPnl';

const pnl = {
  quote_asset: 'USDT',
  by_day: [
    { date: '2026-12-06', realized: '1.2', fees_quote: '0.2000001', funding: '-0.0000001' },
    { date: '2026-12-07', realized: '-0.11104', fees_quote: '0.27761', funding: '0' },
  ],
} as unknown as Pnl;

describe('daily P&L bars', () => {
  it('nets each day exactly: realized + funding − fees', () => {
    expect(dailyNet(pnl)).toEqual([
      { date: '2026-12-06', net: '0.9999998' },
      { date: '2026-12-07', net: '-0.38865' },
    ]);
  });
  it('one bar per day, labelled in the currency precision', () => {
    render(<DailyPnl pnl={pnl} />);
    const bars = screen.getAllByTestId('daily-bar');
    expect(bars).toHaveLength(2);
    expect(bars[0].textContent).toContain('+1.00');
    expect(bars[1].textContent).toContain('-0.39');
    expect(bars[1].querySelector('.neg-bg')).toBeTruthy();
  });
});
