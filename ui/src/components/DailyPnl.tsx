/**
 * Daily P&L bars from the P&L document's `by_day` (realized − fees + funding per UTC day, added
 * exactly), green above the zero line and red below. Plain CSS bars: bar heights are the only
 * floats, the labels are the exact figures formatted in the bot's currency.
 */
import type { Pnl } from '../api';
import { pnlClass } from '../money';
import { signedAmount, signedMoney, sub, sum } from '../numbers';

/** Net P&L of each day, oldest first (the last `days`). */
export function dailyNet(pnl: Pnl, days = 30): { date: string; net: string }[] {
  return pnl.by_day.slice(-days).map((d) => ({ date: d.date, net: sub(sum([d.realized, d.funding]), d.fees_quote) }));
}

/** The bar chart, or a note when there is no day yet. */
export function DailyPnl({ pnl }: { pnl: Pnl }) {
  const days = dailyNet(pnl);
  if (days.length === 0) return <p className="muted">No daily P&amp;L yet.</p>;
  const max = Math.max(...days.map((d) => Math.abs(Number(d.net))), Number.MIN_VALUE);
  return (
    <div className="daily" data-testid="daily-pnl">
      {days.map((d) => {
        const v = Number(d.net);
        const h = Number.isFinite(v) ? Math.max(2, (Math.abs(v) / max) * 100) : 0;
        return (
          <div
            className="day"
            key={d.date}
            title={`${d.date}: ${signedMoney(d.net, pnl.quote_asset)} (exact ${d.net})`}
            data-testid="daily-bar"
          >
            <div className="half up">{v > 0 && <div className="bar-v pos-bg" style={{ height: `${h}%` }} />}</div>
            <div className="half down">{v < 0 && <div className="bar-v neg-bg" style={{ height: `${h}%` }} />}</div>
            <div className={`small num ${pnlClass(d.net)}`}>{signedAmount(d.net, pnl.quote_asset)}</div>
            <div className="muted small">{d.date.slice(5)}</div>
          </div>
        );
      })}
    </div>
  );
}
