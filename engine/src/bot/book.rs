//! Booking exchange fills into the ledger, with the audit drafts that describe each effect
//! (fill, position change, P&L booked). Idempotent: a fill already booked yields nothing.

use crate::audit::{Actor, AuditDraft, AuditEvent};
use crate::ids::SignalId;
use crate::ledger::{
    Booked, BookedFill, Effect, FeePrices, FillBooking, Ledger, LedgerEntry, LedgerError,
};
use crate::model::{Exchange, Fill, InstrumentRules, Market};
use crate::venue::VenueReply;
use rust_decimal::Decimal;

/// The fills an exchange reply carries (orders may carry several).
pub fn fills_of(reply: &VenueReply) -> Vec<Fill> {
    match reply {
        VenueReply::Order(report) => report.fills.clone(),
        VenueReply::Orders(reports) => reports.iter().flat_map(|r| r.fills.clone()).collect(),
        VenueReply::Trades(page) => page.fills.clone(),
        _ => Vec::new(),
    }
}

/// [`fills_of`] for a reply the caller no longer needs: the fills are moved out, not copied.
pub fn into_fills(reply: VenueReply) -> Vec<Fill> {
    match reply {
        VenueReply::Order(report) => report.fills,
        VenueReply::Orders(reports) => reports.into_iter().flat_map(|r| r.fills).collect(),
        VenueReply::Trades(page) => page.fills,
        _ => Vec::new(),
    }
}

/// What booking produced: ledger entries to store and audit drafts to seal, in order.
#[derive(Debug, Default, Clone)]
pub struct Booking {
    /// Entries newly applied (store them: the ledger is rebuilt by replay).
    pub entries: Vec<LedgerEntry>,
    /// Audit drafts, in order.
    pub drafts: Vec<AuditDraft>,
    /// The fills booked, with their realized P&L and quote-valued fee (for the fills table and
    /// reconciliation).
    pub booked: Vec<BookedFill>,
    /// Third assets whose quote price was missing: fees in them were not booked.
    pub missing_prices: Vec<String>,
}

/// One fill's ledger booking, without audit drafts.
#[derive(Debug, Clone)]
pub struct FillLedgerBooking {
    /// A third fee asset whose quote price was missing (its fee was not valued).
    pub missing_price: Option<String>,
    /// The entry and its effect; `None` when the ledger had it already.
    pub applied: Option<(LedgerEntry, Effect)>,
}

/// Books one fill into the ledger exactly as [`book_fills`] does (fee valuation included), but
/// builds no audit drafts: for drivers with no audit trail (the backtester), where drafts were
/// a third of a booking's cost. `None` when the fill was booked before.
///
/// # Errors
/// [`LedgerError`] when the entry cannot be applied (the ledger is unchanged then).
pub fn book_fill(
    ledger: &mut Ledger,
    fill: &Fill,
    rules: &InstrumentRules,
    fee_prices: &FeePrices,
    strategy: Option<&str>,
) -> Result<Option<FillLedgerBooking>, LedgerError> {
    if ledger.has_fill(fill) {
        return Ok(None);
    }
    let mut missing_price = None;
    let (fee_asset_price, fee_source) = if fill.fee_asset == rules.quote_asset || fill.fee.is_zero()
    {
        (None, None)
    } else if fill.fee_asset == rules.base_asset {
        (Some(fill.price), None)
    } else {
        // A third asset: valued at the trade's own time (`ledger::value_fee_asset`).
        match fee_prices.get(fill) {
            Some(v) => (Some(v.price), Some(Box::new(v.source.clone()))),
            None => {
                missing_price = Some(fill.fee_asset.clone());
                (None, None)
            }
        }
    };
    let entry = LedgerEntry::Fill(FillBooking {
        fill: fill.clone(),
        base_asset: rules.base_asset.clone(),
        quote_asset: rules.quote_asset.clone(),
        fee_asset_price,
        fee_source,
        strategy: strategy.map(String::from),
        min_lot: Some(rules.step_size.max(rules.min_qty)),
    });
    let applied = match ledger.book(&entry)? {
        Booked::Applied(effect) => Some((entry, effect)),
        Booked::Duplicate => None,
    };
    Ok(Some(FillLedgerBooking {
        missing_price,
        applied,
    }))
}

/// Books fills. `fee_prices` gives, per fill, the quote price of a third fee asset (e.g. BNB) at
/// the fill's time and its source ([`crate::ledger::value_fee_asset`]); base-asset fees are
/// valued at the fill price, quote fees need nothing.
///
/// # Errors
/// [`LedgerError`] when an entry cannot be applied (the ledger is unchanged for that entry).
#[allow(clippy::too_many_arguments)] // each argument is a distinct fact of the booking
pub fn book_fills(
    ledger: &mut Ledger,
    fills: &[Fill],
    rules: &InstrumentRules,
    fee_prices: &FeePrices,
    exchange: Exchange,
    market: Market,
    actor: &Actor,
    signal_id: Option<&SignalId>,
    strategy: Option<&str>,
) -> Result<Booking, LedgerError> {
    let mut out = Booking::default();
    for fill in fills {
        // The position alone (a full risk snapshot per fill was most of a booking's cost).
        let before = ledger
            .position(&fill.symbol)
            .map_or(Decimal::ZERO, |p| p.qty);
        let Some(booked) = book_fill(ledger, fill, rules, fee_prices, strategy)? else {
            continue;
        };
        out.missing_prices.extend(booked.missing_price);
        let Some((entry, effect)) = booked.applied else {
            continue;
        };
        let with_ids = |d: AuditDraft| {
            let d = match &fill.client_order_id {
                Some(c) => d.order(c.clone()),
                None => d,
            };
            match signal_id {
                Some(s) => d.signal(s.clone()),
                None => d,
            }
        };
        out.drafts.push(with_ids(AuditDraft::new(
            fill.time_ms,
            actor.clone(),
            AuditEvent::Fill {
                exchange,
                market,
                fill: fill.clone(),
            },
        )));
        let avg = ledger
            .position(&fill.symbol)
            .and_then(|p| p.avg_entry_price())
            .unwrap_or(Decimal::ZERO);
        out.drafts.push(with_ids(AuditDraft::new(
            fill.time_ms,
            actor.clone(),
            AuditEvent::PositionChange {
                symbol: fill.symbol.clone(),
                old_qty: before,
                new_qty: effect.position_qty,
                avg_entry_price: avg,
            },
        )));
        out.drafts.push(with_ids(AuditDraft::new(
            fill.time_ms,
            actor.clone(),
            AuditEvent::PnlBooked {
                symbol: fill.symbol.clone(),
                trade_id: Some(fill.trade_id.clone()),
                realized: effect.realized,
                fees_quote: effect.fee_quote,
                funding: effect.funding,
                quote_asset: rules.quote_asset.clone(),
            },
        )));
        let (fee_asset_price, fee_source) = match &entry {
            LedgerEntry::Fill(b) => (b.fee_asset_price, b.fee_source.as_deref().cloned()),
            _ => (None, None),
        };
        out.booked.push(BookedFill {
            fill: fill.clone(),
            realized: effect.realized,
            fee_quote: effect.fee_quote,
            fee_asset_price,
            fee_source,
        });
        out.entries.push(entry);
    }
    Ok(out)
}
