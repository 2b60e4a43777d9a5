import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { RegimeBody } from './RegimePanel';

describe('RegimePanel', () => {
  it('shows nothing for a bot without a regime gate', () => {
    const { container } = render(<RegimeBody data={{ bot_id: 'b', gated: false, symbols: {} }} />);
    expect(container.textContent).toBe('');
  });

  it('the label now per instrument, and its changes newest first', () => {
    const h = 3_600_000;
    render(
      <RegimeBody
        data={{
          bot_id: 'b',
          gated: true,
          symbols: {
            BTCUSDT: {
              label: 'trend',
              since_ms: 2 * h,
              history: [
                [0, 'range'],
                [h, 'volatile'],
                [2 * h, 'trend'],
              ],
            },
          },
        }}
      />,
    );
    const btc = screen.getByTestId('regime-BTCUSDT');
    expect(within(btc).getByTestId('regime-label').textContent).toBe('trend');
    expect(btc.textContent).toContain('since 1970-01-01 02:00Z');
    const rows = within(within(btc).getByTestId('regime-history')).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.textContent)).toEqual(['1970-01-01 02:00Ztrend', '1970-01-01 01:00Zvolatile', '1970-01-01 00:00Zrange']);
  });
});
