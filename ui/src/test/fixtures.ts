// Shared test data: the strategy catalogue (`GET /strategies`) and a backtest report (`POST
// /backtest`) shaped as the API answers them.
import type { StrategyCatalogue } from '../api';

/** A catalogue of two templates and one template written as a spec (int, real and bool params). */
export const CATALOGUE: StrategyCatalogue = {
  templates: [
    {
      name: 'ma_crossover',
      version: 1,
      params: [
        { name: 'fast', default: 10, min: 1, max: 500, integer: true },
        { name: 'slow', default: 30, min: 2, max: 2000, integer: true },
        { name: 'short', default: 0, min: 0, max: 1, integer: true },
      ],
    },
    { name: 'rsi_reversion', version: 2, params: [{ name: 'band', default: 0.5, min: 0.1, max: 5, integer: false }] },
  ],
  specs: [
    {
      template: 'ma_crossover',
      spec: {
        name: 'ma_crossover_spec',
        version: 1,
        params: {
          fast: { type: 'int', default: 10, min: 1, max: 500 },
          k: { type: 'real', default: 1.5 },
          on: { type: 'bool', default: true },
        },
      },
    },
  ],
};

/** A report as `POST /backtest` answers (decimals as strings, a non-finite ratio as null). */
export const REPORT = {
  run: {
    strategy_name: 'ma_crossover',
    params: { fast: 3, slow: 8 },
    exchange: 'binance',
    market: 'linear',
    symbol: 'SOLUSDT',
    timeframe: '1m',
    from_ms: 1765000000000,
    to_ms: 1765014400000,
  },
  precision: { quote_asset: 'USDT', tick_size: '0.01', step_size: '0.001' },
  strategy_version: 'ma_crossover@1#abc',
  fill_model: {
    fill_at: 'next_open',
    slippage_bps: '0',
    taker_fee_rate: '0.0005',
    maker_fee_rate: '0.0002',
    description: 'market orders at the next open',
  },
  metrics: {
    total_return: 0.012345,
    annual_return: 3.2,
    volatility: 0.4,
    sharpe: 1.23456,
    sortino: null,
    calmar: 2,
    max_drawdown: 0.0456,
    max_drawdown_bars: 12,
    win_rate: 0.6,
    profit_factor: 1.8,
    exposure: 0.5,
    turnover: 3,
    executions: 7,
    fees: '1.2345678901234567',
    max_drawdown_duration_ms: 720000,
    initial_capital: '10000',
    final_equity: '10123.4512345678901',
    net_pnl: '123.4512345678901',
    realized_pnl: '125',
    funding: '0',
    round_trips: 3,
  },
  trades: [
    {
      side: 'long',
      entry_ms: 1765000060000,
      exit_ms: 1765000600000,
      qty: '1.2340000',
      entry_price: '150.1234567',
      exit_price: '151.5',
      pnl: '-0.4012345',
      fees: '0.18123',
    },
    { side: 'short', entry_ms: 1765001060000, exit_ms: null, qty: '2', entry_price: '149', exit_price: '0', pnl: '0', fees: '0.1' },
  ],
  fills: [],
  rejected: [{ time_ms: 1765002000000, status: 422, code: 'below_min_notional' }],
  equity_curve: [
    [1765000060000, 10000],
    [1765000120000, 10010.5],
  ],
  drawdown_curve: [
    [1765000060000, 0],
    [1765000120000, -0.0125],
  ],
  bars: 240,
};
