/** Risk limits with their current use ("daily loss used 40 of 100"), as bars that turn red near the limit. */
import type { BotHealth } from '../api';
import { formatUsage } from '../format';
import { usagePct } from '../money';

/** One bar per rule from `GET /bots/{id}/health`.risk_usage. */
export function RiskUsage({ usage }: { usage: BotHealth['risk_usage'] }) {
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
              <span title={`used ${String(used)}, limit ${limit == null ? 'none' : String(limit)}`}>{formatUsage(used, limit)}</span>
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
