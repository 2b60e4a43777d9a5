//! Cross-check against a peer: `backtesting.py` (PyPI, pinned in tests/python/requirements.txt)
//! runs a long-only SMA(10, 20) crossover with a 0.2 % commission on its bundled GOOG sample
//! (real daily prices); `tests/python/gen_backtesting_py.py` exported the bars and that run's
//! trades and final equity to `engine/test_data/backtesting_py/` (and
//! `tests/python/check_backtesting_py.sh` re-runs it in the test command and diffs). Here Keel's
//! backtester, through its live path (`bot::decide`, paper venue, ledger), must produce the same
//! trades (times, whole-unit sizes, prices), the same total commission and the same final
//! equity.
//!
//! How Keel is configured to mean what backtesting.py means:
//!
//! | backtesting.py | Keel |
//! |---|---|
//! | market order from `next()` on bar i fills at bar i+1's open | [`FillAt::NextOpen`], `slippage_bps = 0`, tick 0.01 (the data's own precision) |
//! | `commission=0.002`: fraction of notional on entry and on exit | taker fee rate 0.002 on every fill, fee in quote (linear market) |
//! | `buy()` = `int(cash * 0.9999 // (open * (1 + commission)))` units | target exposure `0.9999 / 1.002` of equity, step size 1 (whole units, rounded down); when flat, Keel's equity is backtesting.py's cash |
//! | `position.close()` | target exposure 0 |
//! | first `next()` one bar after the slow SMA's warm-up (two values of each SMA) | the test strategy decides from its `SLOW + 1`-th bar on |
//! | `finalize_trades=False`: an open trade is valued at the last close | the ledger is marked at the last close |
//! | `SMA` = pandas rolling mean | [`Sma`](crate::factor::Sma) (running sum; equal on this data) |
//!
//! Long-only because backtesting.py sizes a reversal from the cash left after the closing
//! commission while Keel sizes a target from the equity before it (a reversal is one target
//! signal): the two would differ by that commission on the size of every flip, which is a
//! difference of policy, not of arithmetic.

use super::*;
use crate::config::BotConfig;
use crate::factor::{Factor, Sma};
use crate::ids::Symbol;
use crate::market::{load_csv, Timeframe};
use crate::model::{Fill, InstrumentRules, Side};
use crate::strategy::{Context, Intent, Params, Strategy, StrategyVersion, Target};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

const BARS: &str = include_str!("../../test_data/backtesting_py/goog.csv");
const EXPECTED: &str = include_str!("../../test_data/backtesting_py/expected.json");

/// backtesting.py's README strategy, long-only: long while SMA(fast) > SMA(slow), else flat.
#[derive(Debug)]
struct SmaCrossLong {
    version: StrategyVersion,
    fast: Sma,
    slow: Sma,
    slow_n: usize,
    seen: usize,
    exposure: f64,
}

impl SmaCrossLong {
    fn new(fast: usize, slow: usize, exposure: f64) -> Self {
        Self {
            version: StrategyVersion::new("peer_sma_cross_long", 1, Params::default()),
            fast: Sma::new(fast),
            slow: Sma::new(slow),
            slow_n: slow,
            seen: 0,
            exposure,
        }
    }
}

impl Strategy for SmaCrossLong {
    fn version(&self) -> &StrategyVersion {
        &self.version
    }
    fn warm_up(&self) -> usize {
        self.slow_n + 1
    }
    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
        let Some(bar) = ctx.bar() else {
            return Vec::new();
        };
        self.seen += 1;
        let (f, s) = (self.fast.update(bar), self.slow.update(bar));
        let (Some(f), Some(s)) = (f, s) else {
            return Vec::new();
        };
        if self.seen <= self.slow_n {
            return Vec::new();
        }
        let target = if f > s { self.exposure } else { 0.0 };
        vec![Intent::Target {
            symbol: ctx.symbol.clone(),
            target: Target::Exposure(target),
        }]
    }
}

fn config(expected: &Value) -> BacktestConfig {
    let bot = BotConfig::from_value(json!({
        "id": "peer", "name": "Peer", "exchange": "binance", "market": "linear", "mode": "paper",
        "instruments": ["GOOGUSD"], "sizing": {"mode": "pct_equity", "value": "100"}, "risk": {}
    }))
    .unwrap();
    let commission = Decimal::try_from(expected["commission"].as_f64().unwrap()).unwrap();
    BacktestConfig {
        bot,
        rules: InstrumentRules {
            symbol: Symbol::new("GOOGUSD").unwrap(),
            base_asset: "GOOG".into(),
            quote_asset: "USD".into(),
            tick_size: dec!(0.01),
            step_size: dec!(1),
            min_qty: dec!(1),
            max_qty: dec!(1000000),
            max_market_qty: dec!(0),
            min_notional: dec!(0),
            min_price: dec!(0),
            max_price: dec!(0),
        },
        taker_fee_rate: commission,
        maker_fee_rate: commission,
        initial_capital: Decimal::from(expected["cash"].as_i64().unwrap()),
        fill_at: FillAt::NextOpen,
        slippage_bps: Decimal::ZERO,
        timeframe: Timeframe::parse("1d").unwrap(),
        rebalance_band: 0.0,
    }
}

/// One backtesting.py trade: (size, entry ms, entry price, exit ms, exit price).
type Trade = (i64, i64, Decimal, Option<i64>, Option<Decimal>);

fn dec_of(v: &Value) -> Decimal {
    v.as_str().unwrap().parse::<Decimal>().unwrap()
}

/// Pairs Keel's fills into long round trips (a buy opens, the next sell closes).
fn keel_trades(fills: &[Fill]) -> Vec<Trade> {
    let mut out: Vec<Trade> = Vec::new();
    for f in fills {
        match f.side {
            Side::Buy => {
                let size = f.qty.trunc().to_string().parse::<i64>().unwrap();
                assert_eq!(Decimal::from(size), f.qty, "whole units");
                out.push((size, f.time_ms, f.price, None, None));
            }
            Side::Sell => {
                let open = out.last_mut().expect("a sell closes a buy");
                assert_eq!(
                    Decimal::from(open.0),
                    f.qty,
                    "the close sells the whole trade"
                );
                assert!(open.3.is_none(), "one close per trade");
                (open.3, open.4) = (Some(f.time_ms), Some(f.price));
            }
        }
    }
    out
}

#[test]
fn same_trades_and_final_equity_as_backtesting_py() {
    let expected: Value = serde_json::from_str(EXPECTED).unwrap();
    let bars = load_csv(BARS.as_bytes()).unwrap();
    assert_eq!(bars.len(), 2148, "backtesting.test.GOOG");
    let cfg = config(&expected);
    let fast = expected["fast"].as_u64().unwrap() as usize;
    let slow = expected["slow"].as_u64().unwrap() as usize;
    let exposure = 0.9999 / (1.0 + expected["commission"].as_f64().unwrap());
    let report = run(&cfg, &mut SmaCrossLong::new(fast, slow, exposure), &bars).unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);

    let want: Vec<Trade> = expected["trades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["size"].as_i64().unwrap(),
                t["entry_time_ms"].as_i64().unwrap(),
                dec_of(&t["entry_price"]),
                t["exit_time_ms"].as_i64(),
                (!t["exit_price"].is_null()).then(|| dec_of(&t["exit_price"])),
            )
        })
        .collect();
    let got = keel_trades(&report.fills);
    assert!(want.len() > 20, "a meaningful number of trades");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g, w,
            "trade {i}: (size, entry ms, entry px, exit ms, exit px)"
        );
    }
    assert_eq!(got.len(), want.len(), "trade count");

    // backtesting.py adds floats; Keel's ledger is exact: equal to well under a cent.
    // Fees of closed trades (backtesting.py books a trade's commissions when it closes).
    let open_entry = match got.last() {
        Some((_, entry_ms, _, None, _)) => Some(*entry_ms),
        _ => None,
    };
    let fees: Decimal = report
        .fills
        .iter()
        .filter(|f| !(f.side == Side::Buy && Some(f.time_ms) == open_entry))
        .map(|f| f.fee)
        .sum();
    let tolerance = dec!(0.000001);
    let closed = dec_of(&expected["closed_trade_commissions"]);
    assert!(
        (fees - closed).abs() < tolerance,
        "commissions {fees} vs {closed}"
    );
    let equity_diff = (report.final_equity - dec_of(&expected["final_equity"])).abs();
    assert!(
        equity_diff < tolerance,
        "final equity {} vs {}",
        report.final_equity,
        expected["final_equity"]
    );
    assert_eq!(report.final_equity, cfg.initial_capital + report.pnl.net);
}

#[test]
fn a_different_commission_gives_a_different_result() {
    // The comparison can fail: the same run with another fee no longer matches.
    let expected: Value = serde_json::from_str(EXPECTED).unwrap();
    let bars = load_csv(BARS.as_bytes()).unwrap();
    let mut cfg = config(&expected);
    cfg.taker_fee_rate = dec!(0.001);
    let exposure = 0.9999 / 1.002;
    let report = run(&cfg, &mut SmaCrossLong::new(10, 20, exposure), &bars).unwrap();
    assert_ne!(
        report.final_equity.round_dp(2),
        dec_of(&expected["final_equity"]).round_dp(2)
    );
}
