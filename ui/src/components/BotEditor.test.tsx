import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api';
import { fakeClient, renderAs } from '../test/util';
import { BotEditor } from './BotEditor';

function fill(testId: string, value: string) {
  fireEvent.change(screen.getByTestId(testId), { target: { value } });
}

describe('BotEditor', () => {
  it('shows the API validation error at the field it names', async () => {
    const createBot = vi.fn(() =>
      Promise.reject(new ApiError(422, { code: 'invalid', message: 'must be positive', field: 'risk.max_daily_loss' })),
    );
    renderAs('admin', <BotEditor />, fakeClient({ createBot }));
    fill('field-id', 'btc-trend');
    fill('field-name', 'BTC trend');
    fill('field-risk.max_daily_loss', '-5');
    fireEvent.click(screen.getByTestId('create-bot'));
    const err = await screen.findByTestId('error-risk.max_daily_loss');
    expect(err.textContent).toContain('must be positive');
    expect(createBot).toHaveBeenCalledTimes(1);
    const sent = (createBot.mock.calls[0] as unknown[])[0] as { risk: { max_daily_loss: unknown } };
    expect(sent.risk.max_daily_loss).toBe('-5');
  });

  it('refuses a non-integer count locally without calling the API', () => {
    const createBot = vi.fn();
    renderAs('admin', <BotEditor />, fakeClient({ createBot }));
    fill('field-id', 'a');
    fill('field-name', 'a');
    fill('field-risk.max_trades_per_day', '2.5');
    fireEvent.click(screen.getByTestId('create-bot'));
    expect(screen.getByTestId('error-risk.max_trades_per_day').textContent).toContain('whole number');
    expect(createBot).not.toHaveBeenCalled();
  });

  it('creates from pasted JSON and shows the secret once with the alert message', async () => {
    const createBot = vi.fn(() => Promise.resolve({ id: 'eth-1', webhook_secret: 'whsec_123456789abcdef' }));
    renderAs('admin', <BotEditor />, fakeClient({ createBot }));
    fireEvent.click(screen.getByTestId('tab-json'));
    fill('config-json', JSON.stringify({ id: 'eth-1', name: 'ETH', mode: 'paper' }));
    fireEvent.click(screen.getByTestId('create-bot'));
    await screen.findByTestId('bot-created');
    expect(createBot).toHaveBeenCalledWith({ id: 'eth-1', name: 'ETH', mode: 'paper' });
    expect((screen.getByTestId('webhook-secret') as HTMLInputElement).value).toBe('whsec_123456789abcdef');
    expect((screen.getByTestId('webhook-url') as HTMLInputElement).value).toMatch(/\/webhook\/eth-1$/);
    expect(screen.getByTestId('alert-message').textContent).toContain('whsec_123456789abcdef');
  });

  it('shows a JSON-mode API error naming its field above the editor', async () => {
    const createBot = vi.fn(() =>
      Promise.reject(new ApiError(400, { code: 'unknown_field', message: 'unknown field colour', field: 'colour' })),
    );
    renderAs('admin', <BotEditor />, fakeClient({ createBot }));
    fireEvent.click(screen.getByTestId('tab-json'));
    fill('config-json', '{"colour":"red"}');
    fireEvent.click(screen.getByTestId('create-bot'));
    await waitFor(() => expect(screen.getByTestId('form-error').textContent).toContain('colour: unknown field colour'));
  });
});
