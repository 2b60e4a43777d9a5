//! Reconciliation scenarios on the Binance futures sequence: clean, a dropped ack found and
//! booked, extra and differing trades, realized P&L at the exchange's precision, funding, and a
//! shared account where another bot's trades are left alone.

use super::scenarios::{config, fill, futures_sequence, H, T0};
use super::*;
use crate::ids::{ClientOrderId, Symbol};
use crate::model::{Market, Side};
use rust_decimal_macros::dec;

fn exchange_view() -> (Ledger, Vec<BookedFill>, Vec<ExchangeTrade>, OwnedOrders) {
    let seq = futures_sequence();
    let mut ledger = Ledger::new(config("btc-trend", Market::Linear));
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut owned = OwnedOrders::default();
    for (entry, realized_pnl) in seq {
        let Booked::Applied(effect) = ledger.book(&entry).unwrap() else {
            panic!()
        };
        if let LedgerEntry::Fill(b) = entry {
            owned.order_ids.insert(b.fill.order_id.clone());
            ours.push(BookedFill {
                fill: b.fill.clone(),
                realized: effect.realized,
                fee_quote: effect.fee_quote,
                fee_asset_price: None,
                fee_source: None,
            });
            theirs.push(ExchangeTrade {
                fill: b.fill,
                realized_pnl,
            });
        }
    }
    // Another bot on the same account.
    let other = fill(
        "200",
        "7777",
        "BTCUSDT",
        Side::Buy,
        dec!(1),
        dec!(65000),
        dec!(1),
        "USDT",
        T0 + 5 * H,
    );
    theirs.push(ExchangeTrade {
        fill: other,
        realized_pnl: Some(dec!(0)),
    });
    (ledger, ours, theirs, owned)
}

fn run(ours: &[BookedFill], theirs: &[ExchangeTrade], owned: &OwnedOrders) -> ReconcileReport {
    reconcile(&ReconcileInput {
        start_ms: T0,
        end_ms: T0 + 48 * H,
        owned,
        ours,
        theirs,
        our_funding: &[],
        their_funding: &[],
    })
}

#[test]
fn reconciliation_verdicts() {
    let (_, ours, theirs, owned) = exchange_view();
    let clean = run(&ours, &theirs, &owned);
    assert_eq!(
        (clean.verdict, clean.matched, clean.foreign_trades),
        (Verdict::Clean, 5, 1)
    );
    assert_eq!(
        (clean.their_realized, clean.pnl_difference),
        (dec!(5.8), dec!(0))
    );

    // A fill whose ack was dropped: the exchange has it, we don't.
    let mut lost = ours.clone();
    lost.remove(1);
    let r = run(&lost, &theirs, &owned);
    assert_eq!(r.verdict, Verdict::BookedMissing);
    assert!(!r.needs_attention);
    assert_eq!(r.missing.len(), 1);
    assert_eq!(r.missing[0].fill.trade_id, "102");
    assert_eq!(r.fee_differences.get("USDT"), Some(&dec!(-0.1324)));
    // Booking what reconciliation found makes the next run clean.
    let (ledger, _, _, _) = exchange_view();
    let mut partial = Ledger::new(ledger.config.clone());
    let mut rows: Vec<LedgerEntry> = Vec::new();
    for b in &lost {
        rows.push(LedgerEntry::Fill(FillBooking {
            fill: b.fill.clone(),
            base_asset: "BTC".into(),
            quote_asset: "USDT".into(),
            fee_asset_price: (b.fill.fee_asset == "BNB").then_some(dec!(600)),
            fee_source: None,
            strategy: None,
            min_lot: None,
        }));
    }
    rows.push(r.missing[0].to_entry("BTC", "USDT", None, None));
    for row in &rows {
        partial.book(row).unwrap();
    }
    let rebuilt = Ledger::replay(ledger.config.clone(), rows).unwrap();
    assert_eq!(rebuilt.totals.realized, dec!(5.8));
    assert_eq!(rebuilt.totals.fees_quote, ledger.totals.fees_quote);

    // We booked something the exchange never did, and a price differs.
    let mut wrong = ours.clone();
    wrong[0].fill.price = dec!(65000.1);
    let mut ghost = ours[0].clone();
    ghost.fill.trade_id = "999".into();
    wrong.push(ghost);
    let r = run(&wrong, &theirs, &owned);
    assert_eq!(r.verdict, Verdict::Mismatch);
    assert!(r.needs_attention);
    assert_eq!(r.extra.len(), 1);
    assert_eq!(r.differences[0].fields[0].field, "price");

    // Realized P&L one unit off in the exchange's 8th decimal is a mismatch; rounding is not.
    let mut off = theirs.clone();
    off[2].realized_pnl = Some(dec!(4.80000001));
    let r = run(&ours, &off, &owned);
    assert_eq!(r.differences[0].fields[0].field, "realized_pnl");
    assert_eq!(r.pnl_difference, dec!(0.00000001));
}

#[test]
fn funding_reconciliation_and_client_order_id_ownership() {
    let (_, ours, mut theirs, mut owned) = exchange_view();
    let f = |id: &str, amount| FundingPayment {
        id: id.into(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        asset: "USDT".into(),
        amount,
        time_ms: T0 + 8 * H,
    };
    let mk = |our: &[FundingPayment], their: &[FundingPayment]| {
        reconcile(&ReconcileInput {
            start_ms: T0,
            end_ms: T0 + 48 * H,
            owned: &owned,
            ours: &ours,
            theirs: &theirs,
            our_funding: our,
            their_funding: their,
        })
        .verdict
    };
    assert_eq!(
        mk(&[f("F1", dec!(-0.1962))], &[f("F1", dec!(-0.1962))]),
        Verdict::Clean
    );
    assert_eq!(mk(&[], &[f("F1", dec!(-0.1962))]), Verdict::BookedMissing);
    assert_eq!(
        mk(&[f("F1", dec!(-0.1963))], &[f("F1", dec!(-0.1962))]),
        Verdict::Mismatch
    );
    assert_eq!(mk(&[f("F1", dec!(-0.1962))], &[]), Verdict::Mismatch);

    // A Bybit execution of ours whose order id we never learned (ack lost), found by orderLinkId.
    let mut exec = theirs[0].fill.clone();
    exec.trade_id = "e-1".into();
    exec.order_id = "unknown-to-us".into();
    exec.client_order_id = Some(ClientOrderId::new("btc-trend-s1-0").unwrap());
    theirs.push(ExchangeTrade {
        fill: exec,
        realized_pnl: None,
    });
    owned
        .client_order_ids
        .insert(ClientOrderId::new("btc-trend-s1-0").unwrap());
    let r = run(&ours, &theirs, &owned);
    assert_eq!((r.verdict, r.missing.len()), (Verdict::BookedMissing, 1));
}
