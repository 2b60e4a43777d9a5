/**
 * Audit events in words. Why: the audit chain is for humans too; the timeline reads "Bought
 * 0.001 BTCUSDT at 65,000.10 (fee 0.07 USDT)" instead of `kind=fill fill={…}`. One sentence
 * per kind of `engine/src/audit/event.rs`; amounts go through the shared number rules (prices to
 * the tick, quantities to the step when the instrument's rules are known). Unknown kinds fall
 * back to their fields, so a new event kind still shows up.
 */
import { formatMoney } from './format';
import { price, qty, type Precision } from './numbers';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : v == null ? '' : JSON.stringify(v));

/** A kind as a label: `risk_decision` → `Risk decision`. */
export function kindLabel(kind: string): string {
  if (kind === 'pnl_booked') return 'P&L booked';
  const s = kind.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Which tone the timeline gives an event. */
export function tone(kind: string, ev: Obj): 'good' | 'bad' | 'info' {
  if (kind === 'signal_rejected' || kind === 'position_drift') return 'bad';
  if (kind === 'risk_decision') return str(ev.outcome) === 'refuse' ? 'bad' : 'info';
  if (kind === 'exchange_response') return Number(ev.status) >= 400 ? 'bad' : 'info';
  if (kind === 'circuit_change') return str(ev.to) === 'closed' ? 'good' : 'bad';
  if (kind === 'fill' || kind === 'signal_accepted') return 'good';
  return 'info';
}

function orderQty(q: unknown, p: Precision | null): string {
  const o = obj(q);
  if (o.unit === 'quote') return `${str(o.value)} quote`;
  return qty(str(o.value ?? q), p);
}

/** A number inside a sentence at most 8 places without trailing zeros; other text as it is. */
function figure(s: string): string {
  return /^[+-]?\d+(\.\d+)?$/.test(s.trim()) ? price(s, null) : s;
}

function diffText(d: unknown): string {
  const e = obj(d);
  return `${str(e.path).replace(/^\//, '').replace(/\//g, '.')}: ${str(e.old) || '—'} → ${str(e.new) || '—'}`;
}

/**
 * One sentence for an event. `rules(symbol)` gives the instrument's precision when known;
 * `quote` is the bot's quote asset for P&L amounts.
 */
export function describe(kind: string, ev: Obj, rules: (symbol: string) => Precision | null = () => null, quote = 'USDT'): string {
  switch (kind) {
    case 'signal_received': {
      const p = obj(ev.payload);
      const what = [str(p.action), str(p.qty), str(p.symbol)].filter(Boolean).join(' ');
      return `Signal received from ${str(ev.source) || 'webhook'}${what ? `: ${what}` : ''}`;
    }
    case 'signal_rejected':
      return `Signal refused (${str(ev.status)}): ${str(ev.reason)}${ev.field ? ` [${str(ev.field)}]` : ''}`;
    case 'signal_accepted':
      return `Signal accepted: ${str(ev.action)}${ev.symbol ? ` ${str(ev.symbol)}` : ''}`;
    case 'risk_decision': {
      const facts = [ev.observed ? `observed ${figure(str(ev.observed))}` : '', ev.limit ? `limit ${figure(str(ev.limit))}` : ''].filter(
        Boolean,
      );
      return `Risk check ${str(ev.rule).replace(/_/g, ' ')}: ${str(ev.outcome) === 'refuse' ? 'refused' : 'passed'}${facts.length ? ` (${facts.join(', ')})` : ''}`;
    }
    case 'order_intent': {
      const o = obj(ev.order);
      const sym = str(o.symbol);
      const p = rules(sym);
      const at = o.price == null ? 'at market' : `${str(o.order_type)} at ${price(str(o.price), p)}`;
      return `Order: ${str(o.side)} ${orderQty(o.qty, p)} ${sym} ${at}${o.reduce_only ? ' (reduce only)' : ''} on ${str(ev.exchange)} ${str(ev.market)}`;
    }
    case 'request_sent':
      return `Sent ${str(ev.method)} ${str(ev.path)} to ${str(ev.exchange)}`;
    case 'exchange_response':
      return `${str(ev.exchange)} answered ${str(ev.status)}${ev.code ? ` (${str(ev.code)})` : ''}${ev.latency_ms != null ? ` in ${str(ev.latency_ms)} ms` : ''}`;
    case 'fill': {
      const f = obj(ev.fill);
      const sym = str(f.symbol);
      const p = rules(sym);
      const verb = str(f.side) === 'buy' ? 'Bought' : 'Sold';
      return `${verb} ${qty(str(f.qty), p)} ${sym} at ${price(str(f.price), p)} (fee ${formatMoney(str(f.fee), str(f.fee_asset) || quote)}${f.is_maker ? ', maker' : ''})`;
    }
    case 'position_change': {
      const sym = str(ev.symbol);
      const p = rules(sym);
      return `Position ${sym}: ${qty(str(ev.old_qty), p)} → ${qty(str(ev.new_qty), p)} (avg entry ${price(str(ev.avg_entry_price), p)})`;
    }
    case 'pnl_booked': {
      const ccy = str(ev.quote_asset) || quote;
      return `P&L booked on ${str(ev.symbol)}: realized ${formatMoney(str(ev.realized), ccy)}, fees ${formatMoney(str(ev.fees_quote), ccy)}${str(ev.funding) && str(ev.funding) !== '0' ? `, funding ${formatMoney(str(ev.funding), ccy)}` : ''}`;
    }
    case 'config_change': {
      const diff = Array.isArray(ev.diff) ? ev.diff : [];
      return `Config v${str(ev.old_version) || '—'} → v${str(ev.new_version)}${diff.length ? `: ${diff.slice(0, 4).map(diffText).join('; ')}${diff.length > 4 ? ` (+${diff.length - 4} more)` : ''}` : ''}`;
    }
    case 'credential_change':
      return `Credentials for ${str(ev.exchange)} ${str(ev.action)}`;
    case 'control':
      return `${kindLabel(str(ev.action))}${ev.reason ? `: ${str(ev.reason)}` : ''}`;
    case 'circuit_change':
      return `${str(ev.exchange)} circuit ${str(ev.from).replace('_', ' ')} → ${str(ev.to).replace('_', ' ')}: ${str(ev.reason)}`;
    case 'reconciliation': {
      const m = Array.isArray(ev.mismatches) ? ev.mismatches : [];
      return `Reconciliation checked ${str(ev.checked)} trade(s): ${m.length === 0 ? 'all match' : `${m.length} mismatch(es), ${m.map((x) => str(obj(x).subject)).join(', ')}`}`;
    }
    case 'position_drift': {
      const sym = str(ev.symbol);
      const p = rules(sym);
      return `Position drift on ${sym}: ledger ${qty(str(ev.expected_qty), p)}, exchange ${qty(str(ev.actual_qty), p)}${ev.healing_order ? ` (healing order ${str(ev.healing_order)})` : ''}`;
    }
    case 'alert_sent':
      return `Alert (${str(ev.severity)}) via ${str(ev.channel)}: ${str(ev.message)}`;
    case 'promotion':
      return `Promoted the version of shadow ${str(ev.shadow)}${ev.forced ? ` (forced: ${str(ev.reason)})` : ''}: ${str(ev.evidence)}`;
    case 'regime_action':
      return `Regime on ${str(ev.symbol)}: ${ev.previous ? `${str(ev.previous)} → ` : ''}${str(ev.regime)}, entries ${str(ev.action)}`;
    case 'capital_transfer': {
      const amt = str(ev.amount);
      const ccy = str(ev.quote_asset) || quote;
      return `Capital ${amt.startsWith('-') ? 'withdrawn' : 'added'}: ${formatMoney(amt, ccy)}`;
    }
    default: {
      const parts = Object.entries(ev)
        .filter(([k, v]) => k !== 'kind' && v != null)
        .map(([k, v]) => `${k.replace(/_/g, ' ')} ${str(v)}`);
      const s = parts.join(', ');
      return s.length > 200 ? `${s.slice(0, 197)}…` : s;
    }
  }
}
