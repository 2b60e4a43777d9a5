/** Positions, open orders and recent fills of one bot: plain tables, decimals shown as sent. */
import type { Fill, Order, Position } from '../api';
import { formatDecimal, formatSigned, pnlClass, shortTime } from '../money';
import { href } from '../route';

/** Open positions; a negative qty is a short. */
export function PositionsTable({ rows }: { rows: Position[] }) {
  if (rows.length === 0) return <p className="muted">No open positions.</p>;
  return (
    <table className="table stack" data-testid="positions">
      <thead>
        <tr>
          <th>Instrument</th>
          <th className="num">Qty</th>
          <th className="num">Avg entry</th>
          <th className="num">Mark</th>
          <th className="num">Unrealized</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((p) => (
          <tr key={p.instrument}>
            <td data-label="Instrument">{p.instrument}</td>
            <td data-label="Qty" className="num">
              {formatDecimal(p.qty)}
            </td>
            <td data-label="Avg entry" className="num">
              {formatDecimal(p.avg_entry_price)}
            </td>
            <td data-label="Mark" className="num">
              {formatDecimal(p.mark_price)}
            </td>
            <td data-label="Unrealized" className={`num ${pnlClass(p.unrealized)}`}>
              {formatSigned(p.unrealized)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Resting orders. */
export function OrdersTable({ rows }: { rows: Order[] }) {
  if (rows.length === 0) return <p className="muted">No open orders.</p>;
  return (
    <table className="table stack" data-testid="orders">
      <thead>
        <tr>
          <th>Created</th>
          <th>Instrument</th>
          <th>Side</th>
          <th>Type</th>
          <th className="num">Qty</th>
          <th className="num">Filled</th>
          <th className="num">Price</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((o) => (
          <tr key={o.client_order_id} title={o.client_order_id}>
            <td data-label="Created">{shortTime(o.created_at)}</td>
            <td data-label="Instrument">{o.instrument}</td>
            <td data-label="Side" className={o.side}>
              {o.side}
            </td>
            <td data-label="Type">{o.order_type}</td>
            <td data-label="Qty" className="num">
              {formatDecimal(o.qty)}
            </td>
            <td data-label="Filled" className="num">
              {formatDecimal(o.filled_qty)}
            </td>
            <td data-label="Price" className="num">
              {o.price ? formatDecimal(o.price) : 'market'}
            </td>
            <td data-label="Status">{o.status}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Recent fills, newest first, each linked to the signal that caused it. */
export function FillsTable({ rows }: { rows: Fill[] }) {
  if (rows.length === 0) return <p className="muted">No fills yet.</p>;
  return (
    <table className="table stack" data-testid="fills">
      <thead>
        <tr>
          <th>Time</th>
          <th>Instrument</th>
          <th>Side</th>
          <th className="num">Qty</th>
          <th className="num">Price</th>
          <th className="num">Fee</th>
          <th>Signal</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((f) => (
          <tr key={f.trade_id} data-testid="fill-row">
            <td data-label="Time">{shortTime(f.time)}</td>
            <td data-label="Instrument">{f.instrument}</td>
            <td data-label="Side" className={f.side}>
              {f.side}
            </td>
            <td data-label="Qty" className="num">
              {formatDecimal(f.qty)}
            </td>
            <td data-label="Price" className="num">
              {formatDecimal(f.price)}
            </td>
            <td data-label="Fee" className="num">
              {formatDecimal(f.fee)} {f.fee_asset}
            </td>
            <td data-label="Signal">{f.signal_id ? <a href={href({ page: 'signal', id: f.signal_id })}>chain</a> : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
