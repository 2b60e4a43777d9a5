import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api';
import { CATALOGUE } from '../test/fixtures';
import { fakeClient, renderAs } from '../test/util';
import { OptimizePage } from './OptimizePage';

function fill(testId: string, value: string) {
  fireEvent.change(screen.getByTestId(testId), { target: { value } });
}

const REPORT = {
  strategy: 'ma_crossover',
  sampler: 'tpe',
  seed: 3,
  result: {
    trials: 20,
    feasible: 20,
    best: [
      {
        params: { fast: 10, short: 0, slow: 80 },
        objective: 1.3592,
        metrics: { net: '328.93', sharpe: 1.3592, max_drawdown: 0.126, executions: 72 },
      },
    ],
    deflated: { dsr: 0.3482, trials: 20, sharpe: 0.0042, expected_max_sharpe: 0.0104 },
    pbo: { pbo: 0.859, blocks: 16, combinations: 12870, trials: 20 },
  },
};

describe('OptimizePage', () => {
  it('posts the search and shows the best configurations with DSR and PBO', async () => {
    let finish: (v: unknown) => void = () => undefined;
    const optimize = vi.fn(() => new Promise((r) => (finish = r)));
    renderAs('admin', <OptimizePage />, fakeClient({ optimize, strategies: vi.fn(() => Promise.resolve(CATALOGUE)) }));
    await screen.findByTestId('range-fast-min');
    fill('range-fast-min', '3');
    fill('range-fast-max', '30');
    fill('opt-trials', '20');
    fill('opt-seed', '3');
    fill('opt-from', '2026-12-01');
    fill('opt-to', '2026-12-07');
    fireEvent.click(screen.getByTestId('run-optimize'));
    await screen.findByTestId('optimize-running');
    expect(optimize).toHaveBeenCalledWith(
      expect.objectContaining({
        strategy: 'ma_crossover',
        optimize: expect.objectContaining({ sampler: 'tpe', trials: 20, seed: 3, space: { fast: { min: 3, max: 30 } } }),
      }),
    );
    const body = (optimize.mock.calls[0] as unknown[])[0] as { params: Record<string, number> };
    expect(body.params.fast).toBeUndefined();
    finish(REPORT);
    await screen.findByTestId('optimize-report');
    expect(screen.getByTestId('optimize-dsr').textContent).toBe('0.348');
    expect(screen.getByTestId('optimize-pbo').textContent).toBe('85.90 %');
    const rows = screen.getAllByTestId('optimize-trial');
    expect(rows).toHaveLength(1);
    expect(rows[0].textContent).toContain('fast=10 short=0 slow=80');
    expect(rows[0].textContent).toContain('328.93 USDT');
  });

  it('puts an API refusal at the field it names', async () => {
    const optimize = vi.fn(() =>
      Promise.reject(new ApiError(422, { code: 'invalid_optimize', message: 'must lie within the strategy range', field: 'space.fast' })),
    );
    renderAs('admin', <OptimizePage />, fakeClient({ optimize, strategies: vi.fn(() => Promise.resolve(CATALOGUE)) }));
    await screen.findByTestId('range-fast-min');
    fill('range-fast-min', '3');
    fill('range-fast-max', '30');
    fireEvent.click(screen.getByTestId('run-optimize'));
    expect((await screen.findByTestId('error-range-fast')).textContent).toContain('within');
    expect(screen.getByTestId('optimize-error').textContent).toContain('space.fast');
  });
});
