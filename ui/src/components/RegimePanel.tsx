/**
 * Market regime per instrument of a regime-gated strategy bot (`GET /bots/{id}/regime`): the
 * label now (trend / range / volatile, from the same classifier and bars as the spec's `regime`
 * factor), since when, and the history of changes, newest first. Each change is also an audited
 * `regime_action` event saying what it did to the bot's target (see the audit timeline). Shown
 * only for bots whose spec has a regime factor.
 */
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { msTime, type RegimeView } from '../analytics';

/** Changes shown per instrument (the API keeps 500, the audit all). */
const SHOWN = 20;

/** The panel; renders nothing for a bot that is not regime-gated. */
export function RegimePanel({ botId }: { botId: string }) {
  const { client } = useSession();
  const res = usePoll(() => client.regime(botId), `regime-${botId}`, 30_000);
  return <RegimeBody data={res.data} />;
}

/** The panel's content for an answer (exported for tests). */
export function RegimeBody({ data }: { data: RegimeView | undefined }) {
  if (!data || !data.gated) return null;
  const symbols = Object.entries(data.symbols).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section className="panel wide" data-testid="regime-panel">
      <h2>Market regime</h2>
      {symbols.length === 0 && <p className="muted">Not labelled yet: the classifier is warming up.</p>}
      {symbols.map(([sym, r]) => (
        <div key={sym} className="regime-symbol" data-testid={`regime-${sym}`}>
          <p>
            <strong>{sym}</strong>: <span className={`regime-label regime-${r.label}`} data-testid="regime-label">{r.label}</span>{' '}
            <span className="muted small">since {msTime(r.since_ms)}</span>
          </p>
          <table className="table stack" data-testid="regime-history">
            <thead>
              <tr>
                <th>Since</th>
                <th>Regime</th>
              </tr>
            </thead>
            <tbody>
              {[...r.history]
                .reverse()
                .slice(0, SHOWN)
                .map(([t, label]) => (
                  <tr key={`${t}-${label}`}>
                    <td data-label="Since">{msTime(t)}</td>
                    <td data-label="Regime">{label}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}
