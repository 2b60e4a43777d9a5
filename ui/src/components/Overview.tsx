/** Overview: every bot on one screen, refreshed every 5 s. */
import type { BotSummary } from '../api';
import { useSession } from '../context';
import { usePoll, useNow } from '../hooks';
import { age, formatSigned, pnlClass } from '../money';
import { href } from '../route';
import { CircuitBadge, ModeBadge, StateBadge } from './Badges';
import { Status } from './Status';

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
      <td data-label="Today P&L" className={`num ${pnlClass(bot.today_pnl)}`}>
        {formatSigned(bot.today_pnl)} <span className="muted small">{bot.quote_asset}</span>
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

/** The overview page. */
export function Overview() {
  const { client, canWrite } = useSession();
  const bots = usePoll(() => client.listBots(), 'bots');
  const now = useNow();
  return (
    <main>
      <div className="row between">
        <h1>Bots</h1>
        {canWrite && (
          <a className="button primary" href={href({ page: 'new' })} data-testid="new-bot">
            New bot
          </a>
        )}
      </div>
      <Status loading={bots.loading} error={bots.error} hasData={!!bots.data} />
      {bots.data && bots.data.length === 0 && <p className="muted">No bots yet.</p>}
      {bots.data && bots.data.length > 0 && (
        <table className="table stack" data-testid="bots-table">
          <thead>
            <tr>
              <th>Bot</th>
              <th>Mode</th>
              <th>State</th>
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
    </main>
  );
}
