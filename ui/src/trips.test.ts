import { describe, expect, it } from 'vitest';
import type { Fill } from './api';
import { div, roundTrips, winRate } from './trips';

let n = 0;
const fill = (
  side: 'buy' | 'sell',
  qty: string,
  price: string,
  realized: string,
  fee_quote: string,
  minute: number,
  instrument = 'BTCUSDT',
): Fill => ({
  trade_id: `t${++n}`,
  client_order_id: `c${n}`,
  signal_id: null,
  instrument,
  side,
  qty,
  price,
  fee: fee_quote,
  fee_asset: 'USDT',
  time: new Date(Date.UTC(2026, 11, 1, 0, minute)).toISOString(),
  realized,
  fee_quote,
});

describe('round trips', () => {
  it('divides exactly with half-up rounding', () => {
    expect(div('1', '3', 4)).toBe('0.3333');
    expect(div('2', '3', 4)).toBe('0.6667');
    expect(div('-2', '3', 2)).toBe('-0.67');
    expect(div('130001', '2', 0)).toBe('65001');
  });

  it('a long in two entries and one exit is one trip with realized minus fees', () => {
    const trips = roundTrips([
      fill('buy', '0.001', '65000', '0', '0.065', 1),
      fill('buy', '0.001', '65002', '0', '0.065', 2),
      fill('sell', '0.002', '66000', '1.998', '0.132', 3),
    ]);
    expect(trips).toHaveLength(1);
    expect(trips[0]).toMatchObject({ side: 'long', qty: '0.002', pnl: '1.736', fees: '0.262', fills: 3 });
    expect(trips[0].entry_price).toBe('65001.000000000000');
    expect(trips[0].exit_price).toBe('66000.000000000000');
  });

  it('dust below the lot step closes the trip; an open trip has no P&L; win rate counts closed trips', () => {
    const trips = roundTrips(
      [
        fill('buy', '0.00100', '100', '0', '0.01', 1),
        fill('sell', '0.000995', '90', '-0.00995', '0.01', 2),
        fill('sell', '0.5', '10', '0', '0.01', 3, 'ETHUSDT'),
      ],
      { BTCUSDT: '0.00001' },
    );
    const btc = trips.find((t) => t.instrument === 'BTCUSDT');
    const eth = trips.find((t) => t.instrument === 'ETHUSDT');
    expect(btc?.pnl).toBe('-0.02995');
    expect(eth).toMatchObject({ side: 'short', pnl: null, exit_time: null });
    expect(winRate(trips)).toEqual({ closed: 1, wins: 0, pct: 0 });
  });

  it('a flip closes the trip and opens the other side with the remainder', () => {
    const trips = roundTrips([fill('buy', '1', '10', '0', '0', 1), fill('sell', '3', '12', '2', '0', 2)]);
    expect(trips.map((t) => [t.side, t.pnl, t.qty])).toEqual([
      ['short', null, '2'],
      ['long', '2', '1'],
    ]);
  });
});
