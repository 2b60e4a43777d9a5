/**
 * Create a bot from the form or from pasted JSON: a webhook bot fed by TradingView alerts, or a
 * strategy bot (a built-in template or a declarative spec, its params, timeframe and symbol; the
 * strategy inputs are `StrategyFields`). The API's validation error (`{code, message, field}`) is
 * shown at the field it names; on success the webhook secret is shown once with the URL and a
 * ready TradingView message. A strategy bot can be tried first (`StrategyTryout`: a backtest on
 * stored history with its equity curve and trades) and started as a paper bot in one click.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, type BotConfig, type CreateBotResponse } from '../api';
import { DEFAULT_CONFIG, FIELDS, configToValues, valuesToConfig, type FieldErrors, type FormValues } from '../botForm';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { href } from '../route';
import {
  changedKeys,
  choiceFromConfig,
  defaultChoice,
  paramDefs,
  strategyBotFields,
  strategyErrorKey,
  withoutKeys,
  type StrategyChoice,
} from '../strategyForm';
import { BotForm } from './BotForm';
import { StrategyFields } from './StrategyFields';
import { StrategyTryout } from './StrategyTryout';
import { CredentialsForm } from './CredentialsForm';
import { WebhookInfo } from './WebhookInfo';

type Tab = 'form' | 'json';
type Source = 'tradingview' | 'strategy';

/** Fields the strategy inputs own when the bot is strategy-driven. */
const STRATEGY_OWNED = ['strategy', 'instruments'];

/** Success view: the secret (once), webhook info, and credentials for non-paper bots. */
function Created({ res, mode }: { res: CreateBotResponse; mode: BotConfig['mode'] }) {
  return (
    <main data-testid="bot-created">
      <h1>Bot {res.id} created</h1>
      <p className="banner warn">Copy the webhook secret now: it is not shown again.</p>
      <WebhookInfo botId={res.id} secret={res.webhook_secret} />
      {mode !== 'paper' && (
        <section className="panel">
          <h2>Exchange credentials</h2>
          <CredentialsForm botId={res.id} />
        </section>
      )}
      <p>
        <a className="button primary" href={href({ page: 'bot', id: res.id })} data-testid="go-to-bot">
          Open bot page
        </a>
      </p>
    </main>
  );
}

/** The editor page. */
export function BotEditor() {
  const { client } = useSession();
  const [tab, setTab] = useState<Tab>('form');
  const [values, setValues] = useState<FormValues>(() => configToValues(DEFAULT_CONFIG));
  const [json, setJson] = useState(() => JSON.stringify(DEFAULT_CONFIG, null, 2));
  const [errors, setErrors] = useState<FieldErrors>({});
  /** Bumped when a submit (or tab switch) reports errors: only then is the first one brought into view. */
  const [reported, setReported] = useState(0);
  const showErrors = (e: FieldErrors) => {
    setErrors(e);
    setReported((n) => n + 1);
  };
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ res: CreateBotResponse; mode: BotConfig['mode'] } | null>(null);
  const [source, setSource] = useState<Source>('tradingview');
  const [choice, setChoice] = useState<StrategyChoice>(() => defaultChoice());
  const catalogue = usePoll(() => client.strategies(), 'strategies', 0);
  const defs = paramDefs(choice, catalogue.data);
  /** A strategy edit; the errors of the inputs it changed are stale and go. */
  const editChoice = (c: StrategyChoice) => {
    setErrors((e) => withoutKeys(e, changedKeys(choice, c)));
    setChoice(c);
  };

  /** The form's config: the webhook fields, plus the strategy's for a strategy bot. */
  const formConfig = (): { config: BotConfig; errors: FieldErrors } => {
    const r = valuesToConfig(values);
    if (source !== 'strategy') return r;
    const s = strategyBotFields(choice, defs);
    const config: Record<string, unknown> = { ...r.config, ...s.fields };
    if (!('strategy' in s.fields)) delete config.strategy;
    const errors = { ...r.errors, ...s.errors };
    delete errors.instruments;
    return { config: config as unknown as BotConfig, errors };
  };

  // Bring the first field in error (or the form-level error) into view: on a phone it is off-screen.
  useEffect(() => {
    const first = document.querySelector<HTMLElement>(
      '.field.has-error input, .field.has-error select, .field.has-error textarea, [data-testid="form-error"]',
    );
    first?.scrollIntoView?.({ block: 'center' });
    if (first instanceof HTMLInputElement || first instanceof HTMLSelectElement || first instanceof HTMLTextAreaElement) first.focus();
  }, [reported]);

  const switchTab = (t: Tab) => {
    if (t === tab) return;
    if (t === 'json') setJson(JSON.stringify(formConfig().config, null, 2));
    else {
      try {
        const cfg = JSON.parse(json) as Record<string, unknown>;
        setValues(configToValues(cfg));
        const strategyBot = cfg.source === 'strategy';
        setSource(strategyBot ? 'strategy' : 'tradingview');
        if (strategyBot) setChoice(choiceFromConfig(cfg, choice));
      } catch {
        showErrors({ '': 'The JSON does not parse; fix it before switching to the form.' });
        return;
      }
    }
    showErrors({});
    setTab(t);
  };

  /** Creates the bot; `override` is merged over the form's config ("Start paper bot": paper mode). */
  const create = async (override?: Partial<BotConfig>) => {
    let config: BotConfig;
    if (tab === 'form') {
      const r = formConfig();
      if (Object.keys(r.errors).length) return showErrors(r.errors);
      config = { ...r.config, ...override };
    } else {
      try {
        config = JSON.parse(json) as BotConfig;
      } catch (err) {
        return showErrors({ '': `Invalid JSON: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    setBusy(true);
    showErrors({});
    try {
      const res = await client.createBot(config);
      setCreated({ res, mode: config.mode });
    } catch (err) {
      const ae = err instanceof ApiError ? err : new ApiError(0, { code: 'client', message: String(err) });
      const msg = `${ae.message}${ae.code ? ` [${ae.code}]` : ''}`;
      // A strategy bot's spec, params, timeframe and symbol errors land on the strategy inputs.
      const strategyKey = tab === 'form' && source === 'strategy' ? strategyErrorKey(ae.field, defs) : null;
      const known =
        tab === 'form' &&
        ae.field &&
        FIELDS.some((f) => f.path === ae.field) &&
        !(source === 'strategy' && STRATEGY_OWNED.includes(ae.field));
      // Name the exact path unless the API's message already does (a spec issue's message carries it).
      const fieldMsg = strategyKey && ae.field && ae.field !== strategyKey && !ae.message.includes(ae.field) ? `${ae.field}: ${msg}` : msg;
      if (strategyKey) showErrors({ [strategyKey]: fieldMsg });
      else showErrors(known && ae.field ? { [ae.field]: msg } : { '': ae.field ? `${ae.field}: ${msg}` : msg });
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void create();
  };

  if (created) return <Created res={created.res} mode={created.mode} />;

  return (
    <main data-testid="bot-editor">
      <h1>New bot</h1>
      <div className="tabs" role="tablist">
        <button role="tab" aria-selected={tab === 'form'} className={tab === 'form' ? 'active' : ''} onClick={() => switchTab('form')}>
          Form
        </button>
        <button
          role="tab"
          aria-selected={tab === 'json'}
          className={tab === 'json' ? 'active' : ''}
          onClick={() => switchTab('json')}
          data-testid="tab-json"
        >
          Paste JSON
        </button>
      </div>
      <form onSubmit={submit} aria-label="Bot config">
        {tab === 'form' ? (
          <>
            <div className="field">
              <label htmlFor="f-source">Signal source</label>
              <select id="f-source" value={source} onChange={(e) => setSource(e.target.value as Source)} data-testid="field-source">
                <option value="tradingview">TradingView webhook alerts</option>
                <option value="strategy">Strategy (built-in template or spec)</option>
              </select>
            </div>
            {source === 'strategy' && (
              <section className="panel" data-testid="strategy-section">
                <h2>Strategy</h2>
                {catalogue.error && <div className="error">Strategy catalogue unavailable: {catalogue.error.message}</div>}
                <StrategyFields choice={choice} onChange={editChoice} catalogue={catalogue.data} errors={errors} />
                <StrategyTryout
                  choice={choice}
                  defs={defs}
                  exchange={values.exchange ?? 'binance'}
                  market={values.market ?? 'spot'}
                  bot={{ sizing: formConfig().config.sizing, risk: formConfig().config.risk }}
                  onStrategyErrors={(e) => showErrors({ ...errors, ...e })}
                  onStartPaper={() => void create({ mode: 'paper' })}
                  starting={busy}
                />
              </section>
            )}
            <BotForm
              values={values}
              errors={errors}
              onChange={(p, v) => {
                setValues((old) => ({ ...old, [p]: v }));
                setErrors((e) => withoutKeys(e, [p]));
              }}
              hidden={source === 'strategy' ? STRATEGY_OWNED : []}
            />
          </>
        ) : (
          <textarea
            className="json"
            rows={24}
            value={json}
            onChange={(e) => setJson(e.target.value)}
            spellCheck={false}
            data-testid="config-json"
            aria-label="Bot config JSON"
          />
        )}
        {errors[''] && (
          <div className="error" role="alert" data-testid="form-error">
            {errors['']}
          </div>
        )}
        <button type="submit" className="primary" disabled={busy} data-testid="create-bot">
          {busy ? 'Creating…' : 'Create bot'}
        </button>
      </form>
    </main>
  );
}
