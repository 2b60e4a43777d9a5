/**
 * Overview: the trader's home. Portfolio totals, platform health, positions and open orders
 * across bots, open alerts, risk usage against limits, recent signals and every bot, refreshed by
 * short polling (each section keeps its last data while a refresh runs, so nothing flickers).
 */
import type { BotHealth, BotSummary, Order, Pnl, Position, SignalSummary } from '../api';
import { useSession } from '../context';
import { usePoll, useNow } from '../hooks';
import { ruleKey, useRules } from '../market';
import { formatUsage } from '../format';
import { age, pnlClass, shortTime, usagePct } from '../money';
import { amount, price, qty, signedAmount, sum } from '../numbers';
import { href } from '../route';
import { CircuitBadge, ModeBadge, StateBadge } from './Badges';
import { usedText } from './RiskUsage';
import { Status } from './Status';
import { PositionCells } from './Tables';

/** One bot as a table row (a card on phones, via CSS and data-label). */
export function BotRow({ bot, now }: { bot: BotSummary; now: number }) {
  return (
    <tr data-testid={`bot-row-${bot.id}`}>
      <td data-label="Bot">
        <a href={href({ page: 'bot', id: bot.id })}>{bot.name || bot.id}</a>
        <div className="muted small">
          {bot.id} · {bot.exchange} {bot.market}
        </div>
        {bot.error && <div className="neg small">{bot.error}</div>}
      </td>
      <td data-label="Mode">
        <ModeBadge mode={bot.mode} />
      </td>
      <td data-label="State">
        <StateBadge state={bot.state} />
      </td>
      <td data-label="Equity" className="num" title={bot.equity ?? undefined}>
        <span>
          {bot.equity == null ? '—' : amount(bot.equity, bot.quote_asset)} <span className="muted small">{bot.quote_asset}</span>
        </span>
      </td>
      <td data-label="Today P&L" className={`num ${pnlClass(bot.today_pnl)}`} title={bot.today_pnl}>
        <span>
          {signedAmount(bot.today_pnl, bot.quote_asset)} <span className="muted small">{bot.quote_asset}</span>
        </span>
      </td>
      <td data-label="Open positions" className="num">
        {bot.open_positions}
      </td>
      <td data-label="Last signal">{age(bot.last_signal_at, now)}</td>
      <td data-label="Circuit">
        <CircuitBadge circuit={bot.circuit} />
      </td>
      <td data-label="Outbox" className={`num ${bot.outbox_depth > 100 ? 'neg' : ''}`}>
        {bot.outbox_depth}
      </td>
    </tr>
  );
}

/** What the overview reads of each bot besides its summary row. */
export interface BotDetailRow {
  bot: BotSummary;
  health: BotHealth | null;
  positions: Position[];
  orders: Order[];
  signals: SignalSummary[];
}

/** Portfolio totals of one quote currency: exact sums of the bots' figures. */
export interface Totals {
  currency: string;
  equity: string;
  today: string;
  net: string;
  fees: string;
  funding: string;
  bots: number;
}

/** Sums each figure per quote currency (bots in different currencies are never added together). */
export function portfolioTotals(bots: BotSummary[], pnl: Record<string, Pnl>): Totals[] {
  const by = new Map<string, BotSummary[]>();
  for (const b of bots) {
    if (b.error) continue;
    const ccy = pnl[b.id]?.quote_asset || b.quote_asset || 'USDT';
    by.set(ccy, [...(by.get(ccy) ?? []), b]);
  }
  return [...by.entries()].map(([currency, list]) => ({
    currency,
    equity: sum(list.map((b) => b.equity)),
    today: sum(list.map((b) => b.today_pnl)),
    net: sum(list.map((b) => pnl[b.id]?.net)),
    fees: sum(list.map((b) => pnl[b.id]?.fees.total_quote)),
    funding: sum(list.map((b) => pnl[b.id]?.funding)),
    bots: list.length,
  }));
}

function Figure({
  label,
  value,
  currency,
  signed,
  testId,
  exact,
}: {
  label: string;
  value: string;
  currency: string;
  signed?: boolean;
  testId: string;
  exact: string;
}) {
  return (
    <div className="figure">
      <div className="muted small">{label}</div>
      <div className={`big ${signed ? pnlClass(value) : ''}`} data-testid={testId} title={`${exact} ${currency}`}>
        {signed ? signedAmount(value, currency) : amount(value, currency)} <span className="muted small">{currency}</span>
      </div>
    </div>
  );
}

function TotalsPanel({ totals }: { totals: Totals[] }) {
  if (totals.length === 0) return <p className="muted">No bots yet: totals appear with the first bot.</p>;
  return (
    <div className="totals" data-testid="portfolio-totals">
      {totals.map((t) => (
        <div className="figures" key={t.currency} data-testid={`totals-${t.currency}`}>
          <Figure label="Equity" value={t.equity} exact={t.equity} currency={t.currency} testId="total-equity" />
          <Figure label="P&L today" value={t.today} exact={t.today} currency={t.currency} signed testId="total-today" />
          <Figure label="P&L all-time" value={t.net} exact={t.net} currency={t.currency} signed testId="total-net" />
          <Figure label="Fees paid" value={t.fees} exact={t.fees} currency={t.currency} testId="total-fees" />
          <Figure label="Funding" value={t.funding} exact={t.funding} currency={t.currency} signed testId="total-funding" />
        </div>
      ))}
    </div>
  );
}

function Dot({ ok, warn }: { ok: boolean; warn?: boolean }) {
  return <span className={`dot ${ok ? (warn ? 'dot-warn' : 'dot-ok') : 'dot-bad'}`} aria-hidden="true" />;
}

/** Exchanges, Neo4j, the audit outbox and the cron, each with a light and a word. */
function HealthStrip({ rows, now }: { rows: BotDetailRow[]; now: number }) {
  const { client } = useSession();
  const health = usePoll(() => client.health(), 'overview-health', 10_000);
  const h = health.data;
  const ticks = rows.map((r) => r.health?.last_tick_at).filter((t): t is string => !!t);
  const lastTick = ticks.sort().at(-1) ?? null;
  const tickAge = lastTick ? (now - Date.parse(lastTick)) / 1000 : null;
  // The cron fires every minute; three missed minutes is worth a look, fifteen is broken.
  const cronOk = tickAge != null && tickAge < 15 * 60;
  const cronWarn = tickAge != null && tickAge >= 3 * 60;
  return (
    <section className="panel wide" data-testid="platform-health">
      <h2>Health</h2>
      <Status loading={health.loading} error={health.error} hasData={!!h} />
      {h && (
        <ul className="plain health-strip">
          {h.exchange_hosts.map((e) => (
            <li key={e.name} data-testid={`health-exchange-${e.name.replace(/\s+/g, '-')}`} title={e.detail}>
              <Dot ok={e.reachable} /> {e.name.replace(/_/g, ' ')}{' '}
              <span className="muted small">{e.reachable ? 'reachable' : 'unreachable'}</span>
            </li>
          ))}
          <li data-testid="health-neo4j">
            <Dot ok={h.neo4j_state === 'reachable' || h.neo4j_state === 'not_configured'} warn={h.neo4j_state === 'not_configured'} /> Neo4j{' '}
            <span className="muted small">{h.neo4j_state.replace('_', ' ')}</span>
          </li>
          <li data-testid="health-outbox">
            {/* Without Neo4j the outbox grows by design: a warning, not a failure. */}
            <Dot
              ok={(h.audit_outbox_depth ?? 0) <= 100 || h.neo4j_state === 'not_configured'}
              warn={(h.audit_outbox_depth ?? 0) > 0}
            />{' '}
            Audit outbox <span className="muted small">{h.audit_outbox_depth == null ? '—' : `${h.audit_outbox_depth} unshipped`}</span>
          </li>
          <li data-testid="health-cron" title={lastTick ?? 'no bot has been ticked'}>
            <Dot ok={cronOk} warn={cronWarn} /> Cron{' '}
            <span className="muted small">{lastTick ? `last tick ${age(lastTick, now)} ago` : 'never ticked'}</span>
          </li>
          <li data-testid="health-halt">
            <Dot ok={!h.halted} /> Platform <span className="muted small">{h.halted ? 'halted' : 'trading'}</span>
          </li>
        </ul>
      )}
    </section>
  );
}

function PositionsAcross({ rows }: { rows: BotDetailRow[] }) {
  const { client } = useSession();
  const list = rows.flatMap((r) => r.positions.map((p) => ({ bot: r.bot, p })));
  const rules = useRules(
    client,
    list.map(({ bot, p }) => ({ botId: bot.id, symbol: p.instrument })),
  );
  if (list.length === 0) return <p className="muted">No open positions.</p>;
  return (
    <table className="table stack" data-testid="all-positions">
      <thead>
        <tr>
          <th>Bot</th>
          <th>Instrument</th>
          <th className="num">Qty</th>
          <th className="num">Avg entry</th>
          <th className="num">Mark</th>
          <th className="num">Unrealized</th>
        </tr>
      </thead>
      <tbody>
        {list.map(({ bot, p }) => {
          const r = rules[ruleKey(bot.id, p.instrument)];
          return (
            <tr key={`${bot.id}-${p.instrument}`} data-testid="overview-position">
              <td data-label="Bot">
                <a href={href({ page: 'bot', id: bot.id })}>{bot.name || bot.id}</a>
              </td>
              <PositionCells p={p} r={r} quote={bot.quote_asset} />
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function OrdersAcross({ rows }: { rows: BotDetailRow[] }) {
  const { client } = useSession();
  const list = rows.flatMap((r) => r.orders.map((o) => ({ bot: r.bot, o })));
  const rules = useRules(
    client,
    list.map(({ bot, o }) => ({ botId: bot.id, symbol: o.instrument })),
  );
  if (list.length === 0) return <p className="muted">No open orders.</p>;
  return (
    <table className="table stack" data-testid="all-orders">
      <thead>
        <tr>
          <th>Bot</th>
          <th>Instrument</th>
          <th>Side</th>
          <th>Type</th>
          <th className="num">Qty</th>
          <th className="num">Price</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {list.map(({ bot, o }) => {
          const r = rules[ruleKey(bot.id, o.instrument)];
          return (
            <tr key={`${bot.id}-${o.client_order_id}`} data-testid="overview-order" title={o.client_order_id}>
              <td data-label="Bot">
                <a href={href({ page: 'bot', id: bot.id })}>{bot.name || bot.id}</a>
              </td>
              <td data-label="Instrument">{o.instrument}</td>
              <td data-label="Side" className={o.side}>
                {o.side}
              </td>
              <td data-label="Type">{o.order_type.replace(/_/g, ' ')}</td>
              <td data-label="Qty" className="num" title={o.qty}>
                {o.qty.endsWith('(quote)') ? o.qty : qty(o.qty, r)}
              </td>
              <td data-label="Price" className="num" title={o.price ?? undefined}>
                {o.price ? price(o.price, r) : 'market'}
              </td>
              <td data-label="Status">{o.status.replace(/_/g, ' ')}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function AlertsAcross({ rows, now }: { rows: BotDetailRow[]; now: number }) {
  const alerts = rows.flatMap((r) => (r.health?.alerts ?? []).map((a) => ({ bot: r.bot, a })));
  const attention = rows.filter((r) => r.health?.attention_reason);
  if (alerts.length === 0 && attention.length === 0) return <p className="muted">No open alerts.</p>;
  return (
    <ul className="plain alerts" data-testid="open-alerts">
      {attention.map((r) => (
        <li key={`att-${r.bot.id}`} className="alert-item">
          <span className="badge state-needs_attention">needs attention</span>{' '}
          <a href={href({ page: 'bot', id: r.bot.id })}>{r.bot.name || r.bot.id}</a>: {r.health?.attention_reason}
        </li>
      ))}
      {alerts.map(({ bot, a }) => (
        <li key={`${bot.id}-${a.kind}-${a.subject}`} className="alert-item">
          <span className="badge state-paused">{a.kind.replace(/_/g, ' ')}</span>{' '}
          <a href={href({ page: 'bot', id: bot.id })}>{bot.name || bot.id}</a>: {a.subject}{' '}
          <span className="muted small">
            {a.count > 1 ? `×${a.count} · ` : ''}since {age(a.since, now)}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** The highest-used rule per bot first; unset limits read "—" and draw no bar. */
function RiskAcross({ rows }: { rows: BotDetailRow[] }) {
  const list = rows.filter((r) => r.health);
  if (list.length === 0) return <p className="muted">No risk usage reported.</p>;
  return (
    <table className="table stack risk-table" data-testid="risk-across">
      <thead>
        <tr>
          <th>Bot</th>
          <th>Daily loss</th>
          <th>Drawdown %</th>
          <th>Positions</th>
          <th>Trades today</th>
        </tr>
      </thead>
      <tbody>
        {list.map((r) => (
          <tr key={r.bot.id}>
            <td data-label="Bot">
              <a href={href({ page: 'bot', id: r.bot.id })}>{r.bot.name || r.bot.id}</a>
            </td>
            {['max_daily_loss', 'max_drawdown_pct', 'max_open_positions', 'max_trades_per_day'].map((rule) => {
              const u = r.health?.risk_usage[rule];
              if (!u) return <td key={rule}>—</td>;
              const pct = u.limit == null ? 0 : usagePct(u.used, u.limit);
              const level = pct >= 90 ? 'high' : pct >= 60 ? 'mid' : 'low';
              const shownUsed = usedText(rule, u.used, r.bot.quote_asset);
              return (
                <td
                  key={rule}
                  data-label={rule.replace(/^max_/, '').replace(/_/g, ' ')}
                  title={`used ${String(u.used)}, limit ${u.limit == null ? 'none' : String(u.limit)}`}
                >
                  <span className="small">{formatUsage(shownUsed, u.limit)}</span>
                  {u.limit != null && (
                    <div
                      className="bar"
                      role="meter"
                      aria-label={`${r.bot.id} ${rule}`}
                      aria-valuenow={Math.round(pct)}
                      aria-valuemin={0}
                      aria-valuemax={100}
                    >
                      <div className={`fill ${level}`} style={{ width: `${pct}%` }} />
                    </div>
                  )}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SignalsAcross({ rows, now }: { rows: BotDetailRow[]; now: number }) {
  const list = rows
    .flatMap((r) => r.signals.map((s) => ({ bot: r.bot, s })))
    .sort((a, b) => b.s.received_at.localeCompare(a.s.received_at))
    .slice(0, 12);
  if (list.length === 0) return <p className="muted">No alerts received yet.</p>;
  return (
    <table className="table stack" data-testid="recent-signals">
      <thead>
        <tr>
          <th>When</th>
          <th>Bot</th>
          <th>Action</th>
          <th>Outcome</th>
        </tr>
      </thead>
      <tbody>
        {list.map(({ bot, s }) => (
          <tr key={`${bot.id}-${s.signal_id}`}>
            <td data-label="When" title={shortTime(s.received_at)}>
              {age(s.received_at, now)} ago
            </td>
            <td data-label="Bot">
              <a href={href({ page: 'bot', id: bot.id })}>{bot.name || bot.id}</a>
            </td>
            <td data-label="Action" className="nowrap">
              {s.action} {s.symbol ?? ''}
            </td>
            <td data-label="Outcome">
              <span>
                <a
                  href={href({ page: 'signal', id: s.signal_id })}
                  className={/reject|fail/.test(s.outcome) ? 'neg' : ''}
                  title={s.reason ?? undefined}
                >
                  {s.outcome || '—'}
                </a>
                {s.reason && <span className="muted small block">{s.reason}</span>}
              </span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Most bots whose health, orders and positions the overview reads on each refresh. */
const DETAIL_BOTS = 25;

/**
 * The bots worth a closer look first: needing attention, halted or paused, then holding
 * positions, then by their latest signal. Why a cap: each one costs requests from the API's
 * per-token budget on every refresh; a platform with hundreds of bots lists them all below but
 * details the most active.
 */
export function mostActive(bots: BotSummary[], n: number): BotSummary[] {
  const rank = (b: BotSummary) => (b.state !== 'running' ? 0 : b.open_positions > 0 ? 1 : b.last_signal_at ? 2 : 3);
  return [...bots]
    .sort((a, b) => rank(a) - rank(b) || (b.last_signal_at ?? '').localeCompare(a.last_signal_at ?? '') || a.id.localeCompare(b.id))
    .slice(0, n);
}

/** Per-bot details refresh every 10 s (the bot list and totals every 5 s). */
const DETAILS_POLL_MS = 10_000;
/** Bots whose recent signals the overview lists. */
const SIGNAL_BOTS = 6;

async function settled<T>(p: Promise<T>, fallback: T): Promise<T> {
  try {
    return await p;
  } catch {
    return fallback;
  }
}

/** The overview page. */
export function Overview() {
  const { client, canWrite } = useSession();
  const bots = usePoll(() => client.listBots(), 'bots');
  const pnl = usePoll(() => client.platformPnl(), 'platform-pnl');
  const now = useNow();
  const readable = (bots.data ?? []).filter((b) => !b.error);
  const ids = mostActive(readable, DETAIL_BOTS);
  const details = usePoll(
    async () => {
      // One health read per bot; orders only where some rest, positions only where some are open,
      // signals only for the bots that heard from one most recently: a platform with many bots
      // stays inside the API's per-token budget.
      const healths = await Promise.all(
        ids.map((bot) =>
          settled(
            client.botHealth(bot.id).then((h): BotHealth | null => h),
            null,
          ),
        ),
      );
      const recent = new Set(
        [...ids]
          .filter((b) => b.last_signal_at)
          .sort((a, b) => (b.last_signal_at ?? '').localeCompare(a.last_signal_at ?? ''))
          .slice(0, SIGNAL_BOTS)
          .map((b) => b.id),
      );
      return Promise.all(
        ids.map(async (bot, i) => {
          const health = healths[i];
          const [positions, orders, signals] = await Promise.all([
            bot.open_positions > 0 ? settled(client.positions(bot.id), []) : Promise.resolve([]),
            health == null || health.open_orders > 0 ? settled(client.openOrders(bot.id), []) : Promise.resolve([]),
            recent.has(bot.id) ? settled(client.signals(bot.id, 5), []) : Promise.resolve([]),
          ]);
          return { bot, health, positions, orders, signals } satisfies BotDetailRow;
        }),
      );
    },
    `details-${ids.map((b) => `${b.id}:${b.open_positions}:${b.last_signal_at ?? ''}`).join(',')}`,
    DETAILS_POLL_MS,
  );
  const rows = details.data ?? [];
  const totals = bots.data ? portfolioTotals(bots.data, pnl.data ?? {}) : [];
  return (
    <main data-testid="overview">
      <div className="row between">
        <h1>Portfolio</h1>
        {canWrite && (
          <a className="button primary" href={href({ page: 'new' })} data-testid="new-bot">
            New bot
          </a>
        )}
      </div>
      <Status loading={bots.loading} error={bots.error} hasData={!!bots.data} />
      {bots.data && <TotalsPanel totals={totals} />}
      <div className="grid">
        <HealthStrip rows={rows} now={now} />
        <section className="panel wide">
          <h2>Positions</h2>
          {details.loading && !details.data ? <div className="muted">Loading…</div> : <PositionsAcross rows={rows} />}
        </section>
        <section className="panel wide">
          <h2>Open orders</h2>
          {details.loading && !details.data ? <div className="muted">Loading…</div> : <OrdersAcross rows={rows} />}
        </section>
        <section className="panel">
          <h2>Open alerts</h2>
          {details.loading && !details.data ? <div className="muted">Loading…</div> : <AlertsAcross rows={rows} now={now} />}
        </section>
        <section className="panel">
          <h2>Recent signals</h2>
          {details.loading && !details.data ? <div className="muted">Loading…</div> : <SignalsAcross rows={rows} now={now} />}
        </section>
        <section className="panel wide">
          <h2>Risk usage</h2>
          {readable.length > ids.length && (
            <p className="muted small" data-testid="details-capped">
              Positions, orders, alerts and risk of the {ids.length} most active of {readable.length} bots.
            </p>
          )}
          {details.loading && !details.data ? <div className="muted">Loading…</div> : <RiskAcross rows={rows} />}
        </section>
        <section className="panel wide">
          <h2>Bots</h2>
          {bots.data && bots.data.length === 0 && <p className="muted">No bots yet.</p>}
          {bots.data && bots.data.length > 0 && (
            <table className="table stack" data-testid="bots-table">
              <thead>
                <tr>
                  <th>Bot</th>
                  <th>Mode</th>
                  <th>State</th>
                  <th className="num">Equity</th>
                  <th className="num">Today P&amp;L</th>
                  <th className="num">Positions</th>
                  <th>Last signal</th>
                  <th>Circuit</th>
                  <th className="num">Outbox</th>
                </tr>
              </thead>
              <tbody>
                {bots.data.map((b) => (
                  <BotRow key={b.id} bot={b} now={now} />
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </main>
  );
}
