/**
 * Book a capital transfer into (positive) or out of (negative) the bot: `POST /bots/{id}/capital`,
 * a ledger entry that equity, drawdown and percentage sizing start from. Confirmed first, and
 * sent with a transfer id made once per confirmed booking, so a retried request is booked once.
 */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { useSession } from '../context';
import { signedMoney } from '../numbers';
import { ConfirmDialog } from './ConfirmDialog';

const AMOUNT_RE = /^-?\d+(\.\d+)?$/;

/** The form; `quote` names the bot's currency, `onDone` reloads the page's figures. */
export function CapitalForm({ botId, quote, onDone }: { botId: string; quote: string; onDone: () => void }) {
  const { client } = useSession();
  const [amount, setAmount] = useState('');
  const [confirming, setConfirming] = useState<{ amount: string; id: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const valid = AMOUNT_RE.test(amount.trim()) && !/^-?0*(\.0*)?$/.test(amount.trim());

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (valid) setConfirming({ amount: amount.trim(), id: `ui-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}` });
  };
  const book = async () => {
    if (!confirming) return;
    setBusy(true);
    try {
      const r = await client.bookCapital(botId, confirming.amount, confirming.id);
      setMsg({
        ok: true,
        text: `Booked ${signedMoney(confirming.amount, quote)}; equity now ${r.equity == null ? '—' : signedMoney(r.equity, quote).replace(/^\+/, '')}.`,
      });
      setAmount('');
      onDone();
    } catch (err) {
      setMsg({ ok: false, text: err instanceof ApiError ? `${err.message}${err.field ? ` (${err.field})` : ''}` : String(err) });
    } finally {
      setBusy(false);
      setConfirming(null);
    }
  };

  return (
    <form onSubmit={submit} className="stack-form" aria-label="Book capital">
      <label>
        Amount ({quote}); negative to withdraw
        <input
          inputMode="decimal"
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
          placeholder="1000"
          data-testid="capital-amount"
        />
      </label>
      <button type="submit" disabled={!valid || busy} data-testid="book-capital">
        Book capital
      </button>
      {msg && (
        <div className={msg.ok ? 'ok' : 'error'} role={msg.ok ? 'status' : 'alert'} data-testid="capital-result">
          {msg.text}
        </div>
      )}
      {confirming && (
        <ConfirmDialog
          title="Book capital"
          consequence={`Record ${signedMoney(confirming.amount, quote)} ${confirming.amount.startsWith('-') ? 'out of' : 'into'} ${botId}'s ledger. Equity, drawdown and percentage sizing start from it.`}
          confirmLabel="Book"
          busy={busy}
          onConfirm={() => void book()}
          onCancel={() => setConfirming(null)}
        />
      )}
    </form>
  );
}
