import { fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { etaText, type AnalyticsMetrics, type Comparison } from '../analytics';
import { ApiError, type BotSummary } from '../api';
import { fakeClient, renderAs } from '../test/util';
import { ComparePage, stat } from './ComparePage';

vi.mock('./CompareChart', async (orig) => ({
  ...(await orig<typeof import('./CompareChart')>()),
  // The canvas chart needs a real browser (covered in ui/e2e); here its input is what counts.
  CompareChart: ({ series }: { series: Comparison['series'] }) => <div data-testid="compare-chart" data-points={series.length} />,
}));

const m = (sharpe: number, executions: number): AnalyticsMetrics => ({
  total_return: 0.05,
  annual_return: 0.5,
  volatility: 0.2,
  sharpe,
  sortino: 1,
  calmar: 2,
  max_drawdown: 0.01,
  max_drawdown_bars: 1,
  win_rate: 0.5,
  profit_factor: 2,
  exposure: 0.3,
  turnover: 1,
  executions,
  fees: '0.1',
});
const diff = (p: number) => ({
  n: 30,
  sharpe_a: 0.21,
  sharpe_b: 0.05,
  diff: 0.16,
  std_error: 0.08,
  t_stat: 2.0004,
  p_value: p,
  bandwidth: 2.5,
});
const comparison: Comparison = {
  period: '1d',
  from_ms: 1_765_000_000_000,
  to_ms: 1_765_086_400_000,
  pairs: 30,
  a: { bot_id: 'alpha', quote_asset: 'USDT', metrics: m(1.5, 4), net: '12.345' },
  b: { bot_id: 'beta', quote_asset: 'USDT', metrics: m(0.5, 0), net: '-0.004' },
  sharpe_difference: { hac: diff(0.0455), iid: diff(0.04), error: null },
  sequential: { n: 30, mean_diff: 0.0012, p_value: 0.03, decision: 'a_better', decided_at_ms: 1_765_080_000_000 },
  series: [
    { time: 1_765_000_000_000, a: 0.01, b: 0 },
    { time: 1_765_086_400_000, a: 0.02, b: -0.01 },
  ],
};
const bots = ['beta', 'alpha'].map((id) => ({ id }) as BotSummary);

afterEach(() => {
  window.location.hash = '';
});

describe('ComparePage', () => {
  it('asks for two bots before calling the API', async () => {
    const client = fakeClient({ listBots: vi.fn(() => Promise.resolve(bots)), compare: vi.fn() });
    renderAs('viewer', <ComparePage a="alpha" />, client);
    await screen.findByText(/Choose bot A and bot B/);
    expect(client.compare).not.toHaveBeenCalled();
    // Options sorted; choosing B writes the URL.
    const options = within(screen.getByTestId('compare-b')).getAllByRole('option');
    expect(options.map((o) => o.textContent)).toEqual(['choose…', 'alpha', 'beta']);
    fireEvent.change(screen.getByTestId('compare-b'), { target: { value: 'beta' } });
    expect(window.location.hash).toBe('#/compare/alpha/beta/1d');
  });

  it('refuses the same bot twice', async () => {
    renderAs('viewer', <ComparePage a="alpha" b="alpha" />, fakeClient({ listBots: vi.fn(() => Promise.resolve(bots)) }));
    await screen.findByText('Choose two different bots.');
  });

  it('both sides, both tests and the sequential decision', async () => {
    const client = fakeClient({ listBots: vi.fn(() => Promise.resolve(bots)), compare: vi.fn(() => Promise.resolve(comparison)) });
    renderAs('viewer', <ComparePage a="alpha" b="beta" period="1d" />, client);
    await screen.findByTestId('comparison');
    expect(client.compare).toHaveBeenCalledWith('alpha', 'beta', '1d');
    expect(within(screen.getByTestId('side-a')).getByTestId('side-net').textContent).toBe('+12.35 USDT');
    expect(within(screen.getByTestId('side-a')).getByTestId('side-net').getAttribute('title')).toBe('12.345');
    expect(within(screen.getByTestId('side-b')).getByTestId('side-net').textContent).toBe('-0.004 USDT');
    expect(within(screen.getByTestId('side-a')).getByTestId('ratio-sharpe').textContent).toBe('1.50');
    // B has no executions: its win rate means nothing.
    expect(within(screen.getByTestId('side-b')).getByTestId('ratio-win_rate').textContent).toBe('—');
    const rows = screen.getAllByTestId('sharpe-row');
    expect(rows[0].textContent).toContain('HAC');
    expect(within(rows[0]).getByTestId('sharpe-t').textContent).toBe('2.000');
    expect(within(rows[0]).getByTestId('sharpe-p').textContent).toBe('0.0455');
    expect(within(rows[1]).getByTestId('sharpe-p').textContent).toBe('0.0400');
    expect(screen.getByTestId('seq-p').textContent).toBe('0.0300');
    expect(screen.getByTestId('seq-mean').textContent).toBe('0.120%');
    expect(screen.getByTestId('seq-decision').textContent).toBe('A (alpha) is better (decided 2025-12-07 04:00Z)');
    expect((await screen.findByTestId('compare-chart')).getAttribute('data-points')).toBe('2');
    expect(screen.getByText(/fixed-sample test/)).toBeTruthy();
    expect(screen.getByText(/always-valid p-value/)).toBeTruthy();
  });

  it('a test that could not run says why; a sequential test without a decision says to keep running', async () => {
    const pending: Comparison = {
      ...comparison,
      sharpe_difference: { hac: null, iid: null, error: 'fewer than 3 paired returns' },
      sequential: { n: 0, mean_diff: 0, p_value: 1, decision: 'continue', decided_at_ms: null },
    };
    renderAs(
      'viewer',
      <ComparePage a="alpha" b="beta" />,
      fakeClient({ listBots: vi.fn(() => Promise.resolve(bots)), compare: vi.fn(() => Promise.resolve(pending)) }),
    );
    expect((await screen.findByTestId('sharpe-error')).textContent).toContain('fewer than 3 paired returns');
    expect(within(screen.getAllByTestId('sharpe-row')[0]).getByTestId('sharpe-p').textContent).toBe('—');
    expect(screen.getByTestId('seq-decision').textContent).toBe('no decision yet: keep running');
    expect(screen.getByTestId('seq-mean').textContent).toBe('—');
  });

  it("shows the API's refusal (unknown bot, bad period)", async () => {
    const refuse = vi.fn(() => Promise.reject(new ApiError(404, { code: 'not_found', message: 'no bot ghost' })));
    renderAs('viewer', <ComparePage a="alpha" b="ghost" />, fakeClient({ listBots: vi.fn(() => Promise.resolve(bots)), compare: refuse }));
    expect((await screen.findByRole('alert')).textContent).toContain('no bot ghost (HTTP 404)');
  });

  it('a shadow of A: the expected time to a decision, the shadow list, and a promotion refused then forced with a reason', async () => {
    const pending: Comparison = {
      ...comparison,
      sequential: { n: 12, mean_diff: 0.001, p_value: 0.4, decision: 'continue', decided_at_ms: null, periods_to_decision: 30, expected_decision_in_ms: 30 * 86_400_000 },
    };
    const promote = vi
      .fn()
      .mockRejectedValueOnce(new ApiError(409, { code: 'no_decision', message: 'the sequential test has not decided yet' }))
      .mockResolvedValueOnce({});
    const client = fakeClient({
      listBots: vi.fn(() => Promise.resolve(bots)),
      compare: vi.fn(() => Promise.resolve(pending)),
      shadowLinks: vi.fn(() => Promise.resolve({ bot_id: 'alpha', shadow_of: null, shadows: ['beta'] })),
      createShadow: vi.fn(() => Promise.resolve({})),
      promote,
    });
    renderAs('admin', <ComparePage a="alpha" b="beta" period="1d" />, client);
    expect((await screen.findByTestId('seq-eta')).textContent).toBe('~30 periods of 1d (30.0 days)');
    expect((await screen.findByTestId('shadow-link-beta')).getAttribute('href')).toBe('#/compare/alpha/beta/1d');
    fireEvent.click(screen.getByTestId('promote'));
    fireEvent.click(screen.getByRole('button', { name: 'Promote' }));
    expect((await screen.findByTestId('shadow-result')).textContent).toBe('no_decision: the sequential test has not decided yet');
    expect(promote).toHaveBeenLastCalledWith('alpha', 'beta', '1d', false, undefined);
    fireEvent.click(screen.getByTestId('promote-force'));
    expect((screen.getByTestId('promote') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByTestId('promote-reason'), { target: { value: 'ship it' } });
    fireEvent.click(screen.getByTestId('promote'));
    fireEvent.click(screen.getByRole('button', { name: 'Promote' }));
    expect((await screen.findByText(/Promoted beta's version onto alpha \(forced/)).getAttribute('role')).toBe('status');
    expect(promote).toHaveBeenLastCalledWith('alpha', 'beta', '1d', true, 'ship it');
    // A patch that is not a JSON object cannot be sent.
    fireEvent.change(screen.getByTestId('shadow-id'), { target: { value: 'gamma' } });
    fireEvent.change(screen.getByTestId('shadow-patch'), { target: { value: '[1]' } });
    expect((screen.getByTestId('create-shadow') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByTestId('shadow-patch'), { target: { value: '{"sizing": {"value": "0.004"}}' } });
    fireEvent.click(screen.getByTestId('create-shadow'));
    await screen.findByText('gamma now shadows alpha (paper), fed every signal alpha admits.');
    expect(client.createShadow).toHaveBeenCalledWith('alpha', 'gamma', { sizing: { value: '0.004' } });
  });

  it('no decision in sight without an effect; decided once decided', () => {
    const seq = { n: 40, mean_diff: 0, p_value: 1, decision: 'continue' as const, decided_at_ms: null, periods_to_decision: null };
    expect(etaText(seq, '1h')).toBe('none in sight (no effect measured yet)');
    expect(etaText({ ...seq, decision: 'b_better' }, '1h')).toBe('decided');
    expect(etaText({ ...seq, periods_to_decision: 5, expected_decision_in_ms: 5 * 3_600_000 }, '1h')).toBe('~5 periods of 1h (5.0 h)');
  });

  it('test statistics to three decimals, no negative zero', () => {
    expect(stat(-0.0001)).toBe('0.000');
    expect(stat(1.23456)).toBe('1.235');
    expect(stat(null)).toBe('—');
  });
});
