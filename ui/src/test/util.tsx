// Test helpers: a fake API client (every method rejects unless a test provides it) and a render
// inside a session of a given role.
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { vi } from 'vitest';
import { createClient, type Client, type Role } from '../api';
import { SessionContext } from '../context';

/** A client whose methods are vi.fn()s; unspecified ones reject so a test notices unexpected calls. */
export function fakeClient(overrides: Partial<Client> = {}): Client {
  const real = createClient({ token: 't', fetchImpl: () => Promise.reject(new Error('no network in tests')) });
  const fake = {} as Record<string, unknown>;
  for (const k of Object.keys(real)) fake[k] = vi.fn(() => Promise.reject(new Error(`unexpected call ${k}`)));
  return { ...(fake as Client), ...overrides };
}

/** Render `ui` as a logged-in `role`. */
export function renderAs(role: Role, ui: ReactElement, client: Client = fakeClient()) {
  return {
    client,
    ...render(<SessionContext.Provider value={{ client, role, canWrite: role === 'admin' }}>{ui}</SessionContext.Provider>),
  };
}
