import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api';
import { fakeClient, renderAs } from '../test/util';
import { BotActions } from './BotActions';
import { GlobalActions } from './GlobalActions';

describe('emergency actions', () => {
  it('pause asks first, names the bot, then shows the API answer', async () => {
    const pauseBot = vi.fn(() => Promise.resolve({ bot_id: 'btc', state: 'paused' as const }));
    renderAs('admin', <BotActions botId="btc" state="running" />, fakeClient({ pauseBot }));
    fireEvent.click(screen.getByTestId('pause-btc'));
    expect(pauseBot).not.toHaveBeenCalled();
    expect(screen.getByTestId('confirm-consequence').textContent).toContain('Bot btc will refuse new signals');
    fireEvent.click(screen.getByTestId('confirm-ok'));
    const result = await screen.findByTestId('action-result');
    expect(pauseBot).toHaveBeenCalledWith('btc');
    expect(result.textContent).toContain('state: paused');
    expect(screen.queryByTestId('confirm-dialog')).toBeNull();
  });

  it('cancel sends nothing', () => {
    const flattenBot = vi.fn();
    renderAs('admin', <BotActions botId="btc" state="running" />, fakeClient({ flattenBot }));
    fireEvent.click(screen.getByTestId('flatten-btc'));
    fireEvent.click(screen.getByText('Cancel'));
    expect(flattenBot).not.toHaveBeenCalled();
    expect(screen.queryByTestId('action-result')).toBeNull();
  });

  it('shows the API error, not an assumed success', async () => {
    const flattenBot = vi.fn(() => Promise.reject(new ApiError(503, { code: 'circuit_open', message: 'exchange unavailable' })));
    renderAs('admin', <BotActions botId="btc" state="paused" />, fakeClient({ flattenBot }));
    fireEvent.click(screen.getByTestId('flatten-btc'));
    fireEvent.click(screen.getByTestId('confirm-ok'));
    const result = await screen.findByTestId('action-result');
    expect(result.className).toBe('error');
    expect(result.textContent).toContain('exchange unavailable');
    expect(result.textContent).toContain('503');
  });

  it('offers resume for a paused bot and both when the platform is halted', () => {
    const { unmount } = renderAs('admin', <BotActions botId="b" state="paused" />);
    expect(screen.queryByTestId('pause-b')).toBeNull();
    expect(screen.getByTestId('resume-b')).toBeTruthy();
    unmount();
    renderAs('admin', <BotActions botId="b" state="halted" />);
    expect(screen.getByTestId('pause-b')).toBeTruthy();
    expect(screen.getByTestId('resume-b')).toBeTruthy();
  });

  it('panic close halts with flatten=true and says what it will close', async () => {
    const halt = vi.fn(() => Promise.resolve({ halted: true, orders: [] }));
    renderAs('admin', <GlobalActions halted={false} botCount={3} />, fakeClient({ halt }));
    fireEvent.click(screen.getByTestId('panic-close'));
    expect(screen.getByTestId('confirm-consequence').textContent).toContain(
      'all 3 bot(s) cancel every open order and close every open position',
    );
    fireEvent.click(screen.getByTestId('confirm-ok'));
    const result = await screen.findByTestId('action-result');
    expect(halt).toHaveBeenCalledWith(true);
    expect(within(result).getByText(/platform halted · 0 closing order/)).toBeTruthy();
  });

  it('viewers get no write controls at all', () => {
    const { container } = renderAs('viewer', <BotActions botId="b" state="running" />);
    expect(container.innerHTML).toBe('');
    const g = renderAs('viewer', <GlobalActions halted={true} botCount={1} />);
    expect(g.container.innerHTML).toBe('');
  });
});
