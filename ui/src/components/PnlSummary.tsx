/**
 * The P&L figures of one bot in its quote currency (cents for USD-like assets, the shared money
 * rule), the ledger's exact value on hover, with fees broken down by asset.
 */
import type { Pnl } from '../api';
import { formatMoney } from '../format';
import { pnlClass, shortTime } from '../money';
import { amount, signedAmount } from '../numbers';

function Figure({ label, value, currency, testId }: { label: string; value: string; currency: string; testId?: string }) {
  return (
    <div className="figure">
      <div className="muted small">{label}</div>
      <div className={`big ${pnlClass(value)}`} data-testid={testId} title={value}>
        {signedAmount(value, currency)}
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
        <Figure label={`Net (${pnl.quote_asset})`} value={pnl.net} currency={pnl.quote_asset} testId="pnl-net" />
        <Figure label="Realized" value={pnl.realized} currency={pnl.quote_asset} testId="pnl-realized" />
        <Figure label="Unrealized" value={pnl.unrealized} currency={pnl.quote_asset} />
        <Figure label="Funding" value={pnl.funding} currency={pnl.quote_asset} />
        <div className="figure">
          <div className="muted small">Fees ({pnl.quote_asset})</div>
          <div className="big" title={pnl.fees.total_quote}>
            {amount(pnl.fees.total_quote, pnl.quote_asset)}
          </div>
        </div>
      </div>
      <h3>Fees by asset</h3>
      {fees.length === 0 ? (
        <p className="muted">No fees paid.</p>
      ) : (
        <table className="table" data-testid="fees-by-asset">
          <tbody>
            {fees.map(([asset, value]) => (
              <tr key={asset}>
                <td>{asset}</td>
                <td className="num" title={value}>
                  {formatMoney(value, asset)}
                </td>
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
