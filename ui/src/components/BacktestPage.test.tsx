import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type BotDetail } from '../api';
import { CATALOGUE, REPORT } from '../test/fixtures';
import { fakeClient, renderAs } from '../test/util';
import { BacktestPage } from './BacktestPage';

vi.mock('./PnlChart', () => ({
  // The canvas chart needs a real browser (covered in ui/e2e): jsdom has no canvas, and the
  // chart's lazy load could land during a later test and throw there. Here its input counts.
  PnlChart: ({ points }: { points: unknown[] }) => <div data-testid="pnl-chart" data-points={points.length} />,
}));

function fill(testId: string, value: string) {
  fireEvent.change(screen.getByTestId(testId), { target: { value } });
}

const strategies = () => vi.fn(() => Promise.resolve(CATALOGUE));

describe('BacktestPage', () => {
  it('runs a template backtest and shows the report with the shared number rules', async () => {
    let finish: (v: unknown) => void = () => undefined;
    const backtest = vi.fn(() => new Promise((r) => (finish = r)));
    renderAs('admin', <BacktestPage />, fakeClient({ backtest, strategies: strategies() }));
    await screen.findByTestId('param-fast');
    fill('param-fast', '3');
    fill('param-slow', '8');
    fill('strategy-symbol', 'SOLUSDT');
    fill('strategy-timeframe', '1m');
    fill('bt-market', 'linear');
    fill('bt-from', '2026-12-07T08:00Z');
    fill('bt-to', '2026-12-07T12:00Z');
    fireEvent.click(screen.getByTestId('run-backtest'));
    // The working state while the Worker fetches and runs.
    await screen.findByTestId('backtest-running');
    expect((screen.getByTestId('run-backtest') as HTMLButtonElement).disabled).toBe(true);
    expect(backtest).toHaveBeenCalledWith(
      expect.objectContaining({
        strategy: 'ma_crossover',
        params: { fast: 3, slow: 8, short: 0 },
        market: 'linear',
        symbol: 'SOLUSDT',
        timeframe: '1m',
        from: '2026-12-07T08:00Z',
      }),
    );
    finish(REPORT);
    await screen.findByTestId('backtest-report');
    expect(screen.queryByTestId('backtest-running')).toBeNull();
    expect(screen.getByTestId('metric-return').textContent).toBe('+1.23 %');
    expect(screen.getByTestId('metric-net-pnl').textContent).toBe('123.45 USDT');
    expect(screen.getByTestId('metric-net-pnl').getAttribute('title')).toBe('123.4512345678901');
    expect(screen.getByTestId('metric-max-drawdown').textContent).toBe('-4.56 %');
    expect(screen.getByTestId('metric-sharpe').textContent).toBe('1.23');
    expect(screen.getByTestId('metric-win-rate').textContent).toBe('60.00 %');
    expect(screen.getByTestId('metric-fees').textContent).toBe('1.23 USDT');
    const trips = screen.getAllByTestId('backtest-trip');
    expect(trips).toHaveLength(2);
    expect(trips[0].textContent).toContain('150.12');
    expect(trips[0].textContent).toContain('-0.40 USDT');
  });

  it('shows a 413 too_many_bars clearly, at the range', async () => {
    const backtest = vi.fn(() =>
      Promise.reject(
        new ApiError(413, { code: 'too_many_bars', message: '86400 candles requested; the API handles at most 50000 per backtest' }),
      ),
    );
    renderAs('admin', <BacktestPage />, fakeClient({ backtest, strategies: strategies() }));
    await screen.findByTestId('param-fast');
    fireEvent.click(screen.getByTestId('run-backtest'));
    const err = await screen.findByTestId('backtest-error');
    expect(err.textContent).toMatch(/^Too many bars: 86400 candles requested; .* at most 50000 .*Shorten the range/);
    expect(screen.getByTestId('error-from').textContent).toContain('86400 candles requested');
    expect(screen.queryByTestId('backtest-report')).toBeNull();
  });

  it('puts a 422 at the field it names', async () => {
    const backtest = vi.fn(() =>
      Promise.reject(new ApiError(422, { code: 'invalid_backtest', message: 'params.fast: 9 must be below slow', field: 'params' })),
    );
    renderAs('admin', <BacktestPage />, fakeClient({ backtest, strategies: strategies() }));
    await screen.findByTestId('param-fast');
    fireEvent.click(screen.getByTestId('run-backtest'));
    expect((await screen.findByTestId('error-params')).textContent).toBe('params.fast: 9 must be below slow');
    expect(screen.getByTestId('backtest-error').textContent).toBe('params: params.fast: 9 must be below slow [invalid_backtest]');
  });

  it("is prefilled from a strategy bot's config", async () => {
    const detail = {
      config: {
        id: 'sol',
        name: 'SOL',
        exchange: 'bybit',
        market: 'linear',
        source: 'strategy',
        strategy: 'ma_crossover',
        params: { fast: 4, slow: 9 },
        timeframe: '5m',
        instruments: ['SOLUSDT'],
      },
      state: 'running',
      config_version: 3,
    } as unknown as BotDetail;
    const backtest = vi.fn(() => Promise.resolve(REPORT));
    renderAs(
      'admin',
      <BacktestPage bot="sol" />,
      fakeClient({ backtest, strategies: strategies(), getBot: vi.fn(() => Promise.resolve(detail)) }),
    );
    await screen.findByText(/Prefilled from bot sol \(config v3\)/);
    await waitFor(() => expect((screen.getByTestId('param-fast') as HTMLInputElement).value).toBe('4'));
    expect((screen.getByTestId('strategy-timeframe') as HTMLSelectElement).value).toBe('5m');
    expect((screen.getByTestId('bt-exchange') as HTMLSelectElement).value).toBe('bybit');
    fireEvent.click(screen.getByTestId('run-backtest'));
    await screen.findByTestId('backtest-report');
    expect(backtest).toHaveBeenCalledWith(
      expect.objectContaining({
        strategy: 'ma_crossover',
        params: { fast: 4, slow: 9, short: 0 },
        exchange: 'bybit',
        market: 'linear',
        symbol: 'SOLUSDT',
        timeframe: '5m',
      }),
    );
  });

  it('refuses bad settings locally without calling the API', async () => {
    const backtest = vi.fn();
    renderAs('admin', <BacktestPage />, fakeClient({ backtest, strategies: strategies() }));
    await screen.findByTestId('param-fast');
    fill('bt-initial_capital', '-5');
    fill('bt-to', 'tomorrow');
    fireEvent.click(screen.getByTestId('run-backtest'));
    expect(screen.getByTestId('error-initial_capital').textContent).toMatch(/positive/);
    expect(screen.getByTestId('error-to').textContent).toMatch(/UTC date/);
    expect(backtest).not.toHaveBeenCalled();
  });
});
