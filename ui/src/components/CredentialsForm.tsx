/**
 * Set the bot's exchange API key and secret. Write-only: the API never returns them, and the form
 * clears its fields as soon as the API accepted them.
 */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { useSession } from '../context';

/** Two password inputs and a save button; shows the API's answer. */
export function CredentialsForm({ botId }: { botId: string }) {
  const { client } = useSession();
  const [key, setKey] = useState('');
  const [secret, setSecret] = useState('');
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setMsg(null);
    try {
      await client.setCredentials(botId, key, secret);
      setKey('');
      setSecret('');
      setMsg({ ok: true, text: 'Credentials stored (encrypted). They cannot be read back.' });
    } catch (err) {
      const text = err instanceof ApiError ? `${err.message}${err.field ? ` (${err.field})` : ''}` : String(err);
      setMsg({ ok: false, text });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} className="stack-form" aria-label="Exchange credentials">
      <label>
        API key
        <input type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} data-testid="cred-key" />
      </label>
      <label>
        API secret
        <input type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)} data-testid="cred-secret" />
      </label>
      <button type="submit" className="primary" disabled={busy || !key || !secret}>
        {busy ? 'Saving…' : 'Save credentials'}
      </button>
      {msg && (
        <div className={msg.ok ? 'ok' : 'error'} role={msg.ok ? 'status' : 'alert'}>
          {msg.text}
        </div>
      )}
    </form>
  );
}
