/**
 * Confirmation for every write that touches trading. Why: a mis-click on "panic close" costs
 * money, so the dialog names exactly what will happen before anything is sent.
 */
import { useEffect, useRef } from 'react';

export interface ConfirmProps {
  title: string;
  /** What will happen, in plain words (which bot, which orders). */
  consequence: string;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}

/** A modal with Cancel focused first, so Enter alone never fires the action. */
export function ConfirmDialog(p: ConfirmProps) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  useEffect(() => cancelRef.current?.focus(), []);
  return (
    <div className="modal-backdrop" onClick={p.onCancel}>
      <div
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="confirm-title"
        data-testid="confirm-dialog"
        onClick={(e) => e.stopPropagation()}
        onKeyDown={(e) => e.key === 'Escape' && p.onCancel()}
      >
        <h2 id="confirm-title">{p.title}</h2>
        <p data-testid="confirm-consequence">{p.consequence}</p>
        <div className="row end">
          <button ref={cancelRef} onClick={p.onCancel} disabled={p.busy}>
            Cancel
          </button>
          <button className={p.danger ? 'danger' : 'primary'} onClick={p.onConfirm} disabled={p.busy} data-testid="confirm-ok">
            {p.busy ? 'Sending…' : p.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
