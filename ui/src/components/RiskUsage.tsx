/** Risk limits with their current use ("daily loss used 40 of 100"), as bars that turn red near the limit. */
import type { BotHealth } from '../api';
import { fixed, formatUsage } from '../format';
import { usagePct } from '../money';
import { amount } from '../numbers';

/** A rule's use at a readable precision: money rules in the quote currency, percentages to 0.01. */
export function usedText(rule: string, used: string | number, quote: string): string {
  const u = String(used);
  if (/loss|notional|pnl/.test(rule)) return amount(u, quote);
  if (/pct/.test(rule)) return fixed(u, 2);
  return u;
}

/** One bar per rule from `GET /bots/{id}/health`.risk_usage. */
export function RiskUsage({ usage, quote = 'USDT' }: { usage: BotHealth['risk_usage']; quote?: string }) {
  const rules = Object.entries(usage);
  if (rules.length === 0) return <p className="muted">No risk usage reported.</p>;
  return (
    <ul className="plain risk" data-testid="risk-usage">
      {rules.map(([rule, { used, limit }]) => {
        const pct = limit == null ? 0 : usagePct(used, limit);
        const level = pct >= 90 ? 'high' : pct >= 60 ? 'mid' : 'low';
        return (
          <li key={rule}>
            <div className="row between small">
              <span>{rule.replace(/_/g, ' ')}</span>
              <span title={`used ${String(used)}, limit ${limit == null ? 'none' : String(limit)}`}>
                {formatUsage(usedText(rule, used, quote), limit)}
              </span>
            </div>
            <div className="bar" role="meter" aria-label={rule} aria-valuenow={Math.round(pct)} aria-valuemin={0} aria-valuemax={100}>
              <div className={`fill ${level}`} style={{ width: `${pct}%` }} />
            </div>
          </li>
        );
      })}
    </ul>
  );
}
