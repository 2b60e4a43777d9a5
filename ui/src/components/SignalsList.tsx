/** Recent signals with their outcome; each links to its causal chain. */
import type { SignalSummary } from '../api';
import { shortTime } from '../money';
import { href } from '../route';

function outcomeClass(s: SignalSummary): string {
  if (s.http_status >= 200 && s.http_status < 300) return 'pos';
  if (s.http_status === 409) return 'zero';
  return 'neg';
}

/** A table of the latest signals (newest first). */
export function SignalsList({ rows }: { rows: SignalSummary[] }) {
  if (rows.length === 0) return <p className="muted">No signals received yet.</p>;
  return (
    <table className="table stack" data-testid="signals">
      <thead>
        <tr>
          <th>Received</th>
          <th>Action</th>
          <th>Symbol</th>
          <th>Outcome</th>
          <th>Chain</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <tr key={s.signal_id} data-testid="signal-row">
            <td data-label="Received">{shortTime(s.received_at)}</td>
            <td data-label="Action">{s.action}</td>
            <td data-label="Symbol">{s.symbol ?? '—'}</td>
            <td data-label="Outcome" className={outcomeClass(s)}>
              <span>
                {s.outcome} <span className="muted small">({s.http_status})</span>
                {s.reason && <span className="small block">{s.reason}</span>}
              </span>
            </td>
            <td data-label="Chain">
              <a href={href({ page: 'signal', id: s.signal_id })} data-testid="signal-chain-link">
                view chain
              </a>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
