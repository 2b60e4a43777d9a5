//! Paper venue scenarios on a virtual clock.

use super::*;
use crate::ids::ClientOrderId;
use crate::model::{OrderRequest, OrderType, Side, TimeInForce};
use crate::venue::clock::ServerClock;
use crate::venue::op::{Balance, OrderReport, OrderStatus};
use crate::venue::rules::close_qty;
use rust_decimal_macros::dec;

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn rules() -> InstrumentRules {
    InstrumentRules {
        symbol: btc(),
        base_asset: "BTC".into(),
        quote_asset: "USDT".into(),
        tick_size: dec!(0.01),
        step_size: dec!(0.00001),
        min_qty: dec!(0.00001),
        max_qty: dec!(9000),
        max_market_qty: dec!(0),
        min_notional: dec!(5),
        min_price: dec!(0),
        max_price: dec!(0),
    }
}

fn venue(market: Market) -> PaperVenue {
    let mut v = PaperVenue::new(PaperConfig {
        exchange: Exchange::Binance,
        market,
        taker_fee_rate: dec!(0.001),
        maker_fee_rate: dec!(0.0002),
        slippage_bps: Decimal::ZERO,
    });
    v.set_rules(rules());
    v.deposit("USDT", dec!(1000));
    v.set_price(&btc(), dec!(50000), 0);
    v
}

fn req(
    id: &str,
    side: Side,
    order_type: OrderType,
    qty: OrderQty,
    price: Option<Decimal>,
    tif: Option<TimeInForce>,
    reduce_only: bool,
) -> OrderRequest {
    OrderRequest {
        client_order_id: ClientOrderId::new(id).unwrap(),
        symbol: btc(),
        side,
        order_type,
        qty,
        price,
        time_in_force: tif,
        reduce_only,
    }
}

fn run(v: &mut PaperVenue, op: VenueOp, now_ms: i64) -> Result<VenueReply, VenueError> {
    let clock = ServerClock::new();
    let ctx = BuildCtx {
        creds: None,
        clock: &clock,
        now_ms,
        base_url: "",
    };
    match v.build(&op, &ctx)? {
        Planned::Immediate(r) => Ok(r),
        Planned::Http(r) => panic!("paper sent {r:?}"),
    }
}

fn place(v: &mut PaperVenue, r: OrderRequest, now_ms: i64) -> Result<OrderReport, VenueError> {
    match run(v, VenueOp::PlaceOrder(r), now_ms)? {
        VenueReply::Order(o) => Ok(o),
        other => panic!("{other:?}"),
    }
}

fn balances(v: &mut PaperVenue) -> Vec<Balance> {
    match run(v, VenueOp::Balances, 0) {
        Ok(VenueReply::Balances(b)) => b,
        other => panic!("{other:?}"),
    }
}

#[test]
fn spot_round_trip_leaves_no_sellable_dust() {
    let mut v = venue(Market::Spot);
    let buy = place(
        &mut v,
        req(
            "b1",
            Side::Buy,
            OrderType::Market,
            OrderQty::Quote(dec!(100)),
            None,
            None,
            false,
        ),
        10,
    )
    .unwrap();
    assert_eq!(
        (buy.status, buy.executed_qty),
        (OrderStatus::Filled, dec!(0.002))
    );
    assert_eq!(
        (
            buy.fills[0].trade_id.as_str(),
            buy.fills[0].fee,
            buy.fills[0].fee_asset.as_str()
        ),
        ("P0", dec!(0.000002), "BTC")
    );
    let held = balances(&mut v)
        .into_iter()
        .find(|b| b.asset == "BTC")
        .unwrap()
        .free;
    assert_eq!(held, dec!(0.001998));
    let close = close_qty(&rules(), held, dec!(50000)).unwrap();
    let sell = place(
        &mut v,
        req(
            "s1",
            Side::Sell,
            OrderType::Market,
            OrderQty::Base(close.qty),
            None,
            None,
            false,
        ),
        20,
    )
    .unwrap();
    assert_eq!(sell.status, OrderStatus::Filled);
    let b = balances(&mut v);
    assert_eq!(
        b.iter().find(|b| b.asset == "BTC").map(|b| b.free),
        Some(dec!(0.000008)),
        "only sub-step dust remains"
    );
    // 1000 − 100 + 99.5 × (1 − 0.001) = 999.4005
    assert_eq!(
        b.iter().find(|b| b.asset == "USDT").map(|b| b.free),
        Some(dec!(999.4005))
    );
}

#[test]
fn limit_rests_locks_then_fills_as_maker() {
    let mut v = venue(Market::Spot);
    let o = place(
        &mut v,
        req(
            "l1",
            Side::Buy,
            OrderType::Limit,
            OrderQty::Base(dec!(0.01)),
            Some(dec!(49000)),
            Some(TimeInForce::Gtc),
            false,
        ),
        1,
    )
    .unwrap();
    assert_eq!(o.status, OrderStatus::New);
    assert_eq!(
        balances(&mut v)[0],
        Balance {
            asset: "USDT".into(),
            free: dec!(510),
            locked: dec!(490)
        }
    );
    assert!(v.set_price(&btc(), dec!(49500), 2).is_empty());
    let fills = v.set_price(&btc(), dec!(48900), 3);
    assert_eq!(
        (fills.len(), fills[0].price, fills[0].is_maker, fills[0].fee),
        (1, dec!(49000), true, dec!(0.000002))
    );
    let q = run(
        &mut v,
        VenueOp::QueryOrder {
            symbol: btc(),
            client_order_id: ClientOrderId::new("l1").unwrap(),
        },
        4,
    )
    .unwrap();
    assert!(matches!(
        q,
        VenueReply::Order(OrderReport {
            status: OrderStatus::Filled,
            ..
        })
    ));
    let page = run(
        &mut v,
        VenueOp::Trades {
            symbol: btc(),
            cursor: TradeCursor::from_time(0),
        },
        5,
    )
    .unwrap();
    let VenueReply::Trades(page) = page else {
        panic!()
    };
    assert_eq!(
        (page.fills.len(), page.next.token.as_deref()),
        (1, Some("1"))
    );
    let again = run(
        &mut v,
        VenueOp::Trades {
            symbol: btc(),
            cursor: page.next,
        },
        6,
    )
    .unwrap();
    assert!(matches!(again, VenueReply::Trades(TradePage { ref fills, .. }) if fills.is_empty()));
}

struct Case {
    name: &'static str,
    req: OrderRequest,
    expected: Result<OrderStatus, &'static str>,
}

#[test]
fn order_outcomes() {
    let cases = vec![
        Case {
            name: "post-only that would take",
            req: req(
                "p",
                Side::Buy,
                OrderType::Limit,
                OrderQty::Base(dec!(0.001)),
                Some(dec!(51000)),
                Some(TimeInForce::PostOnly),
                false,
            ),
            expected: Ok(OrderStatus::Expired),
        },
        Case {
            name: "ioc that cannot fill",
            req: req(
                "i",
                Side::Buy,
                OrderType::Limit,
                OrderQty::Base(dec!(0.001)),
                Some(dec!(49000)),
                Some(TimeInForce::Ioc),
                false,
            ),
            expected: Ok(OrderStatus::Expired),
        },
        Case {
            name: "marketable limit",
            req: req(
                "m",
                Side::Buy,
                OrderType::Limit,
                OrderQty::Base(dec!(0.001)),
                Some(dec!(51000)),
                Some(TimeInForce::Gtc),
                false,
            ),
            expected: Ok(OrderStatus::Filled),
        },
        Case {
            name: "too expensive",
            req: req(
                "x",
                Side::Buy,
                OrderType::Market,
                OrderQty::Base(dec!(1)),
                None,
                None,
                false,
            ),
            expected: Err("insufficient"),
        },
        Case {
            name: "off-step qty",
            req: req(
                "y",
                Side::Buy,
                OrderType::Market,
                OrderQty::Base(dec!(0.0010001)),
                None,
                None,
                false,
            ),
            expected: Err("filter"),
        },
        Case {
            name: "below min notional",
            req: req(
                "z",
                Side::Buy,
                OrderType::Market,
                OrderQty::Base(dec!(0.00001)),
                None,
                None,
                false,
            ),
            expected: Err("rules"),
        },
        Case {
            name: "reduce-only on spot",
            req: req(
                "r",
                Side::Sell,
                OrderType::Market,
                OrderQty::Base(dec!(0.001)),
                None,
                None,
                true,
            ),
            expected: Err("unsupported"),
        },
    ];
    for c in cases {
        let mut v = venue(Market::Spot);
        let got = place(&mut v, c.req, 1)
            .map(|o| o.status)
            .map_err(|e| match e {
                VenueError::InsufficientBalance { .. } => "insufficient",
                VenueError::Filter { .. } => "filter",
                VenueError::Rules(_) => "rules",
                VenueError::Unsupported { .. } => "unsupported",
                _ => "other",
            });
        assert_eq!(got, c.expected, "{}", c.name);
    }
}

#[test]
fn duplicates_and_cancels() {
    let mut v = venue(Market::Spot);
    let r = req(
        "d1",
        Side::Buy,
        OrderType::Limit,
        OrderQty::Base(dec!(0.01)),
        Some(dec!(40000)),
        None,
        false,
    );
    place(&mut v, r.clone(), 1).unwrap();
    assert!(matches!(
        place(&mut v, r, 2),
        Err(VenueError::DuplicateClientOrderId { .. })
    ));
    let open = run(&mut v, VenueOp::OpenOrders { symbol: None }, 3).unwrap();
    assert!(matches!(open, VenueReply::Orders(ref o) if o.len() == 1));
    let all = run(&mut v, VenueOp::CancelAll { symbol: btc() }, 4).unwrap();
    assert!(matches!(all, VenueReply::Orders(ref o) if o[0].status == OrderStatus::Cancelled));
    assert_eq!(
        balances(&mut v)[0],
        Balance {
            asset: "USDT".into(),
            free: dec!(1000),
            locked: dec!(0)
        }
    );
    let again = run(
        &mut v,
        VenueOp::CancelOrder {
            symbol: btc(),
            client_order_id: ClientOrderId::new("d1").unwrap(),
        },
        5,
    );
    assert!(matches!(again, Err(VenueError::UnknownOrder { .. })));
    let missing = run(
        &mut v,
        VenueOp::QueryOrder {
            symbol: btc(),
            client_order_id: ClientOrderId::new("nope").unwrap(),
        },
        6,
    );
    assert!(matches!(missing, Err(VenueError::UnknownOrder { .. })));
}

#[test]
fn linear_positions_pnl_reduce_only_and_funding() {
    let mut v = venue(Market::Linear);
    place(
        &mut v,
        req(
            "o1",
            Side::Buy,
            OrderType::Market,
            OrderQty::Base(dec!(0.02)),
            None,
            None,
            false,
        ),
        1,
    )
    .unwrap();
    v.set_price(&btc(), dec!(51000), 2);
    // Reduce-only bigger than the position is capped to it.
    let close = place(
        &mut v,
        req(
            "c1",
            Side::Sell,
            OrderType::Market,
            OrderQty::Base(dec!(0.05)),
            None,
            None,
            true,
        ),
        3,
    )
    .unwrap();
    assert_eq!(close.executed_qty, dec!(0.02));
    let pos = run(&mut v, VenueOp::Positions { symbol: None }, 4).unwrap();
    assert_eq!(pos, VenueReply::Positions(vec![]));
    // +20 realized − fees (1.00 + 1.02) = 1017.98
    assert_eq!(balances(&mut v)[0].free, dec!(1017.98));
    assert!(matches!(
        place(
            &mut v,
            req(
                "c2",
                Side::Sell,
                OrderType::Market,
                OrderQty::Base(dec!(0.01)),
                None,
                None,
                true
            ),
            5
        ),
        Err(VenueError::Rejected { code: -2022, .. })
    ));
    place(
        &mut v,
        req(
            "o2",
            Side::Sell,
            OrderType::Market,
            OrderQty::Base(dec!(0.01)),
            None,
            None,
            false,
        ),
        6,
    )
    .unwrap();
    let ev = v.apply_funding(&btc(), dec!(0.0001), 7).unwrap();
    assert_eq!(ev.amount, dec!(0.051), "shorts receive a positive rate");
    let page = run(
        &mut v,
        VenueOp::Funding {
            symbol: Some(btc()),
            cursor: TradeCursor::from_time(0),
        },
        8,
    )
    .unwrap();
    assert!(
        matches!(page, VenueReply::Funding(FundingPage { ref events, .. }) if events == &vec![ev.clone()])
    );
    let pos = run(
        &mut v,
        VenueOp::Positions {
            symbol: Some(btc()),
        },
        9,
    )
    .unwrap();
    let VenueReply::Positions(p) = pos else {
        panic!()
    };
    assert_eq!((p[0].qty, p[0].entry_price), (dec!(-0.01), dec!(51000)));
}

#[test]
fn serialises_for_storage() {
    let mut v = venue(Market::Linear);
    place(
        &mut v,
        req(
            "o1",
            Side::Buy,
            OrderType::Market,
            OrderQty::Base(dec!(0.02)),
            None,
            None,
            false,
        ),
        1,
    )
    .unwrap();
    let text = serde_json::to_string(&v).unwrap();
    let back: PaperVenue = serde_json::from_str(&text).unwrap();
    assert_eq!(back, v);
}

#[test]
fn slipped_price_moves_against_the_trader_onto_the_tick() {
    use crate::model::Side;
    use rust_decimal_macros::dec;
    let cases = [
        // (price, side, bps, tick, expected)
        (dec!(100.00), Side::Buy, dec!(5), dec!(0.01), dec!(100.05)),
        (dec!(100.01), Side::Buy, dec!(5), dec!(0.01), dec!(100.07)), // 100.0600005 → up
        (dec!(100.01), Side::Sell, dec!(5), dec!(0.01), dec!(99.95)), // 99.9599995 → down
        (dec!(100.01), Side::Sell, dec!(0), dec!(0.01), dec!(100.01)),
        (dec!(100), Side::Buy, dec!(10), dec!(0), dec!(100.1)),
    ];
    for (price, side, bps, tick, want) in cases {
        assert_eq!(
            super::slipped_price(price, side, bps, tick),
            want,
            "{price} {side:?} {bps} {tick}"
        );
    }
}

/// A market buy of 0.001 BTC.
fn market_buy(id: &str) -> OrderRequest {
    req(
        id,
        Side::Buy,
        OrderType::Market,
        OrderQty::Base(dec!(0.001)),
        None,
        None,
        false,
    )
}

#[test]
fn prune_keeps_working_orders_and_the_newest_finished_ones() {
    let limit = |id: &str, px: Decimal| {
        req(
            id,
            Side::Buy,
            OrderType::Limit,
            OrderQty::Base(dec!(0.001)),
            Some(px),
            Some(TimeInForce::Gtc),
            false,
        )
    };
    let ids = |v: &PaperVenue| -> Vec<String> {
        v.book
            .orders
            .keys()
            .map(|k| k.as_str().to_string())
            .collect()
    };
    for keep in [0usize, 1] {
        let mut v = venue(Market::Spot);
        place(&mut v, market_buy("m1"), 1).unwrap();
        place(&mut v, limit("r1", dec!(40000)), 2).unwrap();
        place(&mut v, market_buy("m2"), 3).unwrap();
        assert_eq!(ids(&v), ["m1", "m2", "r1"]);
        v.prune(keep, 0);
        let want: &[&str] = if keep == 0 { &["r1"] } else { &["m2", "r1"] };
        assert_eq!(ids(&v), want, "keep {keep}");
        assert!(v.book.fills.is_empty());
    }
}

#[test]
fn paper_ids_are_prefixed_decimal_numbers() {
    let mut v = venue(Market::Spot);
    v.book.next_order = 9;
    v.book.next_trade = u64::MAX - 1;
    let o = place(&mut v, market_buy("m1"), 1).unwrap();
    assert_eq!(o.order_id, "PO9");
    assert_eq!(o.fills[0].trade_id, format!("P{}", u64::MAX - 1));
}

/// Issue 26: `Decimal`'s operators panic on overflow, and the paper book multiplied prices from
/// exchange answers by quantities from alerts. An out-of-range amount is now a typed refusal
/// that leaves the book untouched, on both markets and on the resting-order path.
#[test]
fn amounts_beyond_the_decimal_range_are_refused_not_panicked_on() {
    let huge = Decimal::MAX / dec!(10);
    for market in [Market::Spot, Market::Linear] {
        let mut v = venue(market);
        v.deposit("USDT", huge);
        v.set_price(&btc(), huge, 1);
        let before = balances(&mut v);
        let err = place(
            &mut v,
            req(
                "h1",
                Side::Buy,
                OrderType::Market,
                OrderQty::Base(dec!(100)),
                None,
                None,
                false,
            ),
            2,
        )
        .expect_err("notional beyond Decimal::MAX");
        assert!(!err.to_string().is_empty(), "{market:?}: {err:?}");
        assert_eq!(
            balances(&mut v),
            before,
            "{market:?}: the book is untouched"
        );
        // The book's own arithmetic, below the venue's rule checks, refuses it too.
        let mut b = book::Book::default();
        let h = b.holdings.entry("USDT".into()).or_default();
        h.free = huge;
        let untouched = b.clone();
        let fees = book::Fees {
            taker: dec!(0.001),
            maker: dec!(0.0002),
        };
        let order = req(
            "h1",
            Side::Buy,
            OrderType::Market,
            OrderQty::Base(dec!(100)),
            None,
            None,
            false,
        );
        let err = b
            .place(market, &rules(), &order, huge, fees, 2)
            .expect_err("overflow");
        assert!(
            matches!(&err, VenueError::Filter { which, .. } if which == "PAPER_RANGE"),
            "{market:?}: {err:?}"
        );
        // Only the order number is spent, as for any refusal after numbering.
        assert_eq!(
            (&b.holdings, &b.positions, &b.orders, &b.fills),
            (
                &untouched.holdings,
                &untouched.positions,
                &untouched.orders,
                &untouched.fills
            ),
            "{market:?}: an overflow changes no balance, position, order or fill"
        );
    }
    // Slippage onto a microscopic tick: a price, never a panic.
    let p = super::slipped_price(
        huge,
        Side::Buy,
        dec!(50),
        dec!(0.0000000000000000000000000001),
    );
    assert!(p >= huge);
}

/// A linear position worth less than the minimum notional is still closed by a reduce-only
/// order, as Binance USD-M and Bybit accept it; an opening order of that size is refused.
#[test]
fn a_reduce_only_close_below_min_notional_is_accepted_like_on_the_exchange() {
    let mut v = venue(Market::Linear);
    let order = |id: &str, side, qty, reduce_only| {
        req(
            id,
            side,
            OrderType::Market,
            OrderQty::Base(qty),
            None,
            None,
            reduce_only,
        )
    };
    place(&mut v, order("o1", Side::Buy, dec!(0.00015), false), 1).unwrap();
    // 0.00007 × 50000 = 3.5 < 5: refused when it would open or add…
    assert!(place(&mut v, order("o2", Side::Buy, dec!(0.00007), false), 2).is_err());
    // …accepted when it only reduces, down to a flat position.
    let part = place(&mut v, order("c1", Side::Sell, dec!(0.00007), true), 3).unwrap();
    assert_eq!(part.executed_qty, dec!(0.00007));
    let rest = place(&mut v, order("c2", Side::Sell, dec!(0.00008), true), 4).unwrap();
    assert_eq!(rest.executed_qty, dec!(0.00008));
    let pos = run(&mut v, VenueOp::Positions { symbol: None }, 5).unwrap();
    assert_eq!(pos, VenueReply::Positions(vec![]));
}

mod exit_orders {
    //! The exits the paper venue holds: placement refusals, locks, cancels, queries, and the
    //! one firing rule of `exits.rs` from ticks and bars.
    use super::*;
    use crate::venue::op::{
        ExitFill, ExitKind, ExitRef, ExitTrigger, OcoExit, OcoLeg, Protection, TriggerState,
    };
    use crate::venue::paper::exits::BarPrices;

    fn id(s: &str) -> ClientOrderId {
        ClientOrderId::new(s).unwrap()
    }

    fn trigger(coid: &str, kind: ExitKind, price: Decimal, qty: Option<Decimal>) -> VenueOp {
        VenueOp::PlaceExitTrigger(ExitTrigger {
            client_order_id: id(coid),
            symbol: btc(),
            close_side: Side::Sell,
            kind,
            trigger_price: price,
            qty,
        })
    }

    fn buy(v: &mut PaperVenue, qty: Decimal) {
        let r = req(
            "entry",
            Side::Buy,
            OrderType::Market,
            OrderQty::Base(qty),
            None,
            None,
            false,
        );
        place(v, r, 1).unwrap();
    }

    fn exit_fills(v: &mut PaperVenue) -> Vec<ExitFill> {
        let op = VenueOp::ExitFills {
            symbol: btc(),
            since_ms: 0,
            order_id: None,
        };
        match run(v, op, 0) {
            Ok(VenueReply::ExitFills(f)) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stored_exits_survive_a_save_and_an_old_save_loads_without_them() {
        let mut v = venue(Market::Linear);
        buy(&mut v, dec!(0.01));
        run(
            &mut v,
            trigger("sl", ExitKind::StopLoss, dec!(49000), None),
            2,
        )
        .unwrap();
        let saved = serde_json::to_value(&v).unwrap();
        let mut back: PaperVenue = serde_json::from_value(saved.clone()).unwrap();
        assert_eq!(back, v);
        back.set_price(&btc(), dec!(48000), 3);
        assert_eq!(exit_fills(&mut back).len(), 1);
        // A paper venue stored before exits existed has neither field.
        let mut old = saved;
        let obj = old.as_object_mut().unwrap();
        obj.remove("exits");
        obj.remove("next_exit");
        let loaded: PaperVenue = serde_json::from_value(old).unwrap();
        assert!(loaded.working_exits(&btc()).is_empty());
    }

    #[test]
    fn a_trigger_the_price_already_touches_is_refused() {
        let mut v = venue(Market::Linear);
        buy(&mut v, dec!(0.01));
        let err = run(
            &mut v,
            trigger("sl", ExitKind::StopLoss, dec!(50000), None),
            2,
        );
        assert!(
            matches!(err, Err(VenueError::Rejected { code: -2021, .. })),
            "{err:?}"
        );
        run(
            &mut v,
            trigger("sl", ExitKind::StopLoss, dec!(49000), None),
            2,
        )
        .unwrap();
        let again = run(
            &mut v,
            trigger("sl", ExitKind::StopLoss, dec!(48000), None),
            2,
        );
        assert!(matches!(
            again,
            Err(VenueError::DuplicateClientOrderId { .. })
        ));
    }

    #[test]
    fn a_tick_through_the_stop_closes_the_position_at_that_price_and_ends_the_target() {
        let mut v = venue(Market::Linear);
        buy(&mut v, dec!(0.01));
        run(
            &mut v,
            trigger("sl", ExitKind::StopLoss, dec!(49000), None),
            2,
        )
        .unwrap();
        run(
            &mut v,
            trigger("tp", ExitKind::TakeProfit, dec!(52000), None),
            2,
        )
        .unwrap();
        // A tick is a jump: the stop fills at the price seen, not at its trigger.
        assert!(v.set_price(&btc(), dec!(48500), 3).is_empty());
        let f = exit_fills(&mut v);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, Some(ExitKind::StopLoss));
        assert_eq!(
            (
                f[0].fill.side,
                f[0].fill.qty,
                f[0].fill.price,
                f[0].fill.fee
            ),
            (Side::Sell, dec!(0.01), dec!(48500), dec!(0.485))
        );
        assert_eq!(f[0].fill.client_order_id, Some(id("sl")));
        let q = |v: &mut PaperVenue, c: &str| match run(
            v,
            VenueOp::QueryExitTrigger {
                symbol: btc(),
                client_order_id: id(c),
            },
            0,
        ) {
            Ok(VenueReply::Trigger(t)) => t,
            other => panic!("{other:?}"),
        };
        let sl = q(&mut v, "sl");
        assert_eq!(sl.state, TriggerState::Fired);
        assert_eq!(
            sl.actual_order_id.as_deref(),
            Some(f[0].fill.order_id.as_str())
        );
        assert_eq!(q(&mut v, "tp").state, TriggerState::Cancelled);
        assert!(v.working_exits(&btc()).is_empty());
        // Flat, the realized loss and both fees booked to the quote balance.
        let usdt = balances(&mut v)
            .into_iter()
            .find(|b| b.asset == "USDT")
            .unwrap();
        assert_eq!(usdt.free, dec!(1000) - dec!(15) - dec!(0.5) - dec!(0.485));
    }

    #[test]
    fn protection_on_the_entry_rides_on_the_position_and_ends_with_it() {
        let mut v = venue(Market::Linear);
        let entry = req(
            "e1",
            Side::Buy,
            OrderType::Market,
            OrderQty::Base(dec!(0.01)),
            None,
            None,
            false,
        );
        let op = VenueOp::PlaceProtectedOrder {
            order: entry,
            protection: Protection {
                stop_loss: Some(dec!(49000)),
                take_profit: Some(dec!(51000)),
            },
        };
        run(&mut v, op, 1).unwrap();
        assert_eq!(v.working_exits(&btc()).len(), 2);
        let close = req(
            "c1",
            Side::Sell,
            OrderType::Market,
            OrderQty::Base(dec!(0.01)),
            None,
            None,
            true,
        );
        place(&mut v, close, 2).unwrap();
        assert!(v.working_exits(&btc()).is_empty());
        v.set_price(&btc(), dec!(40000), 3);
        assert!(exit_fills(&mut v).is_empty());
    }

    #[test]
    fn a_spot_oco_locks_the_holding_until_cancelled_and_its_legs_answer_as_orders() {
        let mut v = venue(Market::Spot);
        buy(&mut v, dec!(0.01));
        // 0.01 bought, 0.00001 BTC fee: 0.00999 held.
        let oco = OcoExit {
            list_client_order_id: id("list"),
            symbol: btc(),
            close_side: Side::Sell,
            qty: dec!(0.00999),
            take_profit: OcoLeg {
                client_order_id: id("tp"),
                price: dec!(51000),
            },
            stop_loss: OcoLeg {
                client_order_id: id("sl"),
                price: dec!(49000),
            },
        };
        let Ok(VenueReply::Orders(legs)) = run(&mut v, VenueOp::PlaceOcoExit(oco), 2) else {
            panic!("oco")
        };
        assert_eq!(legs.len(), 2);
        let btc_bal = |v: &mut PaperVenue| {
            balances(v)
                .into_iter()
                .find(|b| b.asset == "BTC")
                .map(|b| (b.free, b.locked))
        };
        assert_eq!(btc_bal(&mut v), Some((dec!(0), dec!(0.00999))));
        let sell = req(
            "s1",
            Side::Sell,
            OrderType::Market,
            OrderQty::Base(dec!(0.00999)),
            None,
            None,
            false,
        );
        assert!(matches!(
            place(&mut v, sell.clone(), 3),
            Err(VenueError::InsufficientBalance { .. })
        ));
        let leg = |v: &mut PaperVenue| match run(
            v,
            VenueOp::QueryOrder {
                symbol: btc(),
                client_order_id: id("tp"),
            },
            0,
        ) {
            Ok(VenueReply::Order(o)) => o.status,
            other => panic!("{other:?}"),
        };
        assert_eq!(leg(&mut v), OrderStatus::New);
        let cancel = VenueOp::CancelExit(ExitRef {
            symbol: btc(),
            client_order_id: id("sl"),
            list_client_order_id: Some(id("list")),
        });
        assert!(matches!(
            run(&mut v, cancel.clone(), 4),
            Ok(VenueReply::Trigger(_))
        ));
        assert_eq!(leg(&mut v), OrderStatus::Cancelled);
        assert!(matches!(
            run(&mut v, cancel, 4),
            Err(VenueError::UnknownOrder { .. })
        ));
        assert_eq!(btc_bal(&mut v), Some((dec!(0.00999), dec!(0))));
        place(&mut v, sell, 5).unwrap();
    }

    #[test]
    fn a_bar_walks_through_the_stop_before_the_target_and_a_gap_fills_at_the_open() {
        for (bar, want) in [
            // Both touched: the low comes first for a long.
            (
                (dec!(50000), dec!(52000), dec!(48000), dec!(51000)),
                (ExitKind::StopLoss, dec!(49000)),
            ),
            // Opens below the stop: filled at the open.
            (
                (dec!(48500), dec!(52000), dec!(48000), dec!(51000)),
                (ExitKind::StopLoss, dec!(48500)),
            ),
            // Only the high: the target at its price.
            (
                (dec!(50000), dec!(51500), dec!(49500), dec!(51000)),
                (ExitKind::TakeProfit, dec!(51000)),
            ),
        ] {
            let mut v = venue(Market::Linear);
            buy(&mut v, dec!(0.01));
            run(
                &mut v,
                trigger("sl", ExitKind::StopLoss, dec!(49000), None),
                2,
            )
            .unwrap();
            run(
                &mut v,
                trigger("tp", ExitKind::TakeProfit, dec!(51000), None),
                2,
            )
            .unwrap();
            let (open, high, low, close) = bar;
            let seen = v.observe_bar(
                &btc(),
                BarPrices {
                    open,
                    high,
                    low,
                    close,
                },
                3,
            );
            let got: Vec<_> = seen
                .exits
                .iter()
                .map(|f| (f.kind.unwrap(), f.fill.price))
                .collect();
            assert_eq!(got, vec![want], "{bar:?}");
            assert_eq!(exit_fills(&mut v).len(), 1);
        }
    }
}
