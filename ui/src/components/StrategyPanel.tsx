/**
 * A strategy bot's strategy: what runs (name, version, symbol, timeframe), where it stands (last
 * bar, target, next evaluation), the versions it ran, and its params as a form. Changed params
 * are reviewed (old → new) and saved as a new config version with one `PATCH /bots/{id}`
 * `{"params": …}`; the next bar is evaluated by the new strategy version. "Evaluate now" runs the
 * bar-close evaluation at once (`POST /bots/{id}/strategy`); "Backtest this strategy" opens the
 * Backtest view prefilled with it. Hidden for bots fed by webhooks.
 */
import { useState } from 'react';
import { ApiError, type StrategyView } from '../api';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { shortTime } from '../money';
import { href } from '../route';

/** `Exposure(-1.0)` → `short 100 %`; `Exposure(0.0)` → `flat`; other targets as written. */
export function targetText(target: string | null): string {
  if (!target) return '—';
  const m = /^Exposure\((-?\d+(?:\.\d+)?)\)$/.exec(target);
  if (!m) return target;
  const x = Number(m[1]);
  if (x === 0) return 'flat';
  return `${x > 0 ? 'long' : 'short'} ${Math.round(Math.abs(x) * 100)} % of equity`;
}

function Params({
  botId,
  view,
  configVersion,
  onSaved,
  saved,
  setSaved,
}: {
  botId: string;
  view: StrategyView;
  configVersion: number;
  onSaved: () => void;
  /** The version the last save created. Held by the panel: this block is remounted when the
   * saved config reloads (its key is the version), and the message must outlive that. */
  saved: number | null;
  setSaved: (version: number | null) => void;
}) {
  const { client, canWrite } = useSession();
  const [draft, setDraft] = useState<Record<string, string>>(() =>
    Object.fromEntries(Object.entries(view.params).map(([k, v]) => [k, String(v)])),
  );
  const [review, setReview] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const changed = Object.entries(draft).filter(([k, v]) => Number(v) !== view.params[k]);
  const invalid = Object.entries(draft).filter(([, v]) => v.trim() === '' || !Number.isFinite(Number(v)));
  const save = async () => {
    setError(null);
    try {
      const r = await client.patchBot(botId, { params: Object.fromEntries(Object.entries(draft).map(([k, v]) => [k, Number(v)])) });
      setSaved(r.version);
      setReview(false);
      onSaved();
    } catch (e) {
      setError(e instanceof ApiError ? `${e.message}${e.field ? ` (field ${e.field})` : ''}` : String(e));
    }
  };
  return (
    <div data-testid="strategy-params">
      <div className="form-grid">
        {Object.keys(draft).map((k) => (
          <div className="field" key={k}>
            <label htmlFor={`param-${k}`}>{k}</label>
            <input
              id={`param-${k}`}
              inputMode="decimal"
              value={draft[k]}
              disabled={!canWrite}
              onChange={(e) => {
                setDraft({ ...draft, [k]: e.target.value });
                setReview(false);
                setSaved(null);
              }}
              data-testid={`param-${k}`}
            />
          </div>
        ))}
      </div>
      {saved !== null && (
        <div className="ok" role="status" data-testid="params-saved">
          Saved as config version {saved}: the next bar runs the new strategy version.
        </div>
      )}
      {error && (
        <div className="error" role="alert" data-testid="params-error">
          {error}
        </div>
      )}
      {canWrite && changed.length > 0 && invalid.length === 0 && !review && (
        <button className="primary" onClick={() => setReview(true)} data-testid="review-params">
          Review {changed.length} change(s)
        </button>
      )}
      {invalid.length > 0 && <p className="neg small">Not a number: {invalid.map(([k]) => k).join(', ')}</p>}
      {review && (
        <>
          <table className="table stack diff" data-testid="params-diff">
            <thead>
              <tr>
                <th>Param</th>
                <th>Now</th>
                <th>New</th>
              </tr>
            </thead>
            <tbody>
              {changed.map(([k, v]) => (
                <tr key={k} data-testid="diff-row">
                  <td data-label="Param" className="mono">
                    params.{k}
                  </td>
                  <td data-label="Now" className="neg mono">
                    {view.params[k]}
                  </td>
                  <td data-label="New" className="pos mono">
                    {Number(v)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="row">
            <button className="primary" onClick={() => void save()} data-testid="save-params">
              Save as version {configVersion + 1}
            </button>
            <button onClick={() => setReview(false)}>Cancel</button>
          </div>
        </>
      )}
    </div>
  );
}

/** The panel; renders nothing for a bot that is not strategy-driven. */
export function StrategyPanel({ botId, configVersion, onSaved }: { botId: string; configVersion: number; onSaved: () => void }) {
  const { client, canWrite } = useSession();
  const view = usePoll(() => client.strategy(botId), `strategy-${botId}-${configVersion}`);
  const [ran, setRan] = useState<string | null>(null);
  const [savedVersion, setSavedVersion] = useState<number | null>(null);
  if (view.error?.status === 409 || (!view.data && !view.loading && !view.error)) return null;
  const v = view.data;
  return (
    <section className="panel wide" data-testid="strategy-panel">
      <h2>Strategy</h2>
      {view.error && <div className="error">{view.error.message}</div>}
      {v && (
        <>
          <div className="figures">
            <div className="figure">
              <div className="muted small">Strategy</div>
              <div className="big">{v.strategy}</div>
              <div className="muted small mono">{v.version_id}</div>
            </div>
            <div className="figure">
              <div className="muted small">Market</div>
              <div className="big">
                {v.symbol} · {v.timeframe ?? '—'}
              </div>
            </div>
            <div className="figure">
              <div className="muted small">Target</div>
              <div className="big" data-testid="strategy-target">
                {targetText(v.last_target)}
              </div>
              <div className="muted small">bar {shortTime(v.last_bar_at)}</div>
            </div>
            <div className="figure">
              <div className="muted small">Next evaluation</div>
              <div className="big">{v.next_wake_at ? shortTime(v.next_wake_at).slice(11) : '—'}</div>
              <div className="muted small">warm-up {v.warm_up} bars</div>
            </div>
          </div>
          <h3>Params</h3>
          <Params
            key={`${v.version_id}-${configVersion}`}
            botId={botId}
            view={v}
            configVersion={configVersion}
            onSaved={onSaved}
            saved={savedVersion}
            setSaved={setSavedVersion}
          />
          {canWrite && (
            <div className="row wrap" style={{ marginTop: '0.6rem' }}>
              <a className="button" href={href({ page: 'backtest', bot: botId })} data-testid="backtest-strategy">
                Backtest this strategy
              </a>
              <button
                onClick={() =>
                  void client.runStrategy(botId).then(
                    (r) => {
                      setRan(String(r.status ?? 'done'));
                      view.reload();
                    },
                    (e: unknown) => setRan(e instanceof Error ? e.message : String(e)),
                  )
                }
                data-testid="run-strategy"
              >
                Evaluate now
              </button>
              {ran && <span className="muted small">{ran.replace(/_/g, ' ')}</span>}
            </div>
          )}
          {v.versions_run.length > 0 && (
            <details className="versions">
              <summary className="small">Versions run: {v.versions_run.length}</summary>
              <ul className="plain small">
                {v.versions_run.map((r) => (
                  <li key={r.id}>
                    <span className="mono">{r.id}</span> · config v{r.config_version} · since {shortTime(r.first_run_at)} ·{' '}
                    {Object.entries(r.params)
                      .map(([k, x]) => `${k} ${x}`)
                      .join(', ')}
                  </li>
                ))}
              </ul>
            </details>
          )}
        </>
      )}
    </section>
  );
}
