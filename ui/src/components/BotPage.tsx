/**
 * One bot in depth: controls; the traded instrument's candles with the bot's entries and exits;
 * P&L with win rate, daily bars and the equity curve; positions; round trips; risk usage; open
 * orders, fills and signals; the readable audit timeline; config editing with a reviewed diff.
 * Every price and quantity is shown at the instrument's tick and lot step.
 */
import { lazy, Suspense, useMemo, useState } from 'react';
import type { Fill } from '../api';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { rememberRules, ruleKey, useRules } from '../market';
import { pnlClass, shortTime } from '../money';
import { price, qty, signedAmount, type Precision } from '../numbers';
import { roundTrips, winRate, type Trip } from '../trips';
import { AnalyticsPanel } from './AnalyticsPanel';
import { AuditTimeline } from './AuditTimeline';
import { CircuitBadge, ModeBadge, StateBadge } from './Badges';
import { BotActions } from './BotActions';
import { CapitalForm } from './CapitalForm';
import { ConfigEditor } from './ConfigEditor';
import { CredentialsForm } from './CredentialsForm';
import { DailyPnl } from './DailyPnl';
import { PnlSummary } from './PnlSummary';
import { RiskUsage } from './RiskUsage';
import { SignalsList } from './SignalsList';
import { Status } from './Status';
import { RegimePanel } from './RegimePanel';
import { StrategyPanel } from './StrategyPanel';
import { FillsTable, OrdersTable, PositionsTable } from './Tables';
import { WebhookInfo } from './WebhookInfo';

/** The chart library is the largest dependency: loaded only when a bot page is opened. */
const PnlChart = lazy(() => import('./PnlChart').then((m) => ({ default: m.PnlChart })));
const PriceChart = lazy(() => import('./PriceChart').then((m) => ({ default: m.PriceChart })));

/** Candle intervals offered above the chart. */
const TIMEFRAMES = ['1m', '5m', '15m', '1h', '4h', '1d'];
/** Candles refresh every 30 s: a bar of 1 m or more changes little faster than that. */
const MARKET_POLL_MS = 30_000;

/** A titled panel; `wide` spans both grid columns. */
function Panel({ title, wide, children, testId }: { title: string; wide?: boolean; children: React.ReactNode; testId?: string }) {
  return (
    <section className={`panel ${wide ? 'wide' : ''}`} data-testid={testId}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** Round trips, newest first, with per-trade P&L. */
function TripsTable({ trips, rules, quote }: { trips: Trip[]; rules: (s: string) => Precision | null; quote: string }) {
  if (trips.length === 0) return <p className="muted">No trades yet.</p>;
  return (
    <table className="table stack" data-testid="round-trips">
      <thead>
        <tr>
          <th>Opened</th>
          <th>Instrument</th>
          <th>Side</th>
          <th className="num">Qty</th>
          <th className="num">Entry</th>
          <th className="num">Exit</th>
          <th>Closed</th>
          <th className="num">P&amp;L ({quote})</th>
        </tr>
      </thead>
      <tbody>
        {trips.map((t) => {
          const r = rules(t.instrument);
          return (
            <tr key={`${t.instrument}-${t.entry_time}`} data-testid="trip-row">
              <td data-label="Opened">{shortTime(t.entry_time)}</td>
              <td data-label="Instrument">{t.instrument}</td>
              <td data-label="Side" className={t.side === 'long' ? 'buy' : 'sell'}>
                {t.side}
              </td>
              <td data-label="Qty" className="num" title={t.qty} data-step={r?.step ?? undefined}>
                {qty(t.qty, r)}
              </td>
              <td data-label="Entry" className="num" title={t.entry_price} data-tick={r?.tick ?? undefined}>
                {price(t.entry_price, r)}
              </td>
              <td
                data-label="Exit"
                className="num"
                title={t.exit_price ?? undefined}
                data-tick={t.exit_price ? (r?.tick ?? undefined) : undefined}
              >
                {t.exit_price ? price(t.exit_price, r) : '—'}
              </td>
              <td data-label="Closed">{t.exit_time ? shortTime(t.exit_time) : <span className="badge state-running">open</span>}</td>
              <td data-label="P&L" className={`num ${pnlClass(t.pnl)}`} title={t.pnl ? `${t.pnl} (fees ${t.fees})` : undefined}>
                {t.pnl ? signedAmount(t.pnl, quote) : '—'}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Everything polled every 5 s (candles every 30 s); each section shows its own loading/error state. */
export function BotPage({ id }: { id: string }) {
  const { client, canWrite } = useSession();
  const bot = usePoll(() => client.getBot(id), `bot-${id}`);
  const health = usePoll(() => client.botHealth(id), `health-${id}`);
  const pnl = usePoll(() => client.pnl(id), `pnl-${id}`);
  const history = usePoll(() => client.pnlHistory(id), `hist-${id}`);
  const positions = usePoll(() => client.positions(id), `pos-${id}`);
  const orders = usePoll(() => client.openOrders(id), `ord-${id}`);
  const fills = usePoll(() => client.fills(id, 500), `fills-${id}`);
  const signals = usePoll(() => client.signals(id), `sig-${id}`);
  const cfg = bot.data?.config;
  const exact = (cfg?.instruments ?? []).filter((s) => /^[A-Z0-9]+$/.test(s));
  const seen = [...new Set([...(positions.data ?? []).map((p) => p.instrument), ...(fills.data ?? []).map((f) => f.instrument)])];
  const symbols = [...new Set([...exact, ...seen])];
  const [chosen, setChosen] = useState<string | null>(null);
  const [tf, setTf] = useState<string | null>(null);
  const symbol = chosen ?? symbols[0] ?? '';
  const timeframe = tf ?? (cfg as { timeframe?: string } | undefined)?.timeframe ?? '1h';
  const market = usePoll(
    () =>
      symbol
        ? client.market(id, { symbol, timeframe, limit: 300 }).then((m) => {
            rememberRules(id, m.symbol, { tick: m.tick_size, step: m.step_size });
            return m;
          })
        : Promise.resolve(null),
    `market-${id}-${symbol}-${timeframe}`,
    MARKET_POLL_MS,
  );
  const ruleMap = useRules(
    client,
    symbols.map((s) => ({ botId: id, symbol: s })),
  );
  const rules = (s: string): Precision | null => ruleMap[ruleKey(id, s)] ?? null;
  const quote = pnl.data?.quote_asset || market.data?.quote_asset || 'USDT';
  const fillRows: Fill[] = useMemo(() => fills.data ?? [], [fills.data]);
  const steps = Object.fromEntries(symbols.map((s) => [s, ruleMap[ruleKey(id, s)]?.step ?? null]));
  const trips = roundTrips(fillRows, steps);
  const wr = winRate(trips);
  const refresh = () => {
    bot.reload();
    health.reload();
    positions.reload();
    orders.reload();
    pnl.reload();
  };
  const state = health.data?.state ?? bot.data?.state;

  return (
    <main data-testid="bot-page">
      <div className="row between wrap">
        <div>
          <h1>{cfg?.name || id}</h1>
          <div className="row wrap small">
            <span className="muted">{id}</span>
            {cfg && <ModeBadge mode={cfg.mode} />}
            {state && <StateBadge state={state} />}
            {health.data && <CircuitBadge circuit={health.data.circuit} />}
            {cfg && (
              <span className="muted">
                {cfg.exchange} {cfg.market} · {cfg.instruments.join(', ')} · config v{bot.data?.config_version}
              </span>
            )}
          </div>
        </div>
        <BotActions botId={id} state={state} onDone={refresh} />
      </div>
      <Status loading={bot.loading} error={bot.error} hasData={!!bot.data} />
      {health.data?.attention_reason && (
        <div className="banner warn" role="alert">
          Needs attention: {health.data.attention_reason}
        </div>
      )}
      <div className="grid">
        <Panel title={`Chart ${symbol}`} wide testId="chart-panel">
          <div className="row wrap chart-controls">
            {symbols.length > 1 && (
              <select value={symbol} onChange={(e) => setChosen(e.target.value)} aria-label="Instrument" data-testid="chart-symbol">
                {symbols.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            )}
            <div className="tabs" role="group" aria-label="Timeframe">
              {TIMEFRAMES.map((t) => (
                <button key={t} className={t === timeframe ? 'active' : ''} onClick={() => setTf(t)} data-testid={`tf-${t}`}>
                  {t}
                </button>
              ))}
            </div>
            {market.data && (
              <span className="muted small" data-testid="instrument-rules">
                tick {market.data.tick_size ? price(market.data.tick_size, { tick: market.data.tick_size, step: null }) : '—'} · step{' '}
                {market.data.step_size ? qty(market.data.step_size, { tick: null, step: market.data.step_size }) : '—'}
              </span>
            )}
          </div>
          <Status loading={market.loading} error={market.error} hasData={!!market.data} />
          <Suspense fallback={<div className="muted">Loading chart…</div>}>
            <PriceChart
              loaded={market.data !== undefined || market.error !== null}
              candles={market.data?.candles ?? []}
              fills={fillRows}
              symbol={symbol}
              timeframe={timeframe}
              tick={market.data?.tick_size ?? null}
              orders={orders.data}
            />
          </Suspense>
        </Panel>
        {bot.data && (cfg as { source?: string } | undefined)?.source === 'strategy' && (
          <StrategyPanel botId={id} configVersion={bot.data.config_version} onSaved={refresh} />
        )}
        {bot.data && (cfg as { source?: string } | undefined)?.source === 'strategy' && <RegimePanel botId={id} />}
        <Panel title="P&L" wide>
          <Status loading={pnl.loading} error={pnl.error} hasData={!!pnl.data} />
          {pnl.data && <PnlSummary pnl={pnl.data} />}
          <div className="figures trade-stats" data-testid="trade-stats">
            <div className="figure">
              <div className="muted small">Win rate</div>
              <div className="big" data-testid="win-rate">
                {wr.pct == null ? '—' : `${wr.pct.toFixed(0)}%`}
              </div>
              <div className="muted small">
                {wr.wins} of {wr.closed} closed trade(s)
              </div>
            </div>
          </div>
          <h3>Daily P&amp;L</h3>
          {pnl.data && <DailyPnl pnl={pnl.data} />}
          <h3>Equity</h3>
          <Status loading={history.loading} error={history.error} hasData={!!history.data} />
          <Suspense fallback={<div className="muted">Loading chart…</div>}>
            <PnlChart points={history.data ?? []} />
          </Suspense>
        </Panel>
        <AnalyticsPanel botId={id} />
        <Panel title="Positions" wide testId="positions-panel">
          <Status loading={positions.loading} error={positions.error} hasData={!!positions.data} />
          {positions.data && <PositionsTable rows={positions.data} rules={rules} quote={quote} />}
        </Panel>
        <Panel title="Round trips" wide>
          <Status loading={fills.loading} error={fills.error} hasData={!!fills.data} />
          {fills.data && <TripsTable trips={trips} rules={rules} quote={quote} />}
        </Panel>
        <Panel title="Risk limits">
          <Status loading={health.loading} error={health.error} hasData={!!health.data} />
          {health.data && <RiskUsage usage={health.data.risk_usage} quote={quote} />}
          {health.data && (
            <p className="muted small">
              Audit outbox depth: {health.data.outbox_depth} · last cron tick{' '}
              {health.data.last_tick_at ? shortTime(health.data.last_tick_at) : 'never'}
            </p>
          )}
        </Panel>
        <Panel title="Webhook">
          <WebhookInfo botId={id} />
        </Panel>
        <Panel title="Open orders" wide>
          <Status loading={orders.loading} error={orders.error} hasData={!!orders.data} />
          {orders.data && <OrdersTable rows={orders.data} rules={rules} />}
        </Panel>
        <Panel title="Recent fills" wide>
          <Status loading={fills.loading} error={fills.error} hasData={!!fills.data} />
          {fills.data && <FillsTable rows={fills.data.slice(0, 50)} rules={rules} />}
        </Panel>
        <Panel title="Recent signals" wide>
          <Status loading={signals.loading} error={signals.error} hasData={!!signals.data} />
          {signals.data && <SignalsList rows={signals.data} />}
        </Panel>
        <Panel title="Config" wide testId="config-panel">
          {bot.data && <ConfigEditor botId={id} detail={bot.data} onSaved={refresh} />}
        </Panel>
        {canWrite && (
          <Panel title="Exchange credentials">
            <CredentialsForm botId={id} />
            <h3>Capital</h3>
            <CapitalForm botId={id} quote={quote} onDone={refresh} />
          </Panel>
        )}
        <Panel title="Audit timeline" wide={!canWrite}>
          <AuditTimeline key={id} botId={id} rules={rules} quote={quote} />
        </Panel>
      </div>
    </main>
  );
}
