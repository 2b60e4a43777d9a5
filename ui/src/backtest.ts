/**
 * The backtest report as the dashboard reads it (`POST /api/v1/backtest`, the engine's
 * `backtest::report::Report`): the exact decimals stay strings, the ratios are floats (statistics,
 * never money), and every figure is formatted with the shared number rule (`format.ts`): money in
 * the quote currency, prices at the report's tick, quantities at its step. Non-finite ratios (a
 * Sharpe of a flat run) arrive as JSON null and read "—".
 */
import { UNSET, formatMoney, formatPrice, formatQty } from './format';

/** One round trip of the run. */
export interface ReportTrip {
  side: string;
  entry_ms: number;
  exit_ms: number | null;
  qty: string;
  entry_price: string;
  exit_price: string;
  pnl: string;
  fees: string;
}

/** The parts of the report the view shows. */
export interface BacktestReport {
  run: {
    strategy_name: string;
    params: Record<string, number>;
    exchange: string;
    market: string;
    symbol: string;
    timeframe: string;
    from_ms: number;
    to_ms: number;
  };
  precision: { quote_asset: string; tick_size: string; step_size: string };
  strategy_version: string;
  fill_model: { description: string };
  metrics: {
    total_return: number | null;
    annual_return: number | null;
    sharpe: number | null;
    sortino: number | null;
    max_drawdown: number | null;
    win_rate: number | null;
    profit_factor: number | null;
    exposure: number | null;
    executions: number;
    round_trips: number;
    fees: string;
    initial_capital: string;
    final_equity: string;
    net_pnl: string;
  };
  trades: ReportTrip[];
  equity_curve: [number, number][];
  drawdown_curve: [number, number][];
  rejected: { time_ms: number; status: number; code: string }[];
  bars: number;
}

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const str = (v: unknown): string => (v == null ? '' : String(v));
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const pairs = (v: unknown): [number, number][] =>
  Array.isArray(v) ? v.filter((p): p is [number, number] => Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number') : [];

/** The report JSON with every field present and typed (missing parts empty, never a crash). */
export function normalizeReport(raw: unknown): BacktestReport {
  const r = obj(raw);
  const run = obj(r.run);
  const prec = obj(r.precision);
  const m = obj(r.metrics);
  return {
    run: {
      strategy_name: str(run.strategy_name),
      params: obj(run.params) as Record<string, number>,
      exchange: str(run.exchange),
      market: str(run.market),
      symbol: str(run.symbol),
      timeframe: str(run.timeframe),
      from_ms: int(run.from_ms),
      to_ms: int(run.to_ms),
    },
    precision: { quote_asset: str(prec.quote_asset) || 'USDT', tick_size: str(prec.tick_size), step_size: str(prec.step_size) },
    strategy_version: str(r.strategy_version),
    fill_model: { description: str(obj(r.fill_model).description) },
    metrics: {
      total_return: num(m.total_return),
      annual_return: num(m.annual_return),
      sharpe: num(m.sharpe),
      sortino: num(m.sortino),
      max_drawdown: num(m.max_drawdown),
      win_rate: num(m.win_rate),
      profit_factor: num(m.profit_factor),
      exposure: num(m.exposure),
      executions: int(m.executions),
      round_trips: int(m.round_trips),
      fees: str(m.fees) || '0',
      initial_capital: str(m.initial_capital) || '0',
      final_equity: str(m.final_equity) || '0',
      net_pnl: str(m.net_pnl) || '0',
    },
    trades: (Array.isArray(r.trades) ? r.trades : []).map((t) => {
      const x = obj(t);
      return {
        side: str(x.side),
        entry_ms: int(x.entry_ms),
        exit_ms: typeof x.exit_ms === 'number' ? x.exit_ms : null,
        qty: str(x.qty),
        entry_price: str(x.entry_price),
        exit_price: str(x.exit_price),
        pnl: str(x.pnl),
        fees: str(x.fees),
      };
    }),
    equity_curve: pairs(r.equity_curve),
    drawdown_curve: pairs(r.drawdown_curve),
    rejected: (Array.isArray(r.rejected) ? r.rejected : []).map((x) => {
      const o = obj(x);
      return { time_ms: int(o.time_ms), status: int(o.status), code: str(o.code) };
    }),
    bars: int(r.bars),
  };
}

/** A fraction as a percentage with 2 places (`0.1234` → `+12.34 %` when signed). */
export function pct(x: number | null, signed = false): string {
  if (x === null) return UNSET;
  const v = (x * 100).toFixed(2);
  const s = v === '-0.00' ? '0.00' : v;
  return `${signed && x > 0 && s !== '0.00' ? '+' : ''}${s} %`;
}

/** A ratio (Sharpe, profit factor) with 2 places. */
export function ratio(x: number | null): string {
  if (x === null) return UNSET;
  const v = x.toFixed(2);
  return v === '-0.00' ? '0.00' : v;
}

/** The key figures, each as label and text (money in the quote currency). */
export function keyMetrics(rep: BacktestReport): { id: string; label: string; text: string; exact?: string }[] {
  const m = rep.metrics;
  const q = rep.precision.quote_asset;
  return [
    { id: 'return', label: 'Return', text: pct(m.total_return, true) },
    { id: 'net-pnl', label: 'Net P&L', text: formatMoney(m.net_pnl, q), exact: m.net_pnl },
    { id: 'final-equity', label: 'Final equity', text: formatMoney(m.final_equity, q), exact: m.final_equity },
    { id: 'max-drawdown', label: 'Max drawdown', text: m.max_drawdown === null ? UNSET : pct(-Math.abs(m.max_drawdown)) },
    { id: 'sharpe', label: 'Sharpe', text: ratio(m.sharpe) },
    { id: 'trades', label: 'Round trips', text: String(m.round_trips) },
    { id: 'win-rate', label: 'Win rate', text: pct(m.win_rate) },
    { id: 'fees', label: 'Fees', text: formatMoney(m.fees, q), exact: m.fees },
  ];
}

/** One trip's cells at the instrument's precision (an open trip has no exit). */
export function tripCells(t: ReportTrip, p: BacktestReport['precision']) {
  const open = t.exit_ms === null;
  return {
    side: t.side,
    entry: new Date(t.entry_ms).toISOString().slice(0, 16).replace('T', ' '),
    exit: open ? 'open' : new Date(t.exit_ms as number).toISOString().slice(0, 16).replace('T', ' '),
    qty: p.step_size ? formatQty(t.qty, p.step_size) : t.qty,
    entryPrice: p.tick_size ? formatPrice(t.entry_price, p.tick_size) : t.entry_price,
    exitPrice: open ? UNSET : p.tick_size ? formatPrice(t.exit_price, p.tick_size) : t.exit_price,
    pnl: open ? UNSET : formatMoney(t.pnl, p.quote_asset),
    fees: formatMoney(t.fees, p.quote_asset),
  };
}

/** The equity and drawdown curves as the P&L chart's points (drawdown in percent below the peak). */
export function curvePoints(rep: BacktestReport): { time: string; equity: string; drawdown: string }[] {
  const dd = new Map(rep.drawdown_curve.map(([t, d]) => [t, d]));
  return rep.equity_curve.map(([t, e]) => ({
    time: new Date(t).toISOString(),
    equity: String(e),
    drawdown: String(Math.abs(dd.get(t) ?? 0) * 100),
  }));
}
