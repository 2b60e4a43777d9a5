/**
 * A bot's live analytics (`GET /bots/{id}/analytics?period=`): the ratio cards over its equity
 * resampled to the chosen period, where its net P&L came from (by instrument, strategy version
 * and UTC hour, each table checked here to add up exactly to the net), and the net by hour as
 * bars. Ratios are floats shown as percentages or two-decimal ratios; money is the API's exact
 * strings in the bot's quote currency by the shared rule, the exact value on hover.
 */
import { useState } from 'react';
import {
  PERIODS,
  RATIOS,
  hourBars,
  hourRows,
  instrumentRows,
  msTime,
  ratioText,
  strategyRows,
  sumsToNet,
  type AttributionSlice,
  type BotAnalytics,
} from '../analytics';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { pnlClass } from '../money';
import { amount, signedAmount, signedMoney } from '../numbers';
import { Status } from './Status';

/** Analytics change with fills and marks: 15 s is fresh enough and spares the API budget. */
const ANALYTICS_POLL_MS = 15_000;

/** One ratio card per metric; "—" where the ratio means nothing yet. */
export function RatioCards({ data, testId = 'ratio-cards' }: { data: Pick<BotAnalytics, 'metrics' | 'points'>; testId?: string }) {
  return (
    <div className="figures ratios" data-testid={testId}>
      {RATIOS.map((r) => {
        const v = data.metrics[r.key];
        return (
          <div className="figure" key={r.key}>
            <div className="muted small" title={r.hint}>
              {r.label}
            </div>
            <div className="big" data-testid={`ratio-${r.key}`} title={v == null ? 'not defined for this history' : String(v)}>
              {ratioText(r, data.metrics, data.points)}
            </div>
          </div>
        );
      })}
    </div>
  );
}

/** One attribution table with its exact sum checked against the net. */
function AttributionTable({
  title,
  keyLabel,
  rows,
  total,
  quote,
  testId,
}: {
  title: string;
  keyLabel: string;
  rows: [string, AttributionSlice][];
  total: AttributionSlice;
  quote: string;
  testId: string;
}) {
  const check = sumsToNet(rows, total.net);
  return (
    <div className="attribution">
      <h3>{title}</h3>
      {rows.length === 0 ? (
        <p className="muted">Nothing to attribute yet.</p>
      ) : (
        <table className="table stack" data-testid={testId}>
          <thead>
            <tr>
              <th>{keyLabel}</th>
              <th className="num">Fills</th>
              <th className="num">Realized ({quote})</th>
              <th className="num">Fees ({quote})</th>
              <th className="num">Funding ({quote})</th>
              <th className="num">Net ({quote})</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([k, r]) => (
              <tr key={k} data-testid="attribution-row" data-key={k}>
                <td data-label={keyLabel}>{k}</td>
                <td data-label="Fills" className="num">
                  {r.fills}
                </td>
                <td data-label="Realized" className={`num ${pnlClass(r.realized)}`} title={r.realized}>
                  {signedAmount(r.realized, quote)}
                </td>
                <td data-label="Fees" className="num" title={r.fees}>
                  {amount(r.fees, quote)}
                </td>
                <td data-label="Funding" className={`num ${pnlClass(r.funding)}`} title={r.funding}>
                  {signedAmount(r.funding, quote)}
                </td>
                <td data-label="Net" className={`num ${pnlClass(r.net)}`} title={r.net} data-testid="attribution-net">
                  {signedAmount(r.net, quote)}
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr className="sum-row">
              {/* One cell: on a phone the stacked layout would otherwise list five empty labels. */}
              <td
                colSpan={6}
                data-label="Sum of the rows"
                className={`num ${check.exact ? pnlClass(check.sum) : 'neg'}`}
                title={check.sum}
                data-testid="attribution-sum"
                data-exact={check.exact ? 'yes' : 'no'}
              >
                <span className="muted desktop-only">Sum of the rows </span>
                {signedAmount(check.sum, quote)} {check.exact ? '= net' : `≠ net ${signedAmount(total.net, quote)}`}
              </td>
            </tr>
          </tfoot>
        </table>
      )}
    </div>
  );
}

/** Net P&L by UTC hour, 24 CSS bars (heights are the only floats; the hover shows the exact net). */
export function HourBars({ data }: { data: BotAnalytics }) {
  const bars = hourBars(data.attribution.by_hour);
  const max = Math.max(...bars.map((b) => Math.abs(Number(b.net))), Number.MIN_VALUE);
  return (
    <div className="hours" data-testid="hour-bars">
      {bars.map((b) => {
        const v = Number(b.net);
        const h = Number.isFinite(v) && v !== 0 ? Math.max(3, (Math.abs(v) / max) * 100) : 0;
        return (
          <div
            className="hour"
            key={b.hour}
            title={`${String(b.hour).padStart(2, '0')}:00 UTC: ${signedMoney(b.net, data.quote_asset)} (exact ${b.net}), ${b.fills} fill(s)`}
            data-testid="hour-bar"
            data-hour={b.hour}
            data-net={b.net}
          >
            <div className="half up">{v > 0 && <div className="bar-v pos-bg" style={{ height: `${h}%` }} />}</div>
            <div className="half down">{v < 0 && <div className="bar-v neg-bg" style={{ height: `${h}%` }} />}</div>
            <div className="muted tiny">{b.hour}</div>
          </div>
        );
      })}
    </div>
  );
}

/** The panel body for one answer (separate so unit tests render it without a client). */
export function AnalyticsView({ data }: { data: BotAnalytics }) {
  const q = data.quote_asset;
  const a = data.attribution;
  return (
    <div data-testid="analytics-view">
      <p className="muted small" data-testid="analytics-window">
        {data.points} period(s) of {data.period} · {msTime(data.from_ms)} → {msTime(data.to_ms)} · 365-day year, risk-free rate 0
      </p>
      <RatioCards data={data} />
      <p className="small">
        Net P&amp;L{' '}
        <strong className={pnlClass(a.total.net)} title={a.total.net} data-testid="analytics-net">
          {signedMoney(a.total.net, q)}
        </strong>{' '}
        = realized − fees + funding over {a.total.fills} fill(s). Each table below adds up <em>exactly</em> to it (checked on the exact
        decimals, shown in its Sum row).
      </p>
      <h3>Net by UTC hour</h3>
      <HourBars data={data} />
      <div className="attribution-grid">
        <AttributionTable
          title="By instrument"
          keyLabel="Instrument"
          rows={instrumentRows(a.by_instrument)}
          total={a.total}
          quote={q}
          testId="attr-instrument"
        />
        <AttributionTable
          title="By strategy version"
          keyLabel="Strategy"
          rows={strategyRows(a.by_strategy)}
          total={a.total}
          quote={q}
          testId="attr-strategy"
        />
        <AttributionTable title="By UTC hour" keyLabel="Hour" rows={hourRows(a.by_hour)} total={a.total} quote={q} testId="attr-hour" />
        {a.by_regime && (
          <AttributionTable
            title="By market regime at the fill"
            keyLabel="Regime"
            rows={instrumentRows(a.by_regime)}
            total={a.total}
            quote={q}
            testId="attr-regime"
          />
        )}
      </div>
    </div>
  );
}

/** A period selector above the polled analytics; a refused period shows the API's reason. */
export function AnalyticsPanel({ botId }: { botId: string }) {
  const { client } = useSession();
  const [period, setPeriod] = useState<string>('1d');
  const res = usePoll(() => client.analytics(botId, period), `analytics-${botId}-${period}`, ANALYTICS_POLL_MS);
  const shown = res.data && res.data.period === period ? res.data : undefined;
  return (
    <section className="panel wide" data-testid="analytics-panel">
      <div className="row between wrap">
        <h2>Analytics</h2>
        <div className="tabs" role="group" aria-label="Period">
          {PERIODS.map((p) => (
            <button key={p} className={p === period ? 'active' : ''} onClick={() => setPeriod(p)} data-testid={`period-${p}`}>
              {p}
            </button>
          ))}
        </div>
      </div>
      <Status loading={res.loading || (!shown && !res.error)} error={res.error} hasData={!!shown} />
      {shown && <AnalyticsView data={shown} />}
    </section>
  );
}
