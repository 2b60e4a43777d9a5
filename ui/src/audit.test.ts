import { describe as suite, expect, it } from 'vitest';
import { describe, kindLabel, tone } from './audit';

const rules = (s: string) => (s === 'BTCUSDT' ? { tick: '0.01', step: '0.00001' } : null);

suite('audit events in words', () => {
  it('a fill reads as a trade at the instrument precision', () => {
    const ev = {
      kind: 'fill',
      exchange: 'binance',
      market: 'spot',
      fill: {
        symbol: 'BTCUSDT',
        side: 'buy',
        qty: '0.00100000',
        price: '55543.96000000',
        fee: '0.000001',
        fee_asset: 'BTC',
        is_maker: false,
      },
    };
    expect(describe('fill', ev, rules)).toBe('Bought 0.00100 BTCUSDT at 55,543.96 (fee 0.000001 BTC)');
    expect(tone('fill', ev)).toBe('good');
  });
  it('an order intent, a refused risk check, P&L and a config change', () => {
    expect(
      describe(
        'order_intent',
        {
          exchange: 'binance',
          market: 'spot',
          order: {
            symbol: 'BTCUSDT',
            side: 'sell',
            order_type: 'limit',
            qty: { unit: 'base', value: '0.0020000' },
            price: '60000.123',
            reduce_only: true,
          },
        },
        rules,
      ),
    ).toBe('Order: sell 0.00200 BTCUSDT limit at 60,000.12 (reduce only) on binance spot');
    expect(describe('risk_decision', { rule: 'max_order_notional', limit: '500', observed: '9994.55', outcome: 'refuse' })).toBe(
      'Risk check max order notional: refused (observed 9,994.55, limit 500)',
    );
    expect(tone('risk_decision', { outcome: 'refuse' })).toBe('bad');
    expect(describe('risk_decision', { rule: 'market_price', limit: '', observed: '3279.11000000', outcome: 'pass' })).toBe(
      'Risk check market price: passed (observed 3,279.11)',
    );
    expect(describe('risk_decision', { rule: 'bot_paused', limit: '', observed: '', outcome: 'pass' })).toBe(
      'Risk check bot paused: passed',
    );
    expect(
      describe('pnl_booked', {
        symbol: 'BTCUSDT',
        realized: '-0.11104000000',
        fees_quote: '0.11097688000000',
        funding: '0',
        quote_asset: 'USDT',
      }),
    ).toBe('P&L booked on BTCUSDT: realized -0.11 USDT, fees 0.11 USDT');
    expect(
      describe('config_change', { old_version: 1, new_version: 2, diff: [{ path: '/risk/max_daily_loss', old: '100', new: '250' }] }),
    ).toBe('Config v1 → v2: risk.max_daily_loss: 100 → 250');
  });
  it('an unknown kind still shows its fields, without key=value', () => {
    const s = describe('something_new', { kind: 'something_new', answer: 42 });
    expect(s).toBe('answer 42');
    expect(s).not.toMatch(/=/);
    expect(kindLabel('exchange_response')).toBe('Exchange response');
  });
});
