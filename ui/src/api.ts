/**
 * The one typed client for Keel's admin API (`/api/v1`, same origin).
 *
 * Why one module: every request goes through `request()`, so auth, JSON decoding and the
 * `{code, message, field}` error shape are handled in exactly one place, and the types below are
 * the UI's single statement of the contract in docs/admin-api.md and docs/bot-config.md (answers pass through
 * `normalize.ts`, which also reads the backend's storage-shaped views). Every decimal is a string
 * (`Decimal`): the UI never does arithmetic on money, it only formats it.
 */

import type { BotAnalytics, Comparison, RegimeView, ShadowLinks } from './analytics';
import * as N from './normalize';

/** An exact decimal as sent by the API (e.g. "12.34", "-0.12"). Never parsed for arithmetic. */
export type Decimal = string;
/** RFC 3339 timestamp string, e.g. "2026-11-24T12:00:00Z". */
export type Timestamp = string;

export type Role = 'admin' | 'viewer';
export type BotMode = 'paper' | 'testnet' | 'live';
export type BotState = 'running' | 'paused' | 'halted' | 'needs_attention';
export type CircuitState = 'closed' | 'half_open' | 'open';
export type Exchange = 'binance' | 'bybit';
export type Market = 'spot' | 'linear';
export type SizingMode = 'fixed_qty' | 'fixed_quote' | 'pct_equity' | 'risk_per_trade';
export type Side = 'buy' | 'sell';

/** `GET /whoami`: which token this is and what it may do. */
export interface WhoAmI {
  token_id: string;
  role: Role;
}

/** Per-bot risk limits (docs/bot-config.md). */
export interface RiskConfig {
  max_order_notional: Decimal;
  max_position_notional: Decimal;
  max_open_positions: number;
  max_leverage: Decimal;
  max_daily_loss: Decimal;
  max_drawdown_pct: Decimal;
  max_trades_per_day: number;
  cooldown_secs: number;
  max_slippage_bps: number;
  max_signal_age_secs: number;
  require_stop_loss: boolean;
}

/** A bot's configuration exactly as `POST /bots` takes it (docs/bot-config.md; unknown fields are an error). */
export interface BotConfig {
  id: string;
  name: string;
  strategy: string;
  exchange: Exchange;
  market: Market;
  mode: BotMode;
  base_url: string | null;
  instruments: string[];
  sizing: { mode: SizingMode; value: Decimal };
  risk: RiskConfig;
  allowed_ips: string[];
  alerts: { email?: string; webhook?: string };
  /** `strategy` for a bot driven by a template or spec; absent or `tradingview` for webhook bots. */
  source?: 'tradingview' | 'strategy';
  /** A declarative strategy spec run instead of a named template (strategy bots). */
  strategy_spec?: unknown;
  /** Strategy parameters (strategy bots). */
  params?: Record<string, number>;
  /** Bar interval (strategy bots). */
  timeframe?: string | null;
}

/** `GET /strategies`: the built-in templates with their parameters, and each written as a spec. */
export interface StrategyCatalogue {
  templates: { name: string; version: number; params: { name: string; default: number; min: number; max: number; integer: boolean }[] }[];
  specs: { template: string; spec: Record<string, unknown> }[];
}

/** `POST /strategies/validate`: valid with the version it would run as, or every issue with its path. */
export interface SpecValidation {
  valid: boolean;
  issues: { path: string; reason: string }[];
  version?: unknown;
  warm_up?: number;
}

/** One row of `GET /bots`: what the overview needs without a request per bot. */
export interface BotSummary {
  id: string;
  name: string;
  mode: BotMode;
  exchange: Exchange;
  market: Market;
  state: BotState;
  quote_asset: string;
  /** Net P&L of the current UTC day, in the quote asset. */
  today_pnl: Decimal;
  open_positions: number;
  last_signal_at: Timestamp | null;
  circuit: CircuitState;
  outbox_depth: number;
  /** Equity in the quote asset (capital booked + P&L); null when not reported. */
  equity: Decimal | null;
  /** Set when the backend could not read this bot. */
  error?: string;
}

/** `GET /bots/{id}`. */
export interface BotDetail {
  config: BotConfig;
  state: BotState;
  config_version: number;
}

/** `POST /bots` answer (201). The webhook secret is returned only here, once. */
export interface CreateBotResponse {
  id: string;
  webhook_secret: string;
}

/** `GET /health`: the platform view. */
export interface PlatformHealth {
  halted: boolean;
  halted_at: Timestamp | null;
  /** `ok` or `degraded` (an exchange or Neo4j unreachable); empty when not reported. */
  status: string;
  /** Shown raw when present. */
  neo4j?: unknown;
  exchanges?: ExchangeHealth[] | Record<string, unknown>;
  /** Neo4j's state in words: reachable, unreachable, or not configured. */
  neo4j_state: 'reachable' | 'unreachable' | 'not_configured' | 'unknown';
  /** Each configured exchange host and whether it answered. */
  exchange_hosts: { name: string; reachable: boolean; detail: string }[];
  /** Unshipped audit events over every bot's outbox. */
  audit_outbox_depth: number | null;
}

export interface ExchangeHealth {
  exchange: Exchange;
  market: Market;
  circuit: CircuitState;
  clock_offset_ms: number;
}

/** `GET /bots/{id}/health`. `risk_usage` maps a risk rule name to its current use. */
export interface BotHealth {
  bot_id: string;
  state: BotState;
  circuit: CircuitState;
  outbox_depth: number;
  last_signal_at: Timestamp | null;
  /** Why the bot needs attention (e.g. position drift); null otherwise. */
  attention_reason: string | null;
  risk_usage: Record<string, { used: Decimal | number; limit: Decimal | number | null }>;
  /** When the cron last ticked this bot (marks, reconciliation); null if never. */
  last_tick_at: Timestamp | null;
  /** Alerts currently open on the bot's channel. */
  alerts: BotAlert[];
  /** Orders resting or in flight. */
  open_orders: number;
  /** Last reconciliation's status (`ok`, `drift`, `never_run`…). */
  reconciliation: string | null;
}

/** An open alert of a bot (`GET /bots/{id}/health`.alerts.open). */
export interface BotAlert {
  kind: string;
  subject: string;
  since: Timestamp | null;
  count: number;
}

/** One candle of `GET /bots/{id}/market`: open time in ms, prices and volume as decimals. */
export interface Candle {
  time_ms: number;
  open: Decimal;
  high: Decimal;
  low: Decimal;
  close: Decimal;
  volume: Decimal;
}

/** `GET /bots/{id}/market`: recent candles of one instrument and its precision (docs/admin-api.md). */
export interface MarketData {
  symbol: string;
  timeframe: string;
  tick_size: Decimal | null;
  step_size: Decimal | null;
  base_asset: string | null;
  quote_asset: string | null;
  candles: Candle[];
}

/** `GET /bots/{id}/strategy`: a strategy bot's running version, its state and the versions it ran. */
export interface StrategyView {
  strategy: string;
  symbol: string;
  timeframe: string | null;
  version_id: string;
  params: Record<string, number>;
  last_bar_at: Timestamp | null;
  last_target: string | null;
  next_wake_at: Timestamp | null;
  warm_up: number;
  versions_run: { id: string; config_version: number; first_run_at: Timestamp | null; params: Record<string, number> }[];
}

/** One field changed by a config patch (`PATCH /bots/{id}` answer's `diff`). */
export interface DiffEntry {
  path: string;
  old: unknown;
  new: unknown;
}

/** `GET /bots/{id}/versions`. */
export interface BotVersions {
  current_version: number;
  versions: { version: number; updated_at: Timestamp | null; config: Record<string, unknown> }[];
}

/** `GET /bots/{id}/positions` item. `qty` is signed: negative is short. */
export interface Position {
  instrument: string;
  qty: Decimal;
  avg_entry_price: Decimal;
  mark_price: Decimal | null;
  unrealized: Decimal;
}

/** `GET /bots/{id}/orders?status=open` item. */
export interface Order {
  client_order_id: string;
  signal_id: string | null;
  instrument: string;
  side: Side;
  /** `market`, `limit`, or a protective exit: `stop_loss` / `take_profit` (qty `position`: the whole position). */
  order_type: 'market' | 'limit' | 'stop_loss' | 'take_profit';
  qty: Decimal;
  price: Decimal | null;
  filled_qty: Decimal;
  status: string;
  created_at: Timestamp;
}

/** `GET /bots/{id}/fills?limit=` item, newest first. */
export interface Fill {
  trade_id: string;
  client_order_id: string;
  signal_id: string | null;
  instrument: string;
  side: Side;
  qty: Decimal;
  price: Decimal;
  fee: Decimal;
  fee_asset: string;
  time: Timestamp;
  /** Realized P&L this fill booked in quote (the ledger's view); null when not reported. */
  realized: Decimal | null;
  /** The fee valued in quote; null when not reported. */
  fee_quote: Decimal | null;
}

export interface InstrumentPnl {
  realized: Decimal;
  unrealized: Decimal;
  funding: Decimal;
  fees_quote: Decimal;
  position_qty: Decimal;
  avg_entry_price: Decimal;
}

/** `GET /bots/{id}/pnl` (docs/admin-api.md, verbatim). */
export interface Pnl {
  bot_id: string;
  quote_asset: string;
  method: string;
  as_of: Timestamp;
  realized: Decimal;
  unrealized: Decimal;
  funding: Decimal;
  fees: { total_quote: Decimal; by_asset: Record<string, Decimal> };
  net: Decimal;
  by_instrument: Record<string, InstrumentPnl>;
  by_day: { date: string; realized: Decimal; fees_quote: Decimal; funding: Decimal }[];
}

/** `GET /bots/{id}/pnl/history` point: equity in quote, drawdown in percent below the running peak (>= 0). */
export interface PnlPoint {
  time: Timestamp;
  equity: Decimal;
  drawdown: Decimal;
}

/** `GET /bots/{id}/signals?limit=` item, newest first. */
export interface SignalSummary {
  signal_id: string;
  received_at: Timestamp;
  action: string;
  symbol: string | null;
  /** executed | accepted | rejected | duplicate | failed ... */
  outcome: string;
  http_status: number;
  /** For rejections: the rule or field and why. */
  reason: string | null;
}

/** `GET /bots/{id}/audit?after=&limit=` item, ascending by seq. */
export interface AuditEvent {
  seq: number;
  time: Timestamp;
  kind: string;
  signal_id: string | null;
  summary: string;
  hash: string;
  /** The event's own fields (`kind` and the facts of `engine/src/audit/event.rs`). */
  detail: Record<string, unknown>;
  /** Who caused it (`system`, `token:<id>`…), when recorded. */
  actor: string | null;
}

/** One risk/whitelist/validation check of a signal. */
export interface Check {
  rule: string;
  outcome: 'pass' | 'fail';
  limit: Decimal | number | null;
  value: Decimal | number | null;
  message: string | null;
}

/** `GET /signals/{signal_id}`: the whole causal chain of one signal. */
export interface SignalChain {
  signal: {
    signal_id: string;
    bot_id: string;
    received_at: Timestamp;
    outcome: string;
    payload: Record<string, unknown>;
  };
  checks: Check[];
  orders: Order[];
  fills: Fill[];
  pnl_effect: { realized: Decimal; fees_quote: Decimal } | null;
}

/** Answer of the per-bot and global emergency actions; shown to the operator as received. */
export interface ActionResult {
  /** For bot actions. */
  bot_id?: string;
  state?: BotState;
  /** For global actions. */
  halted?: boolean;
  /** Orders placed (flatten / panic close). */
  orders?: Order[];
  message?: string;
  [key: string]: unknown;
}

/** The operator's limits of a portfolio scope (decimals as strings; null = not checked). */
export interface PortfolioLimits {
  max_gross?: Decimal | null;
  max_net?: Decimal | null;
  max_asset_pct?: Decimal | null;
  max_drawdown_pct?: Decimal | null;
  max_daily_loss?: Decimal | null;
  max_risk?: Decimal | null;
}

/** Which bots a scope covers. */
export type PortfolioMembers = { kind: 'platform' } | { kind: 'account'; account: string } | { kind: 'group'; bots: string[] };

/** `PUT /portfolio/scopes/{name}` body. */
export interface PortfolioScopeSpec {
  members: PortfolioMembers;
  limits?: PortfolioLimits;
  lease_ttl_secs?: number;
}

/** One scope of `GET /portfolio`: limits, aggregated state, lease pool and halt. */
export interface PortfolioScope {
  name: string;
  spec: PortfolioScopeSpec & { limits: PortfolioLimits; lease_ttl_secs: number };
  state: { exposures: Record<string, Decimal>; equity: Decimal; peak_equity: Decimal; day_start_equity: Decimal; halted: boolean };
  gross: Decimal;
  net: Decimal;
  drawdown_pct: Decimal;
  daily_loss: Decimal;
  pool: { cap: Decimal | null; reserved: Decimal; used: Decimal; halted: boolean; expired: string[] };
  bots: string[];
  halted: { since_ms: number; breach: { rule: string; limit: Decimal; observed: Decimal } | null } | null;
}

/** `POST /portfolio/allocation` answer: target equity per bot and the transfers; nothing moved. */
export interface AllocationProposal {
  proposal_id: string;
  period: string;
  capital: Decimal;
  unallocated: Decimal;
  transfers: Record<string, Decimal>;
  bots: { bot_id: string; weight: number; mean_return: number; volatility: number; current: Decimal | null; target: Decimal; transfer: Decimal }[];
}

/** `POST /tokens` answer: the raw token is shown once. */
export interface CreatedToken {
  id: string;
  token: string;
}

/** The API's error body for 4xx/5xx. `field` is a dotted path into the request (e.g. "risk.max_daily_loss"). */
export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string | null;
}

/** A failed request: HTTP status plus the API's `{code, message, field}` (or a synthesized one). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.field = body.field ?? null;
  }
}

/** What `request()` needs from the outside: the token and a fetch (injectable for tests). */
export interface ClientOptions {
  token: string;
  baseUrl?: string;
  fetchImpl?: typeof fetch;
}

function isErrorBody(v: unknown): v is ApiErrorBody {
  return typeof v === 'object' && v !== null && typeof (v as ApiErrorBody).message === 'string';
}

const enc = encodeURIComponent;
const list =
  <T>(f: (v: unknown) => T) =>
  (v: unknown): T[] =>
    Array.isArray(v) ? v.map(f) : [];

/** Build a client bound to one token. All paths are relative to `/api/v1`. */
/** A call's fields as read from a channel message (docs/calls.md); absent when not stated. */
export interface CallFields {
  pair?: string;
  side?: 'long' | 'short';
  entry?: 'market' | { price: Decimal } | { zone: { low: Decimal; high: Decimal } };
  stop?: Decimal;
  targets?: Decimal[];
  leverage?: { x: Decimal; mode?: 'cross' | 'isolated' };
  validity_ms?: number;
}

/** One immutable version of a call, hashed into the call chain. */
export interface CallVersion {
  seq: number;
  call_id: string;
  source: string;
  version: number;
  received_ms: number;
  call_time_ms: number;
  text?: string;
  fields: CallFields;
  flags?: { line: number; field?: string; reason: string }[];
  hash: string;
}

/** A call's stored score (of its first version). */
export interface CallScore {
  status: 'not_scorable' | 'pending' | 'expired' | 'stopped' | 'done' | 'open';
  reason?: string;
  r_multiple?: Decimal;
  time_to_target_ms: (number | null)[];
  mfe_r?: Decimal;
  mae_r?: Decimal;
}

/** `GET /chat` (docs/chat.md): whether each secret is set, never its value. */
export interface ChatSettings {
  enabled: boolean;
  bot_token_set: boolean;
  webhook_secret_set: boolean;
  allowed_chat_ids: number[];
  api_base_url: string;
}

/** `PUT /chat`: the fields to change. */
export interface ChatSettingsUpdate {
  bot_token?: string;
  webhook_secret?: string;
  allowed_chat_ids?: number[];
  api_base_url?: string;
}

/** `GET /calls`. */
export interface CallList {
  calls: { call_id: string; versions: number; scored: CallVersion; latest: CallVersion; score?: CallScore | null }[];
  chain_head: string;
  chain_break?: number | null;
}

/** One source of `GET /calls/leaderboard`. */
export interface SourceStats {
  source: string;
  calls: number;
  closed: number;
  expired: number;
  pending?: number;
  open?: number;
  not_scorable?: number;
  mean_r: number | null;
  lcb_r: number | null;
  hit_rate?: number[];
}

export function createClient(opts: ClientOptions) {
  const base = (opts.baseUrl ?? '') + '/api/v1';
  const doFetch = opts.fetchImpl ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));

  async function request<T>(method: string, path: string, body?: unknown, convert?: (v: unknown) => T): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${opts.token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await doFetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, { code: 'network', message: `network error: ${e instanceof Error ? e.message : String(e)}` });
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (res.ok) throw new ApiError(res.status, { code: 'bad_json', message: 'the API answered with invalid JSON' });
      }
    }
    if (!res.ok) {
      if (isErrorBody(parsed)) throw new ApiError(res.status, parsed);
      throw new ApiError(res.status, { code: `http_${res.status}`, message: text.trim() || res.statusText || `HTTP ${res.status}` });
    }
    return convert ? convert(parsed) : (parsed as T);
  }

  return {
    whoami: () => request<WhoAmI>('GET', '/whoami'),
    health: () => request('GET', '/health', undefined, N.platformHealth),
    listBots: () => request('GET', '/bots', undefined, list(N.botSummary)),
    getBot: (id: string) => request('GET', `/bots/${enc(id)}`, undefined, N.botDetail),
    createBot: (config: BotConfig) => request('POST', '/bots', config, N.created),
    setCredentials: (id: string, api_key: string, api_secret: string) =>
      request<unknown>('PUT', `/bots/${enc(id)}/credentials`, { api_key, api_secret }),
    pauseBot: (id: string) => request('POST', `/bots/${enc(id)}/pause`, undefined, N.action),
    resumeBot: (id: string) => request('POST', `/bots/${enc(id)}/resume`, undefined, N.action),
    flattenBot: (id: string) => request('POST', `/bots/${enc(id)}/flatten`, undefined, N.action),
    halt: (flatten: boolean) => request('POST', '/halt', { flatten }, N.action),
    resumePlatform: () => request('POST', '/resume', undefined, N.action),
    positions: (id: string) => request('GET', `/bots/${enc(id)}/positions`, undefined, list(N.position)),
    openOrders: (id: string) => request('GET', `/bots/${enc(id)}/orders?status=open`, undefined, N.openOrders),
    fills: (id: string, limit = 50) => request('GET', `/bots/${enc(id)}/fills?limit=${limit}`, undefined, list(N.fill)),
    pnl: (id: string) => request<Pnl>('GET', `/bots/${enc(id)}/pnl`),
    pnlHistory: (id: string) => request('GET', `/bots/${enc(id)}/pnl/history`, undefined, list(N.pnlPoint)),
    botHealth: (id: string) => request('GET', `/bots/${enc(id)}/health`, undefined, N.botHealth),
    signals: (id: string, limit = 50) => request('GET', `/bots/${enc(id)}/signals?limit=${limit}`, undefined, list(N.signal)),
    audit: (id: string, after: number, limit = 100) =>
      request('GET', `/bots/${enc(id)}/audit?after=${after}&limit=${limit}`, undefined, N.auditEvents),
    /** `GET /bots/{id}/analytics?period=`: live ratios and the exact attribution of the net P&L. */
    analytics: (id: string, period: string) => request<BotAnalytics>('GET', `/bots/${enc(id)}/analytics?period=${enc(period)}`),
    /** `GET /compare?a=&b=&period=`: two bots side by side with the Sharpe-difference and sequential tests. */
    compare: (a: string, b: string, period: string) => request<Comparison>('GET', `/compare?a=${enc(a)}&b=${enc(b)}&period=${enc(period)}`),
    /** `GET /bots/{id}/regime`: the regime label per instrument and its history (regime-gated strategy bots). */
    regime: (id: string) => request<RegimeView>('GET', `/bots/${enc(id)}/regime`),
    /** `GET /bots/{id}/shadow`: whom the bot shadows and its shadows (A/B tests). */
    shadowLinks: (id: string) => request<ShadowLinks>('GET', `/bots/${enc(id)}/shadow`),
    /** `POST /bots/{id}/shadow`: a paper shadow fed the bot's signals, with a config merge patch (its version). */
    createShadow: (id: string, shadow: string, patch: Record<string, unknown>) =>
      request<unknown>('POST', `/bots/${enc(id)}/shadow`, { id: shadow, patch }),
    /** `POST /bots/{id}/promote`: apply the shadow's version to the bot (audited; forced needs a reason). */
    promote: (id: string, shadow: string, period: string, force: boolean, reason?: string) =>
      request<unknown>('POST', `/bots/${enc(id)}/promote`, { shadow, period, force, ...(reason ? { reason } : {}) }),
    platformPnl: () => request('GET', '/pnl', undefined, N.pnlPerBot),
    /** `GET /portfolio`: every scope with its use of the limits. */
    portfolio: () => request<PortfolioScope[]>('GET', '/portfolio'),
    /** `PUT /portfolio/scopes/{name}`: create or change a scope (audited). */
    setScope: (name: string, spec: PortfolioScopeSpec) => request<PortfolioScope>('PUT', `/portfolio/scopes/${enc(name)}`, spec),
    /** `DELETE /portfolio/scopes/{name}` (audited). */
    deleteScope: (name: string) => request<unknown>('DELETE', `/portfolio/scopes/${enc(name)}`),
    /** `POST /portfolio/scopes/{name}/halt|resume` (audited). */
    haltScope: (name: string, halted: boolean, reason?: string) =>
      request<PortfolioScope>('POST', `/portfolio/scopes/${enc(name)}/${halted ? 'halt' : 'resume'}`, { reason: reason ?? null }),
    /** `POST /portfolio/allocation`: a rebalancing proposal (moves nothing). */
    allocate: (body: Record<string, unknown>) => request<AllocationProposal>('POST', '/portfolio/allocation', body),
    /** `POST /portfolio/allocation/accept`: books the proposal's transfers (audited per bot). */
    acceptAllocation: (proposal: AllocationProposal) =>
      request<{ proposal_id: string; bots: { bot_id: string; status: string }[] }>('POST', '/portfolio/allocation/accept', {
        proposal_id: proposal.proposal_id,
        transfers: proposal.transfers,
      }),
    market: (id: string, q: { symbol?: string; timeframe?: string; limit?: number } = {}) => {
      const qs = Object.entries(q)
        .filter(([, v]) => v !== undefined && v !== '')
        .map(([k, v]) => `${k}=${enc(String(v))}`)
        .join('&');
      return request('GET', `/bots/${enc(id)}/market${qs ? `?${qs}` : ''}`, undefined, N.market);
    },
    strategy: (id: string) => request('GET', `/bots/${enc(id)}/strategy`, undefined, N.strategyView),
    runStrategy: (id: string) => request('POST', `/bots/${enc(id)}/strategy`, {}, N.action),
    bookCapital: (id: string, amount: Decimal, transferId: string) =>
      request('POST', `/bots/${enc(id)}/capital`, { amount, id: transferId }, N.capitalBooked),
    versions: (id: string) => request('GET', `/bots/${enc(id)}/versions`, undefined, N.versions),
    patchBot: (id: string, patch: Record<string, unknown>) => request('PATCH', `/bots/${enc(id)}`, patch, N.patched),
    signalChain: (signalId: string) => request('GET', `/signals/${enc(signalId)}`, undefined, N.signalChain),
    createToken: (role: Role, name: string) => request<CreatedToken>('POST', '/tokens', { role, name }),
    strategies: () => request<StrategyCatalogue>('GET', '/strategies'),
    validateSpec: (spec: unknown, params: Record<string, number>) =>
      request<SpecValidation>('POST', '/strategies/validate', { spec, params }),
    /** `POST /optimize`: a bounded parameter search's report (normalised by `optimize.ts`). */
    optimize: (body: Record<string, unknown>) => request<unknown>('POST', '/optimize', body),
    /** `POST /backtest`: the JSON report (normalised by `backtest.ts`). */
    backtest: (body: Record<string, unknown>) => request<unknown>('POST', '/backtest', body),
    /** `GET /calls`: every call with its first (scored) and latest versions. */
    calls: () => request<CallList>('GET', '/calls'),
    /** `GET /calls/leaderboard`: sources by the lower bound of mean R. */
    callLeaderboard: () => request<{ sources: SourceStats[] }>('GET', '/calls/leaderboard'),
    /** `POST /calls`: record a pasted channel message. */
    createCall: (source: string, call_id: string, text: string) => request<CallVersion>('POST', '/calls', { source, call_id, text }),
    /** `GET /chat`: Telegram chat control settings (docs/chat.md), never the secrets. */
    chatSettings: () => request<ChatSettings>('GET', '/chat'),
    /** `PUT /chat`: set the fields given (a field left out is kept). */
    setChatSettings: (body: ChatSettingsUpdate) => request<ChatSettings>('PUT', '/chat', body),
    /** The same run as the self-contained HTML report (`?format=html`); errors as for JSON. */
    backtestHtml: async (body: Record<string, unknown>): Promise<string> => {
      let res: Response;
      try {
        res = await doFetch(`${base}/backtest?format=html`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${opts.token}`, Accept: 'text/html', 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
      } catch (e) {
        throw new ApiError(0, { code: 'network', message: `network error: ${e instanceof Error ? e.message : String(e)}` });
      }
      const text = await res.text();
      if (res.ok) return text;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      throw new ApiError(
        res.status,
        isErrorBody(parsed) ? parsed : { code: `http_${res.status}`, message: text.trim() || `HTTP ${res.status}` },
      );
    },
  };
}

/** The client type the components receive. */
export type Client = ReturnType<typeof createClient>;
