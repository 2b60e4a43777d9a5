//! The per-bot ledger: exact P&L booked from fills, funding and transfers.
//!
//! Every figure is a `rust_decimal::Decimal` in the ledger's quote asset. The method (stated in
//! every report) is **average cost**, as Binance USDⓈ-M futures and Bybit compute realized P&L;
//! FIFO lots are maintained alongside for spot tax views ([`PnlMethod::Fifo`]).
//!
//! | entry | effect |
//! |---|---|
//! | fill | position (avg cost + FIFO lots); realized P&L of the closing portion; fee valued in quote at the price recorded with the fill; a spot fee in the base asset is a disposal of that base (it reduces the held quantity and realizes its gain against the average cost) |
//! | funding | funding income (positive) or cost (negative) on the instrument and the day |
//! | transfer | capital in/out: moves equity and its peak, never P&L |
//! | allocation | capital earmarked for a strategy: views only |
//! | mark | mark price for unrealized P&L, equity, peak equity and drawdown |
//!
//! Identities the tests prove: `equity = transfers + realized + unrealized + funding − fees`,
//! equal to cash + holdings valued at mark; the same entries in any order replay to the same
//! ledger; an entry booked twice changes nothing.

mod book;
mod entry;
mod fee_value;
mod funding;
mod reconcile;
mod report;
mod time;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod reconcile_tests;
#[cfg(test)]
pub(crate) mod scenarios;

pub use book::{DayBook, InstrumentBook, StrategyBook, Totals, UNTAGGED};
pub use entry::{
    Allocation, FillBooking, FundingPayment, LatestKey, LedgerConfig, LedgerEntry, MarkKey,
    MarkPrice, PnlMethod, Transfer,
};
pub use fee_value::{
    kline_windows, value_fee_asset, FeePrices, FeeSource, FeeValuation, FeeValueError,
    TickerReading, FEE_KLINE_MS, TICKER_AT_FILL_MS,
};
pub use funding::{held_funding, position_at, split_funding, FundingSplitError};
pub use reconcile::{
    reconcile, ExchangeTrade, FieldDiff, FundingDiff, OwnedOrders, ReconcileInput, ReconcileReport,
    TradeDiff, Verdict,
};
pub use report::{
    Breakeven, DayPnl, Exposure, FeesPnl, InstrumentBreakeven, InstrumentPnl, PnlReport,
    RiskSnapshot, StrategyView,
};

use crate::model::Fill;
use crate::position::PositionError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Why an entry could not be booked. The ledger is unchanged when booking fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// An amount in an asset other than the ledger's quote asset, with no way to value it.
    #[error("field {field} is in {got}, the ledger books in {expected}")]
    QuoteMismatch {
        /// Offending field.
        field: &'static str,
        /// The ledger's quote asset.
        expected: String,
        /// The asset given.
        got: String,
    },
    /// A fee in a third asset without its quote price at the fill's time.
    #[error(
        "fill {trade_id}: fee in {asset} needs fee_asset_price (its quote price at fill time)"
    )]
    MissingFeePrice {
        /// The trade.
        trade_id: String,
        /// The fee asset.
        asset: String,
    },
    /// A price that must be positive was not.
    #[error("field {field} must be positive, got {value}")]
    NonPositive {
        /// Offending field.
        field: &'static str,
        /// Value given.
        value: Decimal,
    },
    /// Position arithmetic refused the fill (bad quantity/price or overflow).
    #[error(transparent)]
    Position(#[from] PositionError),
}

/// An entry that failed during [`Ledger::replay`], with its position in canonical order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("replay failed at entry {index} (key {key:?}): {source}")]
pub struct ReplayError {
    /// Index in canonical order.
    pub index: usize,
    /// The entry's idempotency key.
    pub key: Option<String>,
    /// Why it failed.
    pub source: LedgerError,
}

/// What booking one entry did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Booked {
    /// The entry changed the ledger.
    Applied(Effect),
    /// The entry was booked before (same trade / funding / transfer id): nothing changed.
    Duplicate,
}

/// The effect of one applied entry, for the fill row and the audit event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Effect {
    /// Realized P&L (average cost) booked by this entry, fee disposals included.
    pub realized: Decimal,
    /// Fee valued in quote at the fill's time.
    pub fee_quote: Decimal,
    /// Funding booked.
    pub funding: Decimal,
    /// Position quantity of the instrument after the entry.
    pub position_qty: Decimal,
    /// The entry is older than one already booked: the ledger applied it now, but the split
    /// between realized and unrealized depends on order, so the caller should rebuild with
    /// [`Ledger::replay`] over its stored entries (totals of cash are already right).
    pub out_of_order: bool,
    /// Equity right after the entry (`None` if it overflows): the ledger computes it anyway for
    /// the peak, so a caller that needs it (sizing the next order) does not compute it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equity: Option<Decimal>,
}

/// A fill as booked, the row the Durable Object keeps for reconciliation and `GET …/fills`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedFill {
    /// The exchange fill.
    pub fill: Fill,
    /// Realized P&L our ledger booked for it.
    pub realized: Decimal,
    /// Fee in quote at the fill's time.
    pub fee_quote: Decimal,
    /// Quote price of one unit of the fee asset used for `fee_quote` (absent for a quote fee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_asset_price: Option<Decimal>,
    /// Where a third fee asset's price came from (the P&L detail of the fill).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_source: Option<FeeSource>,
}

/// Equity at the first ledger event of the current UTC day, for daily P&L.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayOpen {
    /// Day index (days since 1970-01-01 UTC).
    pub day: i64,
    /// Equity just before the first entry of that day.
    pub equity: Decimal,
    /// Net transfers booked that day (excluded from daily P&L).
    pub transfers: Decimal,
    /// Distinct exchange order ids that filled that day.
    pub order_ids: BTreeSet<String>,
}

/// One bot's ledger. Serializable as a whole (Durable Object snapshot), or rebuilt from its
/// entries with [`Ledger::replay`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Fixed facts.
    pub config: LedgerConfig,
    /// Bot-wide totals.
    pub totals: Totals,
    /// Per instrument.
    pub instruments: BTreeMap<crate::ids::Symbol, InstrumentBook>,
    /// FIFO lots per instrument (kept apart from [`InstrumentBook`] so booking a fill never
    /// copies them).
    pub lots: BTreeMap<crate::ids::Symbol, crate::position::FifoLots>,
    /// Per strategy tag ([`UNTAGGED`] for fills without one).
    pub strategies: BTreeMap<String, StrategyBook>,
    /// Per UTC day index.
    pub days: BTreeMap<i64, DayBook>,
    /// Fees by asset, in that asset.
    pub fees_by_asset: BTreeMap<String, Decimal>,
    /// Latest mark per instrument: (price, time_ms).
    pub marks: BTreeMap<crate::ids::Symbol, (Decimal, i64)>,
    /// Where the observation behind each held mark sorts ([`MarkKey`]): a mark moves only to an
    /// observation that sorts at or after it, so re-booking an entry never moves it.
    #[serde(default)]
    pub mark_keys: BTreeMap<crate::ids::Symbol, MarkKey>,
    /// Highest equity seen, moved by transfers.
    pub peak_equity: Decimal,
    /// Today's opening figures.
    pub day_open: Option<DayOpen>,
    /// Latest event time booked.
    pub last_time_ms: i64,
    /// Idempotency keys of every booked entry. A hash set: each fill looks its key up twice,
    /// and the keys (`f:BTCUSDT:…`) share a long prefix that every ordered comparison re-reads.
    /// Serialised sorted, so a ledger's JSON does not depend on the hash seed.
    #[serde(serialize_with = "serialize_sorted")]
    pub seen: HashSet<String>,
    /// Where the canonically latest entry booked sorts, marks aside
    /// ([`LedgerEntry::canonical_cmp`]).
    #[serde(default)]
    pub latest: Option<LatestKey>,
    /// Set when an entry was booked after one that sorts after it (a fill learnt late, e.g. a
    /// resting order's fill found at the next refresh or by reconciliation). Average-cost P&L
    /// depends on the order of fills, and the exchange computes it in trade order, so this ledger
    /// then differs from [`Ledger::replay`] of its entries: the owner must rebuild by replay.
    #[serde(default)]
    pub needs_replay: bool,
}

/// A set of keys written in sorted order (the JSON of a hash set would follow its random seed).
fn serialize_sorted<S: serde::Serializer>(
    keys: &HashSet<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    serializer.collect_seq(sorted)
}

impl Ledger {
    /// An empty ledger.
    pub fn new(config: LedgerConfig) -> Self {
        Self {
            config,
            totals: Totals::default(),
            instruments: BTreeMap::new(),
            lots: BTreeMap::new(),
            strategies: BTreeMap::new(),
            days: BTreeMap::new(),
            fees_by_asset: BTreeMap::new(),
            marks: BTreeMap::new(),
            mark_keys: BTreeMap::new(),
            peak_equity: Decimal::ZERO,
            day_open: None,
            last_time_ms: i64::MIN,
            seen: HashSet::new(),
            latest: None,
            needs_replay: false,
        }
    }

    /// Rebuilds a ledger from stored entries, in canonical order (so the result does not depend
    /// on the order rows were stored in). Duplicates are skipped.
    ///
    /// # Errors
    /// [`ReplayError`] naming the first entry that cannot be booked.
    pub fn replay(
        config: LedgerConfig,
        entries: impl IntoIterator<Item = LedgerEntry>,
    ) -> Result<Self, ReplayError> {
        let mut sorted: Vec<LedgerEntry> = entries.into_iter().collect();
        sorted.sort_by(LedgerEntry::canonical_cmp);
        let mut ledger = Self::new(config);
        for (index, entry) in sorted.iter().enumerate() {
            ledger.book(entry).map_err(|source| ReplayError {
                index,
                key: entry.key(),
                source,
            })?;
        }
        Ok(ledger)
    }

    /// Whether an entry with this idempotency key was booked.
    pub fn has_booked(&self, key: &str) -> bool {
        self.seen.contains(key)
    }

    /// Whether this fill (symbol + trade id) was booked.
    pub fn has_fill(&self, fill: &Fill) -> bool {
        self.seen
            .contains(&entry::fill_key(&fill.symbol, &fill.trade_id))
    }

    /// Books one entry. Idempotent: an entry whose key was booked returns [`Booked::Duplicate`].
    ///
    /// # Errors
    /// [`LedgerError`]; the ledger is unchanged then.
    pub fn book(&mut self, entry: &LedgerEntry) -> Result<Booked, LedgerError> {
        // Claimed up front (one search of the set instead of two) and released if the entry
        // cannot be applied, so the ledger is unchanged on error.
        if let Some(k) = entry.key() {
            if !self.seen.insert(k) {
                return Ok(Booked::Duplicate);
            }
        }
        let result = self.book_claimed(entry);
        if let (Err(_), Some(k)) = (&result, entry.key()) {
            self.seen.remove(&k);
        }
        result
    }

    /// [`Self::book`] after the entry's key was claimed.
    fn book_claimed(&mut self, entry: &LedgerEntry) -> Result<Booked, LedgerError> {
        let time_ms = entry.time_ms();
        let out_of_order = time_ms < self.last_time_ms;
        let day = time::day_index(time_ms);
        // Equity just before the first entry of a new UTC day opens that day.
        let new_open = match &self.day_open {
            Some(open) if day <= open.day => None,
            _ => Some(DayOpen {
                day,
                equity: self.equity()?,
                transfers: Decimal::ZERO,
                order_ids: BTreeSet::new(),
            }),
        };
        let mut effect = self.apply(entry, day, new_open)?;
        effect.out_of_order = out_of_order;
        self.last_time_ms = self.last_time_ms.max(time_ms);
        if !matches!(entry, LedgerEntry::Mark(_)) {
            match &mut self.latest {
                Some(latest) if entry.sorts_before(latest) => self.needs_replay = true,
                Some(latest) => entry.write_key(latest),
                None => {
                    let mut key = LatestKey::default();
                    entry.write_key(&mut key);
                    self.latest = Some(key);
                }
            }
        }
        // Best effort: an equity overflow (beyond 7.9e28) leaves the peak where it was and is
        // reported by every view that computes equity.
        effect.equity = self.equity().ok();
        if let Some(equity) = effect.equity {
            if equity > self.peak_equity {
                self.peak_equity = equity;
            }
        }
        Ok(Booked::Applied(effect))
    }

    /// Unrealized P&L (average cost) of every open position at the held marks.
    ///
    /// # Errors
    /// [`LedgerError::Position`] on overflow.
    pub fn unrealized(&self) -> Result<Decimal, LedgerError> {
        let mut sum = Decimal::ZERO;
        for (symbol, inst) in &self.instruments {
            sum = crate::position::add(sum, inst.unrealized(self.mark(symbol))?, "unrealized")?;
        }
        Ok(sum)
    }

    /// `transfers + realized + unrealized + funding − fees`, in quote.
    ///
    /// # Errors
    /// [`LedgerError::Position`] on overflow.
    pub fn equity(&self) -> Result<Decimal, LedgerError> {
        let t = &self.totals;
        use crate::position::{add, sub};
        let base = add(add(t.transfers, t.realized, "equity")?, t.funding, "equity")?;
        Ok(add(
            sub(base, t.fees_quote, "equity")?,
            self.unrealized()?,
            "equity",
        )?)
    }

    /// The bot's position in an instrument (average cost), if it ever traded it. Cheaper than a
    /// risk snapshot when only the position is needed (e.g. audit of a position change).
    pub fn position(&self, symbol: &crate::ids::Symbol) -> Option<&crate::position::Position> {
        self.instruments.get(symbol).map(|i| &i.position)
    }

    /// Holds the mark this entry carries (a fill's price or a mark) if it sorts at or after the
    /// held one ([`MarkKey::replaces`]); a held mark without a key (an older snapshot) is
    /// replaced by any observation at or after its time, as before keys existed.
    pub(crate) fn observe_mark(&mut self, entry: &LedgerEntry) {
        let Some((symbol, key)) = entry.mark_key() else {
            return;
        };
        let replace = match (self.marks.get(symbol), self.mark_keys.get(symbol)) {
            (None, _) => true,
            (Some(_), Some(held)) => key.replaces(held),
            (Some((_, t)), None) => key.time_ms >= *t,
        };
        if replace {
            self.marks.insert(symbol.clone(), (key.price, key.time_ms));
            self.mark_keys.insert(symbol.clone(), key);
        }
    }

    /// The mark used for an instrument: the latest mark or fill price.
    pub fn mark(&self, symbol: &crate::ids::Symbol) -> Option<Decimal> {
        self.marks.get(symbol).map(|(p, _)| *p)
    }
}
