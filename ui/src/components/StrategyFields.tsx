/**
 * The strategy inputs shared by the New bot form and the Backtest view: a built-in template (from
 * `GET /strategies`) or a declarative spec document (started from a template's spec, checked by
 * `POST /strategies/validate` with every issue at its path), its params as typed inputs with the
 * defaults and ranges of the catalogue or the spec, the timeframe and the symbol. Each input shows
 * its own error line (form keys of `strategyForm.ts`, where API errors are mapped too).
 */
import { useEffect, useState, type ReactNode } from 'react';
import { ApiError, type SpecValidation, type StrategyCatalogue } from '../api';
import { useSession } from '../context';
import {
  STRATEGY_TIMEFRAMES,
  initialParams,
  paramDefs,
  parseParams,
  specParams,
  type StrategyChoice,
  type StrategyErrors,
} from '../strategyForm';

/** A labelled input with its help line and its error (also the Backtest view's fields). */
export function Field({
  k,
  label,
  errors,
  children,
  help,
  idPrefix = 's',
}: {
  k: string;
  label: string;
  errors: StrategyErrors;
  children: ReactNode;
  help?: string;
  /** Prefix of the input's id (`s-symbol`, `bt-from`): the label points at it. */
  idPrefix?: string;
}) {
  return (
    <div className={`field ${errors[k] ? 'has-error' : ''}`}>
      <label htmlFor={`${idPrefix}-${k}`}>{label}</label>
      {children}
      {help && <div className="muted small">{help}</div>}
      {errors[k] && (
        <div className="field-error" role="alert" data-testid={`error-${k}`}>
          {errors[k]}
        </div>
      )}
    </div>
  );
}

function range(min: number, max: number, integer: boolean): string {
  const lo = Number.isFinite(min) ? String(min) : '';
  const hi = Number.isFinite(max) ? String(max) : '';
  const kind = integer ? 'whole number' : 'number';
  if (lo && hi) return `${kind}, ${lo} to ${hi}`;
  if (lo) return `${kind}, at least ${lo}`;
  if (hi) return `${kind}, at most ${hi}`;
  return kind;
}

/** How long the editor waits after the last keystroke before asking the engine. */
export const VALIDATE_DEBOUNCE_MS = 600;

/**
 * The spec's check against the engine (`POST /strategies/validate`): as the operator types
 * (debounced), and on demand with *Check spec*. Each issue is listed at its path in the document.
 * A stale answer (the text changed while it was in flight) is dropped.
 */
function ValidateSpec({ choice }: { choice: StrategyChoice }) {
  const { client } = useSession();
  const [result, setResult] = useState<SpecValidation | { error: string } | null>(null);
  const [checking, setChecking] = useState(false);
  const key = `${choice.specText}\u0000${JSON.stringify(choice.params)}`;
  const check = async (isCurrent: () => boolean = () => true) => {
    const parsed = specParams(choice.specText);
    if (parsed.error) return setResult({ error: parsed.error });
    setChecking(true);
    try {
      const r = await client.validateSpec(JSON.parse(choice.specText), parseParams(parsed.defs, choice.params).params);
      if (isCurrent()) setResult(r);
    } catch (e) {
      if (isCurrent()) setResult({ error: e instanceof ApiError ? `${e.field ? `${e.field}: ` : ''}${e.message}` : String(e) });
    } finally {
      if (isCurrent()) setChecking(false);
    }
  };
  // Validation as you type: one call per pause, the latest text's answer only.
  useEffect(() => {
    let current = true;
    const t = setTimeout(() => void check(() => current), VALIDATE_DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(t);
    };
    // `check` reads the same text and params the key is made of.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return (
    <div className="row wrap" data-testid="spec-check" data-checking={checking ? 'true' : 'false'}>
      <button type="button" onClick={() => void check()} data-testid="validate-spec">
        Check spec
      </button>
      {checking && (
        <span className="muted small" role="status">
          checking…
        </span>
      )}
      {result && 'error' in result && (
        <span className="neg small" data-testid="spec-result">
          {result.error}
        </span>
      )}
      {result && 'valid' in result && result.valid && (
        <span className="pos small" data-testid="spec-result">
          Valid{typeof result.warm_up === 'number' ? `: warm-up ${result.warm_up} bars` : ''}
        </span>
      )}
      {result && 'valid' in result && !result.valid && (
        <ul className="plain small neg" data-testid="spec-result">
          {result.issues.map((i) => (
            <li key={`${i.path}-${i.reason}`} data-testid="spec-issue" data-path={i.path}>
              <span className="mono">{i.path}</span>: {i.reason}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Template or spec, params, timeframe and symbol. */
export function StrategyFields({
  choice,
  onChange,
  catalogue,
  errors,
}: {
  choice: StrategyChoice;
  onChange: (c: StrategyChoice) => void;
  catalogue: StrategyCatalogue | undefined;
  errors: StrategyErrors;
}) {
  const defs = paramDefs(choice, catalogue);
  const specProblem = choice.kind === 'spec' ? specParams(choice.specText).error : undefined;
  const pickTemplate = (name: string) => {
    const t = catalogue?.templates.find((x) => x.name === name);
    onChange({ ...choice, template: name, params: initialParams(t?.params ?? []) });
  };
  const pickSpec = (template: string) => {
    const s = catalogue?.specs.find((x) => x.template === template);
    if (!s) return;
    const specText = JSON.stringify(s.spec, null, 2);
    onChange({ ...choice, specText, params: initialParams(specParams(specText).defs) });
  };
  return (
    <div data-testid="strategy-fields">
      <div className="tabs" role="group" aria-label="Strategy kind">
        <button
          type="button"
          className={choice.kind === 'template' ? 'active' : ''}
          onClick={() =>
            onChange({ ...choice, kind: 'template', params: initialParams(paramDefs({ ...choice, kind: 'template' }, catalogue)) })
          }
          data-testid="kind-template"
        >
          Built-in template
        </button>
        <button
          type="button"
          className={choice.kind === 'spec' ? 'active' : ''}
          onClick={() => {
            // Start from the chosen template's own spec, so the document is a working example.
            const start = catalogue?.specs.find((x) => x.template === choice.template) ?? catalogue?.specs[0];
            const specText = choice.specText || JSON.stringify(start?.spec ?? {}, null, 2);
            onChange({ ...choice, kind: 'spec', specText, params: initialParams(specParams(specText).defs) });
          }}
          data-testid="kind-spec"
        >
          Declarative spec
        </button>
      </div>
      <div className="form-grid">
        {choice.kind === 'template' ? (
          <Field k="strategy" label="Template" errors={errors}>
            <select id="s-strategy" value={choice.template} onChange={(e) => pickTemplate(e.target.value)} data-testid="strategy-template">
              {!catalogue && <option value={choice.template}>{choice.template}</option>}
              {catalogue?.templates.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name} (v{t.version})
                </option>
              ))}
            </select>
          </Field>
        ) : (
          <Field k="spec-start" label="Start from a template's spec" errors={errors}>
            <select id="s-spec-start" value="" onChange={(e) => pickSpec(e.target.value)} data-testid="spec-start">
              <option value="">(keep the document below)</option>
              {catalogue?.specs.map((s) => (
                <option key={s.template} value={s.template}>
                  {s.template}
                </option>
              ))}
            </select>
          </Field>
        )}
        <Field
          k="symbol"
          label="Symbol"
          errors={errors}
          help="the one instrument the strategy trades (a spec with series trades its series' symbols)"
        >
          <input
            id="s-symbol"
            value={choice.symbol}
            onChange={(e) => onChange({ ...choice, symbol: e.target.value.toUpperCase() })}
            data-testid="strategy-symbol"
          />
        </Field>
        <Field k="timeframe" label="Timeframe" errors={errors} help="the strategy is evaluated when each bar closes">
          <select
            id="s-timeframe"
            value={choice.timeframe}
            onChange={(e) => onChange({ ...choice, timeframe: e.target.value })}
            data-testid="strategy-timeframe"
          >
            {STRATEGY_TIMEFRAMES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </Field>
      </div>
      {choice.kind === 'spec' && (
        <div className={`field ${errors.strategy_spec ? 'has-error' : ''}`}>
          <label htmlFor="s-strategy_spec">Spec document (JSON; docs/strategies.md)</label>
          <textarea
            id="s-strategy_spec"
            className="json"
            rows={14}
            spellCheck={false}
            value={choice.specText}
            onChange={(e) => onChange({ ...choice, specText: e.target.value })}
            data-testid="strategy-spec"
          />
          {(errors.strategy_spec || specProblem) && (
            <div className="field-error" role="alert" data-testid="error-strategy_spec">
              {errors.strategy_spec ?? specProblem}
            </div>
          )}
          <ValidateSpec choice={choice} />
        </div>
      )}
      <h3>Params</h3>
      {errors.params && (
        <div className="field-error" role="alert" data-testid="error-params">
          {errors.params}
        </div>
      )}
      {defs.length === 0 ? (
        <p className="muted small">
          {catalogue || choice.kind === 'spec' ? 'This strategy takes no params.' : 'Loading the strategy catalogue…'}
        </p>
      ) : (
        <div className="form-grid">
          {defs.map((d) => (
            <Field
              key={d.name}
              k={`params.${d.name}`}
              label={d.name}
              errors={errors}
              help={`${range(d.min, d.max, d.integer)}; default ${d.default}`}
            >
              <input
                id={`s-params.${d.name}`}
                inputMode="decimal"
                value={choice.params[d.name] ?? String(d.default)}
                onChange={(e) => onChange({ ...choice, params: { ...choice.params, [d.name]: e.target.value } })}
                data-testid={`param-${d.name}`}
              />
            </Field>
          ))}
        </div>
      )}
    </div>
  );
}
