use super::*;
use crate::ids::{BotId, SignalId};
use rust_decimal_macros::dec;

fn rules() -> InstrumentRules {
    InstrumentRules {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        base_asset: "BTC".into(),
        quote_asset: "USDT".into(),
        tick_size: dec!(0.1),
        step_size: dec!(0.001),
        min_qty: dec!(0.001),
        max_qty: dec!(100),
        max_market_qty: dec!(10),
        min_notional: dec!(5),
        min_price: dec!(0.1),
        max_price: dec!(1000000),
    }
}

fn signal(action: Action) -> Signal {
    Signal {
        id: None,
        action,
        symbol: Some(Symbol::new("BTCUSDT").unwrap()),
        sizing: None,
        target_position: None,
        order_type: OrderType::Market,
        price: None,
        stop_loss: None,
        take_profit: None,
        time_ms: None,
    }
}

fn cfg(mode: SizingMode, value: Decimal) -> SizingConfig {
    SizingConfig { mode, value }
}

fn ctx(market: Market, position: Decimal, rules: &InstrumentRules) -> SizingContext<'_> {
    SizingContext {
        market,
        market_price: dec!(50000),
        equity: dec!(10000),
        position_qty: position,
        free_base_balance: None,
        rules,
    }
}

/// (alert sizing, bot sizing, signal, expected qty or error code).
type EntryCase = (
    Option<SignalSizing>,
    SizingConfig,
    Signal,
    Result<Decimal, &'static str>,
);

#[test]
fn entry_sizing_modes() {
    let r = rules();
    let c = ctx(Market::Linear, dec!(0), &r);
    let mut sl = signal(Action::Buy);
    sl.stop_loss = Some(dec!(49000));
    let cases: Vec<EntryCase> = vec![
        (
            None,
            cfg(SizingMode::FixedQty, dec!(0.0123456)),
            signal(Action::Buy),
            Ok(dec!(0.012)),
        ),
        (
            None,
            cfg(SizingMode::FixedQuote, dec!(100)),
            signal(Action::Buy),
            Ok(dec!(0.002)),
        ),
        (
            None,
            cfg(SizingMode::PctEquity, dec!(5)),
            signal(Action::Sell),
            Ok(dec!(0.01)),
        ),
        // Risk 1% of 10000 = 100 over a 1000 stop distance = 0.1.
        (
            None,
            cfg(SizingMode::RiskPerTrade, dec!(1)),
            sl.clone(),
            Ok(dec!(0.1)),
        ),
        (
            None,
            cfg(SizingMode::RiskPerTrade, dec!(1)),
            signal(Action::Buy),
            Err("missing_stop_loss"),
        ),
        (
            None,
            cfg(SizingMode::RiskPerTrade, dec!(1)),
            {
                let mut s = sl.clone();
                s.action = Action::Sell;
                s
            },
            Err("stop_on_wrong_side"),
        ),
        (
            Some(SignalSizing::Qty(dec!(0.5))),
            cfg(SizingMode::FixedQuote, dec!(100)),
            signal(Action::Buy),
            Ok(dec!(0.5)),
        ),
        (
            Some(SignalSizing::QuoteQty(dec!(1000))),
            cfg(SizingMode::FixedQty, dec!(1)),
            signal(Action::Buy),
            Ok(dec!(0.02)),
        ),
        (
            Some(SignalSizing::SizePct(dec!(10))),
            cfg(SizingMode::FixedQty, dec!(1)),
            signal(Action::Buy),
            Ok(dec!(0.02)),
        ),
        (
            Some(SignalSizing::Qty(dec!(0.0009))),
            cfg(SizingMode::FixedQty, dec!(1)),
            signal(Action::Buy),
            Err("below_min_qty"),
        ),
        (
            Some(SignalSizing::QuoteQty(dec!(4))),
            cfg(SizingMode::FixedQty, dec!(1)),
            signal(Action::Buy),
            Err("below_min_qty"),
        ),
        (
            Some(SignalSizing::Qty(dec!(11))),
            cfg(SizingMode::FixedQty, dec!(1)),
            signal(Action::Buy),
            Err("above_max_qty"),
        ),
        (
            None,
            cfg(SizingMode::FixedQty, dec!(1)),
            signal(Action::CancelAll),
            Err("not_sizable"),
        ),
    ];
    for (i, (sizing, bot, mut s, expected)) in cases.into_iter().enumerate() {
        if sizing.is_some() {
            s.sizing = sizing;
        }
        let got = plan_orders(&s, &bot, &c)
            .map(|legs| legs[0].qty)
            .map_err(|e| e.code());
        assert_eq!(got, expected, "case {i}");
    }
    let mut cheap = ctx(Market::Linear, dec!(0), &r);
    cheap.market_price = dec!(1000);
    let mut s = signal(Action::Buy);
    s.sizing = Some(SignalSizing::QuoteQty(dec!(4.999)));
    let err = plan_orders(&s, &cfg(SizingMode::FixedQty, dec!(1)), &cheap).unwrap_err();
    assert_eq!(
        err,
        SizingError::BelowMinNotional {
            notional: dec!(4.000),
            min_notional: dec!(5)
        }
    );
    let mut broke = ctx(Market::Linear, dec!(0), &r);
    broke.equity = dec!(0);
    let err = plan_orders(
        &signal(Action::Buy),
        &cfg(SizingMode::PctEquity, dec!(5)),
        &broke,
    );
    assert_eq!(err.unwrap_err().code(), "no_equity");
    broke.market_price = dec!(0);
    let err = plan_orders(
        &signal(Action::Buy),
        &cfg(SizingMode::FixedQty, dec!(1)),
        &broke,
    );
    assert_eq!(err.unwrap_err().code(), "no_market_price");
}

#[test]
fn limit_prices_round_conservatively() {
    let r = rules();
    let c = ctx(Market::Linear, dec!(0), &r);
    let mut s = signal(Action::Buy);
    s.order_type = OrderType::Limit;
    s.price = Some(dec!(49999.99));
    let legs = plan_orders(&s, &cfg(SizingMode::FixedQuote, dec!(100)), &c).unwrap();
    assert_eq!(legs[0].price, Some(dec!(49999.9)));
    assert_eq!(legs[0].qty, dec!(0.002), "quote sized at the limit price");
    s.action = Action::Sell;
    let legs = plan_orders(&s, &cfg(SizingMode::FixedQty, dec!(20)), &c).unwrap();
    assert_eq!(legs[0].price, Some(dec!(50000)));
    assert_eq!(
        legs[0].qty,
        dec!(20),
        "limit orders use max_qty, not max_market_qty"
    );
}

#[test]
fn spot_sells_and_closes() {
    let r = rules();
    let mut c = ctx(Market::Spot, dec!(0.0157), &r);
    c.free_base_balance = Some(dec!(0.0149));
    let sell = plan_orders(
        &signal(Action::Sell),
        &cfg(SizingMode::FixedQty, dec!(1)),
        &c,
    )
    .unwrap();
    assert_eq!(
        sell[0].qty,
        dec!(0.014),
        "capped to the free balance, rounded down"
    );
    assert!(!sell[0].reduce_only, "spot has no reduce-only flag");
    let close = plan_orders(
        &signal(Action::Close),
        &cfg(SizingMode::FixedQty, dec!(1)),
        &c,
    )
    .unwrap();
    assert_eq!(
        (close[0].side, close[0].qty, close[0].kind),
        (Side::Sell, dec!(0.014), LegKind::Close)
    );
    c.free_base_balance = None;
    let close = plan_orders(
        &signal(Action::Close),
        &cfg(SizingMode::FixedQty, dec!(1)),
        &c,
    )
    .unwrap();
    assert_eq!(close[0].qty, dec!(0.015));
    let flat = ctx(Market::Spot, dec!(0), &r);
    let err = plan_orders(
        &signal(Action::Sell),
        &cfg(SizingMode::FixedQty, dec!(1)),
        &flat,
    );
    assert_eq!(err.unwrap_err().code(), "nothing_to_sell");
    let none = plan_orders(
        &signal(Action::Close),
        &cfg(SizingMode::FixedQty, dec!(1)),
        &flat,
    );
    assert_eq!(
        none.unwrap(),
        vec![],
        "closing a flat position does nothing"
    );
    let dust = ctx(Market::Spot, dec!(0.0004), &r);
    let none = plan_orders(
        &signal(Action::Close),
        &cfg(SizingMode::FixedQty, dec!(1)),
        &dust,
    );
    assert_eq!(
        none.unwrap(),
        vec![],
        "dust below one step is nothing to close"
    );
}

#[test]
fn linear_close_is_reduce_only_without_min_notional() {
    let r = rules();
    let c = ctx(Market::Linear, dec!(-0.001), &r);
    let mut cheap = c.clone();
    cheap.market_price = dec!(1000);
    let legs = plan_orders(
        &signal(Action::Close),
        &cfg(SizingMode::FixedQty, dec!(1)),
        &cheap,
    )
    .unwrap();
    assert_eq!(legs.len(), 1);
    assert_eq!(
        (legs[0].side, legs[0].qty, legs[0].reduce_only),
        (Side::Buy, dec!(0.001), true)
    );
}

#[test]
fn target_trades_the_difference() {
    let r = rules();
    struct Case {
        market: Market,
        position: Decimal,
        target: Decimal,
        expected: Result<Vec<(LegKind, Side, Decimal, bool)>, &'static str>,
    }
    use LegKind::{Open, Reduce};
    use Side::{Buy, Sell};
    let cases = [
        Case {
            market: Market::Linear,
            position: dec!(0),
            target: dec!(0.5),
            expected: Ok(vec![(Open, Buy, dec!(0.5), false)]),
        },
        Case {
            market: Market::Linear,
            position: dec!(0.2),
            target: dec!(0.5),
            expected: Ok(vec![(Open, Buy, dec!(0.3), false)]),
        },
        Case {
            market: Market::Linear,
            position: dec!(0.5),
            target: dec!(0.2),
            expected: Ok(vec![(Reduce, Sell, dec!(0.3), true)]),
        },
        Case {
            market: Market::Linear,
            position: dec!(0.5),
            target: dec!(0),
            expected: Ok(vec![(Reduce, Sell, dec!(0.5), true)]),
        },
        Case {
            market: Market::Linear,
            position: dec!(0.5),
            target: dec!(-0.2),
            expected: Ok(vec![
                (Reduce, Sell, dec!(0.5), true),
                (Open, Sell, dec!(0.2), false),
            ]),
        },
        Case {
            market: Market::Linear,
            position: dec!(-0.3),
            target: dec!(0.1),
            expected: Ok(vec![
                (Reduce, Buy, dec!(0.3), true),
                (Open, Buy, dec!(0.1), false),
            ]),
        },
        Case {
            market: Market::Linear,
            position: dec!(-0.3),
            target: dec!(-0.5),
            expected: Ok(vec![(Open, Sell, dec!(0.2), false)]),
        },
        Case {
            market: Market::Linear,
            position: dec!(0.5),
            target: dec!(0.5),
            expected: Ok(vec![]),
        },
        Case {
            market: Market::Linear,
            position: dec!(0.5),
            target: dec!(0.5004),
            expected: Ok(vec![]),
        },
        Case {
            market: Market::Linear,
            position: dec!(0),
            target: dec!(0.00005),
            expected: Ok(vec![]),
        },
        Case {
            market: Market::Spot,
            position: dec!(0.1),
            target: dec!(0.3),
            expected: Ok(vec![(Open, Buy, dec!(0.2), false)]),
        },
        Case {
            market: Market::Spot,
            position: dec!(0.3),
            target: dec!(0.1),
            expected: Ok(vec![(Reduce, Sell, dec!(0.2), false)]),
        },
        Case {
            market: Market::Spot,
            position: dec!(0.3),
            target: dec!(-0.1),
            expected: Err("negative_spot_target"),
        },
    ];
    for (i, case) in cases.into_iter().enumerate() {
        let c = ctx(case.market, case.position, &r);
        let mut s = signal(Action::Target);
        s.target_position = Some(case.target);
        let got = plan_orders(&s, &cfg(SizingMode::FixedQty, dec!(1)), &c)
            .map(|legs| {
                legs.into_iter()
                    .map(|l| (l.kind, l.side, l.qty, l.reduce_only))
                    .collect::<Vec<_>>()
            })
            .map_err(|e| e.code());
        assert_eq!(got, case.expected, "case {i}");
    }
}

#[test]
fn client_order_ids_are_deterministic_and_valid() {
    let bot = BotId::new("btc-trend").unwrap();
    let sig = SignalId::new("Long-2019-08-27T09:56:00Z").unwrap();
    let a = client_order_id(&bot, &sig, "entry").unwrap();
    assert_eq!(
        a,
        client_order_id(&bot, &sig, "entry").unwrap(),
        "same inputs, same id"
    );
    assert_eq!(a.as_str().len(), 36);
    assert!(a.as_str().starts_with('k'));
    // Pinned: an order sent before an upgrade must keep its id after it (`k` + the first 35 hex
    // digits of sha256("btc-trend\0Long-2019-08-27T09:56:00Z\0entry"), computed outside Rust).
    assert_eq!(a.as_str(), "k722a8ce81527d17434b83c78963b2031606");
    assert!(a
        .as_str()
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    assert_ne!(a, client_order_id(&bot, &sig, "open").unwrap());
    let other = BotId::new("eth-trend").unwrap();
    assert_ne!(a, client_order_id(&other, &sig, "entry").unwrap());
    // Separator: ("ab", "c") and ("a", "bc") differ.
    let x = client_order_id(
        &BotId::new("ab").unwrap(),
        &SignalId::new("c").unwrap(),
        "entry",
    );
    let y = client_order_id(
        &BotId::new("a").unwrap(),
        &SignalId::new("bc").unwrap(),
        "entry",
    );
    assert_ne!(x.unwrap(), y.unwrap());

    let leg = Leg {
        kind: LegKind::Reduce,
        side: Side::Sell,
        qty: dec!(0.5),
        reduce_only: true,
        price: Some(dec!(100)),
    };
    let req = order_request(&leg, &Symbol::new("BTCUSDT").unwrap(), &bot, &sig).unwrap();
    assert_eq!(
        req.client_order_id,
        client_order_id(&bot, &sig, "reduce").unwrap()
    );
    assert_eq!(req.order_type, OrderType::Limit);
    assert_eq!(req.time_in_force, Some(crate::model::TimeInForce::Gtc));
    assert!(req.reduce_only);
}

#[test]
fn drift() {
    let cases = [
        (dec!(0.5), dec!(0.5), dec!(0.001), None),
        (dec!(0.5), dec!(0.4995), dec!(0.001), None),
        (dec!(0.5), dec!(0.4), dec!(0.001), Some(dec!(0.1))),
        (dec!(-0.2), dec!(0), dec!(0.001), Some(dec!(-0.2))),
        (dec!(1), dec!(0.9999), dec!(0), Some(dec!(0.0001))),
    ];
    for (strategy, bot, step, expected) in cases {
        assert_eq!(
            position_drift(strategy, bot, step),
            expected,
            "{strategy} vs {bot}"
        );
    }
}
