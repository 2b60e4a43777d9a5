import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type StrategyView } from '../api';
import { fakeClient, renderAs } from '../test/util';
import { StrategyPanel, targetText } from './StrategyPanel';

const view: StrategyView = {
  strategy: 'ma_crossover',
  symbol: 'BTCUSDT',
  timeframe: '1m',
  version_id: 'ma_crossover@1#c826',
  params: { fast: 3, slow: 8 },
  last_bar_at: null,
  last_target: 'Exposure(-1.0)',
  next_wake_at: null,
  warm_up: 8,
  versions_run: [],
};

describe('strategy panel', () => {
  it('reads targets as positions', () => {
    expect(targetText('Exposure(-1.0)')).toBe('short 100 % of equity');
    expect(targetText('Exposure(0.5)')).toBe('long 50 % of equity');
    expect(targetText('Exposure(0.0)')).toBe('flat');
    expect(targetText(null)).toBe('—');
  });

  it('reviews changed params, then patches them as a new version', async () => {
    const patchBot = vi.fn(() => Promise.resolve({ version: 3, diff: [] }));
    const onSaved = vi.fn();
    renderAs(
      'admin',
      <StrategyPanel botId="ma" configVersion={2} onSaved={onSaved} />,
      fakeClient({ strategy: vi.fn(() => Promise.resolve(view)), patchBot }),
    );
    expect((await screen.findByTestId('strategy-target')).textContent).toBe('short 100 % of equity');
    fireEvent.change(screen.getByTestId('param-fast'), { target: { value: '5' } });
    fireEvent.click(screen.getByTestId('review-params'));
    expect(screen.getByTestId('params-diff').textContent).toContain('params.fast35');
    fireEvent.click(screen.getByTestId('save-params'));
    expect((await screen.findByTestId('params-saved')).textContent).toContain('version 3');
    expect(patchBot).toHaveBeenCalledWith('ma', { params: { fast: 5, slow: 8 } });
    expect(onSaved).toHaveBeenCalled();
  });

  it('is absent for a bot fed by webhooks, and read-only for viewers', async () => {
    const { container } = renderAs(
      'admin',
      <StrategyPanel botId="w" configVersion={1} onSaved={() => undefined} />,
      fakeClient({ strategy: vi.fn(() => Promise.reject(new ApiError(409, { code: 'not_a_strategy_bot', message: 'no' }))) }),
    );
    await vi.waitFor(() => expect(container.querySelector('[data-testid="strategy-panel"]')).toBeNull());
    renderAs(
      'viewer',
      <StrategyPanel botId="ma" configVersion={1} onSaved={() => undefined} />,
      fakeClient({ strategy: vi.fn(() => Promise.resolve(view)) }),
    );
    expect(((await screen.findByTestId('param-fast')) as HTMLInputElement).disabled).toBe(true);
    expect(screen.queryByTestId('run-strategy')).toBeNull();
  });
});
