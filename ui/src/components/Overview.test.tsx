import { screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type BotSummary } from '../api';
import { fakeClient, renderAs } from '../test/util';
import { mostActive, Overview, portfolioTotals } from './Overview';
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
  equity: null,
};

describe('Overview', () => {
  it('lists every bot with mode, state, P&L in its currency, and circuit', async () => {
    renderAs('viewer', <Overview />, fakeClient({ listBots: vi.fn(() => Promise.resolve([bot])) }));
    const row = await screen.findByTestId('bot-row-btc-trend');
    expect(row.textContent).toContain('live');
    expect(row.textContent).toContain('needs attention');
    expect(row.textContent).toContain('-12.34');
    expect(row.textContent).not.toContain('12.3400');
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
    await vi.waitFor(() =>
      expect(
        screen
          .getAllByRole('alert')
          .map((a) => a.textContent)
          .join(' '),
      ).toContain('boom'),
    );
    expect(screen.getByTestId('new-bot')).toBeTruthy();
  });
});

describe('most active bots first', () => {
  it('attention and pauses, then positions, then the latest signal; capped', () => {
    const b = (id: string, state: BotSummary['state'], open_positions: number, last_signal_at: string | null): BotSummary => ({
      ...bot,
      id,
      state,
      open_positions,
      last_signal_at,
    });
    const list = [
      b('idle', 'running', 0, null),
      b('old', 'running', 0, '2026-01-01T00:00:00Z'),
      b('new', 'running', 0, '2026-06-01T00:00:00Z'),
      b('held', 'running', 1, null),
      b('paused', 'paused', 0, null),
    ];
    expect(mostActive(list, 4).map((x) => x.id)).toEqual(['paused', 'held', 'new', 'old']);
  });
});

describe('portfolio totals', () => {
  const pnl = (id: string, net: string, fees: string, funding: string, ccy = 'USDT') =>
    ({ bot_id: id, quote_asset: ccy, net, funding, fees: { total_quote: fees, by_asset: {} } }) as never;
  it('adds each figure exactly, per quote currency', () => {
    const bots: BotSummary[] = [
      { ...bot, id: 'a', today_pnl: '0.1', equity: '1000.10' },
      { ...bot, id: 'b', today_pnl: '0.2', equity: '2000.2000000001' },
      { ...bot, id: 'c', today_pnl: '5', equity: '10', quote_asset: 'USDC' },
      { ...bot, id: 'broken', error: 'unreadable' },
    ];
    const t = portfolioTotals(bots, {
      a: pnl('a', '1.5', '0.25', '-0.01'),
      b: pnl('b', '-0.5', '0.75', '0'),
      c: pnl('c', '3', '1', '0', 'USDC'),
    });
    expect(t).toEqual([
      { currency: 'USDT', equity: '3000.3000000001', today: '0.3', net: '1.0', fees: '1.00', funding: '-0.01', bots: 2 },
      { currency: 'USDC', equity: '10', today: '5', net: '3', fees: '1', funding: '0', bots: 1 },
    ]);
  });

  it('shows totals, positions across bots to their tick and step, alerts and unset limits as no limit', async () => {
    const client = fakeClient({
      listBots: vi.fn(() => Promise.resolve([{ ...bot, equity: '10000.123456' }])),
      platformPnl: vi.fn(() => Promise.resolve({ 'btc-trend': pnl('btc-trend', '-0.3996679610000000', '0.1234', '0') })),
      health: vi.fn(() =>
        Promise.resolve({
          halted: false,
          halted_at: null,
          status: 'ok',
          neo4j_state: 'reachable',
          exchange_hosts: [{ name: 'binance', reachable: true, detail: '' }],
          audit_outbox_depth: 0,
        } as never),
      ),
      botHealth: vi.fn(() =>
        Promise.resolve({
          bot_id: 'btc-trend',
          state: 'running',
          circuit: 'closed',
          outbox_depth: 0,
          last_signal_at: null,
          attention_reason: null,
          risk_usage: { max_open_positions: { used: 1, limit: null }, max_daily_loss: { used: '12.5', limit: '100' } },
          last_tick_at: new Date().toISOString(),
          alerts: [{ kind: 'order_rejected', subject: 'BTCUSDT', since: null, count: 2 }],
          open_orders: 0,
          reconciliation: 'ok',
        } as never),
      ),
      positions: vi.fn(() =>
        Promise.resolve([
          {
            instrument: 'BTCUSDT',
            qty: '0.0122877',
            avg_entry_price: '65975.0672132996126439242945',
            mark_price: '66000.5',
            unrealized: '0.3123456',
          },
        ]),
      ),
      openOrders: vi.fn(() => Promise.resolve([])),
      signals: vi.fn(() => Promise.resolve([])),
      market: vi.fn(() =>
        Promise.resolve({
          symbol: 'BTCUSDT',
          timeframe: '1h',
          tick_size: '0.10',
          step_size: '0.00001',
          base_asset: 'BTC',
          quote_asset: 'USDT',
          candles: [],
        }),
      ),
    });
    renderAs('viewer', <Overview />, client);
    expect((await screen.findByTestId('total-equity')).textContent).toBe('10,000.12 USDT');
    expect((await screen.findByTestId('total-net')).textContent).toBe('-0.40 USDT');
    const pos = await screen.findByTestId('overview-position');
    await vi.waitFor(() => expect(pos.textContent).toContain('65,975.1'));
    expect(pos.textContent).toContain('0.01229');
    expect(pos.textContent).toContain('66,000.5');
    expect(pos.textContent).toContain('+0.31');
    expect((await screen.findByTestId('open-alerts')).textContent).toContain('order rejected');
    const risk = await screen.findByTestId('risk-across');
    expect(risk.textContent).toContain('1 (no limit)');
    expect(risk.textContent).toContain('12.5 of 100');
    expect(risk.textContent).not.toMatch(/of 0\b/);
    expect((await screen.findByTestId('health-cron')).textContent).toContain('last tick');
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
