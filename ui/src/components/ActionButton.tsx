/**
 * A write control: button → confirmation naming the consequence → API call → the API's answer,
 * handed to the group (`onOutcome`) so it stays visible when this button is swapped (pause ↔ resume).
 * Every emergency action uses this one component so none can skip the confirmation.
 */
import { useState } from 'react';
import { ApiError, type ActionResult } from '../api';
import type { Outcome } from './ActionResultView';
import { ConfirmDialog } from './ConfirmDialog';

export interface ActionButtonProps {
  label: string;
  title: string;
  consequence: string;
  run: () => Promise<ActionResult>;
  danger?: boolean;
  testId?: string;
  onOutcome: (label: string, outcome: Outcome) => void;
  onDone?: () => void;
}

/** Renders the button and, while confirming, the dialog. */
export function ActionButton(p: ActionButtonProps) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);

  const confirm = async () => {
    setBusy(true);
    try {
      const result = await p.run();
      p.onOutcome(p.label, { ok: true, result });
    } catch (e) {
      const error = e instanceof ApiError ? e : new ApiError(0, { code: 'client', message: String(e) });
      p.onOutcome(p.label, { ok: false, error });
    } finally {
      setBusy(false);
      setConfirming(false);
      p.onDone?.();
    }
  };

  return (
    <>
      <button className={p.danger ? 'danger' : ''} onClick={() => setConfirming(true)} data-testid={p.testId}>
        {p.label}
      </button>
      {confirming && (
        <ConfirmDialog
          title={p.title}
          consequence={p.consequence}
          confirmLabel={p.label}
          danger={p.danger}
          busy={busy}
          onConfirm={() => void confirm()}
          onCancel={() => setConfirming(false)}
        />
      )}
    </>
  );
}
