import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api';
import { fakeClient, renderAs } from '../test/util';
import { CATALOGUE } from '../test/fixtures';
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

  it('creates a strategy bot from a template with typed params, timeframe and symbol', async () => {
    const createBot = vi.fn(() => Promise.resolve({ id: 'sol-ma', webhook_secret: 'whsec_x' }));
    renderAs('admin', <BotEditor />, fakeClient({ createBot, strategies: vi.fn(() => Promise.resolve(CATALOGUE)) }));
    fill('field-id', 'sol-ma');
    fill('field-name', 'SOL MA');
    fill('field-source', 'strategy');
    // The catalogue's params appear with their defaults; the webhook-only inputs are gone.
    expect(((await screen.findByTestId('param-fast')) as HTMLInputElement).value).toBe('10');
    expect(screen.queryByTestId('field-instruments')).toBeNull();
    expect(screen.queryByTestId('field-strategy')).toBeNull();
    fill('param-fast', '3');
    fill('param-slow', '8');
    fill('strategy-timeframe', '1m');
    fill('strategy-symbol', 'solusdt');
    fireEvent.click(screen.getByTestId('create-bot'));
    await screen.findByTestId('bot-created');
    const sent = (createBot.mock.calls[0] as unknown[])[0] as Record<string, unknown>;
    expect(sent).toMatchObject({
      id: 'sol-ma',
      source: 'strategy',
      strategy: 'ma_crossover',
      params: { fast: 3, slow: 8, short: 0 },
      timeframe: '1m',
      instruments: ['SOLUSDT'],
    });
    expect('strategy_spec' in sent).toBe(false);
  });

  it('refuses an out-of-range param locally, at its input', async () => {
    const createBot = vi.fn();
    renderAs('admin', <BotEditor />, fakeClient({ createBot, strategies: vi.fn(() => Promise.resolve(CATALOGUE)) }));
    fill('field-id', 'a');
    fill('field-name', 'a');
    fill('field-source', 'strategy');
    await screen.findByTestId('param-slow');
    fill('param-slow', '1');
    fireEvent.click(screen.getByTestId('create-bot'));
    expect(screen.getByTestId('error-params.slow').textContent).toBe('must be between 2 and 2000');
    expect(createBot).not.toHaveBeenCalled();
    // Corrected, the stale error goes at once.
    fill('param-slow', '8');
    expect(screen.queryByTestId('error-params.slow')).toBeNull();
  });

  it("sends a spec as strategy_spec and shows the API's spec error at the spec editor", async () => {
    const createBot = vi.fn(() =>
      Promise.reject(
        new ApiError(422, { code: 'invalid_config', message: 'unknown factor "smaa"', field: 'strategy_spec.factors.m.kind' }),
      ),
    );
    renderAs('admin', <BotEditor />, fakeClient({ createBot, strategies: vi.fn(() => Promise.resolve(CATALOGUE)) }));
    fill('field-id', 'spec-bot');
    fill('field-name', 'Spec bot');
    fill('field-source', 'strategy');
    await screen.findByTestId('param-fast');
    fireEvent.click(screen.getByTestId('kind-spec'));
    // The spec starts as the chosen template's own spec, its params typed from the document.
    expect(JSON.parse((screen.getByTestId('strategy-spec') as HTMLTextAreaElement).value)).toEqual(CATALOGUE.specs[0].spec);
    expect((screen.getByTestId('param-k') as HTMLInputElement).value).toBe('1.5');
    fireEvent.click(screen.getByTestId('create-bot'));
    const err = await screen.findByTestId('error-strategy_spec');
    expect(err.textContent).toBe('strategy_spec.factors.m.kind: unknown factor "smaa" [invalid_config]');
    const sent = (createBot.mock.calls[0] as unknown[])[0] as Record<string, unknown>;
    expect(sent.strategy_spec).toEqual(CATALOGUE.specs[0].spec);
    expect('strategy' in sent).toBe(false);
  });

  it('keeps the strategy across the JSON tab and back', async () => {
    renderAs('admin', <BotEditor />, fakeClient({ strategies: vi.fn(() => Promise.resolve(CATALOGUE)) }));
    fill('field-source', 'strategy');
    await screen.findByTestId('param-fast');
    fill('param-fast', '7');
    fireEvent.click(screen.getByTestId('tab-json'));
    const json = JSON.parse((screen.getByTestId('config-json') as HTMLTextAreaElement).value) as Record<string, unknown>;
    expect(json).toMatchObject({ source: 'strategy', strategy: 'ma_crossover', params: { fast: 7 } });
    fireEvent.click(screen.getAllByRole('tab')[0]);
    expect((screen.getByTestId('field-source') as HTMLSelectElement).value).toBe('strategy');
    expect(((await screen.findByTestId('param-fast')) as HTMLInputElement).value).toBe('7');
  });

  it("does not repeat a spec issue's path the API message already names", async () => {
    const message = 'invalid config: strategy_spec.factors.f.kind unknown factor "smaa"';
    const createBot = vi.fn(() =>
      Promise.reject(new ApiError(422, { code: 'invalid_config', message, field: 'strategy_spec.factors.f.kind' })),
    );
    renderAs('admin', <BotEditor />, fakeClient({ createBot, strategies: vi.fn(() => Promise.resolve(CATALOGUE)) }));
    fill('field-id', 'spec-bot');
    fill('field-name', 'Spec bot');
    fill('field-source', 'strategy');
    await screen.findByTestId('param-fast');
    fireEvent.click(screen.getByTestId('kind-spec'));
    fireEvent.click(screen.getByTestId('create-bot'));
    expect((await screen.findByTestId('error-strategy_spec')).textContent).toBe(`${message} [invalid_config]`);
  });
});
