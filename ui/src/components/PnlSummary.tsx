/** The P&L figures of one bot exactly as the ledger reports them, with fees broken down by asset. */
import type { Pnl } from '../api';
import { formatDecimal, formatSigned, pnlClass, shortTime } from '../money';

function Figure({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="figure">
      <div className="muted small">{label}</div>
      <div className={`big ${pnlClass(value)}`} data-testid={testId}>
        {formatSigned(value)}
      </div>
    </div>
  );
}

/** Net, realized, unrealized, funding, fees; fees by asset below. */
export function PnlSummary({ pnl }: { pnl: Pnl }) {
  const fees = Object.entries(pnl.fees.by_asset);
  return (
    <div data-testid="pnl-summary">
      <div className="figures">
        <Figure label={`Net (${pnl.quote_asset})`} value={pnl.net} testId="pnl-net" />
        <Figure label="Realized" value={pnl.realized} testId="pnl-realized" />
        <Figure label="Unrealized" value={pnl.unrealized} />
        <Figure label="Funding" value={pnl.funding} />
        <div className="figure">
          <div className="muted small">Fees ({pnl.quote_asset})</div>
          <div className="big">{formatDecimal(pnl.fees.total_quote)}</div>
        </div>
      </div>
      <h3>Fees by asset</h3>
      {fees.length === 0 ? (
        <p className="muted">No fees paid.</p>
      ) : (
        <table className="table" data-testid="fees-by-asset">
          <tbody>
            {fees.map(([asset, amount]) => (
              <tr key={asset}>
                <td>{asset}</td>
                <td className="num">{formatDecimal(amount)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted small">
        Method {pnl.method.replace('_', ' ')} · as of {shortTime(pnl.as_of)}
      </p>
    </div>
  );
}
