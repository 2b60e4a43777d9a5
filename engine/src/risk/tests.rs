use super::*;
use crate::ids::ClientOrderId;
use crate::model::{OrderQty, OrderType, Side};
use rust_decimal_macros::dec;
use serde_json::json;

pub(super) fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

pub(super) fn config() -> BotConfig {
    BotConfig::from_value(json!({
        "id": "bot", "name": "Bot", "exchange": "bybit", "market": "linear", "mode": "paper",
        "instruments": ["BTCUSDT", "*USDC"],
        "sizing": {"mode": "fixed_qty", "value": "0.01"},
        "risk": {
            "max_order_notional": "1000", "max_position_notional": "2000", "max_open_positions": 2,
            "max_leverage": "3", "max_daily_loss": "100", "max_drawdown_pct": "10",
            "max_trades_per_day": 5, "cooldown_secs": 60, "max_slippage_bps": 50,
            "require_stop_loss": true
        }
    }))
    .unwrap()
}

pub(super) const NOW: i64 = 1_700_000_000_000;

pub(super) fn ctx() -> RiskContext {
    RiskContext {
        now_ms: NOW,
        positions: BTreeMap::from([(
            sym("ETHUSDC"),
            PositionSnapshot {
                qty: dec!(0.1),
                notional: dec!(300),
            },
        )]),
        equity: dec!(1000),
        peak_equity: dec!(1050),
        pnl_today: dec!(-20),
        trades_today: 2,
        last_trade_ms: BTreeMap::from([(sym("BTCUSDT"), NOW - 120_000)]),
        bot_paused: false,
        platform_halted: false,
        market_price: dec!(50000),
        leverage: dec!(2),
    }
}

pub(super) fn order(side: Side, qty: rust_decimal::Decimal) -> ProposedOrder {
    ProposedOrder {
        request: OrderRequest {
            client_order_id: ClientOrderId::new("k1").unwrap(),
            symbol: sym("BTCUSDT"),
            side,
            order_type: OrderType::Market,
            qty: OrderQty::Base(qty),
            price: None,
            time_in_force: None,
            reduce_only: false,
        },
        stop_loss: Some(dec!(49000)),
        take_profit: None,
        signal_price: Some(dec!(50010)),
    }
}

/// A long BTC position of 0.02 (notional 1000).
fn long_btc(c: &mut RiskContext) {
    c.positions.insert(
        sym("BTCUSDT"),
        PositionSnapshot {
            qty: dec!(0.02),
            notional: dec!(1000),
        },
    );
}

type Setup = fn(&mut BotConfig, &mut RiskContext, &mut ProposedOrder);

#[test]
fn each_rule_refuses_with_limit_and_observed() {
    let cases: Vec<(&str, Setup, Option<RiskRule>, &str)> = vec![
        ("baseline passes", |_, _, _| {}, None, ""),
        (
            "halted",
            |_, c, _| c.platform_halted = true,
            Some(RiskRule::PlatformHalted),
            "halted",
        ),
        (
            "paused",
            |_, c, _| c.bot_paused = true,
            Some(RiskRule::BotPaused),
            "paused",
        ),
        (
            "no price",
            |_, c, _| c.market_price = dec!(0),
            Some(RiskRule::MarketPrice),
            "0",
        ),
        (
            "not whitelisted",
            |_, _, o| o.request.symbol = sym("SOLUSDT"),
            Some(RiskRule::Whitelist),
            "SOLUSDT",
        ),
        (
            "fake reduce-only",
            |_, _, o| o.request.reduce_only = true,
            Some(RiskRule::ReduceOnly),
            "position 0",
        ),
        (
            "no stop",
            |_, _, o| o.stop_loss = None,
            Some(RiskRule::RequireStopLoss),
            "none",
        ),
        (
            "slippage",
            |_, _, o| o.signal_price = Some(dec!(49700)),
            Some(RiskRule::MaxSlippageBps),
            "60.36",
        ),
        (
            "limit far from market",
            |_, _, o| {
                o.request.order_type = OrderType::Limit;
                o.request.price = Some(dec!(51000));
            },
            Some(RiskRule::MaxSlippageBps),
            "196.08",
        ),
        (
            "order notional",
            |_, _, o| o.request.qty = OrderQty::Base(dec!(0.021)),
            Some(RiskRule::MaxOrderNotional),
            "1050",
        ),
        (
            "quote order notional",
            |_, _, o| o.request.qty = OrderQty::Quote(dec!(1000.01)),
            Some(RiskRule::MaxOrderNotional),
            "1000.01",
        ),
        (
            "position notional",
            |_, c, o| {
                c.positions.insert(
                    sym("BTCUSDT"),
                    PositionSnapshot {
                        qty: dec!(0.03),
                        notional: dec!(1500),
                    },
                );
                o.request.qty = OrderQty::Base(dec!(0.0101));
            },
            Some(RiskRule::MaxPositionNotional),
            "2005",
        ),
        (
            "open positions",
            |_, c, _| {
                c.positions.insert(
                    sym("XRPUSDC"),
                    PositionSnapshot {
                        qty: dec!(-5),
                        notional: dec!(10),
                    },
                );
            },
            Some(RiskRule::MaxOpenPositions),
            "3",
        ),
        (
            "leverage setting",
            |_, c, _| c.leverage = dec!(5),
            Some(RiskRule::MaxLeverage),
            "5",
        ),
        (
            "gross leverage",
            |_, c, _| {
                c.equity = dec!(260);
                c.peak_equity = dec!(260);
            },
            Some(RiskRule::MaxLeverage),
            "3.0769",
        ),
        (
            "daily loss",
            |_, c, _| c.pnl_today = dec!(-100),
            Some(RiskRule::MaxDailyLoss),
            "100",
        ),
        (
            "drawdown",
            |_, c, _| c.peak_equity = dec!(1112),
            Some(RiskRule::MaxDrawdownPct),
            "10.0719",
        ),
        (
            "trades per day",
            |_, c, _| c.trades_today = 5,
            Some(RiskRule::MaxTradesPerDay),
            "5",
        ),
        (
            "cooldown",
            |_, c, _| {
                c.last_trade_ms.insert(sym("BTCUSDT"), NOW - 59_500);
            },
            Some(RiskRule::CooldownSecs),
            "59.5",
        ),
        (
            "paused beats everything",
            |_, c, o| {
                c.bot_paused = true;
                o.request.symbol = sym("SOLUSDT");
            },
            Some(RiskRule::BotPaused),
            "paused",
        ),
        (
            "limits absent pass",
            |cfg, c, o| {
                cfg.risk = crate::config::RiskLimits::default();
                c.pnl_today = dec!(-1000000);
                o.request.qty = OrderQty::Base(dec!(100));
                o.stop_loss = None;
            },
            None,
            "",
        ),
    ];
    for (name, setup, expected, observed) in cases {
        let (mut cfg, mut c, mut o) = (config(), ctx(), order(Side::Buy, dec!(0.01)));
        setup(&mut cfg, &mut c, &mut o);
        let report = evaluate(&cfg, &c, o.clone());
        assert_eq!(report.checks.len(), RiskRule::ALL.len(), "{name}");
        let order_of_rules: Vec<RiskRule> = report.checks.iter().map(|c| c.rule).collect();
        assert_eq!(order_of_rules, RiskRule::ALL.to_vec(), "{name}");
        match (expected, report.verdict) {
            (None, Ok(approved)) => assert_eq!(approved.get(), &o, "{name}"),
            (Some(rule), Err(refusal)) => {
                assert_eq!(refusal.rule, rule, "{name}: {refusal}");
                assert_eq!(refusal.observed, observed, "{name}: {refusal}");
                assert!(!refusal.message.is_empty());
            }
            (want, got) => panic!("{name}: expected {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn reducing_orders_always_pass() {
    let stops: Vec<(&str, Setup)> = vec![
        ("halted", |_, c, _| c.platform_halted = true),
        ("paused", |_, c, _| c.bot_paused = true),
        ("daily loss", |_, c, _| c.pnl_today = dec!(-500)),
        ("drawdown", |_, c, _| c.equity = dec!(100)),
        ("trades", |_, c, _| c.trades_today = 50),
        ("cooldown", |_, c, _| {
            c.last_trade_ms.insert(sym("BTCUSDT"), NOW);
        }),
        ("delisted", |cfg, _, _| {
            cfg.instruments = vec![crate::config::InstrumentPattern::parse("ETHUSDT").unwrap()];
        }),
        ("slippage", |_, _, o| o.signal_price = Some(dec!(40000))),
        ("no stop", |_, _, o| o.stop_loss = None),
    ];
    for (name, setup) in stops {
        let (mut cfg, mut c, mut o) = (config(), ctx(), order(Side::Sell, dec!(0.02)));
        long_btc(&mut c);
        o.request.reduce_only = true;
        setup(&mut cfg, &mut c, &mut o);
        let report = evaluate(&cfg, &c, o);
        assert!(report.verdict.is_ok(), "{name}: {:?}", report.verdict);
    }
    // Crossing zero is not reducing: a sell of 0.03 against a 0.02 long opens a short.
    let (cfg, mut c, mut o) = (config(), ctx(), order(Side::Sell, dec!(0.03)));
    long_btc(&mut c);
    c.bot_paused = true;
    o.request.reduce_only = true;
    let refusal = evaluate(&cfg, &c, o).verdict.unwrap_err();
    assert_eq!(refusal.rule, RiskRule::BotPaused);
    assert!(refusal.rule.is_stop());
    // Adding to a position while paused is refused.
    let (cfg, mut c, o) = (config(), ctx(), order(Side::Buy, dec!(0.001)));
    long_btc(&mut c);
    c.platform_halted = true;
    let refusal = evaluate(&cfg, &c, o).verdict.unwrap_err();
    assert_eq!(refusal.rule, RiskRule::PlatformHalted);
}

#[test]
fn all_checks_are_reported_even_after_a_refusal() {
    let (cfg, mut c, mut o) = (config(), ctx(), order(Side::Buy, dec!(0.01)));
    c.bot_paused = true;
    c.trades_today = 9;
    o.stop_loss = None;
    let report = evaluate(&cfg, &c, o);
    let refused: Vec<RiskRule> = report
        .checks
        .iter()
        .filter(|c| c.outcome == CheckOutcome::Refused)
        .map(|c| c.rule)
        .collect();
    assert_eq!(
        refused,
        [
            RiskRule::BotPaused,
            RiskRule::RequireStopLoss,
            RiskRule::MaxTradesPerDay
        ]
    );
    assert_eq!(report.verdict.unwrap_err().rule, RiskRule::BotPaused);
    let passed = report
        .checks
        .iter()
        .find(|c| c.rule == RiskRule::MaxOrderNotional);
    assert_eq!(
        passed.and_then(|c| c.observed.as_ref().map(ToString::to_string)),
        Some("500".into())
    );
}

#[test]
fn cancels_are_always_approved() {
    let approved = approve_cancel("cancel BTCUSDT");
    assert_eq!(approved.into_inner(), "cancel BTCUSDT");
}

#[test]
fn utc_day_start() {
    assert_eq!(utc_day_start_ms(1_566_899_760_000), 1_566_864_000_000);
    assert_eq!(utc_day_start_ms(1_566_864_000_000), 1_566_864_000_000);
    assert_eq!(utc_day_start_ms(-1), -86_400_000);
}
