/**
 * Positions, open orders and recent fills of one bot. Prices show the instrument's tick, quantities
 * its lot step, money its currency's precision (`numbers.ts`); the exact value is in each cell's
 * hover title, and `data-tick` / `data-step` say which precision a cell was held to.
 */
import type { Fill, Order, Position } from '../api';
import { formatMoney } from '../format';
import { pnlClass, shortTime } from '../money';
import { isDust, positionQty, price, qty, signedAmount, type Precision } from '../numbers';
import { href } from '../route';

/** Precision of a symbol, null while unknown. */
export type RulesOf = (symbol: string) => Precision | null;
const none: RulesOf = () => null;

/**
 * The cells of one position row (instrument, qty, average entry, mark, unrealized), shared by a
 * bot's positions table and the overview's positions across bots.
 */
export function PositionCells({ p, r, quote }: { p: Position; r: Precision | null; quote: string }) {
  return (
    <>
      <td data-label="Instrument">{p.instrument}</td>
      <td
        data-label="Qty"
        className={`num ${isDust(p.qty, r) ? 'muted' : pnlClass(p.qty)}`}
        title={isDust(p.qty, r) ? `${p.qty}: less than one lot step (fee dust)` : p.qty}
        data-step={r?.step ?? undefined}
      >
        {positionQty(p.qty, r)}
      </td>
      <td data-label="Avg entry" className="num" title={p.avg_entry_price} data-tick={r?.tick ?? undefined}>
        {price(p.avg_entry_price, r)}
      </td>
      <td data-label="Mark" className="num" title={p.mark_price ?? undefined} data-tick={r?.tick ?? undefined}>
        {price(p.mark_price, r)}
      </td>
      <td data-label="Unrealized" className={`num ${pnlClass(p.unrealized)}`} title={p.unrealized}>
        <span>
          {signedAmount(p.unrealized, quote)} <span className="muted small">{quote}</span>
        </span>
      </td>
    </>
  );
}

/** Open positions; a negative qty is a short. */
export function PositionsTable({ rows, rules = none, quote = 'USDT' }: { rows: Position[]; rules?: RulesOf; quote?: string }) {
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
        {rows.map((p) => {
          const r = rules(p.instrument);
          return (
            <tr key={p.instrument} data-testid="position-row">
              <PositionCells p={p} r={r} quote={quote} />
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Resting orders. */
export function OrdersTable({ rows, rules = none }: { rows: Order[]; rules?: RulesOf }) {
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
        {rows.map((o) => {
          const r = rules(o.instrument);
          return (
            <tr key={o.client_order_id} title={o.client_order_id} data-testid="order-row">
              <td data-label="Created">{shortTime(o.created_at)}</td>
              <td data-label="Instrument">{o.instrument}</td>
              <td data-label="Side" className={o.side}>
                {o.side}
              </td>
              <td data-label="Type">{o.order_type.replace(/_/g, ' ')}</td>
              <td data-label="Qty" className="num" title={o.qty} data-step={o.qty.endsWith('(quote)') ? undefined : (r?.step ?? undefined)}>
                {o.qty.endsWith('(quote)') ? o.qty : qty(o.qty, r)}
              </td>
              <td data-label="Filled" className="num" title={o.filled_qty} data-step={r?.step ?? undefined}>
                {qty(o.filled_qty, r)}
              </td>
              <td data-label="Price" className="num" title={o.price ?? undefined} data-tick={o.price ? (r?.tick ?? undefined) : undefined}>
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

/** Recent fills, newest first, each linked to the signal that caused it. */
export function FillsTable({ rows, rules = none }: { rows: Fill[]; rules?: RulesOf }) {
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
        {rows.map((f) => {
          const r = rules(f.instrument);
          return (
            <tr key={f.trade_id} data-testid="fill-row">
              <td data-label="Time">{shortTime(f.time)}</td>
              <td data-label="Instrument">{f.instrument}</td>
              <td data-label="Side" className={f.side}>
                {f.side}
              </td>
              <td data-label="Qty" className="num" title={f.qty} data-step={r?.step ?? undefined}>
                {qty(f.qty, r)}
              </td>
              <td data-label="Price" className="num" title={f.price} data-tick={r?.tick ?? undefined}>
                {price(f.price, r)}
              </td>
              <td data-label="Fee" className="num" title={`${f.fee} ${f.fee_asset}`}>
                {formatMoney(f.fee, f.fee_asset)}
              </td>
              <td data-label="Signal">{f.signal_id ? <a href={href({ page: 'signal', id: f.signal_id })}>chain</a> : '—'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
