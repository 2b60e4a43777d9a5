import { fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from './App';

afterEach(() => vi.unstubAllGlobals());

function stubApi(role: 'admin' | 'viewer', status = 200) {
  const f = vi.fn((input: RequestInfo | URL) => {
    const url = String(input);
    if (url.endsWith('/whoami')) {
      return Promise.resolve(
        new Response(status === 200 ? JSON.stringify({ token_id: 't1', role }) : '{"code":"unauthorized","message":"no"}', { status }),
      );
    }
    if (url.endsWith('/health'))
      return Promise.resolve(
        new Response(JSON.stringify({ halted: true, halted_at: null, neo4j: { ok: true, outbox_depth: 0 }, exchanges: [] })),
      );
    return Promise.resolve(new Response('[]'));
  });
  vi.stubGlobal('fetch', f);
  return f;
}

describe('App login', () => {
  it('keeps the token in session storage only, takes the role from whoami', async () => {
    const f = stubApi('viewer');
    render(<App />);
    fireEvent.change(screen.getByTestId('token-input'), { target: { value: 'tok-viewer' } });
    fireEvent.click(screen.getByTestId('login'));
    expect((await screen.findByTestId('role')).textContent).toBe('viewer');
    expect(sessionStorage.getItem('keel.token')).toBe('tok-viewer');
    expect(localStorage.length).toBe(0);
    expect(window.location.href).not.toContain('tok-viewer');
    expect(screen.queryByTestId('open-emergency')).toBeNull();
    expect(await screen.findByTestId('halt-banner')).toBeTruthy();
    const calls = f.mock.calls as unknown as [string, RequestInit][];
    expect(calls.every(([url]) => !url.includes('tok-viewer'))).toBe(true);
  });

  it('a refused token stays on the login form and is not stored', async () => {
    stubApi('admin', 401);
    render(<App />);
    fireEvent.change(screen.getByTestId('token-input'), { target: { value: 'bad' } });
    fireEvent.click(screen.getByTestId('login'));
    expect((await screen.findByRole('alert')).textContent).toContain('refused');
    expect(sessionStorage.getItem('keel.token')).toBeNull();
  });

  it('admins get the emergency button', async () => {
    stubApi('admin');
    sessionStorage.setItem('keel.token', 'tok-admin');
    render(<App />);
    expect(await screen.findByTestId('open-emergency')).toBeTruthy();
  });
});
