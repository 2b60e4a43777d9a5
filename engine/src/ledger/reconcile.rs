//! Reconciliation: our booked fills and funding against the exchange's own history for a window
//! (Binance `myTrades` / `userTrades` + income `FUNDING_FEE`, Bybit `execution/list`), matched by
//! symbol + trade id with the order id checked, so two bots on one account each see only their
//! own orders (docs/design.md invariant 5).
//!
//! Verdict: [`Verdict::Clean`] when everything matches; [`Verdict::BookedMissing`] when the only
//! finding is trades/funding the exchange has and we lack (fills whose ack was lost: the caller
//! books [`ReconcileReport::missing`]); [`Verdict::Mismatch`] for anything else (extra entries,
//! field differences), which marks the bot `needs_attention`.
//!
//! Realized P&L per trade matches when ours, rounded or truncated to the number of decimals the
//! exchange printed, equals the exchange's figure (Binance prints `realizedPnl` to 8 decimals
//! while its average entry price carries more).

use super::entry::{fill_key, FillBooking, FundingPayment, LedgerEntry};
use super::BookedFill;
use crate::ids::ClientOrderId;
use crate::model::Fill;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A trade from the exchange's history, as the venue adapter parsed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeTrade {
    /// The trade.
    pub fill: Fill,
    /// The exchange's realized P&L for it, when it reports one (Binance futures `realizedPnl`).
    pub realized_pnl: Option<Decimal>,
}

impl ExchangeTrade {
    /// The ledger entry that books this trade (a missed fill found by reconciliation), with what
    /// the exchange's trade list does not carry: the instrument's assets, the fee asset's quote
    /// price at the trade's time (required for third-asset fees such as BNB), the strategy tag.
    pub fn to_entry(
        &self,
        base_asset: &str,
        quote_asset: &str,
        fee_asset_price: Option<Decimal>,
        strategy: Option<String>,
    ) -> LedgerEntry {
        LedgerEntry::Fill(FillBooking {
            fill: self.fill.clone(),
            base_asset: base_asset.to_string(),
            quote_asset: quote_asset.to_string(),
            fee_asset_price,
            fee_source: None,
            strategy,
            min_lot: None,
        })
    }
}

/// The orders that belong to this bot (from its own order records), so other bots' and manual
/// trades on a shared account are left alone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OwnedOrders {
    /// Exchange order ids of the bot's orders.
    pub order_ids: BTreeSet<String>,
    /// Client order ids of the bot's orders (Bybit reports `orderLinkId` on executions).
    pub client_order_ids: BTreeSet<ClientOrderId>,
}

impl OwnedOrders {
    fn owns(&self, f: &Fill) -> bool {
        self.order_ids.contains(&f.order_id)
            || f.client_order_id
                .as_ref()
                .is_some_and(|c| self.client_order_ids.contains(c))
    }
}

/// Everything reconciliation compares, for one window `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy)]
pub struct ReconcileInput<'a> {
    /// Window start (inclusive), epoch ms.
    pub start_ms: i64,
    /// Window end (exclusive), epoch ms.
    pub end_ms: i64,
    /// The bot's orders.
    pub owned: &'a OwnedOrders,
    /// Our booked fills (any; those outside the window are ignored).
    pub ours: &'a [BookedFill],
    /// The exchange's trades for the account.
    pub theirs: &'a [ExchangeTrade],
    /// Our booked funding.
    pub our_funding: &'a [FundingPayment],
    /// The exchange's funding attributable to this bot: on a shared account, the bot's shares
    /// from [`super::split_funding`] (ids `"{exchange id}:{bot}"`, as the bot booked them).
    pub their_funding: &'a [FundingPayment],
}

/// One field that differs between our fill and the exchange's trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// Field name (`price`, `qty`, `fee`, `fee_asset`, `order_id`, `side`, `time_ms`, `realized_pnl`).
    pub field: String,
    /// Our value.
    pub ours: String,
    /// The exchange's value.
    pub theirs: String,
}

/// A matched trade whose fields differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeDiff {
    /// Symbol.
    pub symbol: String,
    /// Trade id.
    pub trade_id: String,
    /// The differing fields.
    pub fields: Vec<FieldDiff>,
}

/// A funding payment whose amount differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingDiff {
    /// Funding id.
    pub id: String,
    /// Our amount.
    pub ours: Decimal,
    /// The exchange's amount.
    pub theirs: Decimal,
}

/// The outcome in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Everything matches.
    Clean,
    /// Only missing entries were found; book them (and audit it).
    BookedMissing,
    /// Extra entries or differences: alert and mark the bot `needs_attention`.
    Mismatch,
}

/// The reconciliation report for one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    /// Window start (inclusive).
    pub start_ms: i64,
    /// Window end (exclusive).
    pub end_ms: i64,
    /// The verdict.
    pub verdict: Verdict,
    /// True for [`Verdict::Mismatch`].
    pub needs_attention: bool,
    /// Trades matched (possibly with differences).
    pub matched: usize,
    /// Trades the exchange has for our orders and we have not booked: book them.
    pub missing: Vec<ExchangeTrade>,
    /// Fills we booked that the exchange does not have.
    pub extra: Vec<BookedFill>,
    /// Matched trades with differing fields.
    pub differences: Vec<TradeDiff>,
    /// Funding the exchange has and we lack: book it.
    pub funding_missing: Vec<FundingPayment>,
    /// Funding we booked that the exchange does not have.
    pub funding_extra: Vec<FundingPayment>,
    /// Funding with differing amounts.
    pub funding_differences: Vec<FundingDiff>,
    /// Exchange trades of orders that are not this bot's (other bots, manual trading).
    pub foreign_trades: usize,
    /// Σ our realized P&L over our fills in the window.
    pub our_realized: Decimal,
    /// Σ the exchange's realized P&L over our orders' trades that report one.
    pub their_realized: Decimal,
    /// `their_realized − our_realized`, over trades where both are known.
    pub pnl_difference: Decimal,
    /// Σ fees by asset, ours minus theirs, where non-zero.
    pub fee_differences: BTreeMap<String, Decimal>,
}

fn realized_matches(ours: Decimal, theirs: Decimal) -> bool {
    let dp = theirs.scale();
    ours == theirs
        || ours.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero) == theirs
        || ours.round_dp_with_strategy(dp, RoundingStrategy::ToZero) == theirs
}

fn diff_fields(ours: &BookedFill, theirs: &ExchangeTrade) -> Vec<FieldDiff> {
    let (a, b) = (&ours.fill, &theirs.fill);
    let mut out = Vec::new();
    let mut cmp = |field: &str, x: String, y: String, same: bool| {
        if !same {
            out.push(FieldDiff {
                field: field.to_string(),
                ours: x,
                theirs: y,
            });
        }
    };
    cmp(
        "order_id",
        a.order_id.clone(),
        b.order_id.clone(),
        a.order_id == b.order_id,
    );
    cmp(
        "side",
        format!("{:?}", a.side),
        format!("{:?}", b.side),
        a.side == b.side,
    );
    cmp(
        "price",
        a.price.to_string(),
        b.price.to_string(),
        a.price == b.price,
    );
    cmp("qty", a.qty.to_string(), b.qty.to_string(), a.qty == b.qty);
    cmp("fee", a.fee.to_string(), b.fee.to_string(), a.fee == b.fee);
    cmp(
        "fee_asset",
        a.fee_asset.clone(),
        b.fee_asset.clone(),
        a.fee_asset == b.fee_asset,
    );
    cmp(
        "time_ms",
        a.time_ms.to_string(),
        b.time_ms.to_string(),
        a.time_ms == b.time_ms,
    );
    if let Some(r) = theirs.realized_pnl {
        let same = realized_matches(ours.realized, r);
        cmp(
            "realized_pnl",
            ours.realized.to_string(),
            r.to_string(),
            same,
        );
    }
    out
}

fn in_window(t: i64, input: &ReconcileInput<'_>) -> bool {
    t >= input.start_ms && t < input.end_ms
}

/// Compares our books with the exchange's history for one window.
pub fn reconcile(input: &ReconcileInput<'_>) -> ReconcileReport {
    let mut fees: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut ours: BTreeMap<String, &BookedFill> = BTreeMap::new();
    let mut our_realized = Decimal::ZERO;
    for b in input
        .ours
        .iter()
        .filter(|b| in_window(b.fill.time_ms, input))
    {
        if ours
            .insert(fill_key(&b.fill.symbol, &b.fill.trade_id), b)
            .is_none()
        {
            our_realized = our_realized.saturating_add(b.realized);
            let e = fees.entry(b.fill.fee_asset.clone()).or_default();
            *e = e.saturating_add(b.fill.fee);
        }
    }
    let mut seen = BTreeSet::new();
    let (mut matched, mut foreign_trades) = (0, 0);
    let (mut missing, mut differences) = (Vec::new(), Vec::new());
    let (mut their_realized, mut pnl_ours_known) = (Decimal::ZERO, Decimal::ZERO);
    for t in input
        .theirs
        .iter()
        .filter(|t| in_window(t.fill.time_ms, input))
    {
        let key = fill_key(&t.fill.symbol, &t.fill.trade_id);
        if !seen.insert(key.clone()) {
            continue; // pagination overlap
        }
        match ours.get(&key) {
            Some(b) => {
                matched += 1;
                let e = fees.entry(t.fill.fee_asset.clone()).or_default();
                *e = e.saturating_sub(t.fill.fee);
                if let Some(r) = t.realized_pnl {
                    their_realized = their_realized.saturating_add(r);
                    pnl_ours_known = pnl_ours_known.saturating_add(b.realized);
                }
                let fields = diff_fields(b, t);
                if !fields.is_empty() {
                    differences.push(TradeDiff {
                        symbol: t.fill.symbol.to_string(),
                        trade_id: t.fill.trade_id.clone(),
                        fields,
                    });
                }
            }
            None if input.owned.owns(&t.fill) => {
                let e = fees.entry(t.fill.fee_asset.clone()).or_default();
                *e = e.saturating_sub(t.fill.fee);
                if let Some(r) = t.realized_pnl {
                    their_realized = their_realized.saturating_add(r);
                }
                missing.push(t.clone());
            }
            None => foreign_trades += 1,
        }
    }
    let extra: Vec<BookedFill> = ours
        .iter()
        .filter(|(k, _)| !seen.contains(*k))
        .map(|(_, b)| (*b).clone())
        .collect();

    let our_f: BTreeMap<&str, &FundingPayment> = input
        .our_funding
        .iter()
        .filter(|f| in_window(f.time_ms, input))
        .map(|f| (f.id.as_str(), f))
        .collect();
    let mut their_f: BTreeMap<&str, &FundingPayment> = BTreeMap::new();
    for f in input
        .their_funding
        .iter()
        .filter(|f| in_window(f.time_ms, input))
    {
        their_f.insert(f.id.as_str(), f);
    }
    let funding_missing: Vec<FundingPayment> = their_f
        .iter()
        .filter(|(id, _)| !our_f.contains_key(*id))
        .map(|(_, f)| (*f).clone())
        .collect();
    let funding_extra: Vec<FundingPayment> = our_f
        .iter()
        .filter(|(id, _)| !their_f.contains_key(*id))
        .map(|(_, f)| (*f).clone())
        .collect();
    let funding_differences: Vec<FundingDiff> = our_f
        .iter()
        .filter_map(|(id, o)| {
            let t = their_f.get(id)?;
            (o.amount != t.amount || o.symbol != t.symbol).then(|| FundingDiff {
                id: id.to_string(),
                ours: o.amount,
                theirs: t.amount,
            })
        })
        .collect();

    let verdict = if !extra.is_empty()
        || !differences.is_empty()
        || !funding_extra.is_empty()
        || !funding_differences.is_empty()
    {
        Verdict::Mismatch
    } else if !missing.is_empty() || !funding_missing.is_empty() {
        Verdict::BookedMissing
    } else {
        Verdict::Clean
    };
    fees.retain(|_, v| !v.is_zero());
    ReconcileReport {
        start_ms: input.start_ms,
        end_ms: input.end_ms,
        verdict,
        needs_attention: verdict == Verdict::Mismatch,
        matched,
        missing,
        extra,
        differences,
        funding_missing,
        funding_extra,
        funding_differences,
        foreign_trades,
        our_realized,
        their_realized,
        pnl_difference: their_realized.saturating_sub(pnl_ours_known),
        fee_differences: fees,
    }
}
