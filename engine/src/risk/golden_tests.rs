//! The audit text of every risk check is part of the hash chain and of HTTP answers, so its
//! bytes must not move when the way it is built changes. A grid of configs × states × orders is
//! evaluated and every check and refusal, serialised, is compared with
//! `engine/test_data/risk/checks.golden.jsonl` (written by the eager-`format!` engine this
//! replaced; `KEEL_WRITE_GOLDEN=1` rewrites it after a deliberate change).

use super::tests::{config, ctx, order, sym};
use super::*;
use crate::model::{OrderQty, OrderType, Side, TimeInForce};
use rust_decimal_macros::dec;
use serde_json::json;

fn configs() -> Vec<(&'static str, BotConfig)> {
    let base = |risk: serde_json::Value| {
        BotConfig::from_value(json!({
            "id": "bot", "name": "Bot", "exchange": "bybit", "market": "linear", "mode": "paper",
            "instruments": ["BTCUSDT", "*USDC"],
            "sizing": {"mode": "fixed_qty", "value": "0.01"},
            "risk": risk
        }))
        .unwrap()
    };
    vec![
        ("none", base(json!({}))),
        ("all", config()),
        (
            "decimals",
            base(json!({
                "max_order_notional": "1000.50", "max_position_notional": "2000.0",
                "max_leverage": "1.5", "max_daily_loss": "0.01", "max_drawdown_pct": "2.50"
            })),
        ),
    ]
}

fn states() -> Vec<(&'static str, RiskContext)> {
    // The unit tests' context: ETHUSDC held, equity 1,000 (peak 1,050), a BTC trade 2 min ago.
    let base = ctx();
    let with = |f: fn(&mut RiskContext)| {
        let mut c = base.clone();
        f(&mut c);
        c
    };
    vec![
        ("base", base.clone()),
        ("paused", with(|c| c.bot_paused = true)),
        ("halted", with(|c| c.platform_halted = true)),
        ("no_price", with(|c| c.market_price = Decimal::ZERO)),
        (
            "long",
            with(|c| {
                c.positions.insert(
                    sym("BTCUSDT"),
                    PositionSnapshot {
                        qty: dec!(0.020),
                        notional: dec!(1000.00),
                    },
                );
            }),
        ),
        (
            "short",
            with(|c| {
                c.positions.insert(
                    sym("BTCUSDT"),
                    PositionSnapshot {
                        qty: dec!(-0.02),
                        notional: dec!(1000),
                    },
                );
            }),
        ),
        ("losing", with(|c| c.pnl_today = dec!(-150.25))),
        ("drawdown", with(|c| c.equity = dec!(900.123))),
        ("no_equity", with(|c| c.equity = Decimal::ZERO)),
        ("busy", with(|c| c.trades_today = 9)),
        ("recent", with(|c| c.now_ms -= 119_500)),
        ("fresh", with(|c| c.last_trade_ms.clear())),
        ("leveraged", with(|c| c.leverage = dec!(5))),
    ]
}

fn orders() -> Vec<(&'static str, ProposedOrder)> {
    // A market buy of 0.01 BTCUSDT with a stop-loss and the alert's price.
    let base = order(Side::Buy, dec!(0.01));
    let with = |f: fn(&mut ProposedOrder)| {
        let mut o = base.clone();
        f(&mut o);
        o
    };
    vec![
        ("buy", base.clone()),
        ("big", with(|o| o.request.qty = OrderQty::Base(dec!(0.5)))),
        (
            "sell_reduce",
            with(|o| {
                o.request.side = Side::Sell;
                o.request.qty = OrderQty::Base(dec!(0.01));
                o.request.reduce_only = true;
            }),
        ),
        ("sell", with(|o| o.request.side = Side::Sell)),
        (
            "limit",
            with(|o| {
                o.request.order_type = OrderType::Limit;
                o.request.price = Some(dec!(49500.5));
                o.request.time_in_force = Some(TimeInForce::Gtc);
            }),
        ),
        (
            "quote",
            with(|o| o.request.qty = OrderQty::Quote(dec!(250))),
        ),
        ("no_stop", with(|o| o.stop_loss = None)),
        ("no_alert_price", with(|o| o.signal_price = None)),
        ("stale_alert", with(|o| o.signal_price = Some(dec!(40000)))),
        ("other_symbol", with(|o| o.request.symbol = sym("XRPBTC"))),
        (
            "usdc",
            with(|o| {
                o.request.symbol = sym("ETHUSDC");
                o.request.side = Side::Sell;
                o.request.qty = OrderQty::Base(dec!(0.05));
            }),
        ),
    ]
}

fn lines() -> Vec<String> {
    let mut out = Vec::new();
    for (cn, cfg) in configs() {
        for (sn, ctx) in states() {
            for (on, order) in orders() {
                let report = evaluate(&cfg, &ctx, order);
                let verdict = match &report.verdict {
                    Ok(_) => json!("approved"),
                    Err(r) => serde_json::to_value(r).unwrap(),
                };
                out.push(
                    json!({
                        "case": format!("{cn}/{sn}/{on}"),
                        "verdict": verdict,
                        "checks": report.checks,
                    })
                    .to_string(),
                );
            }
        }
    }
    out
}

#[test]
fn check_text_is_byte_for_byte_stable() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/test_data/risk/checks.golden.jsonl"
    );
    let got = lines();
    if std::env::var_os("KEEL_WRITE_GOLDEN").is_some() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, got.join("\n") + "\n").unwrap();
    }
    let want = std::fs::read_to_string(path).expect("golden file");
    let want: Vec<&str> = want.lines().collect();
    assert_eq!(got.len(), want.len());
    assert!(got.len() > 400, "grid too small: {}", got.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
}
