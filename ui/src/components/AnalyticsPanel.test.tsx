import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { BotAnalytics } from '../analytics';
import { ApiError } from '../api';
import { fakeClient, renderAs } from '../test/util';
import { AnalyticsPanel } from './AnalyticsPanel';

const s = (realized: string, fees: string, funding: string, net: string, fills: number) => ({ realized, fees, funding, net, fills });
const analytics: BotAnalytics = {
  bot_id: 'b1',
  quote_asset: 'USDT',
  period: '1d',
  points: 5,
  from_ms: 1_765_000_000_000,
  to_ms: 1_765_400_000_000,
  metrics: {
    total_return: 0.0123,
    annual_return: 0.9,
    volatility: 0.31,
    sharpe: 1.5,
    sortino: 2.25,
    calmar: 3,
    max_drawdown: 0.02,
    max_drawdown_bars: 2,
    win_rate: 0.5,
    profit_factor: 1.75,
    exposure: 0.4,
    turnover: 1.1,
    executions: 4,
    fees: '0.30001',
  },
  attribution: {
    total: s('1.5', '0.30001', '-0.1', '1.09999', 6),
    by_instrument: { ETHUSDT: s('1.6', '0.2', '-0.1', '1.3', 4), BTCUSDT: s('-0.1', '0.10001', '0', '-0.20001', 2) },
    by_strategy: { funding: s('0', '0', '-0.1', '-0.1', 0), untagged: s('1.5', '0.30001', '0', '1.19999', 6) },
    by_hour: { '10': s('1.5', '0.1', '0', '1.4', 2), '9': s('0', '0.20001', '-0.1', '-0.30001', 4) },
  },
};

describe('AnalyticsPanel', () => {
  it('ratio cards, the net, and three tables that each sum exactly to it', async () => {
    const client = fakeClient({ analytics: vi.fn(() => Promise.resolve(analytics)) });
    renderAs('viewer', <AnalyticsPanel botId="b1" />, client);
    await screen.findByTestId('analytics-view');
    expect(client.analytics).toHaveBeenCalledWith('b1', '1d');
    expect(screen.getByTestId('ratio-sharpe').textContent).toBe('1.50');
    expect(screen.getByTestId('ratio-total_return').textContent).toBe('1.23%');
    expect(screen.getByTestId('ratio-win_rate').textContent).toBe('50.00%');
    expect(screen.getByTestId('analytics-net').textContent).toBe('+1.10 USDT');
    expect(screen.getByTestId('analytics-net').getAttribute('title')).toBe('1.09999');
    for (const id of ['attr-instrument', 'attr-strategy', 'attr-hour']) {
      const sum = within(screen.getByTestId(id)).getByTestId('attribution-sum');
      expect(sum.getAttribute('data-exact')).toBe('yes');
      expect(sum.getAttribute('title')).toBe('1.09999');
    }
    // Hours in numeric order, strategies with funding last, exact values on hover.
    const hours = within(screen.getByTestId('attr-hour')).getAllByTestId('attribution-row');
    expect(hours.map((r) => r.getAttribute('data-key'))).toEqual(['9', '10']);
    const strategies = within(screen.getByTestId('attr-strategy')).getAllByTestId('attribution-row');
    expect(strategies.map((r) => r.getAttribute('data-key'))).toEqual(['untagged', 'funding']);
    expect(within(hours[0]).getByTestId('attribution-net').getAttribute('title')).toBe('-0.30001');
    expect(within(hours[0]).getByTestId('attribution-net').textContent).toBe('-0.30');
    // 24 bars; hour 9 is a loss, hour 10 a gain.
    const bars = screen.getAllByTestId('hour-bar');
    expect(bars).toHaveLength(24);
    expect(bars[9].querySelector('.neg-bg')).toBeTruthy();
    expect(bars[10].querySelector('.pos-bg')).toBeTruthy();
    expect(bars[11].querySelector('.bar-v')).toBeNull();
  });

  it('flags a table that does not add up, and shows "—" without executions', async () => {
    const broken: BotAnalytics = {
      ...analytics,
      metrics: { ...analytics.metrics, executions: 0, win_rate: 0, profit_factor: 0 },
      attribution: { ...analytics.attribution, by_hour: { '1': s('1', '0', '0', '1', 1) } },
    };
    renderAs('viewer', <AnalyticsPanel botId="b1" />, fakeClient({ analytics: vi.fn(() => Promise.resolve(broken)) }));
    await screen.findByTestId('analytics-view');
    expect(screen.getByTestId('ratio-win_rate').textContent).toBe('—');
    expect(screen.getByTestId('ratio-profit_factor').textContent).toBe('—');
    const sum = within(screen.getByTestId('attr-hour')).getByTestId('attribution-sum');
    expect(sum.getAttribute('data-exact')).toBe('no');
    expect(sum.textContent).toContain('≠ net');
  });

  it('asks again for the chosen period and shows a refused one', async () => {
    const load = vi.fn((_id: string, period: string) =>
      period === '4h'
        ? Promise.reject(new ApiError(422, { code: 'invalid_period', message: 'period too fine', field: 'period' }))
        : Promise.resolve({ ...analytics, period }),
    );
    renderAs('viewer', <AnalyticsPanel botId="b1" />, fakeClient({ analytics: load }));
    await screen.findByTestId('analytics-view');
    fireEvent.click(screen.getByTestId('period-1h'));
    await screen.findByText(/1h ·/);
    expect(load).toHaveBeenCalledWith('b1', '1h');
    fireEvent.click(screen.getByTestId('period-4h'));
    expect((await screen.findByRole('alert')).textContent).toContain('period too fine');
    expect(screen.queryByTestId('analytics-view')).toBeNull();
  });
});
