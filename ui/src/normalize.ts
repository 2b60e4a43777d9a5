/**
 * Converts API answers into the view types of `api.ts`. Why: the backend's read views carry the
 * storage's own names (`symbol`, `*_ms` times, `flags`, wrapped lists), and the dashboard should
 * not break on either spelling. Each function accepts the documented shape and the backend's
 * current one; decimals stay strings (numbers are turned into their exact text, never summed).
 */
import type {
  ActionResult,
  BotAlert,
  BotVersions,
  Candle,
  DiffEntry,
  MarketData,
  Pnl,
  AuditEvent,
  BotDetail,
  BotHealth,
  BotState,
  BotSummary,
  Check,
  CircuitState,
  CreateBotResponse,
  Fill,
  Order,
  PlatformHealth,
  PnlPoint,
  StrategyView,
  Position,
  SignalChain,
  SignalSummary,
} from './api';

type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : fallback);
const textOrNull = (v: unknown): string | null => (v == null ? null : text(v));
const num = (v: unknown, fallback = 0): number =>
  typeof v === 'number' ? v : typeof v === 'string' && v !== '' && !isNaN(Number(v)) ? Number(v) : fallback;

/** A decimal as sent: strings untouched, numbers as their JSON text, missing as "0". */
export function dec(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '0';
}

/** A quantity: a decimal, or the engine's `{unit, value}` (a quote-sized order is marked as such). */
export function qty(v: unknown): string {
  if (v && typeof v === 'object') {
    const o = v as Obj;
    return o.unit === 'quote' ? `${dec(o.value)} (quote)` : dec(o.value);
  }
  return dec(v);
}

/** An RFC 3339 time from either a string or milliseconds since the epoch. */
export function time(iso: unknown, ms?: unknown): string | null {
  if (typeof iso === 'string') return iso;
  const m = typeof iso === 'number' ? iso : ms;
  if (typeof m === 'number' && Number.isFinite(m)) return new Date(m).toISOString();
  return null;
}

const STATES: BotState[] = ['running', 'paused', 'halted', 'needs_attention'];

/** The bot state from a `state` string or from `flags` (halted > paused > needs attention). */
export function botState(v: Obj): BotState {
  if (STATES.includes(v.state as BotState)) return v.state as BotState;
  const f = obj(v.flags);
  if (f.halted) return 'halted';
  if (f.paused) return 'paused';
  if (f.needs_attention) return 'needs_attention';
  return 'running';
}

/** `"closed"` or `{state: "closed", …}`; null (no exchange call yet) reads as closed. */
export function circuit(v: unknown): CircuitState {
  const s = typeof v === 'string' ? v : text(obj(v).state, 'closed');
  return s === 'open' || s === 'half_open' ? s : 'closed';
}

/** `GET /bots` row. A row the backend could not read (`{id, error}`) is kept and marked. */
export function botSummary(raw: unknown): BotSummary {
  const v = obj(raw);
  const err = v.error === undefined ? undefined : text(obj(v.error).message, JSON.stringify(v.error));
  return {
    id: text(v.id),
    name: text(v.name),
    mode: (text(v.mode, 'paper') as BotSummary['mode']) || 'paper',
    exchange: text(v.exchange) as BotSummary['exchange'],
    market: text(v.market) as BotSummary['market'],
    state: err ? 'needs_attention' : botState(v),
    quote_asset: text(v.quote_asset),
    today_pnl: dec(v.today_pnl ?? v.pnl_today),
    open_positions: num(v.open_positions),
    last_signal_at: time(v.last_signal_at, v.last_signal_ms),
    circuit: circuit(v.circuit),
    outbox_depth: num(v.outbox_depth ?? obj(v.outbox).depth),
    equity: v.equity == null ? null : dec(v.equity),
    ...(err ? { error: err } : {}),
  };
}

/** `GET /bots/{id}`: `{config, state, config_version}` or the config itself with `version`, `flags`. */
export function botDetail(raw: unknown): BotDetail {
  const v = obj(raw);
  if (v.config && typeof v.config === 'object') {
    return { config: v.config as BotDetail['config'], state: botState(v), config_version: num(v.config_version ?? v.version, 1) };
  }
  const config = { ...v };
  for (const k of ['flags', 'version', 'state', 'diff', 'webhook_secret', 'webhook_path']) delete config[k];
  return { config: config as unknown as BotDetail['config'], state: botState(v), config_version: num(v.version, 1) };
}

/** `POST /bots` answer. */
export function created(raw: unknown): CreateBotResponse {
  const v = obj(raw);
  return { id: text(v.id), webhook_secret: text(v.webhook_secret) };
}

/** `GET /health` (platform): `halted` at the top or inside `halt`. */
export function platformHealth(raw: unknown): PlatformHealth {
  const v = obj(raw);
  const h = obj(v.halt);
  const n = obj(v.neo4j);
  const neo4jState: PlatformHealth['neo4j_state'] =
    v.neo4j == null
      ? 'unknown'
      : n.configured === false
        ? 'not_configured'
        : n.reachable === true || n.ok === true
          ? 'reachable'
          : 'unreachable';
  const hosts = Array.isArray(v.exchanges)
    ? v.exchanges.map((e) => {
        const o = obj(e);
        return { name: `${text(o.exchange)} ${text(o.market)}`.trim(), reachable: circuit(o.circuit) !== 'open', detail: text(o.circuit) };
      })
    : Object.entries(obj(v.exchanges)).map(([name, e]) => {
        const o = obj(e);
        const detail = o.reachable === true ? text(o.url) : text(o.error ?? o.status ?? o.url, 'unreachable');
        return { name, reachable: o.reachable === true, detail };
      });
  const outbox = obj(v.audit_outbox);
  return {
    halted: Boolean(v.halted ?? h.halted),
    halted_at: time(v.halted_at, h.since_ms),
    status: text(v.status),
    neo4j: v.neo4j as PlatformHealth['neo4j'],
    exchanges: v.exchanges as PlatformHealth['exchanges'],
    neo4j_state: neo4jState,
    exchange_hosts: hosts,
    audit_outbox_depth: typeof outbox.depth === 'number' ? outbox.depth : null,
  };
}

/** An open alert of a bot's channel. */
function botAlert(raw: unknown): BotAlert {
  const v = obj(raw);
  return { kind: text(v.kind), subject: text(v.subject), since: time(v.since, v.since_ms), count: num(v.count, 1) };
}

/** `GET /bots/{id}/health`. */
export function botHealth(raw: unknown): BotHealth {
  const v = obj(raw);
  const f = obj(v.flags);
  const usage: BotHealth['risk_usage'] = {};
  for (const [rule, u] of Object.entries(obj(v.risk_usage))) {
    const o = obj(u);
    // An unset limit stays null ("—", no bar), never 0: "2 of 0" read as a breached limit.
    usage[rule] = { used: typeof o.used === 'number' ? o.used : dec(o.used), limit: o.limit == null ? null : typeof o.limit === 'number' ? o.limit : dec(o.limit) };
  }
  return {
    bot_id: text(v.bot_id),
    state: botState(v),
    circuit: circuit(v.circuit),
    outbox_depth: num(v.outbox_depth ?? obj(v.outbox).depth),
    last_signal_at: time(v.last_signal_at, v.last_signal_ms),
    attention_reason: textOrNull(v.attention_reason ?? (f.needs_attention ? f.attention_reason : null)),
    risk_usage: usage,
    last_tick_at: time(obj(v.last_tick).at, obj(v.last_tick).at_ms),
    alerts: arr(obj(v.alerts).open).map(botAlert),
    open_orders: num(v.open_orders),
    reconciliation: v.reconciliation == null ? null : text(obj(v.reconciliation).status, 'unknown'),
  };
}

/** A position row (`instrument` or `symbol`). */
export function position(raw: unknown): Position {
  const v = obj(raw);
  return {
    instrument: text(v.instrument ?? v.symbol),
    qty: dec(v.qty),
    avg_entry_price: dec(v.avg_entry_price),
    mark_price: v.mark_price == null ? null : dec(v.mark_price),
    unrealized: dec(v.unrealized),
  };
}

/** Order statuses that still rest on (or may reach) the exchange. */
export const OPEN_ORDER_STATUSES = ['intent', 'sent', 'new', 'open', 'accepted', 'partially_filled', 'cancel_sent', 'unknown', 'trigger_open'];

/** An order row (`instrument`/`symbol`, `order_type`/`type`, `filled_qty`/`executed_qty`). */
export function order(raw: unknown): Order {
  const v = obj(raw);
  if (typeof v.exit_trigger === 'string') {
    // A protective exit (`stop_loss` / `take_profit`): it rests at its trigger price and closes the position.
    return {
      client_order_id: text(v.client_order_id),
      signal_id: textOrNull(v.signal_id),
      instrument: text(v.symbol ?? v.instrument),
      side: text(v.close_side) as Order['side'],
      order_type: v.exit_trigger as Order['order_type'],
      qty: 'position',
      price: v.trigger_price == null ? null : dec(v.trigger_price),
      filled_qty: '0',
      status: text(v.status),
      created_at: time(v.created_at, v.since_ms ?? v.updated_ms) ?? '',
    };
  }
  return {
    client_order_id: text(v.client_order_id),
    signal_id: textOrNull(v.signal_id),
    instrument: text(v.instrument ?? v.symbol),
    side: text(v.side) as Order['side'],
    order_type: text(v.order_type ?? v.type, 'market') as Order['order_type'],
    qty: qty(v.qty),
    price: v.price == null ? null : dec(v.price),
    filled_qty: dec(v.filled_qty ?? v.executed_qty),
    status: text(v.status),
    created_at: time(v.created_at, v.updated_ms ?? v.created_ms) ?? '',
  };
}

/** Open orders only, whether or not the server honoured `?status=open`. */
export function openOrders(raw: unknown): Order[] {
  return arr(raw)
    .map(order)
    .filter((o) => OPEN_ORDER_STATUSES.includes(o.status));
}

/** A fill row (`time` or `time_ms`), flat or as the ledger's `{fill: {…}, signal_id, fee_quote, realized}`. */
export function fill(raw: unknown): Fill {
  const outer = obj(raw);
  const v =
    outer.fill && typeof outer.fill === 'object' ? { ...obj(outer.fill), signal_id: outer.signal_id ?? obj(outer.fill).signal_id } : outer;
  return {
    trade_id: text(v.trade_id),
    client_order_id: text(v.client_order_id),
    signal_id: textOrNull(v.signal_id),
    instrument: text(v.instrument ?? v.symbol),
    side: text(v.side) as Fill['side'],
    qty: dec(v.qty),
    price: dec(v.price),
    fee: dec(v.fee),
    fee_asset: text(v.fee_asset),
    time: time(v.time, v.time_ms) ?? '',
    realized: outer.realized == null && v.realized == null ? null : dec(outer.realized ?? v.realized),
    fee_quote: outer.fee_quote == null && v.fee_quote == null ? null : dec(outer.fee_quote ?? v.fee_quote),
  };
}

/** Equity history point (`time` as RFC 3339 or ms). */
export function pnlPoint(raw: unknown): PnlPoint {
  const v = obj(raw);
  return { time: time(v.time, v.time_ms) ?? '', equity: dec(v.equity), drawdown: dec(v.drawdown) };
}

/** Recent signal: `outcome` is a word or the stored outcome object `{status, code, message}`. */
export function signal(raw: unknown): SignalSummary {
  const v = obj(raw);
  const o = obj(v.outcome);
  const httpStatus = num(v.http_status ?? (typeof v.status === 'number' ? v.status : undefined));
  const reason = v.reason ?? (o.code || o.message ? [o.code, o.message].filter(Boolean).join(': ') : null);
  return {
    signal_id: text(v.signal_id ?? v.id),
    received_at: time(v.received_at, v.received_ms) ?? '',
    action: text(v.action ?? obj(o.payload).action ?? obj(arr(o.orders)[0]).side, '—'),
    symbol: textOrNull(v.symbol ?? obj(o.payload).symbol ?? obj(arr(o.orders)[0]).symbol),
    outcome: typeof v.outcome === 'string' ? v.outcome : text(o.status, typeof v.status === 'string' ? v.status : ''),
    http_status: httpStatus,
    reason: textOrNull(reason),
  };
}

/** Compact one-line summary of an audit event body (its fields other than `kind`). */
function summarize(event: Obj): string {
  const parts = Object.entries(event)
    .filter(([k, val]) => k !== 'kind' && val != null && k !== 'payload')
    .map(([k, val]) => `${k}=${typeof val === 'object' ? JSON.stringify(val) : String(val)}`);
  const s = parts.join(' ');
  return s.length > 200 ? `${s.slice(0, 197)}…` : s;
}

/** Audit page: a plain list or `{events: [...]}`; each event may carry its sealed `record`. */
export function auditEvents(raw: unknown): AuditEvent[] {
  const list = Array.isArray(raw) ? raw : arr(obj(raw).events);
  return list.map((e) => {
    const v = obj(e);
    const rec = obj(v.record);
    const ev = obj(rec.event);
    return {
      seq: num(v.seq),
      time: time(v.time, v.time_ms) ?? '',
      kind: text(v.kind ?? ev.kind),
      signal_id: textOrNull(v.signal_id ?? rec.signal_id),
      summary: typeof v.summary === 'string' ? v.summary : summarize(ev),
      hash: text(v.hash),
      detail: ev,
      actor: rec.actor == null ? null : typeof rec.actor === 'string' ? rec.actor : JSON.stringify(rec.actor),
    };
  });
}

function check(raw: unknown): Check {
  const v = obj(raw);
  const outcome = text(v.outcome ?? v.verdict ?? v.result);
  const passed = ['pass', 'passed', 'approved', 'ok', 'allow'].includes(outcome.toLowerCase());
  const lim = v.limit ?? null;
  const val = v.value ?? v.observed ?? null;
  return {
    rule: text(v.rule),
    outcome: passed ? 'pass' : 'fail',
    limit: typeof lim === 'number' || typeof lim === 'string' ? lim : lim == null ? null : JSON.stringify(lim),
    value: typeof val === 'number' || typeof val === 'string' ? val : val == null ? null : JSON.stringify(val),
    message: textOrNull(v.message ?? v.reason),
  };
}

/** `GET /signals/{id}`: the flat documented shape or the graph's `{signal_id, chains: [...]}`. */
export function signalChain(raw: unknown): SignalChain {
  const v = obj(raw);
  if (!Array.isArray(v.chains)) {
    const s = obj(v.signal);
    return {
      signal: { ...(s as SignalChain['signal']), received_at: time(s.received_at, s.received_ms) ?? '' },
      checks: arr(v.checks).map(check),
      orders: arr(v.orders).map(order),
      fills: arr(v.fills).map(fill),
      pnl_effect: (v.pnl_effect as SignalChain['pnl_effect']) ?? null,
    };
  }
  const c = obj(v.chains[0]);
  const s = obj(c.signal);
  const orders = arr(c.orders);
  const pnl = obj(c.pnl);
  return {
    signal: {
      signal_id: text(v.signal_id ?? s.id),
      bot_id: text(c.bot_id),
      received_at: time(s.received_at, s.received_ms ?? s.time_ms) ?? '',
      outcome: text(s.status ?? s.outcome),
      payload: obj(s.payload ?? s),
    },
    checks: arr(c.decisions).map(check),
    orders: orders.map(order),
    fills: orders.flatMap((o) => arr(obj(o).fills).map(fill)),
    pnl_effect: c.pnl ? { realized: dec(pnl.realized), fees_quote: dec(pnl.fees_quote) } : null,
  };
}

/** Answer of an emergency action, with `state` derived from `flags` and a per-bot halt roll-up. */
export function action(raw: unknown): ActionResult {
  const v = obj(raw);
  const out: ActionResult = { ...v };
  if (!out.state && v.flags) out.state = botState(v);
  if (out.halted === undefined && v.halt && typeof obj(v.halt).halted === 'boolean') out.halted = obj(v.halt).halted as boolean;
  if (!out.message && v.bots && typeof v.bots === 'object') {
    const entries = Object.entries(obj(v.bots));
    const failed = entries.filter(([, r]) => obj(r).error !== undefined).map(([id]) => id);
    out.message = `${entries.length - failed.length} of ${entries.length} bot(s) confirmed${failed.length ? `; failed: ${failed.join(', ')}` : ''}`;
  }
  return out;
}

/** `GET /pnl`: each bot's P&L document; a bot that could not answer is left out. */
export function pnlPerBot(raw: unknown): Record<string, Pnl> {
  const out: Record<string, Pnl> = {};
  for (const [id, p] of Object.entries(obj(obj(raw).bots))) {
    const v = obj(p);
    if (v.error !== undefined || v.net === undefined) continue;
    out[id] = v as unknown as Pnl;
  }
  return out;
}

/** `GET /bots/{id}/market`: rows `[open_ms, open, high, low, close, volume]` become candles. */
export function market(raw: unknown): MarketData {
  const v = obj(raw);
  const candles: Candle[] = arr(v.candles).flatMap((row) => {
    const r = arr(row);
    if (r.length < 5 || typeof r[0] !== 'number') return [];
    return [{ time_ms: r[0], open: dec(r[1]), high: dec(r[2]), low: dec(r[3]), close: dec(r[4]), volume: dec(r[5]) }];
  });
  return {
    symbol: text(v.symbol),
    timeframe: text(v.timeframe),
    tick_size: v.tick_size == null ? null : dec(v.tick_size),
    step_size: v.step_size == null ? null : dec(v.step_size),
    base_asset: textOrNull(v.base_asset),
    quote_asset: textOrNull(v.quote_asset),
    candles,
  };
}

/** `GET /bots/{id}/versions`. */
export function versions(raw: unknown): BotVersions {
  const v = obj(raw);
  return {
    current_version: num(v.current_version, 1),
    versions: arr(v.versions).map((e) => {
      const o = obj(e);
      return { version: num(o.version), updated_at: time(o.updated_at, o.updated_ms), config: obj(o.config) };
    }),
  };
}

/** `PATCH /bots/{id}` answer: the new version and the field-level diff. */
export function patched(raw: unknown): { version: number; diff: DiffEntry[] } {
  const v = obj(raw);
  return { version: num(v.version), diff: arr(v.diff).map((d) => ({ path: text(obj(d).path), old: obj(d).old, new: obj(d).new })) };
}

const numbers = (v: unknown): Record<string, number> =>
  Object.fromEntries(Object.entries(obj(v)).filter(([, x]) => typeof x === 'number') as [string, number][]);

/** `GET /bots/{id}/strategy`. */
export function strategyView(raw: unknown): StrategyView {
  const v = obj(raw);
  const ver = obj(v.version);
  const st = obj(v.state);
  return {
    strategy: text(v.strategy),
    symbol: text(v.symbol),
    timeframe: textOrNull(v.timeframe),
    version_id: text(ver.id),
    params: numbers(ver.params),
    last_bar_at: time(undefined, st.last_bar_ms),
    last_target: textOrNull(st.last_target),
    next_wake_at: time(undefined, v.next_wake_ms),
    warm_up: num(v.warm_up),
    versions_run: Object.entries(obj(v.versions_run)).map(([id, r]) => {
      const o = obj(r);
      return { id, config_version: num(o.config_version), first_run_at: time(undefined, o.first_run_ms), params: numbers(o.params) };
    }),
  };
}

/** `POST /bots/{id}/capital` answer. */
export function capitalBooked(raw: unknown): { transfer_id: string; amount: string; equity: string | null } {
  const v = obj(raw);
  return { transfer_id: text(v.transfer_id), amount: dec(v.amount), equity: v.equity == null ? null : dec(v.equity) };
}
