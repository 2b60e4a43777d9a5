/** Small coloured labels for mode, state and circuit: the operator scans colour before text. */
import type { BotMode, BotState, CircuitState } from '../api';

/** paper / testnet / live; live is loud on purpose. */
export function ModeBadge({ mode }: { mode: BotMode }) {
  return <span className={`badge mode-${mode}`}>{mode}</span>;
}

const STATE_LABEL: Record<BotState, string> = {
  running: 'running',
  paused: 'paused',
  halted: 'halted',
  needs_attention: 'needs attention',
};

/** running / paused / halted / needs attention. */
export function StateBadge({ state }: { state: BotState }) {
  return (
    <span className={`badge state-${state}`} data-testid="bot-state">
      {STATE_LABEL[state] ?? state}
    </span>
  );
}

/** Exchange circuit breaker: closed is healthy. */
export function CircuitBadge({ circuit }: { circuit: CircuitState }) {
  return <span className={`badge circuit-${circuit}`}>circuit {circuit.replace('_', ' ')}</span>;
}
