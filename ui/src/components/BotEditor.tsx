/**
 * Create a bot from the form or from pasted JSON. The API's validation error (`{code, message,
 * field}`) is shown at the field it names; on success the webhook secret is shown once with the
 * URL and a ready TradingView message.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, type BotConfig, type CreateBotResponse } from '../api';
import { DEFAULT_CONFIG, FIELDS, configToValues, valuesToConfig, type FieldErrors, type FormValues } from '../botForm';
import { useSession } from '../context';
import { href } from '../route';
import { BotForm } from './BotForm';
import { CredentialsForm } from './CredentialsForm';
import { WebhookInfo } from './WebhookInfo';

type Tab = 'form' | 'json';

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
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ res: CreateBotResponse; mode: BotConfig['mode'] } | null>(null);

  // Bring the first field in error (or the form-level error) into view: on a phone it is off-screen.
  useEffect(() => {
    const first = document.querySelector<HTMLElement>('.field.has-error input, .field.has-error select, [data-testid="form-error"]');
    first?.scrollIntoView?.({ block: 'center' });
    if (first instanceof HTMLInputElement || first instanceof HTMLSelectElement) first.focus();
  }, [errors]);

  const switchTab = (t: Tab) => {
    if (t === tab) return;
    if (t === 'json') setJson(JSON.stringify(valuesToConfig(values).config, null, 2));
    else {
      try {
        setValues(configToValues(JSON.parse(json)));
      } catch {
        setErrors({ '': 'The JSON does not parse; fix it before switching to the form.' });
        return;
      }
    }
    setErrors({});
    setTab(t);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let config: BotConfig;
    if (tab === 'form') {
      const r = valuesToConfig(values);
      if (Object.keys(r.errors).length) return setErrors(r.errors);
      config = r.config;
    } else {
      try {
        config = JSON.parse(json) as BotConfig;
      } catch (err) {
        return setErrors({ '': `Invalid JSON: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    setBusy(true);
    setErrors({});
    try {
      const res = await client.createBot(config);
      setCreated({ res, mode: config.mode });
    } catch (err) {
      const ae = err instanceof ApiError ? err : new ApiError(0, { code: 'client', message: String(err) });
      const known = tab === 'form' && ae.field && FIELDS.some((f) => f.path === ae.field);
      const msg = `${ae.message}${ae.code ? ` [${ae.code}]` : ''}`;
      setErrors(known && ae.field ? { [ae.field]: msg } : { '': ae.field ? `${ae.field}: ${msg}` : msg });
    } finally {
      setBusy(false);
    }
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
      <form onSubmit={(e) => void submit(e)} aria-label="Bot config">
        {tab === 'form' ? (
          <BotForm values={values} errors={errors} onChange={(p, v) => setValues((old) => ({ ...old, [p]: v }))} />
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
