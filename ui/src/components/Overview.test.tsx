import { screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type BotSummary } from '../api';
import { fakeClient, renderAs } from '../test/util';
import { Overview } from './Overview';
import { RiskUsage } from './RiskUsage';

const bot: BotSummary = {
  id: 'btc-trend',
  name: 'BTC trend',
  mode: 'live',
  exchange: 'binance',
  market: 'linear',
  state: 'needs_attention',
  quote_asset: 'USDT',
  today_pnl: '-12.3400',
  open_positions: 2,
  last_signal_at: null,
  circuit: 'open',
  outbox_depth: 7,
};

describe('Overview', () => {
  it('lists every bot with mode, state, P&L as sent, and circuit', async () => {
    renderAs('viewer', <Overview />, fakeClient({ listBots: vi.fn(() => Promise.resolve([bot])) }));
    const row = await screen.findByTestId('bot-row-btc-trend');
    expect(row.textContent).toContain('live');
    expect(row.textContent).toContain('needs attention');
    expect(row.textContent).toContain('−12.3400');
    expect(row.textContent).toContain('circuit open');
    expect(row.textContent).toContain('never');
    expect(screen.queryByTestId('new-bot')).toBeNull();
  });

  it('shows the error when the API fails', async () => {
    renderAs(
      'admin',
      <Overview />,
      fakeClient({ listBots: vi.fn(() => Promise.reject(new ApiError(500, { code: 'x', message: 'boom' }))) }),
    );
    expect((await screen.findByRole('alert')).textContent).toContain('boom');
    expect(screen.getByTestId('new-bot')).toBeTruthy();
  });
});

describe('RiskUsage', () => {
  it('shows used of limit per rule', () => {
    renderAs('viewer', <RiskUsage usage={{ max_daily_loss: { used: '40', limit: '100' }, max_trades_per_day: { used: 49, limit: 50 } }} />);
    expect(screen.getByText('40 of 100')).toBeTruthy();
    expect(screen.getByRole('meter', { name: 'max_daily_loss' }).getAttribute('aria-valuenow')).toBe('40');
    expect(screen.getByRole('meter', { name: 'max_trades_per_day' }).querySelector('.fill.high')).toBeTruthy();
  });

  it('an unset limit reads "(no limit)" with an empty bar, never "2 of 0"', () => {
    renderAs('viewer', <RiskUsage usage={{ max_open_positions: { used: 2, limit: null } }} />);
    expect(screen.getByText('2 (no limit)')).toBeTruthy();
    expect(screen.queryByText(/of 0/)).toBeNull();
    expect(screen.getByRole('meter', { name: 'max_open_positions' }).getAttribute('aria-valuenow')).toBe('0');
  });
});
