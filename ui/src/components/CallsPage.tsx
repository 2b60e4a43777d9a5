/**
 * The calls page (`#/calls`, docs/calls.md): influencer and channel calls kept in a hash chain,
 * scored as first received, and the sources ranked by the lower confidence bound of mean R (so one
 * lucky call cannot lead). Admins paste a message to record a call; the grammar's flags (what it
 * could not read) are shown, never filled in.
 */
import { useState } from 'react';
import type { CallFields, CallVersion, SourceStats } from '../api';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { ChatSettingsPanel } from './ChatSettingsPanel';
import { Status } from './Status';

/** Calls change when someone records or scores one: 15 s is fresh enough. */
const CALLS_POLL_MS = 15_000;

/** A statistic with three decimals; "—" when absent. */
export function r3(v: number | null | undefined): string {
  return v == null || !Number.isFinite(v) ? '—' : v.toFixed(3);
}

/** The entry as written: a price, `low–high`, or market. */
export function entryText(f: CallFields): string {
  if (!f.entry) return '—';
  if (f.entry === 'market') return 'market';
  if ('price' in f.entry) return f.entry.price;
  return `${f.entry.zone.low}–${f.entry.zone.high}`;
}

function Leaderboard({ rows }: { rows: SourceStats[] }) {
  return (
    <table className="table stack" data-testid="call-leaderboard">
      <thead>
        <tr>
          <th>Source</th>
          <th>Closed</th>
          <th>Mean R</th>
          <th title="One-sided 95% lower bound of mean R: the ranking">Lower bound</th>
          <th>Expired</th>
          <th>Calls</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <tr key={s.source}>
            <td>{s.source}</td>
            <td>{s.closed}</td>
            <td>{r3(s.mean_r)}</td>
            <td>{r3(s.lcb_r)}</td>
            <td>{s.expired}</td>
            <td>{s.calls}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function PasteForm({ onDone }: { onDone: () => void }) {
  const { client } = useSession();
  const [source, setSource] = useState('');
  const [id, setId] = useState('');
  const [text, setText] = useState('');
  const [result, setResult] = useState<CallVersion | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setError(null);
    try {
      setResult(await client.createCall(source.trim(), id.trim(), text));
      onDone();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section className="card" data-testid="call-paste">
      <h3>Record a call</h3>
      <div className="row">
        <input placeholder="source (a-z 0-9 _ -)" value={source} onChange={(e) => setSource(e.target.value)} />
        <input placeholder="call id" value={id} onChange={(e) => setId(e.target.value)} />
      </div>
      <textarea rows={8} placeholder="Paste the channel message" value={text} onChange={(e) => setText(e.target.value)} />
      <button onClick={() => void submit()} disabled={!source || !id || !text}>
        Record
      </button>
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      {result && (
        <div data-testid="call-recorded">
          Recorded version {result.version} ({result.hash.slice(0, 12)}…): {result.fields.pair ?? '— pair'} {result.fields.side ?? '— side'}, entry{' '}
          {entryText(result.fields)}, stop {result.fields.stop ?? '—'}, targets {(result.fields.targets ?? []).join(' / ') || '—'}
          {(result.flags ?? []).length > 0 && (
            <ul data-testid="call-flags">
              {(result.flags ?? []).map((f, k) => (
                <li key={k}>
                  line {f.line}
                  {f.field ? ` (${f.field})` : ''}: {f.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

/** The page. */
export function CallsPage() {
  const { client, canWrite } = useSession();
  const board = usePoll(() => client.callLeaderboard(), 'call-board', CALLS_POLL_MS);
  const list = usePoll(() => client.calls(), 'calls', CALLS_POLL_MS);
  return (
    <main>
      <h2>Calls</h2>
      <p className="muted small">Scored as first received; edits make new versions in the chain and never move a score.</p>
      <Status loading={board.loading} error={board.error} hasData={board.data !== undefined} />
      {board.data && <Leaderboard rows={board.data.sources} />}
      <Status loading={list.loading} error={list.error} hasData={list.data !== undefined} />
      {list.data && (
        <>
          {list.data.chain_break != null && (
            <div className="error" role="alert" data-testid="call-chain-break">
              The call chain does not verify from version {list.data.chain_break}.
            </div>
          )}
          <table className="table stack" data-testid="call-list">
            <thead>
              <tr>
                <th>Call</th>
                <th>Source</th>
                <th>Pair</th>
                <th>Side</th>
                <th>Entry</th>
                <th>Versions</th>
                <th>Status</th>
                <th>R</th>
              </tr>
            </thead>
            <tbody>
              {list.data.calls.map((c) => (
                <tr key={c.call_id}>
                  <td>{c.call_id}</td>
                  <td>{c.scored.source}</td>
                  <td>{c.scored.fields.pair ?? '—'}</td>
                  <td>{c.scored.fields.side ?? '—'}</td>
                  <td>{entryText(c.scored.fields)}</td>
                  <td>{c.versions}</td>
                  <td>{c.score?.status ?? 'unscored'}</td>
                  <td>{c.score?.r_multiple ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {canWrite && <PasteForm onDone={() => list.reload()} />}
      <ChatSettingsPanel />
    </main>
  );
}
