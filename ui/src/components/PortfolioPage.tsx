/**
 * The portfolio page (`#/portfolio`, `GET /portfolio`): every scope (limits across several bots)
 * with its exposure by asset, each limit's use as a bar, the gross-exposure lease pool (reserved,
 * used, bots whose lease expired), and its halt — an automatic one names the breached limit.
 * Admins create, change, halt, resume and delete scopes, and ask for a capital allocation
 * proposal they can accept (each transfer audited in its bot's chain). Nothing here moves money
 * without a confirmation naming the amounts.
 */
import { useState } from 'react';
import { ApiError, type AllocationProposal, type PortfolioScope, type PortfolioScopeSpec } from '../api';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { usagePct } from '../money';
import { amount } from '../numbers';
import { ConfirmDialog } from './ConfirmDialog';
import { Status } from './Status';

/** Scopes change with every bot's lease renewal: 10 s. */
const PORTFOLIO_POLL_MS = 10_000;

/** The scope JSON the "new scope" editor starts from. */
export const SCOPE_EXAMPLE: PortfolioScopeSpec = {
  members: { kind: 'platform' },
  limits: { max_gross: '50000', max_daily_loss: '1000', max_drawdown_pct: '15' },
  lease_ttl_secs: 30,
};

/** One limit's use: `[label, used, limit]` rows for a scope, limits that are not set left out. */
export function limitRows(s: PortfolioScope): [string, string, string][] {
  const l = s.spec.limits ?? {};
  const rows: [string, string, string | null | undefined][] = [
    ['gross exposure', s.gross, l.max_gross],
    ['net exposure', s.net, l.max_net],
    ['drawdown %', s.drawdown_pct, l.max_drawdown_pct],
    ['daily loss', s.daily_loss, l.max_daily_loss],
  ];
  return rows.filter((r): r is [string, string, string] => r[2] != null);
}

/** What a halt says: who or which limit, since when. */
export function haltText(s: PortfolioScope): string | null {
  if (!s.halted) return null;
  const since = new Date(s.halted.since_ms).toISOString().slice(0, 19).replace('T', ' ');
  const b = s.halted.breach;
  return b
    ? `HALTED by ${b.rule.replace(/_/g, ' ')}: ${b.observed} against ${b.limit} (since ${since} UTC)`
    : `HALTED by the operator (since ${since} UTC)`;
}

function members(s: PortfolioScope): string {
  const m = s.spec.members;
  if (m.kind === 'group') return `group: ${m.bots.join(', ')}`;
  if (m.kind === 'account') return `account ${m.account}`;
  return 'every bot';
}

function Bar({ label, used, limit }: { label: string; used: string; limit: string }) {
  const pct = usagePct(used, limit);
  const level = pct >= 90 ? 'high' : pct >= 60 ? 'mid' : 'low';
  return (
    <li>
      <div className="row between small">
        <span>{label}</span>
        <span>
          {used} / {limit}
        </span>
      </div>
      <div className="bar" role="meter" aria-label={label} aria-valuenow={Math.round(pct)} aria-valuemin={0} aria-valuemax={100}>
        <div className={`fill ${level}`} style={{ width: `${pct}%` }} />
      </div>
    </li>
  );
}

/** Exposure per asset as signed horizontal bars (long right, short left of the axis). */
function Exposures({ exposures }: { exposures: Record<string, string> }) {
  const rows = Object.entries(exposures).filter(([, v]) => Number(v) !== 0);
  if (rows.length === 0) return <p className="muted small">No exposure reported.</p>;
  const max = Math.max(...rows.map(([, v]) => Math.abs(Number(v))));
  return (
    <table className="table" data-testid="scope-exposures">
      <thead>
        <tr>
          <th>Asset</th>
          <th className="num">Notional</th>
          <th>Short ← → Long</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([asset, v]) => {
          const n = Number(v);
          const w = max > 0 ? (Math.abs(n) / max) * 50 : 0;
          return (
            <tr key={asset}>
              <td>{asset}</td>
              <td className="num">{v}</td>
              <td>
                <div className="bar" style={{ position: 'relative' }}>
                  <div className={`fill ${n < 0 ? 'high' : 'low'}`} style={{ position: 'absolute', width: `${w}%`, left: n < 0 ? `${50 - w}%` : '50%' }} />
                </div>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function ScopeCard({ scope, onChanged }: { scope: PortfolioScope; onChanged: () => void }) {
  const { client, canWrite } = useSession();
  const [confirm, setConfirm] = useState<'halt' | 'resume' | 'delete' | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const halt = haltText(scope);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      if (confirm === 'delete') await client.deleteScope(scope.name);
      else await client.haltScope(scope.name, confirm === 'halt');
      onChanged();
    } catch (e) {
      setError(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    } finally {
      setBusy(false);
      setConfirm(null);
    }
  };
  const consequence = {
    halt: `Every bot of ${scope.name} (${members(scope)}) falls back to reduce-only at its next lease renewal, at the latest in ${scope.spec.lease_ttl_secs} s.`,
    resume: `The bots of ${scope.name} may enter again within its limits; the drawdown peak restarts from the equity now.`,
    delete: `The limits of ${scope.name} stop applying to its bots.`,
  };
  return (
    <section className="card" data-testid="scope-card">
      <div className="row between">
        <h3>{scope.name}</h3>
        <span className="muted small">
          {members(scope)} · {scope.bots.length} bot(s) reporting
        </span>
      </div>
      {halt && (
        <div className="banner halted" role="alert" data-testid="scope-halted">
          {halt}
        </div>
      )}
      <ul className="plain risk" data-testid="scope-limits">
        {limitRows(scope).map(([label, used, limit]) => (
          <Bar key={label} label={label} used={used} limit={limit} />
        ))}
      </ul>
      <p className="small" data-testid="scope-pool">
        Lease pool: {scope.pool.reserved} reserved, {scope.pool.used} used
        {scope.pool.cap != null ? ` of ${scope.pool.cap}` : ' (no gross cap)'}; equity {amount(scope.state.equity, '')}
        {scope.pool.expired.length > 0 && <span className="warn"> · lease expired: {scope.pool.expired.join(', ')}</span>}
      </p>
      <Exposures exposures={scope.state.exposures} />
      {canWrite && (
        <div className="row wrap">
          {scope.halted ? (
            <button onClick={() => setConfirm('resume')} data-testid="scope-resume">
              Resume
            </button>
          ) : (
            <button className="danger" onClick={() => setConfirm('halt')} data-testid="scope-halt">
              Halt scope
            </button>
          )}
          <button onClick={() => setConfirm('delete')} data-testid="scope-delete">
            Delete
          </button>
        </div>
      )}
      {error && <p className="error">{error}</p>}
      {confirm && (
        <ConfirmDialog
          title={`${confirm[0]?.toUpperCase()}${confirm.slice(1)} ${scope.name}?`}
          consequence={consequence[confirm]}
          confirmLabel={confirm}
          danger={confirm !== 'resume'}
          busy={busy}
          onConfirm={() => void run()}
          onCancel={() => setConfirm(null)}
        />
      )}
    </section>
  );
}

function ScopeEditor({ onSaved }: { onSaved: () => void }) {
  const { client } = useSession();
  const [name, setName] = useState('');
  const [text, setText] = useState(JSON.stringify(SCOPE_EXAMPLE, null, 2));
  const [error, setError] = useState<string | null>(null);
  const save = async () => {
    setError(null);
    let spec: PortfolioScopeSpec;
    try {
      spec = JSON.parse(text) as PortfolioScopeSpec;
    } catch (e) {
      setError(`not JSON: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    try {
      await client.setScope(name.trim(), spec);
      onSaved();
    } catch (e) {
      setError(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };
  return (
    <section className="card" data-testid="scope-editor">
      <h3>Create or change a scope</h3>
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} data-testid="scope-name" placeholder="desk-a" />
      </label>
      <textarea rows={9} value={text} onChange={(e) => setText(e.target.value)} data-testid="scope-spec" spellCheck={false} />
      <div className="row">
        <button className="primary" onClick={() => void save()} disabled={name.trim() === ''} data-testid="scope-save">
          Save scope
        </button>
      </div>
      {error && (
        <p className="error" data-testid="scope-error">
          {error}
        </p>
      )}
    </section>
  );
}

function Allocation() {
  const { client } = useSession();
  const bots = usePoll(() => client.listBots(), 'portfolio-bots', 0);
  const [chosen, setChosen] = useState<string[]>([]);
  const [rule, setRule] = useState<'equal_risk' | 'vol_target'>('equal_risk');
  const [capital, setCapital] = useState('10000');
  const [proposal, setProposal] = useState<AllocationProposal | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [accepted, setAccepted] = useState<string | null>(null);
  const propose = async () => {
    setError(null);
    setProposal(null);
    setAccepted(null);
    try {
      const body = { bots: chosen, capital, rule: rule === 'vol_target' ? { rule, target: 0.01 } : { rule } };
      setProposal(await client.allocate(body));
    } catch (e) {
      setError(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };
  const accept = async () => {
    if (!proposal) return;
    try {
      const r = await client.acceptAllocation(proposal);
      setAccepted(r.bots.map((b) => `${b.bot_id}: ${b.status}`).join(', '));
    } catch (e) {
      setError(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    } finally {
      setConfirming(false);
    }
  };
  return (
    <section className="card" data-testid="allocation">
      <h3>Capital allocation</h3>
      <p className="muted small">Target equity per bot from their daily returns; a proposal moves nothing until accepted.</p>
      <div className="row wrap">
        {(bots.data ?? []).map((b) => (
          <label key={b.id} className="small">
            <input
              type="checkbox"
              checked={chosen.includes(b.id)}
              onChange={(e) => setChosen(e.target.checked ? [...chosen, b.id] : chosen.filter((x) => x !== b.id))}
            />{' '}
            {b.id}
          </label>
        ))}
      </div>
      <div className="row wrap">
        <select value={rule} onChange={(e) => setRule(e.target.value as 'equal_risk' | 'vol_target')} data-testid="allocation-rule">
          <option value="equal_risk">equal risk contribution</option>
          <option value="vol_target">volatility target 1 %/day</option>
        </select>
        <input value={capital} onChange={(e) => setCapital(e.target.value)} data-testid="allocation-capital" aria-label="capital" />
        <button onClick={() => void propose()} disabled={chosen.length === 0} data-testid="allocation-propose">
          Propose
        </button>
      </div>
      {error && (
        <p className="error" data-testid="allocation-error">
          {error}
        </p>
      )}
      {proposal && (
        <>
          <table className="table" data-testid="allocation-proposal">
            <thead>
              <tr>
                <th>Bot</th>
                <th className="num">Weight</th>
                <th className="num">Volatility</th>
                <th className="num">Current</th>
                <th className="num">Target</th>
                <th className="num">Transfer</th>
              </tr>
            </thead>
            <tbody>
              {proposal.bots.map((b) => (
                <tr key={b.bot_id}>
                  <td>{b.bot_id}</td>
                  <td className="num">{(b.weight * 100).toFixed(2)} %</td>
                  <td className="num">{(b.volatility * 100).toFixed(2)} %</td>
                  <td className="num">{b.current ?? '—'}</td>
                  <td className="num">{b.target}</td>
                  <td className="num">{b.transfer}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="small">Unallocated: {proposal.unallocated}</p>
          <button className="primary" onClick={() => setConfirming(true)} data-testid="allocation-accept">
            Accept proposal
          </button>
        </>
      )}
      {accepted && <p data-testid="allocation-accepted">{accepted}</p>}
      {confirming && proposal && (
        <ConfirmDialog
          title={`Accept proposal ${proposal.proposal_id}?`}
          consequence={`Books these capital transfers, each audited in its bot's chain: ${Object.entries(proposal.transfers)
            .map(([id, t]) => `${id} ${t}`)
            .join(', ')}.`}
          confirmLabel="Book transfers"
          onConfirm={() => void accept()}
          onCancel={() => setConfirming(false)}
        />
      )}
    </section>
  );
}

/** The page. */
export function PortfolioPage() {
  const { client, canWrite } = useSession();
  const scopes = usePoll(() => client.portfolio(), 'portfolio', PORTFOLIO_POLL_MS);
  return (
    <main className="page" data-testid="portfolio-page">
      <h2>Portfolio</h2>
      <Status loading={scopes.loading} error={scopes.error} hasData={scopes.data !== undefined} />
      {scopes.data?.length === 0 && <p className="muted">No scopes yet: limits apply per bot only.</p>}
      {(scopes.data ?? []).map((s) => (
        <ScopeCard key={s.name} scope={s} onChanged={scopes.reload} />
      ))}
      {canWrite && <ScopeEditor onSaved={scopes.reload} />}
      {canWrite && <Allocation />}
    </main>
  );
}
