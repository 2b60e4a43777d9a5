//! Hand-computed ledger scenarios: a Binance USDⓈ-M futures sequence checked against the
//! `realizedPnl` the exchange prints per trade, a Binance spot sequence with fees in BNB, base and
//! quote, the P&L document byte for byte, the risk snapshot, and reconciliation.

use super::*;
use crate::ids::{BotId, Symbol};
use crate::model::{Fill, Market, Side};
use rust_decimal_macros::dec;

/// 2026-11-24T00:00:00Z.
pub(crate) const T0: i64 = 1_795_478_400_000;
pub(crate) const H: i64 = 3_600_000;

pub(crate) fn config(bot: &str, market: Market) -> LedgerConfig {
    LedgerConfig {
        bot_id: BotId::new(bot).unwrap(),
        quote_asset: "USDT".into(),
        market,
        method: PnlMethod::AverageCost,
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn fill(
    trade: &str,
    order: &str,
    symbol: &str,
    side: Side,
    qty: Decimal,
    price: Decimal,
    fee: Decimal,
    fee_asset: &str,
    time_ms: i64,
) -> Fill {
    Fill {
        trade_id: trade.into(),
        order_id: order.into(),
        client_order_id: None,
        symbol: Symbol::new(symbol).unwrap(),
        side,
        price,
        qty,
        fee,
        fee_asset: fee_asset.into(),
        time_ms,
        is_maker: false,
    }
}

pub(crate) fn booking(f: Fill, base: &str, fee_price: Option<Decimal>) -> LedgerEntry {
    LedgerEntry::Fill(FillBooking {
        fill: f,
        base_asset: base.into(),
        quote_asset: "USDT".into(),
        fee_asset_price: fee_price,
        fee_source: None,
        strategy: None,
        min_lot: None,
    })
}

/// (entry, realizedPnl printed by Binance for it).
pub(crate) fn futures_sequence() -> Vec<(LedgerEntry, Option<Decimal>)> {
    use Side::{Buy, Sell};
    let b = |t, o, s, q, p, fee, asset, time, fp| {
        booking(fill(t, o, "BTCUSDT", s, q, p, fee, asset, time), "BTC", fp)
    };
    vec![
        (
            LedgerEntry::Transfer(Transfer {
                id: "dep1".into(),
                amount: dec!(1000),
                time_ms: T0,
            }),
            None,
        ),
        (
            b(
                "101",
                "9001",
                Buy,
                dec!(0.010),
                dec!(65000.0),
                dec!(0.26),
                "USDT",
                T0 + H,
                None,
            ),
            Some(dec!(0)),
        ),
        (
            b(
                "102",
                "9002",
                Buy,
                dec!(0.005),
                dec!(66200.0),
                dec!(0.1324),
                "USDT",
                T0 + 2 * H,
                None,
            ),
            Some(dec!(0)),
        ),
        (
            b(
                "103",
                "9003",
                Sell,
                dec!(0.008),
                dec!(66000.0),
                dec!(0.2112),
                "USDT",
                T0 + 3 * H,
                None,
            ),
            Some(dec!(4.80000000)),
        ),
        (
            LedgerEntry::Funding(FundingPayment {
                id: "F1".into(),
                symbol: Symbol::new("BTCUSDT").unwrap(),
                asset: "USDT".into(),
                amount: dec!(-0.1962),
                time_ms: T0 + 8 * H,
            }),
            None,
        ),
        // Flip: closes 0.007 long (-3.5), opens 0.005 short at 64900.
        (
            b(
                "104",
                "9004",
                Sell,
                dec!(0.012),
                dec!(64900.0),
                dec!(0.31152),
                "USDT",
                T0 + 26 * H,
                None,
            ),
            Some(dec!(-3.50000000)),
        ),
        (
            LedgerEntry::Mark(MarkPrice {
                symbol: Symbol::new("BTCUSDT").unwrap(),
                price: dec!(64500),
                time_ms: T0 + 27 * H,
            }),
            None,
        ),
        // Fee paid in BNB at BNBUSDT 600 at that moment: 0.000512 × 600 = 0.3072.
        (
            b(
                "105",
                "9005",
                Buy,
                dec!(0.005),
                dec!(64000.0),
                dec!(0.000512),
                "BNB",
                T0 + 28 * H,
                Some(dec!(600)),
            ),
            Some(dec!(4.50000000)),
        ),
    ]
}

#[test]
fn binance_futures_sequence_matches_exchange_realized_pnl() {
    let mut ledger = Ledger::new(config("btc-trend", Market::Linear));
    for (i, (entry, exchange_realized)) in futures_sequence().into_iter().enumerate() {
        let Booked::Applied(effect) = ledger.book(&entry).unwrap() else {
            panic!("duplicate at {i}")
        };
        if let Some(r) = exchange_realized {
            assert_eq!(effect.realized, r, "trade {i}");
        }
        if i == 6 {
            // Short 0.005 from 64900 marked at 64500.
            assert_eq!(ledger.unrealized().unwrap(), dec!(2.0));
        }
    }
    let t = &ledger.totals;
    assert_eq!(t.realized, dec!(5.8));
    assert_eq!(t.funding, dec!(-0.1962));
    assert_eq!(t.fees_quote, dec!(1.22232));
    assert_eq!(ledger.fees_by_asset["USDT"], dec!(0.91512));
    assert_eq!(ledger.fees_by_asset["BNB"], dec!(0.000512));
    assert_eq!(ledger.equity().unwrap(), dec!(1004.38148));
    // Peak after the second buy, marked at 66200: 1000 + (993 − 981) − 0.3924.
    assert_eq!(ledger.peak_equity, dec!(1011.6076));

    let report = ledger.pnl_report(T0 + 30 * H).unwrap();
    assert_eq!(report.net, dec!(4.38148));
    assert_eq!(
        report.net,
        report.realized + report.unrealized + report.funding - report.fees.total_quote
    );
    let days: Vec<_> = report
        .by_day
        .iter()
        .map(|d| (d.date.as_str(), d.realized, d.fees_quote, d.funding))
        .collect();
    assert_eq!(
        days,
        vec![
            ("2026-11-24", dec!(4.8), dec!(0.6036), dec!(-0.1962)),
            ("2026-11-25", dec!(1), dec!(0.61872), dec!(0)),
        ]
    );

    let risk = ledger.risk_snapshot(T0 + 29 * H).unwrap();
    // Day opened at 1008.2002 (after the funding): 1 − 0.61872 − 4.2 of unrealized given back.
    assert_eq!(risk.daily_pnl, dec!(-3.81872));
    assert_eq!(risk.realized_today, dec!(1));
    assert_eq!(
        (risk.fills_today, risk.orders_today, risk.open_positions),
        (2, 2, 0)
    );
    assert_eq!(risk.drawdown, dec!(7.22612));
    // Next day, nothing booked yet: nothing gained or lost today.
    assert_eq!(
        ledger.risk_snapshot(T0 + 50 * H).unwrap().daily_pnl,
        dec!(0)
    );
}

#[test]
fn binance_spot_sequence_with_bnb_base_and_quote_fees() {
    use Side::{Buy, Sell};
    let mut ledger = Ledger::new(config("eth-spot", Market::Spot));
    let b = |t, s, q, p, fee, asset, time, fp| {
        booking(fill(t, t, "ETHUSDT", s, q, p, fee, asset, time), "ETH", fp)
    };
    let entries = [
        b(
            "1",
            Buy,
            dec!(1.2),
            dec!(3000),
            dec!(0.0045),
            "BNB",
            T0 + H,
            Some(dec!(600)),
        ),
        // 0.1 % in ETH: the position holds 1.9992, and that 0.0008 ETH is disposed at 3100
        // against the 3040 average: 0.048 realized.
        b(
            "2",
            Buy,
            dec!(0.8),
            dec!(3100),
            dec!(0.0008),
            "ETH",
            T0 + 2 * H,
            None,
        ),
        b(
            "3",
            Sell,
            dec!(1.0),
            dec!(3200),
            dec!(3.2),
            "USDT",
            T0 + 3 * H,
            None,
        ),
        b(
            "4",
            Sell,
            dec!(0.9992),
            dec!(2950),
            dec!(0.0049),
            "BNB",
            T0 + 4 * H,
            Some(dec!(590)),
        ),
    ];
    let expected_realized = [dec!(0), dec!(0.048), dec!(160), dec!(-89.928)];
    for (i, e) in entries.iter().enumerate() {
        let Booked::Applied(effect) = ledger.book(e).unwrap() else {
            panic!("duplicate")
        };
        assert_eq!(effect.realized, expected_realized[i], "fill {i}");
        if i == 1 {
            let p = ledger.position(&Symbol::new("ETHUSDT").unwrap()).unwrap();
            assert_eq!(
                (p.qty, p.avg_entry_price()),
                (dec!(1.9992), Some(dec!(3040)))
            );
        }
    }
    assert_eq!(ledger.totals.realized_fifo, dec!(70.12));
    let json = serde_json::to_string(&ledger.pnl_report(T0 + 10 * H).unwrap()).unwrap();
    let expected = concat!(
        r#"{"bot_id":"eth-spot","quote_asset":"USDT","method":"average_cost","as_of":"2026-11-24T10:00:00Z","#,
        r#""realized":"70.12","unrealized":"0","funding":"0","#,
        r#""fees":{"total_quote":"11.271","by_asset":{"BNB":"0.0094","ETH":"0.0008","USDT":"3.2"}},"#,
        r#""net":"58.849","by_instrument":{"ETHUSDT":{"realized":"70.12","unrealized":"0","funding":"0","#,
        r#""fees_quote":"11.271","position_qty":"0","avg_entry_price":null}},"#,
        r#""by_day":[{"date":"2026-11-24","realized":"70.12","fees_quote":"11.271","funding":"0"}]}"#
    );
    assert_eq!(json, expected);
}

#[test]
fn refused_entries_leave_the_ledger_unchanged() {
    let mut ledger = Ledger::new(config("eth-spot", Market::Spot));
    ledger
        .book(&booking(
            fill(
                "1",
                "1",
                "ETHUSDT",
                Side::Buy,
                dec!(1),
                dec!(3000),
                dec!(0),
                "USDT",
                T0,
            ),
            "ETH",
            None,
        ))
        .unwrap();
    let before = ledger.clone();
    let no_price = booking(
        fill(
            "2",
            "2",
            "ETHUSDT",
            Side::Buy,
            dec!(1),
            dec!(3000),
            dec!(0.001),
            "BNB",
            T0,
        ),
        "ETH",
        None,
    );
    assert_eq!(
        ledger.book(&no_price),
        Err(LedgerError::MissingFeePrice {
            trade_id: "2".into(),
            asset: "BNB".into()
        })
    );
    let mut other_quote = booking(
        fill(
            "3",
            "3",
            "ETHBTC",
            Side::Buy,
            dec!(1),
            dec!(0.05),
            dec!(0),
            "BTC",
            T0,
        ),
        "ETH",
        None,
    );
    if let LedgerEntry::Fill(b) = &mut other_quote {
        b.quote_asset = "BTC".into();
    }
    assert!(matches!(
        ledger.book(&other_quote),
        Err(LedgerError::QuoteMismatch { .. })
    ));
    let zero_qty = booking(
        fill(
            "4",
            "4",
            "ETHUSDT",
            Side::Sell,
            dec!(0),
            dec!(3000),
            dec!(0),
            "USDT",
            T0,
        ),
        "ETH",
        None,
    );
    assert!(matches!(
        ledger.book(&zero_qty),
        Err(LedgerError::Position(_))
    ));
    assert_eq!(ledger, before);
}

#[test]
fn strategies_allocation_and_breakeven() {
    let mut ledger = Ledger::new(config("multi", Market::Linear));
    let mut tagged = |t: &str, side, px, strategy: &str| {
        let LedgerEntry::Fill(mut b) = booking(
            fill(t, t, "BTCUSDT", side, dec!(0.01), px, dec!(0.5), "USDT", T0),
            "BTC",
            None,
        ) else {
            unreachable!()
        };
        b.strategy = Some(strategy.into());
        ledger.book(&LedgerEntry::Fill(b)).unwrap();
    };
    tagged("1", Side::Buy, dec!(60000), "trend");
    tagged("2", Side::Sell, dec!(61000), "revert");
    tagged("3", Side::Buy, dec!(60500), "trend");
    ledger
        .book(&LedgerEntry::Allocation(Allocation {
            id: "a1".into(),
            strategy: "revert".into(),
            amount: dec!(500),
            time_ms: T0,
        }))
        .unwrap();
    let views = ledger.strategy_views().unwrap();
    let revert = views.iter().find(|v| v.strategy == "revert").unwrap();
    // Realized of the close is the closing fill's strategy's: (61000 − 60000) × 0.01.
    assert_eq!(
        (revert.realized, revert.net, revert.return_pct),
        (dec!(10), dec!(9.5), Some(dec!(1.9)))
    );
    let be = ledger.breakeven().unwrap();
    assert_eq!(be.costs_to_recover, dec!(1.5));
    // Long 0.01 at 60500 must exit at 60500 + 1.5 / 0.01.
    let btc = &be.instruments[&Symbol::new("BTCUSDT").unwrap()];
    assert_eq!(btc.breakeven_price, Some(dec!(60650)));
}

#[test]
fn out_of_order_booking_is_flagged_and_replay_restores_exchange_order() {
    let entries: Vec<LedgerEntry> = futures_sequence().into_iter().map(|(e, _)| e).collect();
    let mut ledger = Ledger::new(config("btc-trend", Market::Linear));
    // The ack of trade 102 was lost: it is booked after 103 by reconciliation.
    for i in [0, 1, 3, 2] {
        let Booked::Applied(effect) = ledger.book(&entries[i]).unwrap() else {
            panic!()
        };
        assert_eq!(effect.out_of_order, i == 2);
    }
    assert_ne!(ledger.totals.realized, dec!(4.8));
    let rebuilt = Ledger::replay(ledger.config.clone(), entries[..4].iter().cloned()).unwrap();
    assert_eq!(rebuilt.totals.realized, dec!(4.8));
    assert_eq!(rebuilt.totals.fees_quote, ledger.totals.fees_quote);
    // Cash is right either way: the equity identity holds before and after.
    assert_eq!(rebuilt.equity().unwrap(), ledger.equity().unwrap());
}

#[test]
fn ledger_round_trips_through_json() {
    let entries: Vec<LedgerEntry> = futures_sequence().into_iter().map(|(e, _)| e).collect();
    let ledger = Ledger::replay(config("btc-trend", Market::Linear), entries.clone()).unwrap();
    let text = serde_json::to_string(&ledger).unwrap();
    let back: Ledger = serde_json::from_str(&text).unwrap();
    assert_eq!(back, ledger);
    // The idempotency keys are a hash set in memory but always written sorted, so the same
    // ledger gives the same JSON in every process.
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = value["seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), ledger.seen.len());
    assert!(keys.len() > 2, "{keys:?}");
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    let rows: Vec<String> = entries
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let parsed: Vec<LedgerEntry> = rows
        .iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    assert_eq!(parsed, entries);
    let applied = Booked::Applied(Effect {
        realized: dec!(4.8),
        ..Effect::default()
    });
    for booked in [applied, Booked::Duplicate] {
        let text = serde_json::to_string(&booked).unwrap();
        assert_eq!(
            serde_json::from_str::<Booked>(&text).unwrap(),
            booked,
            "{text}"
        );
    }
}

/// A fill learnt late (a resting order's fill found after later fills were booked) changes the
/// average-cost result; the ledger flags it so its owner rebuilds by replay in trade order, which
/// is how the exchange computes realized P&L.
#[test]
fn fill_booked_out_of_trade_order_asks_for_replay() {
    use Side::{Buy, Sell};
    let b = |t: &str, s, q, p, time| {
        booking(
            fill(t, "o", "BTCUSDT", s, q, p, dec!(0), "USDT", time),
            "BTC",
            None,
        )
    };
    let in_order = [
        b("1", Buy, dec!(1), dec!(100), T0),
        b("2", Buy, dec!(1), dec!(200), T0 + 1),
        b("3", Sell, dec!(1), dec!(150), T0 + 2),
    ];
    let mut live = Ledger::new(config("late", Market::Linear));
    for e in [&in_order[0], &in_order[2], &in_order[1]] {
        live.book(e).unwrap();
    }
    assert!(live.needs_replay);
    let replayed = Ledger::replay(config("late", Market::Linear), in_order.clone()).unwrap();
    assert!(!replayed.needs_replay);
    // In trade order: avg 150, the sale realizes 0; learnt late: the sale realized 50 at avg 100.
    assert_eq!(replayed.totals.realized, dec!(0));
    assert_eq!(live.totals.realized, dec!(50));
    let mut ordered = Ledger::new(config("late", Market::Linear));
    for e in &in_order {
        ordered.book(e).unwrap();
    }
    assert!(!ordered.needs_replay);
    assert_eq!(ordered, replayed);
    // A mark booked before a fill's time is not a reason to replay.
    let mut marked = Ledger::new(config("late", Market::Linear));
    marked.book(&in_order[0]).unwrap();
    marked
        .book(&LedgerEntry::Mark(MarkPrice {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            price: dec!(120),
            time_ms: T0 + 10,
        }))
        .unwrap();
    marked.book(&in_order[1]).unwrap();
    assert!(!marked.needs_replay);
}

/// The first-hour issue (#17): a long-only spot bot that paid its buy fee in BTC sells all it
/// can (whole lots) on `target 0` and keeps a few satoshis no order can sell. That dust is held
/// and valued, but it is not an open position: flagged `dust` in the risk snapshot (so counted
/// neither in `open_positions` nor by `max_open_positions`, nor flattened) and in the P&L
/// document; and the next buy opens a position again.
#[test]
fn spot_fee_dust_below_one_lot_is_not_an_open_position() {
    use Side::{Buy, Sell};
    let mut ledger = Ledger::new(config("dust", Market::Spot));
    let lot = |f: Fill| {
        let LedgerEntry::Fill(mut b) = booking(f, "BTC", None) else {
            unreachable!("booking builds a fill entry")
        };
        b.min_lot = Some(dec!(0.00001));
        LedgerEntry::Fill(b)
    };
    let buy = fill(
        "1",
        "1",
        "BTCUSDT",
        Buy,
        dec!(0.01229),
        dec!(65000),
        dec!(0.00001229),
        "BTC",
        T0 + H,
    );
    // 0.01229 − 0.00001229 = 0.01227771 held: the sellable part is 0.01227 (whole steps).
    let sell = fill(
        "2",
        "2",
        "BTCUSDT",
        Sell,
        dec!(0.01227),
        dec!(65100),
        dec!(0.79877),
        "USDT",
        T0 + 2 * H,
    );
    for f in [buy, sell] {
        ledger.book(&lot(f)).unwrap();
    }
    let inst = &ledger.instruments[&Symbol::new("BTCUSDT").unwrap()];
    assert_eq!(inst.position.qty, dec!(0.00000771));
    assert!(inst.is_dust() && !inst.is_open());

    let snap = ledger.risk_snapshot(T0 + 3 * H).unwrap();
    let held = &snap.positions[&Symbol::new("BTCUSDT").unwrap()];
    assert!(held.dust, "dust is flagged: {held:?}");
    assert_eq!(snap.open_positions, 0);
    // Still held: valued in the exposure total at the last fill price.
    assert_eq!(snap.total_notional, dec!(0.00000771) * dec!(65100));
    let report = ledger.pnl_report(T0 + 3 * H).unwrap();
    let btc = &report.by_instrument["BTCUSDT"];
    assert!(btc.dust);
    assert_eq!(btc.position_qty, dec!(0.00000771));

    // Buying again opens a position that includes the dust.
    ledger
        .book(&lot(fill(
            "3",
            "3",
            "BTCUSDT",
            Buy,
            dec!(0.001),
            dec!(65000),
            dec!(0.065),
            "USDT",
            T0 + 4 * H,
        )))
        .unwrap();
    let snap = ledger.risk_snapshot(T0 + 5 * H).unwrap();
    assert_eq!(snap.open_positions, 1);
    let held = &snap.positions[&Symbol::new("BTCUSDT").unwrap()];
    assert_eq!(held.qty, dec!(0.00100771));
    assert!(!held.dust);
    assert!(!ledger.pnl_report(T0 + 5 * H).unwrap().by_instrument["BTCUSDT"].dust);
}

/// Entries written before the smallest lot was recorded (no `min_lot`) keep their meaning: a
/// non-flat position stays open, and the entry's JSON is unchanged.
#[test]
fn a_fill_without_a_known_lot_is_never_dust() {
    let mut ledger = Ledger::new(config("old", Market::Spot));
    let f = fill(
        "1",
        "1",
        "BTCUSDT",
        Side::Buy,
        dec!(0.000001),
        dec!(65000),
        dec!(0),
        "USDT",
        T0,
    );
    let entry = booking(f, "BTC", None);
    assert!(!serde_json::to_string(&entry).unwrap().contains("min_lot"));
    ledger.book(&entry).unwrap();
    assert_eq!(ledger.risk_snapshot(T0 + H).unwrap().open_positions, 1);
}
