/** One bot in depth: controls, P&L chart, risk usage, positions, orders, fills, signals, audit. */
import { lazy, Suspense } from 'react';
import { useSession } from '../context';
import { usePoll } from '../hooks';
import { AuditTimeline } from './AuditTimeline';
import { CircuitBadge, ModeBadge, StateBadge } from './Badges';
import { BotActions } from './BotActions';
import { CredentialsForm } from './CredentialsForm';
import { PnlSummary } from './PnlSummary';
import { RiskUsage } from './RiskUsage';
import { SignalsList } from './SignalsList';
import { Status } from './Status';
import { FillsTable, OrdersTable, PositionsTable } from './Tables';
import { WebhookInfo } from './WebhookInfo';

/** The chart library is the largest dependency: loaded only when a bot page is opened. */
const PnlChart = lazy(() => import('./PnlChart').then((m) => ({ default: m.PnlChart })));

/** A titled panel; `wide` spans both grid columns. */
function Panel({ title, wide, children }: { title: string; wide?: boolean; children: React.ReactNode }) {
  return (
    <section className={`panel ${wide ? 'wide' : ''}`}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** Everything polled every 5 s; each section shows its own loading/error state. */
export function BotPage({ id }: { id: string }) {
  const { client, canWrite } = useSession();
  const bot = usePoll(() => client.getBot(id), `bot-${id}`);
  const health = usePoll(() => client.botHealth(id), `health-${id}`);
  const pnl = usePoll(() => client.pnl(id), `pnl-${id}`);
  const history = usePoll(() => client.pnlHistory(id), `hist-${id}`);
  const positions = usePoll(() => client.positions(id), `pos-${id}`);
  const orders = usePoll(() => client.openOrders(id), `ord-${id}`);
  const fills = usePoll(() => client.fills(id), `fills-${id}`);
  const signals = usePoll(() => client.signals(id), `sig-${id}`);
  const refresh = () => {
    bot.reload();
    health.reload();
    positions.reload();
    orders.reload();
    pnl.reload();
  };
  const cfg = bot.data?.config;
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
        <Panel title="P&L" wide>
          <Status loading={pnl.loading} error={pnl.error} hasData={!!pnl.data} />
          {pnl.data && <PnlSummary pnl={pnl.data} />}
          <Status loading={history.loading} error={history.error} hasData={!!history.data} />
          <Suspense fallback={<div className="muted">Loading chart…</div>}>
            <PnlChart points={history.data ?? []} />
          </Suspense>
        </Panel>
        <Panel title="Positions">
          <Status loading={positions.loading} error={positions.error} hasData={!!positions.data} />
          {positions.data && <PositionsTable rows={positions.data} />}
        </Panel>
        <Panel title="Risk limits">
          <Status loading={health.loading} error={health.error} hasData={!!health.data} />
          {health.data && <RiskUsage usage={health.data.risk_usage} />}
          {health.data && <p className="muted small">Audit outbox depth: {health.data.outbox_depth}</p>}
        </Panel>
        <Panel title="Open orders" wide>
          <Status loading={orders.loading} error={orders.error} hasData={!!orders.data} />
          {orders.data && <OrdersTable rows={orders.data} />}
        </Panel>
        <Panel title="Recent fills" wide>
          <Status loading={fills.loading} error={fills.error} hasData={!!fills.data} />
          {fills.data && <FillsTable rows={fills.data} />}
        </Panel>
        <Panel title="Recent signals" wide>
          <Status loading={signals.loading} error={signals.error} hasData={!!signals.data} />
          {signals.data && <SignalsList rows={signals.data} />}
        </Panel>
        <Panel title="Webhook">
          <WebhookInfo botId={id} />
        </Panel>
        {canWrite && (
          <Panel title="Exchange credentials">
            <CredentialsForm botId={id} />
          </Panel>
        )}
        <Panel title="Audit timeline" wide>
          <AuditTimeline key={id} botId={id} />
        </Panel>
      </div>
    </main>
  );
}
