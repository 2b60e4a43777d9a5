/**
 * What every page needs from the session: the API client bound to the token and the role.
 * Why a context: write controls are hidden for viewers in one place (`canWrite`), not per page.
 */
import { createContext, useContext } from 'react';
import type { Client, Role } from './api';

/** Session-wide values. */
export interface Session {
  client: Client;
  role: Role;
  canWrite: boolean;
}

/** Provided by `App` once `GET /whoami` answered. */
export const SessionContext = createContext<Session | null>(null);

/** The current session; components are only rendered inside a logged-in `App`. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside of a logged-in session');
  return s;
}
