/**
 * The Backtest view (`#/backtest`, admins): a strategy (template or spec, params, symbol,
 * timeframe) and a run (exchange, market, `from`/`to` fetched from the exchange or simulator, or
 * read from the stored R2 history, capital, fees, slippage, fill timing) posted to `POST
 * /api/v1/backtest`; a working state while the Worker fetches candles and runs; then the report:
 * key metrics, the equity curve with its drawdown, the round trips, and the self-contained HTML
 * report opened in a new tab from a blob URL (the request needs the bearer token, so a plain link
 * cannot fetch it). `#/backtest/<bot>` prefills it from that strategy bot's config. A 422 lands at
 * the field it names, a 413 `too_many_bars` says how many candles were asked for and the cap.
 */
import { lazy, Suspense, useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { curvePoints, keyMetrics, normalizeReport, tripCells, type BacktestReport } from '../backtest';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { href } from '../route';
import {
  backtestBody,
  changedKeys,
  choiceFromConfig,
  defaultChoice,
  defaultSettings,
  paramDefs,
  strategyErrorKey,
  withoutKeys,
  type BacktestSettings,
  type StrategyChoice,
  type StrategyErrors,
} from '../strategyForm';
import { Field, StrategyFields } from './StrategyFields';

const PnlChart = lazy(() => import('./PnlChart').then((m) => ({ default: m.PnlChart })));

function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** The report: what ran, key metrics, equity curve, round trips, and the HTML report. */
export function ReportView({
  rep,
  onOpenHtml,
  htmlState,
}: {
  rep: BacktestReport;
  /** Opens the HTML report (absent: no button, as in the New bot form's try-out). */
  onOpenHtml?: () => void;
  htmlState: string | null;
}) {
  const p = rep.precision;
  const points = curvePoints(rep);
  return (
    <section className="panel wide" data-testid="backtest-report">
      <div className="row between wrap">
        <h2>
          Report: {rep.run.strategy_name} on {rep.run.symbol} {rep.run.timeframe}
        </h2>
        {onOpenHtml && (
          <button onClick={onOpenHtml} data-testid="open-html-report">
            Open HTML report
          </button>
        )}
      </div>
      {htmlState && (
        <div className="muted small" role="status" data-testid="html-report-state">
          {htmlState}
        </div>
      )}
      <p className="muted small">
        <span className="mono">{rep.strategy_version}</span> · {rep.run.exchange} {rep.run.market} · {utc(rep.run.from_ms)} →{' '}
        {utc(rep.run.to_ms)} UTC · {rep.bars.toLocaleString('en-US')} bars · {rep.metrics.executions} executions ·{' '}
        {rep.fill_model.description}
      </p>
      <div className="figures" data-testid="backtest-metrics">
        {keyMetrics(rep).map((m) => (
          <div className="figure" key={m.id}>
            <div className="muted small">{m.label}</div>
            <div className="big" data-testid={`metric-${m.id}`} title={m.exact}>
              {m.text}
            </div>
          </div>
        ))}
      </div>
      <h3>Equity</h3>
      <Suspense fallback={<div className="muted">Loading chart…</div>}>
        <PnlChart points={points} />
      </Suspense>
      <h3>
        Round trips: {rep.metrics.round_trips} closed
        {rep.trades.length > rep.metrics.round_trips ? `, ${rep.trades.length - rep.metrics.round_trips} open at the end` : ''}
      </h3>
      {rep.trades.length === 0 ? (
        <p className="muted">No trades in this range.</p>
      ) : (
        <div className="table-scroll">
          <table className="table stack" data-testid="backtest-trades">
            <thead>
              <tr>
                <th>Side</th>
                <th>Entry</th>
                <th>Exit</th>
                <th className="num">Qty</th>
                <th className="num">Entry price</th>
                <th className="num">Exit price</th>
                <th className="num">P&amp;L</th>
                <th className="num">Fees</th>
              </tr>
            </thead>
            <tbody>
              {rep.trades.map((t, i) => {
                const c = tripCells(t, p);
                const cls = t.exit_ms === null ? '' : t.pnl.startsWith('-') ? 'neg' : 'pos';
                return (
                  <tr key={`${t.entry_ms}-${i}`} data-testid="backtest-trip">
                    <td data-label="Side">{c.side}</td>
                    <td data-label="Entry">{c.entry}</td>
                    <td data-label="Exit">{c.exit}</td>
                    <td data-label="Qty" className="num" data-step={p.step_size || undefined} title={t.qty}>
                      {c.qty}
                    </td>
                    <td data-label="Entry price" className="num" data-tick={p.tick_size || undefined} title={t.entry_price}>
                      {c.entryPrice}
                    </td>
                    <td
                      data-label="Exit price"
                      className="num"
                      data-tick={t.exit_ms === null ? undefined : p.tick_size || undefined}
                      title={t.exit_price}
                    >
                      {c.exitPrice}
                    </td>
                    <td data-label="P&L" className={`num ${cls}`} title={t.pnl}>
                      {c.pnl}
                    </td>
                    <td data-label="Fees" className="num" title={t.fees}>
                      {c.fees}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {rep.rejected.length > 0 && (
        <details>
          <summary className="small">Signals the live path would have refused: {rep.rejected.length}</summary>
          <ul className="plain small">
            {rep.rejected.slice(0, 50).map((r, i) => (
              <li key={`${r.time_ms}-${i}`}>
                {utc(r.time_ms)} · {r.status} {r.code.replace(/_/g, ' ')}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

/** The page. */
export function BacktestPage({ bot }: { bot?: string }) {
  const { client } = useSession();
  const catalogue = usePoll(() => client.strategies(), 'strategies', 0);
  const [choice, setChoice] = useState<StrategyChoice>(() => defaultChoice());
  const [settings, setSettings] = useState<BacktestSettings>(() => defaultSettings(Date.now()));
  const [errors, setErrors] = useState<StrategyErrors>({});
  /** Bumped when a submit (or tab switch) reports errors: only then is the first one brought into view. */
  const [reported, setReported] = useState(0);
  const showErrors = (e: StrategyErrors) => {
    setErrors(e);
    setReported((n) => n + 1);
  };
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<{ rep: BacktestReport; body: Record<string, unknown> } | null>(null);
  const [htmlState, setHtmlState] = useState<string | null>(null);
  const [prefill, setPrefill] = useState<string | null>(null);
  /** The last HTML report's blob URL, released when the next one is made or the page closes. */
  const blobUrl = useRef<string | null>(null);
  useEffect(
    () => () => {
      if (blobUrl.current) URL.revokeObjectURL(blobUrl.current);
    },
    [],
  );
  const defs = paramDefs(choice, catalogue.data);

  // "Backtest this strategy": the bot's strategy, params, symbol, timeframe, exchange and market.
  useEffect(() => {
    if (!bot) return;
    let alive = true;
    client.getBot(bot).then(
      (d) => {
        if (!alive) return;
        const cfg = d.config as unknown as Record<string, unknown>;
        if (cfg.source !== 'strategy') return setPrefill(`${bot} is not a strategy bot: choose a strategy below.`);
        setChoice((c) => choiceFromConfig(cfg, c));
        setSettings((s) => ({ ...s, exchange: d.config.exchange, market: d.config.market }));
        setPrefill(`Prefilled from bot ${bot} (config v${d.config_version}).`);
      },
      (e: unknown) => alive && setPrefill(`Could not read bot ${bot}: ${e instanceof Error ? e.message : String(e)}`),
    );
    return () => {
      alive = false;
    };
  }, [bot, client]);

  useEffect(() => {
    const first = document.querySelector<HTMLElement>(
      '[data-testid="backtest-form"] .field.has-error input, [data-testid="backtest-form"] .field.has-error select, [data-testid="backtest-form"] .field.has-error textarea, [data-testid="backtest-error"]',
    );
    first?.scrollIntoView?.({ block: 'center' });
  }, [reported]);

  // An edited input's error is stale: it goes as the operator types.
  const set = <K extends keyof BacktestSettings>(k: K, v: BacktestSettings[K]) => {
    setSettings((s) => ({ ...s, [k]: v }));
    setErrors((e) => withoutKeys(e, [k]));
  };
  const editChoice = (c: StrategyChoice) => {
    setErrors((e) => withoutKeys(e, changedKeys(choice, c)));
    setChoice(c);
  };

  const run = async (e: FormEvent) => {
    e.preventDefault();
    const r = backtestBody(choice, defs, settings);
    if (Object.keys(r.errors).length) return showErrors(r.errors);
    showErrors({});
    setBusy(true);
    setReport(null);
    setHtmlState(null);
    try {
      const raw = await client.backtest(r.body);
      setReport({ rep: normalizeReport(raw), body: r.body });
    } catch (err) {
      const ae = err instanceof ApiError ? err : new ApiError(0, { code: 'client', message: String(err) });
      const msg =
        ae.code === 'too_many_bars'
          ? `Too many bars: ${ae.message}. Shorten the range or choose a longer timeframe.`
          : `${ae.field ? `${ae.field}: ` : ''}${ae.message}${ae.code ? ` [${ae.code}]` : ''}`;
      const key = ae.code === 'too_many_bars' ? 'from' : strategyErrorKey(ae.field, defs);
      showErrors(key ? { [key]: ae.message, '': msg } : { '': msg });
    } finally {
      setBusy(false);
    }
  };

  const openHtml = async () => {
    if (!report) return;
    // Open the tab now (inside the click), fill it when the report arrives: no popup blocker.
    const w = window.open('', '_blank');
    setHtmlState('Rendering the HTML report…');
    try {
      const html = await client.backtestHtml(report.body);
      const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
      if (blobUrl.current) URL.revokeObjectURL(blobUrl.current);
      blobUrl.current = url;
      if (w) w.location.href = url;
      else window.location.assign(url);
      setHtmlState('HTML report opened in a new tab.');
    } catch (err) {
      w?.close();
      setHtmlState(`HTML report failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  return (
    <main data-testid="backtest-page">
      <h1>Backtest</h1>
      {prefill && (
        <p className="muted" data-testid="backtest-prefill">
          {prefill} {bot && <a href={href({ page: 'bot', id: bot })}>Back to the bot</a>}
        </p>
      )}
      <form onSubmit={(e) => void run(e)} aria-label="Backtest" data-testid="backtest-form" aria-busy={busy}>
        <section className="panel">
          <h2>Strategy</h2>
          {catalogue.error && <div className="error">Strategy catalogue unavailable: {catalogue.error.message}</div>}
          <StrategyFields choice={choice} onChange={editChoice} catalogue={catalogue.data} errors={errors} />
        </section>
        <section className="panel">
          <h2>Run</h2>
          <div className="form-grid">
            <Field idPrefix="bt" k="exchange" label="Exchange" errors={errors} help="its fees and instrument rules apply">
              <select
                id="bt-exchange"
                value={settings.exchange}
                onChange={(e) => set('exchange', e.target.value as BacktestSettings['exchange'])}
                data-testid="bt-exchange"
              >
                <option>binance</option>
                <option>bybit</option>
              </select>
            </Field>
            <Field idPrefix="bt" k="market" label="Market" errors={errors}>
              <select
                id="bt-market"
                value={settings.market}
                onChange={(e) => set('market', e.target.value as BacktestSettings['market'])}
                data-testid="bt-market"
              >
                <option>spot</option>
                <option>linear</option>
              </select>
            </Field>
            <Field idPrefix="bt" k="from" label="From (UTC)" errors={errors} help="2026-01-31 or 2026-01-31T12:00Z">
              <input id="bt-from" value={settings.from} onChange={(e) => set('from', e.target.value)} data-testid="bt-from" />
            </Field>
            <Field idPrefix="bt" k="to" label="To (UTC, exclusive)" errors={errors}>
              <input id="bt-to" value={settings.to} onChange={(e) => set('to', e.target.value)} data-testid="bt-to" />
            </Field>
            <Field idPrefix="bt" k="source" label="Candles" errors={errors} help="fetched now, or the R2 history imported first; at most 50,000 bars">
              <select
                id="bt-source"
                value={settings.source}
                onChange={(e) => set('source', e.target.value as BacktestSettings['source'])}
                data-testid="bt-source"
              >
                <option value="exchange">exchange / simulator</option>
                <option value="stored">stored history</option>
              </select>
            </Field>
            <Field idPrefix="bt" k="initial_capital" label="Initial capital (quote)" errors={errors}>
              <input
                id="bt-initial_capital"
                inputMode="decimal"
                value={settings.initial_capital}
                onChange={(e) => set('initial_capital', e.target.value)}
                data-testid="bt-initial_capital"
              />
            </Field>
            <Field idPrefix="bt" k="taker_fee_rate" label="Taker fee rate" errors={errors} help="empty: the venue's base tier">
              <input
                id="bt-taker_fee_rate"
                inputMode="decimal"
                value={settings.taker_fee_rate}
                onChange={(e) => set('taker_fee_rate', e.target.value)}
                data-testid="bt-taker_fee_rate"
              />
            </Field>
            <Field idPrefix="bt" k="maker_fee_rate" label="Maker fee rate" errors={errors} help="empty: the venue's base tier">
              <input
                id="bt-maker_fee_rate"
                inputMode="decimal"
                value={settings.maker_fee_rate}
                onChange={(e) => set('maker_fee_rate', e.target.value)}
                data-testid="bt-maker_fee_rate"
              />
            </Field>
            <Field idPrefix="bt" k="slippage_bps" label="Slippage (bps)" errors={errors}>
              <input
                id="bt-slippage_bps"
                inputMode="decimal"
                value={settings.slippage_bps}
                onChange={(e) => set('slippage_bps', e.target.value)}
                data-testid="bt-slippage_bps"
              />
            </Field>
            <Field idPrefix="bt" k="fill" label="Fills at" errors={errors}>
              <select
                id="bt-fill"
                value={settings.fill}
                onChange={(e) => set('fill', e.target.value as BacktestSettings['fill'])}
                data-testid="bt-fill"
              >
                <option value="next_open">the next bar's open</option>
                <option value="close">the signal bar's close</option>
              </select>
            </Field>
          </div>
        </section>
        {errors[''] && (
          <div className="error" role="alert" data-testid="backtest-error">
            {errors['']}
          </div>
        )}
        <div className="row wrap">
          <button type="submit" className="primary" disabled={busy} data-testid="run-backtest">
            {busy ? 'Running…' : 'Run backtest'}
          </button>
          {busy && (
            <span className="muted" role="status" data-testid="backtest-running">
              <span className="spinner" aria-hidden="true" /> Fetching candles and running the strategy bar by bar…
            </span>
          )}
        </div>
      </form>
      {report && <ReportView rep={report.rep} onOpenHtml={() => void openHtml()} htmlState={htmlState} />}
    </main>
  );
}
