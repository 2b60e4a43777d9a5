/** Shows what the API answered to an action, so the operator sees the result, not an assumption. */
import { useState } from 'react';
import type { ActionResult, ApiError } from '../api';

/** Either the API's success body or its error. */
export type Outcome = { ok: true; result: ActionResult } | { ok: false; error: ApiError };

/** One line summary plus the raw answer on demand. */
export function ActionResultView({ label, outcome }: { label: string; outcome: Outcome }) {
  if (!outcome.ok) {
    return (
      <div className="error" role="alert" data-testid="action-result">
        {label} failed: {outcome.error.message}
        {outcome.error.status ? ` (HTTP ${outcome.error.status}${outcome.error.code ? `, ${outcome.error.code}` : ''})` : ''}
      </div>
    );
  }
  const r = outcome.result ?? {};
  const parts: string[] = [];
  if (r.bot_id) parts.push(`bot ${r.bot_id}`);
  if (r.state) parts.push(`state: ${r.state}`);
  if (typeof r.halted === 'boolean') parts.push(r.halted ? 'platform halted' : 'platform running');
  if (Array.isArray(r.orders)) parts.push(`${r.orders.length} closing order(s) sent`);
  if (r.message) parts.push(r.message);
  return (
    <div className="ok" role="status" data-testid="action-result">
      {label}: {parts.length ? parts.join(' · ') : 'done'}
      <details>
        <summary>API answer</summary>
        <pre>{JSON.stringify(r, null, 2)}</pre>
      </details>
    </div>
  );
}

/** The last outcome of a group of actions, so the answer survives the button that caused it. */
export function useLastOutcome() {
  const [last, setLast] = useState<{ label: string; outcome: Outcome } | null>(null);
  const onOutcome = (label: string, outcome: Outcome) => setLast({ label, outcome });
  const view = last ? <ActionResultView label={last.label} outcome={last.outcome} /> : null;
  return { onOutcome, view };
}
