/**
 * Edit a bot's config from its page: the current version as JSON (strategy params included), a
 * review step that lists every changed field (old → new) before anything is saved, then one
 * `PATCH /bots/{id}` with the merge patch, which the API stores as a new version (audited, applied
 * to the next signal). The answer's own diff is shown, and the version history below.
 */
import { useState } from 'react';
import { ApiError, type BotDetail, type DiffEntry } from '../api';
import { changes, mergePatch, shown, type FieldChange } from '../configDiff';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { shortTime } from '../money';

/** Fields the API sets itself or never returns in clear: not editable here. */
const FIXED = ['id'];

function editable(config: Record<string, unknown>): Record<string, unknown> {
  const out = { ...config };
  for (const k of FIXED) delete out[k];
  return out;
}

function DiffTable({ rows, testId }: { rows: (FieldChange | DiffEntry)[]; testId: string }) {
  return (
    <table className="table stack diff" data-testid={testId}>
      <thead>
        <tr>
          <th>Field</th>
          <th>Now</th>
          <th>New</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.path} data-testid="diff-row">
            <td data-label="Field" className="mono">
              {r.path.replace(/^\//, '').replace(/\//g, '.')}
            </td>
            <td data-label="Now" className="neg mono">
              {shown(r.old)}
            </td>
            <td data-label="New" className="pos mono">
              {shown(r.new)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The editor; `onSaved` reloads the page's data after a new version is stored. */
export function ConfigEditor({ botId, detail, onSaved }: { botId: string; detail: BotDetail; onSaved: () => void }) {
  const { client, canWrite } = useSession();
  const base = editable(detail.config as unknown as Record<string, unknown>);
  const [text, setText] = useState<string | null>(null);
  const [review, setReview] = useState<{ patch: Record<string, unknown>; rows: FieldChange[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<{ version: number; diff: DiffEntry[] } | null>(null);
  const [busy, setBusy] = useState(false);
  const versions = usePoll(() => client.versions(botId), `versions-${botId}-${detail.config_version}`, 0);

  const editing = text !== null;
  const start = () => {
    setText(JSON.stringify(base, null, 2));
    setReview(null);
    setError(null);
    setSaved(null);
  };
  const check = () => {
    setError(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text ?? '');
    } catch (e) {
      setError(`Not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      setError('The config must be a JSON object.');
      return;
    }
    const rows = changes(base, parsed);
    if (rows.length === 0) {
      setError('Nothing changed.');
      return;
    }
    setReview({ patch: mergePatch(base, parsed as Record<string, unknown>), rows });
  };
  const save = async () => {
    if (!review) return;
    setBusy(true);
    setError(null);
    try {
      const r = await client.patchBot(botId, review.patch);
      setSaved(r);
      setText(null);
      setReview(null);
      onSaved();
    } catch (e) {
      setError(e instanceof ApiError ? `${e.message}${e.field ? ` (field ${e.field})` : ''}` : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="config-editor" data-testid="config-editor">
      <div className="row between wrap">
        <span className="muted small">Version {detail.config_version} is live. Saving stores a new version; the next signal uses it.</span>
        {canWrite && !editing && (
          <button onClick={start} data-testid="edit-config">
            Edit config
          </button>
        )}
      </div>
      {saved && (
        <div className="ok" role="status" data-testid="config-saved">
          Saved as version {saved.version}.{saved.diff.length > 0 && <DiffTable rows={saved.diff} testId="saved-diff" />}
        </div>
      )}
      {editing && (
        <>
          <textarea
            className="json"
            rows={Math.min(30, (text ?? '').split('\n').length + 1)}
            value={text ?? ''}
            onChange={(e) => {
              setText(e.target.value);
              setReview(null);
            }}
            spellCheck={false}
            aria-label="Bot config (JSON)"
            data-testid="config-json"
          />
          {error && (
            <div className="error" role="alert" data-testid="config-error">
              {error}
            </div>
          )}
          {review && (
            <>
              <h3>Review: {review.rows.length} change(s)</h3>
              <DiffTable rows={review.rows} testId="config-diff" />
            </>
          )}
          <div className="row wrap">
            {!review ? (
              <button className="primary" onClick={check} data-testid="review-config">
                Review changes
              </button>
            ) : (
              <button className="primary" onClick={() => void save()} disabled={busy} data-testid="save-config">
                Save as version {detail.config_version + 1}
              </button>
            )}
            <button
              onClick={() => {
                setText(null);
                setReview(null);
                setError(null);
              }}
            >
              Cancel
            </button>
          </div>
        </>
      )}
      {versions.data && versions.data.versions.length > 0 && (
        <details className="versions">
          <summary className="small">History: {versions.data.versions.length} version(s)</summary>
          <ul className="plain small" data-testid="config-versions">
            {[...versions.data.versions].reverse().map((v, i, all) => {
              const prev = all[i + 1];
              const diff = prev ? changes(editable(prev.config), editable(v.config)) : [];
              return (
                <li key={v.version}>
                  <strong>v{v.version}</strong> <span className="muted">{shortTime(v.updated_at)}</span>
                  {prev && (
                    <span className="muted">
                      {' '}
                      ·{' '}
                      {diff.length === 0 ? 'no field changed' : diff.map((d) => `${d.path}: ${shown(d.old)} → ${shown(d.new)}`).join('; ')}
                    </span>
                  )}
                </li>
              );
            })}
          </ul>
        </details>
      )}
    </div>
  );
}
