/** Login with an admin or viewer token; the token is checked with `GET /whoami` before it is kept. */
import { useState, type FormEvent } from 'react';
import { ApiError, createClient, type WhoAmI } from '../api';

/** Calls `onLogin` with the token and its identity once the API accepted it. */
export function Login({ onLogin, notice }: { onLogin: (token: string, who: WhoAmI) => void; notice?: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return;
    setBusy(true);
    setError(null);
    try {
      const who = await createClient({ token: t }).whoami();
      onLogin(t, who);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) setError('This token was refused.');
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form onSubmit={(e) => void submit(e)} className="card" aria-label="Log in">
        <h1>Keel</h1>
        {notice && <p className="muted">{notice}</p>}
        <label>
          API token
          <input
            type="password"
            autoComplete="off"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            placeholder="admin or viewer token"
            data-testid="token-input"
          />
        </label>
        {error && (
          <div className="error" role="alert">
            {error}
          </div>
        )}
        <button className="primary" type="submit" disabled={busy || !token.trim()} data-testid="login">
          {busy ? 'Checking…' : 'Log in'}
        </button>
        <p className="muted small">The token stays in this tab only (session storage).</p>
      </form>
    </main>
  );
}
