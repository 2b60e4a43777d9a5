import { describe, expect, it } from 'vitest';
import type { Candle, Fill, Order } from '../api';
import { levelsOf, timeframeMs, toBars, toMarkers } from './PriceChart';

const c = (m: number, close = '10'): Candle => ({ time_ms: m * 60_000, open: '9', high: '11', low: '8', close, volume: '1' });
const f = (min: number, side: 'buy' | 'sell', instrument = 'BTCUSDT'): Fill =>
  ({ trade_id: `t${min}${side}`, instrument, side, time: new Date(min * 60_000 + 30_000).toISOString() }) as Fill;

describe('price chart data', () => {
  it('bars ascend by second, duplicates replaced, garbage dropped', () => {
    const bars = toBars([c(2, '12'), c(1), { ...c(3), close: 'x' }, c(2, '13')]);
    expect(bars.map((b) => [b.time, b.close])).toEqual([
      [60, 10],
      [120, 13],
    ]);
  });
  it('each fill of the symbol sits on the candle it happened in; others are left out', () => {
    const m = toMarkers(
      [f(2, 'buy'), f(3, 'sell'), f(2, 'buy', 'ETHUSDT'), f(9, 'sell'), f(0, 'buy')],
      'BTCUSDT',
      [c(1), c(2), c(3)],
      timeframeMs('1m'),
    );
    expect(m.map((x) => [x.time, x.position, x.text])).toEqual([
      [120, 'belowBar', 'B'],
      [180, 'aboveBar', 'S'],
    ]);
  });
  it('resting orders of the symbol become levels', () => {
    const orders = [
      { instrument: 'BTCUSDT', price: '60000', order_type: 'limit', side: 'buy' },
      { instrument: 'BTCUSDT', price: null, order_type: 'market', side: 'buy' },
      { instrument: 'BTCUSDT', price: '50000', order_type: 'stop_market', side: 'sell' },
      { instrument: 'ETHUSDT', price: '1', order_type: 'limit', side: 'buy' },
    ] as Order[];
    expect(levelsOf(orders, 'BTCUSDT').map((l) => l.kind)).toEqual(['limit', 'stop']);
    expect(timeframeMs('4h')).toBe(14_400_000);
  });
});
