/**
 * The Optimize view (`#/optimize`, admins): a registered strategy, a run (exchange, market,
 * `from`/`to`, candles source, capital) and search settings (sampler, trials, seed, objective,
 * constraints, walk-forward, and a min/max per parameter to search) posted to `POST
 * /api/v1/optimize`. While the Worker searches, a working state counts the seconds and the trials
 * asked for (the API answers once, at the end); then the best configurations with the deflated
 * Sharpe ratio and the PBO, and the walk-forward windows with the stitched out-of-sample result.
 * A 422 lands at the field it names; a 413 says which cap was hit.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import {
  defaultOptimize,
  moneyText,
  normalizeOptimize,
  optimizeBody,
  paramsText,
  ratioText,
  verdict,
  type OptimizeReport,
  type OptimizeSettings,
} from '../optimize';
import {
  backtestBody,
  changedKeys,
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

function pct(x: number | null): string {
  return x === null ? '—' : `${(x * 100).toFixed(2)} %`;
}

/** The results: verdict, best configurations, walk-forward. */
export function OptimizeResults({ rep, quote }: { rep: OptimizeReport; quote: string }) {
  return (
    <section className="panel wide" data-testid="optimize-report">
      <h2>
        {rep.strategy}: {rep.trials} trials ({rep.feasible} feasible{rep.gridPoints !== null ? ` of a ${rep.gridPoints}-point grid` : ''}),{' '}
        {rep.sampler} sampler, seed {rep.seed}
      </h2>
      <div className="figures">
        <div className="figure">
          <div className="muted small">Deflated Sharpe ratio</div>
          <div className="big" data-testid="optimize-dsr">
            {rep.dsr ? rep.dsr.dsr.toFixed(3) : '—'}
          </div>
          {rep.dsr && <div className="muted small">N = {rep.dsr.trials} trials</div>}
        </div>
        <div className="figure">
          <div className="muted small">Probability of backtest overfitting</div>
          <div className="big" data-testid="optimize-pbo">
            {rep.pbo ? pct(rep.pbo.pbo) : '—'}
          </div>
          {rep.pbo && (
            <div className="muted small">
              CSCV {rep.pbo.blocks} blocks, {rep.pbo.combinations} splits
            </div>
          )}
        </div>
      </div>
      <p data-testid="optimize-verdict">{verdict(rep)}</p>
      <h3>Best configurations</h3>
      {rep.best.length === 0 ? (
        <p className="muted">No feasible configuration: loosen the constraints or widen the ranges.</p>
      ) : (
        <div className="table-scroll">
          <table className="table stack" data-testid="optimize-best">
            <thead>
              <tr>
                <th className="num">#</th>
                <th>Parameters</th>
                <th className="num">Objective</th>
                <th className="num">Net P&amp;L</th>
                <th className="num">Sharpe</th>
                <th className="num">Max DD</th>
                <th className="num">Trades</th>
              </tr>
            </thead>
            <tbody>
              {rep.best.map((t) => (
                <tr key={t.rank} data-testid="optimize-trial">
                  <td data-label="#" className="num">
                    {t.rank}
                  </td>
                  <td data-label="Parameters" className="mono">
                    {paramsText(t.params)}
                  </td>
                  <td data-label="Objective" className="num">
                    {t.objective === null ? '—' : t.objective.toFixed(4)}
                  </td>
                  <td data-label="Net P&L" className={`num ${t.net.startsWith('-') ? 'neg' : 'pos'}`} title={t.net}>
                    {moneyText(t.net, quote)}
                  </td>
                  <td data-label="Sharpe" className="num">
                    {ratioText(t.sharpe)}
                  </td>
                  <td data-label="Max DD" className="num">
                    {pct(t.maxDrawdown)}
                  </td>
                  <td data-label="Trades" className="num">
                    {t.trades}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {rep.walk && (
        <>
          <h3>Walk-forward ({rep.walk.anchored ? 'anchored' : 'rolling'})</h3>
          <div className="table-scroll">
            <table className="table stack" data-testid="optimize-windows">
              <thead>
                <tr>
                  <th className="num">Window</th>
                  <th className="num">In-sample bars</th>
                  <th className="num">Out-of-sample bars</th>
                  <th>Chosen</th>
                  <th className="num">OOS net</th>
                  <th className="num">OOS Sharpe</th>
                </tr>
              </thead>
              <tbody>
                {rep.walk.windows.map((w) => (
                  <tr key={w.index} data-testid="optimize-window">
                    <td data-label="Window" className="num">
                      {w.index}
                    </td>
                    <td data-label="In-sample bars" className="num">
                      {w.inSampleBars}
                    </td>
                    <td data-label="Out-of-sample bars" className="num">
                      {w.outOfSampleBars}
                    </td>
                    <td data-label="Chosen" className="mono">
                      {paramsText(w.chosen)}
                    </td>
                    <td data-label="OOS net" className="num" title={w.oosNet ?? undefined}>
                      {moneyText(w.oosNet, quote)}
                    </td>
                    <td data-label="OOS Sharpe" className="num">
                      {ratioText(w.oosSharpe)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p data-testid="optimize-stitched">
            Stitched out of sample: net {moneyText(rep.walk.stitched.net, quote)} · Sharpe {ratioText(rep.walk.stitched.sharpe)} · max
            drawdown {pct(rep.walk.stitched.maxDrawdown)} · {rep.walk.stitched.trades} trades
          </p>
        </>
      )}
    </section>
  );
}

/** The quote asset of a symbol (for money formatting). */
function quoteOf(symbol: string): string {
  return (
    ['USDT', 'USDC', 'FDUSD', 'BUSD', 'BTC', 'ETH', 'EUR', 'TRY'].find((q) => symbol.endsWith(q) && symbol.length > q.length) ?? 'USDT'
  );
}

/** The page. */
export function OptimizePage() {
  const { client } = useSession();
  const catalogue = usePoll(() => client.strategies(), 'strategies', 0);
  const [choice, setChoice] = useState<StrategyChoice>(() => defaultChoice());
  const [settings, setSettings] = useState<BacktestSettings>(() => defaultSettings(Date.now()));
  const [opt, setOpt] = useState<OptimizeSettings>(() => defaultOptimize());
  const [errors, setErrors] = useState<StrategyErrors>({});
  const [busy, setBusy] = useState(false);
  const [elapsed, setElapsed] = useState(0);
  const [result, setResult] = useState<{ rep: OptimizeReport; quote: string } | null>(null);
  const defs = paramDefs(choice, catalogue.data);

  useEffect(() => {
    if (!busy) return;
    const started = Date.now();
    const t = setInterval(() => setElapsed(Math.round((Date.now() - started) / 1000)), 1000);
    return () => clearInterval(t);
  }, [busy]);

  const set = <K extends keyof BacktestSettings>(k: K, v: BacktestSettings[K]) => {
    setSettings((s) => ({ ...s, [k]: v }));
    setErrors((e) => withoutKeys(e, [k]));
  };
  const setO = <K extends keyof OptimizeSettings>(k: K, v: OptimizeSettings[K]) => {
    setOpt((s) => ({ ...s, [k]: v }));
    setErrors((e) => withoutKeys(e, [k]));
  };
  const setRange = (name: string, part: 'min' | 'max' | 'step', v: string) => {
    setOpt((s) => {
      const cur = s.ranges[name] ?? { min: '', max: '', step: '' };
      return { ...s, ranges: { ...s.ranges, [name]: { ...cur, [part]: v } } };
    });
    setErrors((e) => withoutKeys(e, [`range-${name}`]));
  };
  const editChoice = (c: StrategyChoice) => {
    setErrors((e) => withoutKeys(e, changedKeys(choice, c)));
    setChoice(c);
  };

  const run = async (e: FormEvent) => {
    e.preventDefault();
    const base = backtestBody(choice, defs, settings);
    const r = optimizeBody(base.body, defs, opt);
    const all = { ...base.errors, ...r.errors };
    if (Object.keys(all).length) return setErrors(all);
    setErrors({});
    setBusy(true);
    setElapsed(0);
    setResult(null);
    try {
      const raw = await client.optimize(r.body);
      setResult({ rep: normalizeOptimize(raw), quote: quoteOf(String(r.body.symbol ?? '')) });
    } catch (err) {
      const ae = err instanceof ApiError ? err : new ApiError(0, { code: 'client', message: String(err) });
      const msg = `${ae.field ? `${ae.field}: ` : ''}${ae.message}${ae.code ? ` [${ae.code}]` : ''}`;
      const f = ae.field ?? '';
      const key =
        ae.code === 'too_many_trials'
          ? 'trials'
          : ae.code === 'too_many_bars'
            ? 'from'
            : f.startsWith('space.')
              ? `range-${f.slice('space.'.length)}`
              : f.startsWith('optimize.')
                ? f.slice('optimize.'.length)
                : strategyErrorKey(ae.field, defs);
      setErrors(key ? { [key]: ae.message, '': msg } : { '': msg });
    } finally {
      setBusy(false);
    }
  };

  const trials = Number(opt.trials) * Math.max(Number(opt.windows) || 1, 1);
  return (
    <main data-testid="optimize-page">
      <h1>Optimize</h1>
      <p className="muted">
        Searches a strategy's parameters with the backtester (each trial is the backtest the Backtest page runs). Give a min and a max to
        search a parameter; the others stay at their value. Larger searches and the trial ledger: <code>keel optimize</code>.
      </p>
      <form onSubmit={(e) => void run(e)} aria-label="Optimize" data-testid="optimize-form" aria-busy={busy}>
        <section className="panel">
          <h2>Strategy</h2>
          {catalogue.error && <div className="error">Strategy catalogue unavailable: {catalogue.error.message}</div>}
          <StrategyFields choice={choice} onChange={editChoice} catalogue={catalogue.data} errors={errors} />
        </section>
        <section className="panel">
          <h2>Ranges to search</h2>
          <div className="form-grid">
            {defs.map((d) => (
              <Field
                key={d.name}
                idPrefix="opt"
                k={`range-${d.name}`}
                label={`${d.name} (${d.min} … ${d.max})`}
                errors={errors}
                help="min, max, optional step; empty: pinned"
              >
                <div className="row">
                  {(['min', 'max', 'step'] as const).map((part) => (
                    <input
                      key={part}
                      id={part === 'min' ? `opt-range-${d.name}` : undefined}
                      aria-label={`${d.name} ${part}`}
                      placeholder={part}
                      inputMode="decimal"
                      size={6}
                      value={opt.ranges[d.name]?.[part] ?? ''}
                      onChange={(e) => setRange(d.name, part, e.target.value)}
                      data-testid={`range-${d.name}-${part}`}
                    />
                  ))}
                </div>
              </Field>
            ))}
          </div>
        </section>
        <section className="panel">
          <h2>Search</h2>
          <div className="form-grid">
            <Field idPrefix="opt" k="sampler" label="Sampler" errors={errors}>
              <select
                id="opt-sampler"
                value={opt.sampler}
                onChange={(e) => setO('sampler', e.target.value as OptimizeSettings['sampler'])}
                data-testid="opt-sampler"
              >
                <option value="tpe">TPE (Bayesian)</option>
                <option value="random">random</option>
                <option value="grid">grid</option>
              </select>
            </Field>
            <Field idPrefix="opt" k="trials" label="Trials" errors={errors} help="at most 200 here (× windows)">
              <input
                id="opt-trials"
                inputMode="numeric"
                value={opt.trials}
                onChange={(e) => setO('trials', e.target.value)}
                data-testid="opt-trials"
              />
            </Field>
            <Field idPrefix="opt" k="seed" label="Seed" errors={errors} help="same seed, same trials">
              <input
                id="opt-seed"
                inputMode="numeric"
                value={opt.seed}
                onChange={(e) => setO('seed', e.target.value)}
                data-testid="opt-seed"
              />
            </Field>
            <Field idPrefix="opt" k="objective" label="Objective" errors={errors}>
              <select
                id="opt-objective"
                value={opt.objective}
                onChange={(e) => setO('objective', e.target.value as OptimizeSettings['objective'])}
                data-testid="opt-objective"
              >
                <option value="sharpe">Sharpe</option>
                <option value="sortino">Sortino</option>
                <option value="calmar">Calmar</option>
                <option value="net">net P&amp;L</option>
              </select>
            </Field>
            <Field idPrefix="opt" k="min_trades" label="Min trades" errors={errors} help="fewer: infeasible">
              <input
                id="opt-min_trades"
                inputMode="numeric"
                value={opt.min_trades}
                onChange={(e) => setO('min_trades', e.target.value)}
                data-testid="opt-min_trades"
              />
            </Field>
            <Field idPrefix="opt" k="max_drawdown" label="Max drawdown (%)" errors={errors}>
              <input
                id="opt-max_drawdown"
                inputMode="decimal"
                value={opt.max_drawdown}
                onChange={(e) => setO('max_drawdown', e.target.value)}
                data-testid="opt-max_drawdown"
              />
            </Field>
            <Field idPrefix="opt" k="windows" label="Walk-forward windows" errors={errors} help="empty: one search over the range">
              <input
                id="opt-windows"
                inputMode="numeric"
                value={opt.windows}
                onChange={(e) => setO('windows', e.target.value)}
                data-testid="opt-windows"
              />
            </Field>
            <Field idPrefix="opt" k="in_sample" label="First in-sample fraction" errors={errors}>
              <input
                id="opt-in_sample"
                inputMode="decimal"
                value={opt.in_sample}
                onChange={(e) => setO('in_sample', e.target.value)}
                data-testid="opt-in_sample"
              />
            </Field>
            <Field idPrefix="opt" k="anchored" label="Anchored windows" errors={errors}>
              <input
                id="opt-anchored"
                type="checkbox"
                checked={opt.anchored}
                onChange={(e) => setO('anchored', e.target.checked)}
                data-testid="opt-anchored"
              />
            </Field>
          </div>
        </section>
        <section className="panel">
          <h2>Run</h2>
          <div className="form-grid">
            <Field idPrefix="opt" k="exchange" label="Exchange" errors={errors}>
              <select
                id="opt-exchange"
                value={settings.exchange}
                onChange={(e) => set('exchange', e.target.value as BacktestSettings['exchange'])}
                data-testid="opt-exchange"
              >
                <option>binance</option>
                <option>bybit</option>
              </select>
            </Field>
            <Field idPrefix="opt" k="market" label="Market" errors={errors}>
              <select
                id="opt-market"
                value={settings.market}
                onChange={(e) => set('market', e.target.value as BacktestSettings['market'])}
                data-testid="opt-market"
              >
                <option>spot</option>
                <option>linear</option>
              </select>
            </Field>
            <Field idPrefix="opt" k="from" label="From (UTC)" errors={errors}>
              <input id="opt-from" value={settings.from} onChange={(e) => set('from', e.target.value)} data-testid="opt-from" />
            </Field>
            <Field idPrefix="opt" k="to" label="To (UTC, exclusive)" errors={errors}>
              <input id="opt-to" value={settings.to} onChange={(e) => set('to', e.target.value)} data-testid="opt-to" />
            </Field>
            <Field idPrefix="opt" k="source" label="Candles" errors={errors} help="fetched now, or the stored R2 history">
              <select
                id="opt-source"
                value={settings.source}
                onChange={(e) => set('source', e.target.value as BacktestSettings['source'])}
                data-testid="opt-source"
              >
                <option value="exchange">exchange / simulator</option>
                <option value="stored">stored history</option>
              </select>
            </Field>
            <Field idPrefix="opt" k="initial_capital" label="Initial capital (quote)" errors={errors}>
              <input
                id="opt-initial_capital"
                inputMode="decimal"
                value={settings.initial_capital}
                onChange={(e) => set('initial_capital', e.target.value)}
                data-testid="opt-initial_capital"
              />
            </Field>
          </div>
        </section>
        {errors[''] && (
          <div className="error" role="alert" data-testid="optimize-error">
            {errors['']}
          </div>
        )}
        <div className="row wrap">
          <button type="submit" className="primary" disabled={busy} data-testid="run-optimize">
            {busy ? 'Searching…' : 'Run search'}
          </button>
          {busy && (
            <span className="muted" role="status" data-testid="optimize-running">
              <span className="spinner" aria-hidden="true" /> Running {Number.isFinite(trials) ? trials : '?'} trials in the Worker…{' '}
              {elapsed} s
            </span>
          )}
        </div>
      </form>
      {result && <OptimizeResults rep={result.rep} quote={result.quote} />}
    </main>
  );
}
