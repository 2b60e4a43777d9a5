//! Fixtures shared by the engine's benchmarks (`backtest`, `spec`): the same seeded bars and the
//! same linear BTCUSDT backtest configuration, so their figures compare.

use keel_engine::backtest::{BacktestConfig, FillAt};
use keel_engine::config::BotConfig;
use keel_engine::ids::Symbol;
use keel_engine::market::{Bar, Timeframe};
use keel_engine::model::InstrumentRules;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

/// `n` one-minute bars of a seeded random walk (xorshift), prices near 30 000.
pub fn bars(n: usize) -> Vec<Bar> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut p = 30_000.0f64;
    (0..n)
        .map(|i| {
            let o = p;
            p *= 1.0 + next() * 0.002;
            let (hi, lo) = (
                o.max(p) * (1.0 + next().abs() * 0.0005),
                o.min(p) * (1.0 - next().abs() * 0.0005),
            );
            let r = |x: f64| (x * 100.0).round() / 100.0;
            Bar {
                open_time_ms: 1_700_000_000_000 + i as i64 * 60_000,
                open: r(o),
                high: r(hi),
                low: r(lo),
                close: r(p),
                volume: 1.0 + next().abs(),
            }
        })
        .collect()
}

/// A linear BTCUSDT paper bot sized at 100 % of equity, with this capital and slippage.
pub fn config(initial_capital: Decimal, slippage_bps: Decimal) -> BacktestConfig {
    let bot = BotConfig::from_value(json!({
        "id": "bench", "name": "Bench", "exchange": "binance", "market": "linear", "mode": "paper",
        "instruments": ["BTCUSDT"], "sizing": {"mode": "pct_equity", "value": "100"}, "risk": {}
    }))
    .expect("bench config");
    BacktestConfig {
        bot,
        rules: InstrumentRules {
            symbol: Symbol::new("BTCUSDT").expect("symbol"),
            base_asset: "BTC".into(),
            quote_asset: "USDT".into(),
            tick_size: dec!(0.01),
            step_size: dec!(0.001),
            min_qty: dec!(0.001),
            max_qty: dec!(100000),
            max_market_qty: dec!(0),
            min_notional: dec!(5),
            min_price: dec!(0),
            max_price: dec!(0),
        },
        taker_fee_rate: dec!(0.0004),
        maker_fee_rate: dec!(0.0002),
        initial_capital,
        fill_at: FillAt::NextOpen,
        slippage_bps,
        timeframe: Timeframe::M1,
        rebalance_band: 0.0,
    }
}
