//! Rounding and validation tables.

use super::*;
use crate::ids::{ClientOrderId, Symbol};
use rust_decimal_macros::dec;

fn rules() -> InstrumentRules {
    InstrumentRules {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        base_asset: "BTC".into(),
        quote_asset: "USDT".into(),
        tick_size: dec!(0.01),
        step_size: dec!(0.00001),
        min_qty: dec!(0.00001),
        max_qty: dec!(9000),
        max_market_qty: dec!(100),
        min_notional: dec!(5),
        min_price: dec!(0.01),
        max_price: dec!(1000000),
    }
}

fn req(order_type: OrderType, side: Side, qty: OrderQty, price: Option<Decimal>) -> OrderRequest {
    OrderRequest {
        client_order_id: ClientOrderId::new("c").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side,
        order_type,
        qty,
        price,
        time_in_force: None,
        reduce_only: false,
    }
}

#[test]
fn step_and_tick_rounding() {
    let cases = [
        (
            dec!(0.123456789),
            dec!(0.00001),
            dec!(0.12345),
            dec!(0.12346),
        ),
        (dec!(1.5), dec!(0.5), dec!(1.5), dec!(1.5)),
        (dec!(7), dec!(5), dec!(5), dec!(10)),
        (dec!(3.3), dec!(0), dec!(3.3), dec!(3.3)),
        (dec!(0.000009), dec!(0.00001), dec!(0), dec!(0.00001)),
    ];
    for (value, step, down, up) in cases {
        assert_eq!(
            round_to_step_down(value, step),
            down,
            "{value} down by {step}"
        );
        assert_eq!(round_to_step_up(value, step), up, "{value} up by {step}");
    }
    assert_eq!(
        round_price(dec!(65000.129), dec!(0.01), Side::Buy),
        dec!(65000.12)
    );
    assert_eq!(
        round_price(dec!(65000.121), dec!(0.01), Side::Sell),
        dec!(65000.13)
    );
}

struct Case {
    req: OrderRequest,
    ref_price: Decimal,
    expected: Result<(OrderQty, Option<Decimal>), RulesError>,
}

#[test]
fn prepare_rounds_then_validates() {
    let cases = vec![
        Case {
            req: req(
                OrderType::Limit,
                Side::Buy,
                OrderQty::Base(dec!(0.0012345)),
                Some(dec!(65000.129)),
            ),
            ref_price: dec!(0),
            expected: Ok((OrderQty::Base(dec!(0.00123)), Some(dec!(65000.12)))),
        },
        Case {
            req: req(
                OrderType::Market,
                Side::Sell,
                OrderQty::Base(dec!(0.0000999)),
                None,
            ),
            ref_price: dec!(65000),
            // 0.00009 × 65000 = 5.85 ≥ 5.
            expected: Ok((OrderQty::Base(dec!(0.00009)), None)),
        },
        Case {
            req: req(
                OrderType::Market,
                Side::Sell,
                OrderQty::Base(dec!(0.00007)),
                None,
            ),
            ref_price: dec!(65000),
            expected: Err(RulesError::BelowMinNotional {
                notional: dec!(4.55),
                min: dec!(5),
            }),
        },
        Case {
            req: req(
                OrderType::Market,
                Side::Sell,
                OrderQty::Base(dec!(0.000009)),
                None,
            ),
            ref_price: dec!(65000),
            expected: Err(RulesError::ZeroAfterRounding {
                qty: dec!(0.000009),
                step: dec!(0.00001),
            }),
        },
        Case {
            req: req(
                OrderType::Market,
                Side::Buy,
                OrderQty::Base(dec!(150)),
                None,
            ),
            ref_price: dec!(1),
            expected: Err(RulesError::AboveMaxQty {
                qty: dec!(150),
                max: dec!(100),
            }),
        },
        Case {
            req: req(
                OrderType::Limit,
                Side::Buy,
                OrderQty::Base(dec!(150)),
                Some(dec!(1)),
            ),
            ref_price: dec!(0),
            expected: Ok((OrderQty::Base(dec!(150)), Some(dec!(1)))),
        },
        Case {
            req: req(OrderType::Limit, Side::Buy, OrderQty::Base(dec!(1)), None),
            ref_price: dec!(0),
            expected: Err(RulesError::MissingPrice),
        },
        Case {
            req: req(
                OrderType::Limit,
                Side::Sell,
                OrderQty::Base(dec!(1)),
                Some(dec!(2000000)),
            ),
            ref_price: dec!(0),
            expected: Err(RulesError::PriceOutOfRange {
                price: dec!(2000000),
                min: dec!(0.01),
                max: dec!(1000000),
            }),
        },
        Case {
            req: req(OrderType::Market, Side::Buy, OrderQty::Quote(dec!(4)), None),
            ref_price: dec!(65000),
            expected: Err(RulesError::BelowMinNotional {
                notional: dec!(4),
                min: dec!(5),
            }),
        },
        Case {
            req: req(
                OrderType::Market,
                Side::Buy,
                OrderQty::Quote(dec!(100)),
                None,
            ),
            ref_price: dec!(65000),
            expected: Ok((OrderQty::Quote(dec!(100)), None)),
        },
        Case {
            req: req(OrderType::Market, Side::Buy, OrderQty::Base(dec!(-1)), None),
            ref_price: dec!(65000),
            expected: Err(RulesError::NotPositive {
                field: "qty",
                value: dec!(-1),
            }),
        },
    ];
    for c in cases {
        let got = prepare_order(&rules(), &c.req, c.ref_price).map(|o| (o.qty, o.price));
        assert_eq!(got, c.expected, "{:?}", c.req.qty);
    }
}

#[test]
fn close_sells_the_whole_free_balance() {
    // Bought 0.002 with a 0.1% fee taken in BTC: 0.001998 held.
    let got = close_qty(&rules(), dec!(0.001998), dec!(65000));
    assert_eq!(
        got,
        Ok(CloseQty {
            qty: dec!(0.00199),
            dust: dec!(0.000008)
        })
    );
    assert_eq!(
        close_qty(&rules(), dec!(0.00005), dec!(65000)),
        Err(RulesError::BelowMinNotional {
            notional: dec!(3.25),
            min: dec!(5)
        })
    );
    assert!(matches!(
        close_qty(&rules(), dec!(0), dec!(65000)),
        Err(RulesError::NotPositive { .. })
    ));
}

/// A reduce-only close of a position worth less than the minimum notional is what both
/// exchanges accept (Binance USD-M -4164 "unless you choose reduce only"; Bybit exempts closing
/// orders from minNotionalValue): refusing it here left the paper venue unable to close a small
/// remainder that live could. Minimum quantity and step still apply.
#[test]
fn reduce_only_orders_are_exempt_from_min_notional_only() {
    let mut small = req(
        OrderType::Market,
        Side::Sell,
        OrderQty::Base(dec!(0.00007)),
        None,
    );
    assert!(matches!(
        prepare_order(&rules(), &small, dec!(65000)),
        Err(RulesError::BelowMinNotional { .. })
    ));
    small.reduce_only = true;
    let ok = prepare_order(&rules(), &small, dec!(65000)).unwrap();
    assert_eq!(ok.qty, OrderQty::Base(dec!(0.00007)));

    let mut limit = req(
        OrderType::Limit,
        Side::Buy,
        OrderQty::Base(dec!(0.000074)),
        Some(dec!(60000.009)),
    );
    limit.reduce_only = true;
    let ok = prepare_order(&rules(), &limit, dec!(65000)).unwrap();
    assert_eq!(ok.qty, OrderQty::Base(dec!(0.00007)));
    assert_eq!(ok.price, Some(dec!(60000)));

    let mut below_step = req(
        OrderType::Market,
        Side::Sell,
        OrderQty::Base(dec!(0.000009)),
        None,
    );
    below_step.reduce_only = true;
    assert!(matches!(
        prepare_order(&rules(), &below_step, dec!(65000)),
        Err(RulesError::ZeroAfterRounding { .. })
    ));
}
