//! A target the live path refuses is tried again on the next decision (issue 17: a strategy bot
//! stayed flat, `target_unchanged`, while its strategy was long, after one risk refusal).

use super::*;
use crate::config::BotConfig;
use crate::ids::Symbol;
use crate::market::{Bar, Timeframe};
use crate::model::{InstrumentRules, Side};
use crate::strategy::{Context, Intent, Params, Strategy, StrategyVersion, Target};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

/// Emits `script[i]` as its target exposure on bar `i` (nothing past the script's end).
#[derive(Debug)]
struct Scripted {
    version: StrategyVersion,
    script: Vec<f64>,
    seen: usize,
}

impl Strategy for Scripted {
    fn version(&self) -> &StrategyVersion {
        &self.version
    }
    fn warm_up(&self) -> usize {
        1
    }
    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
        let i = self.seen;
        self.seen += 1;
        match self.script.get(i) {
            Some(&e) => vec![Intent::Target {
                symbol: ctx.symbol.clone(),
                target: Target::Exposure(e),
            }],
            None => Vec::new(),
        }
    }
}

fn config(risk: serde_json::Value, sizing: serde_json::Value) -> BacktestConfig {
    let bot = BotConfig::from_value(json!({
        "id": "retry", "name": "Retry", "exchange": "binance", "market": "linear", "mode": "paper",
        "instruments": ["BTCUSDT"], "sizing": sizing, "risk": risk
    }))
    .unwrap();
    BacktestConfig {
        bot,
        rules: InstrumentRules {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            base_asset: "BTC".into(),
            quote_asset: "USDT".into(),
            tick_size: dec!(0.1),
            step_size: dec!(0.001),
            min_qty: dec!(0.001),
            max_qty: dec!(1000),
            max_market_qty: dec!(0),
            min_notional: dec!(5),
            min_price: dec!(0),
            max_price: dec!(0),
        },
        taker_fee_rate: dec!(0.0005),
        maker_fee_rate: dec!(0.0002),
        initial_capital: dec!(10000),
        fill_at: FillAt::NextOpen,
        slippage_bps: Decimal::ZERO,
        timeframe: Timeframe::parse("1m").unwrap(),
        rebalance_band: 0.0,
    }
}

fn bars(n: i64) -> Vec<Bar> {
    (0..n)
        .map(|i| Bar {
            open_time_ms: i * 60_000,
            open: 65_000.0,
            high: 65_000.0,
            low: 65_000.0,
            close: 65_000.0,
            volume: 1.0,
        })
        .collect()
}

fn scripted(script: &[f64]) -> Scripted {
    Scripted {
        version: StrategyVersion::new("scripted", 1, Params::default()),
        script: script.to_vec(),
        seen: 0,
    }
}

#[test]
fn a_refused_target_is_retried_until_it_passes() {
    // Long at bar 0 (fills at bar 1's open, 60 s), flat at bar 1 (sells at 120 s: reducing,
    // exempt from the cooldown), long again at bar 2: its buy at 180 s is 60 s after the last
    // trade, inside the 150 s cooldown, so refused; retried at 240 s (120 s: refused) and at
    // 300 s (180 s: passes). Before the fix the bot stayed flat for the rest of the run.
    let cfg = config(
        json!({"cooldown_secs": 150}),
        json!({"mode": "fixed_quote", "value": "650"}),
    );
    let mut strategy = scripted(&[1.0, 0.0, 1.0]);
    let report = run(&cfg, &mut strategy, &bars(10)).unwrap();
    let codes: Vec<(i64, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.time_ms, r.code.as_str()))
        .collect();
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert!(
        codes.iter().all(|(_, c)| c.contains("cooldown")),
        "{codes:?}"
    );
    assert_eq!(codes[0].0, 180_000);
    assert_eq!(codes[1].0, 240_000);
    let sides: Vec<(Side, i64, Decimal)> = report
        .fills
        .iter()
        .map(|f| (f.side, f.time_ms, f.qty))
        .collect();
    assert_eq!(
        sides,
        [
            (Side::Buy, 60_000, dec!(0.01)),
            (Side::Sell, 120_000, dec!(0.01)),
            (Side::Buy, 300_000, dec!(0.01)),
        ],
        "sized through fixed_quote 650 at 65000, and the refused long filled on a retry"
    );
}

#[test]
fn a_target_refused_for_good_is_retried_every_bar() {
    // 0.2 BTC at 65000 = 13000 > max_order_notional 500: refused at every bar from bar 1 on,
    // each refusal recorded (as the live bot audits each one), never silently dropped.
    let cfg = config(
        json!({"max_order_notional": "500"}),
        json!({"mode": "fixed_qty", "value": "0.2"}),
    );
    let mut strategy = scripted(&[1.0]);
    let report = run(&cfg, &mut strategy, &bars(6)).unwrap();
    assert!(report.fills.is_empty());
    assert_eq!(report.rejected.len(), 5, "{:?}", report.rejected);
}
