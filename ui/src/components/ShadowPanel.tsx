/**
 * A/B with a paper shadow, on the compare page (docs/analytics.md): bot A's shadows (each one a
 * link that compares it with A), a form that creates one (`POST /bots/{id}/shadow`: a paper copy
 * of A fed A's signals, with a config merge patch as its version; empty = A/A), and, when B is a
 * shadow of A, the promotion (`POST /bots/{id}/promote`): refused by the API until the sequential
 * test has decided for B, unless forced with a reason that the audit records.
 */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { href } from '../route';
import { ConfirmDialog } from './ConfirmDialog';

/** An API error as one line. */
function errText(err: unknown): string {
  return err instanceof ApiError ? `${err.code}: ${err.message}${err.field ? ` (${err.field})` : ''}` : String(err);
}

/** Parses the patch box: empty = `{}`; otherwise a JSON object, or why not. */
export function parsePatch(text: string): { ok: true; patch: Record<string, unknown> } | { ok: false; error: string } {
  if (!text.trim()) return { ok: true, patch: {} };
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return { ok: true, patch: v as Record<string, unknown> };
    return { ok: false, error: 'the patch must be a JSON object' };
  } catch (e) {
    return { ok: false, error: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The panel for bot `a` (and the chosen `b`, if any). */
export function ShadowPanel({ a, b, period }: { a: string; b?: string; period: string }) {
  const { client, canWrite } = useSession();
  const links = usePoll(() => client.shadowLinks(a), `shadow-links-${a}`, 0);
  const [id, setId] = useState('');
  const [patchText, setPatchText] = useState('');
  const [force, setForce] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const parsed = parsePatch(patchText);
  const shadows = links.data?.shadows ?? [];
  const isShadowOfA = !!b && shadows.includes(b);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (!parsed.ok || !id.trim()) return;
    setBusy(true);
    try {
      await client.createShadow(a, id.trim(), parsed.patch);
      setMsg({ ok: true, text: `${id.trim()} now shadows ${a} (paper), fed every signal ${a} admits.` });
      setId('');
      setPatchText('');
      links.reload();
    } catch (err) {
      setMsg({ ok: false, text: errText(err) });
    } finally {
      setBusy(false);
    }
  };
  const promote = async () => {
    if (!b) return;
    setBusy(true);
    try {
      await client.promote(a, b, period, force, force ? reason.trim() : undefined);
      setMsg({ ok: true, text: `Promoted ${b}'s version onto ${a}${force ? ' (forced; the reason is audited)' : ''}.` });
    } catch (err) {
      setMsg({ ok: false, text: errText(err) });
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  return (
    <section className="panel" data-testid="shadow-panel">
      <h2>Shadows of {a}</h2>
      {links.error && <div className="error">{errText(links.error)}</div>}
      {links.data?.shadow_of && (
        <p className="muted small" data-testid="shadow-of">
          {a} is itself a paper shadow of <a href={href({ page: 'compare', a: links.data.shadow_of.parent, b: a, period })}>{links.data.shadow_of.parent}</a>.
        </p>
      )}
      {links.data && shadows.length === 0 && !links.data.shadow_of && <p className="muted small">No shadow yet.</p>}
      {shadows.length > 0 && (
        <ul className="shadow-list" data-testid="shadow-list">
          {shadows.map((s) => (
            <li key={s}>
              <a href={href({ page: 'compare', a, b: s, period })} data-testid={`shadow-link-${s}`}>
                {s}
              </a>
              {s === b && <span className="muted small"> (compared below)</span>}
            </li>
          ))}
        </ul>
      )}
      {canWrite && !links.data?.shadow_of && (
        <form onSubmit={(e) => void create(e)} className="stack-form" aria-label="Create a shadow">
          <label>
            New shadow id
            <input value={id} onChange={(e) => setId(e.target.value)} placeholder={`${a}-b`} data-testid="shadow-id" />
          </label>
          <label>
            Its version: a JSON merge patch over {a}&apos;s config (empty = the same version, an A/A test of the execution gap)
            <textarea
              value={patchText}
              onChange={(e) => setPatchText(e.target.value)}
              rows={3}
              placeholder='{"sizing": {"mode": "fixed_qty", "value": "0.004"}}'
              data-testid="shadow-patch"
            />
          </label>
          {!parsed.ok && <div className="error">{parsed.error}</div>}
          <button type="submit" disabled={busy || !parsed.ok || !id.trim()} data-testid="create-shadow">
            Create paper shadow
          </button>
        </form>
      )}
      {canWrite && isShadowOfA && (
        <div className="stack-form" data-testid="promote-form">
          <label className="inline-check">
            <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} data-testid="promote-force" />
            <span>Promote before the test decides (forced)</span>
          </label>
          {force && (
            <label>
              Reason (audited)
              <input value={reason} onChange={(e) => setReason(e.target.value)} data-testid="promote-reason" />
            </label>
          )}
          <button onClick={() => setConfirming(true)} disabled={busy || (force && !reason.trim())} data-testid="promote">
            Promote {b} onto {a}
          </button>
        </div>
      )}
      {msg && (
        <div className={msg.ok ? 'ok' : 'error'} role={msg.ok ? 'status' : 'alert'} data-testid="shadow-result">
          {msg.text}
        </div>
      )}
      {confirming && b && (
        <ConfirmDialog
          title="Promote the shadow's version"
          consequence={`Apply ${b}'s version (the config fields its patch named) to ${a} as a new config version, audited as a promotion.${force ? ' Forced: the test has not decided for it.' : ''}`}
          confirmLabel="Promote"
          busy={busy}
          onConfirm={() => void promote()}
          onCancel={() => setConfirming(false)}
        />
      )}
    </section>
  );
}
