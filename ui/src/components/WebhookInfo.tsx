/** The webhook URL and a ready TradingView alert message, each with a copy button. */
import { useState } from 'react';
import { alertMessage, webhookUrl, type AlertStyle } from '../webhook';
import { CopyButton } from './CopyButton';

/** `secret` is known only right after creation; otherwise the message carries a placeholder. */
export function WebhookInfo({ botId, secret = null }: { botId: string; secret?: string | null }) {
  const [style, setStyle] = useState<AlertStyle>('target');
  const url = webhookUrl(window.location.origin, botId);
  const msg = alertMessage(secret, style);
  return (
    <div className="webhook" data-testid="webhook-info">
      <label>
        Webhook URL
        <div className="row">
          <input readOnly value={url} data-testid="webhook-url" />
          <CopyButton text={url} testId="copy-url" />
        </div>
      </label>
      {secret && (
        <label>
          Webhook secret (shown once: store it now)
          <div className="row">
            <input readOnly value={secret} data-testid="webhook-secret" />
            <CopyButton text={secret} testId="copy-secret" />
          </div>
        </label>
      )}
      <div className="row between">
        <span>TradingView alert message</span>
        <select value={style} onChange={(e) => setStyle(e.target.value as AlertStyle)} aria-label="Alert style">
          <option value="target">target position (recommended)</option>
          <option value="orders">order actions</option>
        </select>
      </div>
      <pre className="code" data-testid="alert-message">
        {msg}
      </pre>
      <CopyButton text={msg} label="Copy alert message" testId="copy-alert" />
      {!secret && <p className="muted small">The secret was shown once when the bot was created; paste it in place of the placeholder.</p>}
    </div>
  );
}
