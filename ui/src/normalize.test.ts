import { describe, expect, it } from 'vitest';
import * as N from './normalize';

// Each case: the backend's storage-shaped answer (as the Rust views emit it today) → view type.
describe('normalize: backend view shapes', () => {
  it('bot summary from /view/summary', () => {
    const s = N.botSummary({
      id: 'b1',
      name: 'B',
      mode: 'paper',
      exchange: 'binance',
      market: 'spot',
      state: 'paused',
      flags: { paused: true },
      pnl_today: '-1.50',
      equity: '10000',
      open_positions: 1,
      last_signal_ms: Date.parse('2026-11-24T12:00:00Z'),
      circuit: { state: 'half_open', probe_started_ms: null },
      outbox_depth: 3,
    });
    expect(s).toMatchObject({
      state: 'paused',
      today_pnl: '-1.50',
      last_signal_at: '2026-11-24T12:00:00.000Z',
      circuit: 'half_open',
      outbox_depth: 3,
    });
  });

  it('a bot row the backend could not read is kept and flagged', () => {
    const s = N.botSummary({ id: 'b2', error: { code: 'x', message: 'storage error' } });
    expect(s).toMatchObject({ id: 'b2', state: 'needs_attention', error: 'storage error', circuit: 'closed' });
  });

  it('state from flags: halted wins over paused', () => {
    expect(N.botState({ flags: { paused: true, halted: true } })).toBe('halted');
    expect(N.botState({ flags: { needs_attention: true } })).toBe('needs_attention');
    expect(N.botState({})).toBe('running');
  });

  it('bot detail from the stored config with version and flags', () => {
    const d = N.botDetail({ id: 'b1', name: 'B', mode: 'live', version: 4, flags: { paused: true } });
    expect(d.config_version).toBe(4);
    expect(d.state).toBe('paused');
    expect(d.config).toEqual({ id: 'b1', name: 'B', mode: 'live' });
  });

  it('platform health with the halt block', () => {
    const h = N.platformHealth({ status: 'ok', halt: { halted: true, since_ms: 0 } });
    expect(h).toMatchObject({ halted: true, halted_at: '1970-01-01T00:00:00.000Z' });
    expect(N.platformHealth({ halted: false, halted_at: null }).halted).toBe(false);
  });

  it('bot health: outbox depth, attention reason, numeric usage kept', () => {
    const h = N.botHealth({
      bot_id: 'b1',
      state: 'needs_attention',
      flags: { needs_attention: true, attention_reason: 'drift 0.01 BTC' },
      outbox: { depth: 2 },
      risk_usage: { max_daily_loss: { used: '40', limit: '100' }, max_open_positions: { used: 1, limit: 3 } },
    });
    expect(h).toMatchObject({ outbox_depth: 2, attention_reason: 'drift 0.01 BTC', circuit: 'closed' });
    expect(h.risk_usage).toEqual({ max_daily_loss: { used: '40', limit: '100' }, max_open_positions: { used: 1, limit: 3 } });
  });

  it('bot health: an unset limit stays null (not 0, which reads as breached)', () => {
    const h = N.botHealth({ bot_id: 'b1', risk_usage: { max_open_positions: { used: 2, limit: null } } });
    expect(h.risk_usage.max_open_positions).toEqual({ used: 2, limit: null });
  });

  it('positions, orders and fills keyed by symbol with ms times', () => {
    expect(N.position({ symbol: 'BTCUSDT', qty: '-0.002', avg_entry_price: '65000.10', mark_price: null, unrealized: '0' })).toEqual({
      instrument: 'BTCUSDT',
      qty: '-0.002',
      avg_entry_price: '65000.10',
      mark_price: null,
      unrealized: '0',
    });
    const orders = N.openOrders([
      {
        client_order_id: 'c1',
        symbol: 'BTCUSDT',
        side: 'buy',
        type: 'limit',
        qty: '1',
        price: '10',
        status: 'accepted',
        executed_qty: '0.5',
        updated_ms: 0,
      },
      {
        client_order_id: 'c2',
        symbol: 'BTCUSDT',
        side: 'buy',
        type: 'market',
        qty: '1',
        price: null,
        status: 'filled',
        executed_qty: '1',
        updated_ms: 0,
      },
    ]);
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({
      instrument: 'BTCUSDT',
      order_type: 'limit',
      filled_qty: '0.5',
      created_at: '1970-01-01T00:00:00.000Z',
    });
    const f = N.fill({
      trade_id: 't',
      order_id: 'o',
      client_order_id: 'c1',
      symbol: 'ETHUSDT',
      side: 'sell',
      price: '3000',
      qty: '0.1',
      fee: '0.0001',
      fee_asset: 'BNB',
      time_ms: 1000,
      is_maker: false,
    });
    expect(f).toMatchObject({ instrument: 'ETHUSDT', fee: '0.0001', fee_asset: 'BNB', time: '1970-01-01T00:00:01.000Z', signal_id: null });
  });

  it('ledger fill rows nest the fill; order qty may be {unit, value}', () => {
    const f = N.fill({
      fee_quote: '0.065',
      realized: '0',
      signal_id: 's1',
      fill: { trade_id: 'P0', symbol: 'BTCUSDT', side: 'buy', price: '65000', qty: '0.001', fee: '0.000001', fee_asset: 'BTC', time_ms: 0 },
    });
    expect(f).toMatchObject({ trade_id: 'P0', instrument: 'BTCUSDT', signal_id: 's1', fee: '0.000001', fee_asset: 'BTC' });
    expect(N.order({ qty: { unit: 'base', value: '0.001' } }).qty).toBe('0.001');
    expect(N.order({ qty: { unit: 'quote', value: '100' } }).qty).toBe('100 (quote)');
    expect(N.signal({ signal_id: 's', status: 200, outcome: { status: 'executed', orders: [{ symbol: 'ETHUSDT' }] } }).symbol).toBe(
      'ETHUSDT',
    );
  });

  it('equity history with ms times', () => {
    expect(N.pnlPoint({ time: 0, equity: '10000', drawdown: '0.5' })).toEqual({
      time: '1970-01-01T00:00:00.000Z',
      equity: '10000',
      drawdown: '0.5',
    });
  });

  it('signals with the stored outcome object', () => {
    const s = N.signal({
      signal_id: 's1',
      received_ms: 0,
      status: 422,
      outcome: { status: 'rejected', code: 'risk_max_order_notional', message: '600 > 500' },
    });
    expect(s).toMatchObject({
      signal_id: 's1',
      http_status: 422,
      outcome: 'rejected',
      reason: 'risk_max_order_notional: 600 > 500',
      action: '—',
    });
  });

  it('audit page wrapped in {events} with sealed records', () => {
    const events = N.auditEvents({
      bot_id: 'b1',
      last_seq: 2,
      events: [
        {
          seq: 2,
          time_ms: 0,
          kind: 'order_intent',
          hash: 'h',
          prev_hash: 'p',
          record: { signal_id: 's1', event: { kind: 'order_intent', qty: '0.001' } },
        },
      ],
    });
    expect(events).toEqual([
      {
        seq: 2,
        time: '1970-01-01T00:00:00.000Z',
        kind: 'order_intent',
        signal_id: 's1',
        summary: 'qty=0.001',
        hash: 'h',
        detail: { kind: 'order_intent', qty: '0.001' },
        actor: null,
      },
    ]);
  });

  it('signal chain from the graph', () => {
    const c = N.signalChain({
      signal_id: 's1',
      chains: [
        {
          bot_id: 'b1',
          signal: { id: 's1', status: 'executed', payload: { action: 'buy' } },
          decisions: [{ seq: 2, rule: 'max_order_notional', outcome: 'approved', limit: '500', observed: '65' }],
          orders: [
            { client_order_id: 'c1', symbol: 'BTCUSDT', status: 'filled', fills: [{ trade_id: 't1', symbol: 'BTCUSDT', time_ms: 0 }] },
          ],
          pnl: { realized: '0', fees_quote: '0.065', funding: '0' },
          events: [],
        },
      ],
    });
    expect(c.signal).toMatchObject({ signal_id: 's1', bot_id: 'b1', outcome: 'executed', payload: { action: 'buy' } });
    expect(c.checks[0]).toEqual({ rule: 'max_order_notional', outcome: 'pass', limit: '500', value: '65', message: null });
    expect(c.fills.map((f) => f.trade_id)).toEqual(['t1']);
    expect(c.pnl_effect).toEqual({ realized: '0', fees_quote: '0.065' });
  });

  it('action answers: flags → state; halt roll-up names failed bots', () => {
    expect(N.action({ bot_id: 'b1', flags: { paused: true } }).state).toBe('paused');
    const h = N.action({ halt: { halted: true }, flatten: true, bots: { a: { halted: true }, b: { error: { code: 'x' } } } });
    expect(h.halted).toBe(true);
    expect(h.message).toBe('1 of 2 bot(s) confirmed; failed: b');
  });

  it('numbers become their exact text, never rounded through arithmetic', () => {
    expect(N.dec(0.1)).toBe('0.1');
    expect(N.dec('0.1000000000000000001')).toBe('0.1000000000000000001');
    expect(N.dec(undefined)).toBe('0');
  });

  it('market rows become candles; rules stay exact strings', () => {
    const m = N.market({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      tick_size: '0.01000000',
      step_size: '0.00001000',
      base_asset: 'BTC',
      quote_asset: 'USDT',
      candles: [[1, '1.5', '2', '1', '1.75', '10'], ['bad'], [2, '1']],
    });
    expect(m.tick_size).toBe('0.01000000');
    expect(m.candles).toEqual([{ time_ms: 1, open: '1.5', high: '2', low: '1', close: '1.75', volume: '10' }]);
  });

  it('bot health: cron tick, open alerts, reconciliation', () => {
    const h = N.botHealth({
      bot_id: 'b',
      flags: {},
      last_tick: { at_ms: 0 },
      alerts: { open: [{ kind: 'order_rejected', subject: 'BTCUSDT', since_ms: 0, count: 3 }] },
      reconciliation: { status: 'never_run' },
      open_orders: 2,
    });
    expect(h.last_tick_at).toBe('1970-01-01T00:00:00.000Z');
    expect(h.alerts).toEqual([{ kind: 'order_rejected', subject: 'BTCUSDT', since: '1970-01-01T00:00:00.000Z', count: 3 }]);
    expect(h.reconciliation).toBe('never_run');
    expect(h.open_orders).toBe(2);
  });

  it('platform health: exchanges and Neo4j in words', () => {
    const h = N.platformHealth({
      status: 'degraded',
      neo4j: { configured: false, reachable: false },
      exchanges: { binance: { url: 'http://x', reachable: true }, bybit: { reachable: false, error: 'refused' } },
      audit_outbox: { depth: 4 },
    });
    expect(h.neo4j_state).toBe('not_configured');
    expect(h.exchange_hosts).toEqual([
      { name: 'binance', reachable: true, detail: 'http://x' },
      { name: 'bybit', reachable: false, detail: 'refused' },
    ]);
    expect(h.audit_outbox_depth).toBe(4);
  });

  it('ledger fills keep their realized P&L and fee in quote', () => {
    const f = N.fill({
      fee_quote: '0.11',
      realized: '-0.5',
      signal_id: 's',
      fill: { trade_id: 'P3', side: 'sell', qty: '0.002', price: '1', fee: '0.11', fee_asset: 'USDT', symbol: 'BTCUSDT', time_ms: 0 },
    });
    expect([f.realized, f.fee_quote, f.instrument]).toEqual(['-0.5', '0.11', 'BTCUSDT']);
  });

  it('a protective exit is an open order at its trigger price, drawn as a stop level', () => {
    const rows = N.openOrders([
      {
        client_order_id: 'x1',
        symbol: 'BTCUSDT',
        exit_trigger: 'stop_loss',
        close_side: 'sell',
        trigger_price: '60000.5',
        status: 'trigger_open',
        since_ms: 0,
      },
      {
        client_order_id: 'x2',
        symbol: 'BTCUSDT',
        exit_trigger: 'take_profit',
        close_side: 'sell',
        trigger_price: '70000',
        status: 'trigger_cancelled',
        since_ms: 0,
      },
    ]);
    expect(rows).toEqual([
      {
        client_order_id: 'x1',
        signal_id: null,
        instrument: 'BTCUSDT',
        side: 'sell',
        order_type: 'stop_loss',
        qty: 'position',
        price: '60000.5',
        filled_qty: '0',
        status: 'trigger_open',
        created_at: '1970-01-01T00:00:00.000Z',
      },
    ]);
  });
});
