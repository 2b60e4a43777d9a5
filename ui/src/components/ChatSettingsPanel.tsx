/**
 * Telegram chat control settings (docs/chat.md), shown on the calls page: whether the webhook is
 * on, the allowlisted chats and the Bot API URL; admins set the token, the secret (never shown
 * back) and the chats.
 */
import { useState } from 'react';
import type { ChatSettingsUpdate } from '../api';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { Status } from './Status';

/** Reads `"123, -100456"` into chat ids; `null` when any entry is not an integer. */
export function parseChatIds(text: string): number[] | null {
  const parts = text
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (!parts.every((p) => /^-?\d{1,19}$/.test(p))) return null;
  const ids = parts.map(Number);
  return ids.every((n) => Number.isSafeInteger(n)) ? ids : null;
}

/** The PUT body from the form: only the fields typed in. */
export function chatUpdate(form: { token: string; secret: string; chats: string; url: string }): ChatSettingsUpdate | string {
  const body: ChatSettingsUpdate = {};
  if (form.token.trim()) body.bot_token = form.token.trim();
  if (form.secret.trim()) body.webhook_secret = form.secret.trim();
  if (form.url.trim()) body.api_base_url = form.url.trim();
  if (form.chats.trim()) {
    const ids = parseChatIds(form.chats);
    if (!ids) return 'chat ids are integers separated by commas';
    body.allowed_chat_ids = ids;
  }
  return body;
}

/** The panel. */
export function ChatSettingsPanel() {
  const { client, canWrite } = useSession();
  const settings = usePoll(() => client.chatSettings(), 'chat-settings', 60_000);
  const [form, setForm] = useState({ token: '', secret: '', chats: '', url: '' });
  const [error, setError] = useState<string | null>(null);
  const save = async () => {
    setError(null);
    const body = chatUpdate(form);
    if (typeof body === 'string') return setError(body);
    try {
      await client.setChatSettings(body);
      setForm({ token: '', secret: '', chats: '', url: '' });
      settings.reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const s = settings.data;
  return (
    <section className="card" data-testid="chat-settings">
      <h3>Telegram chat control</h3>
      <Status loading={settings.loading} error={settings.error} hasData={s !== undefined} />
      {s && (
        <p className="small">
          {s.enabled ? 'On' : 'Off'}: token {s.bot_token_set ? 'set' : 'not set'}, webhook secret {s.webhook_secret_set ? 'set' : 'not set'}; chats{' '}
          {s.allowed_chat_ids.join(', ') || 'none'}; Bot API {s.api_base_url}
        </p>
      )}
      {canWrite && (
        <div className="row">
          <input type="password" placeholder="bot token" value={form.token} onChange={(e) => setForm({ ...form, token: e.target.value })} />
          <input type="password" placeholder="webhook secret" value={form.secret} onChange={(e) => setForm({ ...form, secret: e.target.value })} />
          <input placeholder="chat ids (comma separated)" value={form.chats} onChange={(e) => setForm({ ...form, chats: e.target.value })} />
          <input placeholder="Bot API URL (optional)" value={form.url} onChange={(e) => setForm({ ...form, url: e.target.value })} />
          <button onClick={() => void save()}>Save</button>
        </div>
      )}
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
    </section>
  );
}
