import { describe, expect, it, vi } from 'vitest';
import { ApiError, createClient } from './api';

function respond(status: number, body: string) {
  return vi.fn((_input: RequestInfo | URL, _init?: RequestInit) => Promise.resolve(new Response(body, { status })));
}

describe('api client', () => {
  it('sends the bearer token and reads JSON', async () => {
    const f = respond(200, JSON.stringify({ token_id: 'tok1', role: 'viewer' }));
    const who = await createClient({ token: 'secret-token', fetchImpl: f }).whoami();
    expect(who).toEqual({ token_id: 'tok1', role: 'viewer' });
    const [url, init] = f.mock.calls[0];
    expect(url).toBe('/api/v1/whoami');
    expect(init?.method).toBe('GET');
    expect((init?.headers as Record<string, string>).Authorization).toBe('Bearer secret-token');
    expect(init?.body).toBeUndefined();
  });

  const cases: {
    name: string;
    call: (c: ReturnType<typeof createClient>) => Promise<unknown>;
    method: string;
    url: string;
    body?: unknown;
  }[] = [
    { name: 'pause', call: (c) => c.pauseBot('btc trend'), method: 'POST', url: '/api/v1/bots/btc%20trend/pause' },
    { name: 'resume bot', call: (c) => c.resumeBot('a'), method: 'POST', url: '/api/v1/bots/a/resume' },
    { name: 'flatten', call: (c) => c.flattenBot('a'), method: 'POST', url: '/api/v1/bots/a/flatten' },
    { name: 'halt', call: (c) => c.halt(false), method: 'POST', url: '/api/v1/halt', body: { flatten: false } },
    { name: 'panic close', call: (c) => c.halt(true), method: 'POST', url: '/api/v1/halt', body: { flatten: true } },
    { name: 'resume platform', call: (c) => c.resumePlatform(), method: 'POST', url: '/api/v1/resume' },
    {
      name: 'credentials',
      call: (c) => c.setCredentials('a', 'k', 's'),
      method: 'PUT',
      url: '/api/v1/bots/a/credentials',
      body: { api_key: 'k', api_secret: 's' },
    },
    { name: 'audit page', call: (c) => c.audit('a', 41, 100), method: 'GET', url: '/api/v1/bots/a/audit?after=41&limit=100' },
    { name: 'open orders', call: (c) => c.openOrders('a'), method: 'GET', url: '/api/v1/bots/a/orders?status=open' },
    { name: 'pnl history', call: (c) => c.pnlHistory('a'), method: 'GET', url: '/api/v1/bots/a/pnl/history' },
    { name: 'signal chain', call: (c) => c.signalChain('s/1'), method: 'GET', url: '/api/v1/signals/s%2F1' },
    {
      name: 'viewer token',
      call: (c) => c.createToken('viewer', 'ops'),
      method: 'POST',
      url: '/api/v1/tokens',
      body: { role: 'viewer', name: 'ops' },
    },
  ];
  for (const tc of cases) {
    it(`${tc.name}: ${tc.method} ${tc.url}`, async () => {
      const f = respond(200, '{}');
      await tc.call(createClient({ token: 't', fetchImpl: f }));
      const [url, init] = f.mock.calls[0];
      expect(url).toBe(tc.url);
      expect(init?.method).toBe(tc.method);
      expect(init?.body === undefined ? undefined : JSON.parse(String(init.body))).toEqual(tc.body);
    });
  }

  it('keeps decimals as strings', async () => {
    const f = respond(200, '{"net":"0.1000000000000000001","realized":"12.30"}');
    const pnl = await createClient({ token: 't', fetchImpl: f }).pnl('a');
    expect(pnl.net).toBe('0.1000000000000000001');
    expect(pnl.realized).toBe('12.30');
  });

  it('turns {code, message, field} into an ApiError naming the field', async () => {
    const f = respond(422, JSON.stringify({ code: 'invalid', message: 'must be positive', field: 'risk.max_daily_loss' }));
    const err = await createClient({ token: 't', fetchImpl: f })
      .createBot({} as never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, code: 'invalid', message: 'must be positive', field: 'risk.max_daily_loss' });
  });

  it('reports a non-JSON error body with its status', async () => {
    const err = await createClient({ token: 't', fetchImpl: respond(502, 'bad gateway') })
      .listBots()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, code: 'http_502', message: 'bad gateway', field: null });
  });

  it('reports a network failure as status 0', async () => {
    const f = vi.fn(() => Promise.reject(new TypeError('connection refused')));
    const err = await createClient({ token: 't', fetchImpl: f })
      .health()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, code: 'network' });
  });

  it('accepts an empty 204 answer', async () => {
    const out = await createClient({ token: 't', fetchImpl: respond(204, '') }).setCredentials('a', 'k', 's');
    expect(out).toBeUndefined();
  });
});
