/**
 * Where the operator's token lives: sessionStorage only (gone with the tab, never in the URL,
 * never in localStorage), so a shared link or browser history never carries it.
 */
const KEY = 'keel.token';

/** The stored token, or null. */
export function loadToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** Keep the token for this tab. */
export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

/** Forget the token (logout or rejected token). */
export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}
