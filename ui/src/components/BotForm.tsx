/** The form half of the bot editor: one input per config field, each with its own error line. */
import { FIELDS, type FieldErrors, type FieldSpec, type FormValues } from '../botForm';

function Input({ f, value, onChange }: { f: FieldSpec; value: string; onChange: (v: string) => void }) {
  const common = { id: `f-${f.path}`, 'data-testid': `field-${f.path}`, 'aria-describedby': `e-${f.path}` };
  if (f.kind === 'select') {
    return (
      <select {...common} value={value} onChange={(e) => onChange(e.target.value)}>
        {f.options?.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  }
  if (f.kind === 'bool') {
    return <input {...common} type="checkbox" checked={value === 'true'} onChange={(e) => onChange(String(e.target.checked))} />;
  }
  return (
    <input
      {...common}
      value={value}
      inputMode={f.kind === 'int' || f.kind === 'decimal' ? 'decimal' : undefined}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

/** Renders all fields in a responsive grid; `errors` keys are dotted field paths. */
export function BotForm({
  values,
  errors,
  onChange,
  hidden = [],
}: {
  values: FormValues;
  errors: FieldErrors;
  onChange: (path: string, v: string) => void;
  /** Paths another part of the form edits (a strategy bot's `strategy` and `instruments`). */
  hidden?: string[];
}) {
  return (
    <div className="form-grid">
      {FIELDS.filter((f) => !hidden.includes(f.path)).map((f) => (
        <div key={f.path} className={`field ${errors[f.path] ? 'has-error' : ''} ${f.kind === 'bool' ? 'inline' : ''}`}>
          <label htmlFor={`f-${f.path}`}>{f.label}</label>
          <Input f={f} value={values[f.path] ?? ''} onChange={(v) => onChange(f.path, v)} />
          {f.help && <div className="muted small">{f.help}</div>}
          {errors[f.path] && (
            <div className="field-error" id={`e-${f.path}`} role="alert" data-testid={`error-${f.path}`}>
              {errors[f.path]}
            </div>
          )}
        </div>
      ))}
    </div>
  );
}
