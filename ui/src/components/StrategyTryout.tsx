/**
 * The New bot form's try-out of a strategy bot before it is saved: a backtest of the strategy as
 * typed (template or spec, params, symbol, timeframe, with the form's exchange, market, sizing and
 * risk limits, so it trades as the bot would) on the
 * stored R2 history (or candles fetched now), showing the Backtest view's report (key metrics,
 * equity curve, round trips); and "Start paper bot", which creates the bot from the form in paper
 * mode in one click. Why: an operator should see what a spec does on history before any bot runs
 * it, and go from the spec to a running paper bot without retyping anything.
 */
import { useState } from 'react';
import { ApiError } from '../api';
import { normalizeReport, type BacktestReport } from '../backtest';
import { useSession } from '../context';
import {
  backtestBody,
  defaultSettings,
  strategyErrorKey,
  withoutKeys,
  type BacktestSettings,
  type ParamDef,
  type StrategyChoice,
  type StrategyErrors,
} from '../strategyForm';
import { ReportView } from './BacktestPage';
import { Field } from './StrategyFields';

export function StrategyTryout({
  choice,
  defs,
  exchange,
  market,
  bot,
  onStrategyErrors,
  onStartPaper,
  starting,
}: {
  choice: StrategyChoice;
  defs: ParamDef[];
  /** The form's exchange and market (the backtest uses their fees and history). */
  exchange: string;
  market: string;
  /** The form's `sizing` and `risk` (sent as the backtest's `bot`). */
  bot: Record<string, unknown>;
  /** Problems of the strategy inputs (a spec path, a param) shown at those inputs. */
  onStrategyErrors: (e: StrategyErrors) => void;
  onStartPaper: () => void;
  starting: boolean;
}) {
  const { client } = useSession();
  const [settings, setSettings] = useState<BacktestSettings>(() => ({ ...defaultSettings(Date.now()), source: 'stored' }));
  const [errors, setErrors] = useState<StrategyErrors>({});
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<BacktestReport | null>(null);
  const set = <K extends keyof BacktestSettings>(k: K, v: BacktestSettings[K]) => {
    setSettings((s) => ({ ...s, [k]: v }));
    setErrors((e) => withoutKeys(e, [k]));
  };
  const run = async () => {
    const r = backtestBody(choice, defs, {
      ...settings,
      exchange: exchange === 'bybit' ? 'bybit' : 'binance',
      market: market === 'linear' ? 'linear' : 'spot',
    });
    const local: StrategyErrors = {};
    const mine: StrategyErrors = {};
    for (const [k, v] of Object.entries(r.errors)) (['from', 'to', 'source'].includes(k) ? mine : local)[k] = v;
    if (Object.keys(local).length) onStrategyErrors(local);
    if (Object.keys(r.errors).length) return setErrors({ ...mine, '': 'Fix the fields marked above first.' });
    setErrors({});
    setBusy(true);
    setReport(null);
    try {
      setReport(normalizeReport(await client.backtest({ ...r.body, bot })));
    } catch (err) {
      const ae = err instanceof ApiError ? err : new ApiError(0, { code: 'client', message: String(err) });
      const msg = `${ae.field ? `${ae.field}: ` : ''}${ae.message}${ae.code ? ` [${ae.code}]` : ''}`;
      const key = ae.code === 'too_many_bars' ? 'from' : strategyErrorKey(ae.field, defs);
      if (key && !['from', 'to', 'source'].includes(key)) onStrategyErrors({ [key]: ae.message });
      setErrors(key && ['from', 'to', 'source'].includes(key) ? { [key]: ae.message, '': msg } : { '': msg });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="tryout" data-testid="strategy-tryout">
      <h3>Try it before saving</h3>
      <div className="form-grid">
        <Field idPrefix="try" k="from" label="From (UTC)" errors={errors} help="2026-01-31 or 2026-01-31T12:00Z">
          <input id="try-from" value={settings.from} onChange={(e) => set('from', e.target.value)} data-testid="try-from" />
        </Field>
        <Field idPrefix="try" k="to" label="To (UTC, exclusive)" errors={errors}>
          <input id="try-to" value={settings.to} onChange={(e) => set('to', e.target.value)} data-testid="try-to" />
        </Field>
        <Field idPrefix="try" k="source" label="Candles" errors={errors} help="the stored R2 history (import it first), or fetched now">
          <select
            id="try-source"
            value={settings.source}
            onChange={(e) => set('source', e.target.value as BacktestSettings['source'])}
            data-testid="try-source"
          >
            <option value="stored">stored history</option>
            <option value="exchange">exchange / simulator</option>
          </select>
        </Field>
      </div>
      {errors[''] && (
        <div className="error" role="alert" data-testid="tryout-error">
          {errors['']}
        </div>
      )}
      <div className="row wrap">
        <button type="button" disabled={busy} onClick={() => void run()} data-testid="tryout-backtest">
          {busy ? 'Running…' : 'Backtest'}
        </button>
        <button type="button" className="primary" disabled={starting} onClick={onStartPaper} data-testid="start-paper-bot">
          {starting ? 'Starting…' : 'Start paper bot'}
        </button>
        {busy && (
          <span className="muted" role="status" data-testid="tryout-running">
            <span className="spinner" aria-hidden="true" /> Running the strategy bar by bar…
          </span>
        )}
      </div>
      {report && <ReportView rep={report} htmlState={null} />}
    </div>
  );
}
