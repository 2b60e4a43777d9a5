/**
 * The bot editor's model: a flat map of dotted field paths to text, and the conversions to and
 * from the `BotConfig` JSON (docs/bot-config.md). Flat paths are the same as the API's error `field`,
 * so an API validation error lands on the input it names.
 */
import type { BotConfig } from './api';

/** How a field is edited and converted. */
export type FieldKind = 'text' | 'decimal' | 'int' | 'bool' | 'list' | 'select' | 'nullable';

/** One editable field of the config. */
export interface FieldSpec {
  path: string;
  label: string;
  kind: FieldKind;
  options?: string[];
  help?: string;
  /** Empty means "leave out": the API then applies no such limit (docs/bot-config.md: absent = not enforced). */
  optional?: boolean;
}

/** Every field of the config, in form order. */
export const FIELDS: FieldSpec[] = [
  { path: 'id', label: 'Bot id', kind: 'text', help: 'lowercase letters, digits and dashes; part of the webhook URL' },
  { path: 'name', label: 'Name', kind: 'text' },
  { path: 'strategy', label: 'Strategy', kind: 'text', optional: true },
  { path: 'exchange', label: 'Exchange', kind: 'select', options: ['binance', 'bybit'] },
  { path: 'market', label: 'Market', kind: 'select', options: ['spot', 'linear'] },
  { path: 'mode', label: 'Mode', kind: 'select', options: ['paper', 'testnet', 'live'] },
  { path: 'base_url', label: 'Base URL (testnet or simulator; empty for default)', kind: 'nullable' },
  { path: 'instruments', label: 'Instruments (comma separated)', kind: 'list' },
  { path: 'sizing.mode', label: 'Sizing mode', kind: 'select', options: ['fixed_qty', 'fixed_quote', 'pct_equity', 'risk_per_trade'] },
  { path: 'sizing.value', label: 'Sizing value', kind: 'decimal' },
  { path: 'risk.max_order_notional', label: 'Max order notional', kind: 'decimal', optional: true },
  { path: 'risk.max_position_notional', label: 'Max position notional', kind: 'decimal', optional: true },
  { path: 'risk.max_open_positions', label: 'Max open positions', kind: 'int', optional: true },
  { path: 'risk.max_leverage', label: 'Max leverage', kind: 'decimal', optional: true },
  { path: 'risk.max_daily_loss', label: 'Max daily loss', kind: 'decimal', optional: true },
  { path: 'risk.max_drawdown_pct', label: 'Max drawdown %', kind: 'decimal', optional: true },
  { path: 'risk.max_trades_per_day', label: 'Max trades per day', kind: 'int', optional: true },
  { path: 'risk.cooldown_secs', label: 'Cooldown (s)', kind: 'int', optional: true },
  { path: 'risk.max_slippage_bps', label: 'Max slippage (bps)', kind: 'int', optional: true },
  { path: 'risk.max_signal_age_secs', label: 'Max signal age (s)', kind: 'int', optional: true },
  { path: 'risk.require_stop_loss', label: 'Require stop loss', kind: 'bool' },
  { path: 'allowed_ips', label: 'Allowed source IPs (comma separated; "tradingview" preset)', kind: 'list' },
  { path: 'alerts.email', label: 'Alert email', kind: 'text' },
  { path: 'alerts.webhook', label: 'Alert webhook', kind: 'text' },
];

/** A sensible paper bot to start from. */
export const DEFAULT_CONFIG: BotConfig = {
  id: '',
  name: '',
  strategy: 'tradingview',
  exchange: 'binance',
  market: 'spot',
  mode: 'paper',
  base_url: null,
  instruments: ['BTCUSDT'],
  sizing: { mode: 'fixed_qty', value: '0.001' },
  risk: {
    max_order_notional: '500',
    max_position_notional: '2000',
    max_open_positions: 3,
    max_leverage: '1',
    max_daily_loss: '100',
    max_drawdown_pct: '10',
    max_trades_per_day: 50,
    cooldown_secs: 0,
    max_slippage_bps: 50,
    max_signal_age_secs: 30,
    require_stop_loss: false,
  },
  allowed_ips: [],
  alerts: {},
};

/** Form values keyed by field path. */
export type FormValues = Record<string, string>;
/** Errors keyed by field path (plus "" for errors that name no field). */
export type FieldErrors = Record<string, string>;

function getPath(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]] = value;
}

/** Config JSON → form text. */
export function configToValues(cfg: unknown): FormValues {
  const v: FormValues = {};
  for (const f of FIELDS) {
    const x = getPath(cfg, f.path);
    if (x == null) v[f.path] = f.kind === 'bool' ? 'false' : '';
    else if (Array.isArray(x)) v[f.path] = x.join(', ');
    else v[f.path] = String(x);
  }
  return v;
}

const INT_RE = /^\d+$/;
const DEC_RE = /^-?\d+(\.\d+)?$/;

/** Form text → config JSON, or the fields that cannot be converted. Decimals stay strings. */
export function valuesToConfig(v: FormValues): { config: BotConfig; errors: FieldErrors } {
  const out: Record<string, unknown> = {};
  const errors: FieldErrors = {};
  for (const f of FIELDS) {
    const raw = (v[f.path] ?? '').trim();
    if (f.optional && raw === '') {
      if (f.path.startsWith('risk.')) setPath(out, 'risk', (out.risk as object) ?? {});
      continue;
    }
    switch (f.kind) {
      case 'int':
        if (!INT_RE.test(raw)) errors[f.path] = 'must be a whole number';
        setPath(out, f.path, Number(raw));
        break;
      case 'decimal':
        if (!DEC_RE.test(raw)) errors[f.path] = 'must be a decimal number like 100 or 0.5';
        setPath(out, f.path, raw);
        break;
      case 'bool':
        setPath(out, f.path, raw === 'true');
        break;
      case 'list':
        setPath(
          out,
          f.path,
          raw
            ? raw
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : [],
        );
        break;
      case 'nullable':
        setPath(out, f.path, raw ? raw : null);
        break;
      default:
        if (f.path.startsWith('alerts.')) {
          if (raw) setPath(out, f.path, raw);
          else setPath(out, 'alerts', (out.alerts as object) ?? {});
        } else {
          if (!raw && (f.path === 'id' || f.path === 'name')) errors[f.path] = 'required';
          setPath(out, f.path, raw);
        }
    }
  }
  return { config: out as unknown as BotConfig, errors };
}
