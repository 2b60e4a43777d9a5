import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { PortfolioScope } from '../api';
import { fakeClient, renderAs } from '../test/util';
import { PortfolioPage, haltText, limitRows } from './PortfolioPage';

const scope: PortfolioScope = {
  name: 'desk-a',
  spec: {
    members: { kind: 'group', bots: ['alpha', 'beta'] },
    limits: { max_gross: '10000', max_daily_loss: '500', max_net: null },
    lease_ttl_secs: 30,
  },
  state: { exposures: { BTC: '6000', ETH: '-2000' }, equity: '9400', peak_equity: '10000', day_start_equity: '10000', halted: true },
  gross: '8000',
  net: '4000',
  drawdown_pct: '6',
  daily_loss: '600',
  pool: { cap: '10000', reserved: '9000', used: '8000', halted: true, expired: ['beta'] },
  bots: ['alpha', 'beta'],
  halted: { since_ms: Date.UTC(2026, 11, 7, 10, 0, 0), breach: { rule: 'max_daily_loss', limit: '500', observed: '600' } },
};

describe('PortfolioPage', () => {
  it('names the breached limit, shows each set limit as a bar and the expired leases', async () => {
    const client = fakeClient({ portfolio: vi.fn(() => Promise.resolve([scope])), listBots: vi.fn(() => Promise.resolve([])) });
    renderAs('viewer', <PortfolioPage />, client);
    const card = await screen.findByTestId('scope-card');
    expect(within(card).getByTestId('scope-halted').textContent).toBe('HALTED by max daily loss: 600 against 500 (since 2026-12-07 10:00:00 UTC)');
    const bars = within(card).getAllByRole('meter');
    expect(bars.map((b) => b.getAttribute('aria-label'))).toEqual(['gross exposure', 'daily loss']);
    expect(bars.map((b) => b.getAttribute('aria-valuenow'))).toEqual(['80', '100']);
    expect(within(card).getByTestId('scope-pool').textContent).toContain('lease expired: beta');
    expect(within(card).getByTestId('scope-exposures').textContent).toContain('-2000');
    // A viewer reads only.
    expect(screen.queryByTestId('scope-editor')).toBeNull();
    expect(within(card).queryByTestId('scope-resume')).toBeNull();
  });

  it('an admin resumes after a confirmation naming the consequence, and saves a scope', async () => {
    const haltScope = vi.fn(() => Promise.resolve({ ...scope, halted: null }));
    const setScope = vi.fn(() => Promise.resolve(scope));
    const client = fakeClient({
      portfolio: vi.fn(() => Promise.resolve([scope])),
      listBots: vi.fn(() => Promise.resolve([])),
      haltScope,
      setScope,
    });
    renderAs('admin', <PortfolioPage />, client);
    fireEvent.click(await screen.findByTestId('scope-resume'));
    expect(screen.getByTestId('confirm-consequence').textContent).toContain('drawdown peak restarts');
    fireEvent.click(screen.getByTestId('confirm-ok'));
    await waitFor(() => expect(haltScope).toHaveBeenCalledWith('desk-a', false));
    fireEvent.change(screen.getByTestId('scope-name'), { target: { value: 'desk-b' } });
    fireEvent.click(screen.getByTestId('scope-save'));
    await waitFor(() => expect(setScope).toHaveBeenCalledTimes(1));
    expect(setScope.mock.calls[0]).toEqual(['desk-b', expect.objectContaining({ members: { kind: 'platform' } })]);
    // Not JSON: said before anything is sent.
    fireEvent.change(screen.getByTestId('scope-spec'), { target: { value: '{oops' } });
    fireEvent.click(screen.getByTestId('scope-save'));
    expect((await screen.findByTestId('scope-error')).textContent).toContain('not JSON');
    expect(setScope).toHaveBeenCalledTimes(1);
  });

  it('limit rows skip unset limits and a running scope has no halt text', () => {
    expect(limitRows(scope).map((r) => r[0])).toEqual(['gross exposure', 'daily loss']);
    expect(haltText({ ...scope, halted: null })).toBeNull();
  });
});
