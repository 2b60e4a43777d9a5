/**
 * The A/B page (`#/compare/<a>/<b>/<period>`, `GET /compare`): two bots side by side with their
 * ratios and net P&L, both cumulative returns over the periods they share, the Ledoit-Wolf test
 * of the Sharpe difference (HAC and i.i.d. standard errors) and the mixture SPRT's always-valid
 * p-value with its decision. The choice lives in the URL, so a comparison can be bookmarked.
 */
import { lazy, Suspense } from 'react';
import { PERIODS, decisionText, etaText, msTime, pValue, type CompareSide, type Comparison, type SharpeDiff } from '../analytics';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { pnlClass } from '../money';
import { signedMoney } from '../numbers';
import { href } from '../route';
import { RatioCards } from './AnalyticsPanel';
import { A_COLOUR, B_COLOUR } from './CompareChart';
import { ShadowPanel } from './ShadowPanel';
import { Status } from './Status';

/** The chart library loads with the page that needs it. */
const CompareChart = lazy(() => import('./CompareChart').then((m) => ({ default: m.CompareChart })));

/** Both bots' analytics change with fills: 15 s, like the analytics panel. */
const COMPARE_POLL_MS = 15_000;

/** A test statistic with three decimals; "—" when not finite. */
export function stat(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '—';
  const t = v.toFixed(3);
  return t === '-0.000' ? '0.000' : t;
}

/** One bot's column: its name, net P&L in its own currency, and its ratio cards. */
function Side({ label, colour, side, pairs, testId }: { label: string; colour: string; side: CompareSide; pairs: number; testId: string }) {
  return (
    <div className="compare-side" data-testid={testId}>
      <h3>
        <span style={{ color: colour }}>■</span> {label}: <a href={href({ page: 'bot', id: side.bot_id })}>{side.bot_id}</a>
      </h3>
      <div className="figure side-net">
        <div className="muted small">Net P&amp;L</div>
        <div className={`big ${pnlClass(side.net)}`} title={side.net} data-testid="side-net">
          {signedMoney(side.net, side.quote_asset)}
        </div>
      </div>
      <RatioCards data={{ metrics: side.metrics, points: side.points ?? pairs + 1 }} testId={`${testId}-ratios`} />
    </div>
  );
}

/** The Sharpe-difference rows (HAC, then i.i.d.). */
function SharpeTable({ hac, iid }: { hac: SharpeDiff | null; iid: SharpeDiff | null }) {
  const rows: [string, SharpeDiff | null][] = [
    ['HAC (autocorrelation-robust)', hac],
    ['i.i.d.', iid],
  ];
  return (
    <table className="table stack" data-testid="sharpe-test">
      <thead>
        <tr>
          <th>Standard error</th>
          <th className="num">n</th>
          <th className="num">Sharpe A</th>
          <th className="num">Sharpe B</th>
          <th className="num">A − B</th>
          <th className="num">Std error</th>
          <th className="num">t</th>
          <th className="num">p</th>
          <th className="num">Bandwidth</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([name, d]) => (
          <tr key={name} data-testid="sharpe-row">
            <td data-label="Standard error">{name}</td>
            <td data-label="n" className="num">
              {d ? d.n : '—'}
            </td>
            <td data-label="Sharpe A" className="num">
              {stat(d?.sharpe_a)}
            </td>
            <td data-label="Sharpe B" className="num">
              {stat(d?.sharpe_b)}
            </td>
            <td data-label="A − B" className="num">
              {stat(d?.diff)}
            </td>
            <td data-label="Std error" className="num">
              {stat(d?.std_error)}
            </td>
            <td data-label="t" className="num" data-testid="sharpe-t">
              {stat(d?.t_stat)}
            </td>
            <td data-label="p" className="num" data-testid="sharpe-p">
              {pValue(d?.p_value)}
            </td>
            <td data-label="Bandwidth" className="num">
              {stat(d?.bandwidth)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The comparison once the API answered. */
export function ComparisonView({ data }: { data: Comparison }) {
  const sd = data.sharpe_difference;
  const seq = data.sequential;
  const sameCurrency = data.a.quote_asset === data.b.quote_asset;
  return (
    <div data-testid="comparison">
      <p className="muted small" data-testid="compare-window">
        {data.pairs} common period(s) of {data.period} · {msTime(data.from_ms)} → {msTime(data.to_ms)}
        {!sameCurrency && ` · nets in different currencies (${data.a.quote_asset}, ${data.b.quote_asset}) are not comparable`}
      </p>
      <div className="compare-sides">
        <Side label="A" colour={A_COLOUR} side={data.a} pairs={data.pairs} testId="side-a" />
        <Side label="B" colour={B_COLOUR} side={data.b} pairs={data.pairs} testId="side-b" />
      </div>
      <h3>Cumulative return over the common periods</h3>
      <Suspense fallback={<div className="muted">Loading chart…</div>}>
        <CompareChart series={data.series} />
      </Suspense>
      <h3>Sharpe difference (Ledoit-Wolf)</h3>
      <p className="muted small test-note">
        A fixed-sample test: its p-value is valid when read once, at a sample size chosen in advance; checking it every day and stopping at
        the first small p inflates false positives.
      </p>
      {sd.error && (
        <div className="banner warn" data-testid="sharpe-error">
          Not computed: {sd.error}
        </div>
      )}
      <SharpeTable hac={sd.hac} iid={sd.iid} />
      <h3>Sequential test (mixture SPRT)</h3>
      <p className="muted small test-note">
        An always-valid p-value: it may be looked at after every period and the test stopped as soon as it falls below 0.05, without
        inflating false positives.
      </p>
      <div className="figures" data-testid="sequential">
        <div className="figure">
          <div className="muted small">Paired periods</div>
          <div className="big">{seq.n}</div>
        </div>
        <div className="figure">
          <div className="muted small">Mean A − B per period</div>
          <div className="big" data-testid="seq-mean">
            {seq.n === 0 || seq.mean_diff == null || !Number.isFinite(seq.mean_diff) ? '—' : `${(seq.mean_diff * 100).toFixed(3)}%`}
          </div>
        </div>
        <div className="figure">
          <div className="muted small">Always-valid p</div>
          <div className="big" data-testid="seq-p">
            {pValue(seq.p_value)}
          </div>
        </div>
        <div className="figure">
          <div className="muted small">Decision</div>
          <div className={`big ${seq.decision === 'continue' ? '' : 'pos'}`} data-testid="seq-decision" data-decision={seq.decision}>
            {decisionText(seq, `A (${data.a.bot_id})`, `B (${data.b.bot_id})`)}
          </div>
        </div>
        <div className="figure">
          <div className="muted small" title="plug-in estimate: periods until the always-valid p reaches 0.05 if the current mean difference and variance hold (docs/analytics.md)">
            Expected time to a decision
          </div>
          <div className="big" data-testid="seq-eta">
            {etaText(seq, data.period)}
          </div>
        </div>
      </div>
    </div>
  );
}

/** Bot pickers and period tabs; each choice rewrites the URL, the page follows it. */
export function ComparePage({ a, b, period = '1d' }: { a?: string; b?: string; period?: string }) {
  const { client } = useSession();
  const bots = usePoll(() => client.listBots(), 'compare-bots', 0);
  const ready = !!a && !!b && a !== b;
  const res = usePoll(
    () => (ready ? client.compare(a, b, period) : Promise.resolve(null)),
    `compare-${a ?? ''}-${b ?? ''}-${period}`,
    ready ? COMPARE_POLL_MS : 0,
  );
  const go = (next: { a?: string; b?: string; period?: string }) => {
    window.location.hash = href({ page: 'compare', a, b, period, ...next });
  };
  const ids = (bots.data ?? []).map((x) => x.id).sort();
  const shown = res.data && res.data.a.bot_id === a && res.data.b.bot_id === b && res.data.period === period ? res.data : undefined;
  return (
    <main data-testid="compare-page">
      <h1>Compare bots (A/B)</h1>
      <Status loading={bots.loading} error={bots.error} hasData={!!bots.data} />
      <div className="row wrap compare-controls">
        <label>
          <span className="muted small">Bot A</span>
          <select value={a ?? ''} onChange={(e) => go({ a: e.target.value || undefined })} data-testid="compare-a">
            <option value="">choose…</option>
            {ids.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span className="muted small">Bot B</span>
          <select value={b ?? ''} onChange={(e) => go({ b: e.target.value || undefined })} data-testid="compare-b">
            <option value="">choose…</option>
            {ids.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
        <div className="tabs" role="group" aria-label="Period">
          {PERIODS.map((p) => (
            <button key={p} className={p === period ? 'active' : ''} onClick={() => go({ period: p })} data-testid={`compare-period-${p}`}>
              {p}
            </button>
          ))}
        </div>
      </div>
      {!ready && <p className="muted">{a && a === b ? 'Choose two different bots.' : 'Choose bot A and bot B to compare them.'}</p>}
      {ready && (
        <section className="panel">
          <Status loading={res.loading || (!shown && !res.error)} error={res.error} hasData={!!shown} />
          {res.error?.field && <p className="muted small">Field: {res.error.field}</p>}
          {shown && <ComparisonView data={shown} />}
        </section>
      )}
      {a && <ShadowPanel a={a} b={b} period={period} />}
    </main>
  );
}
