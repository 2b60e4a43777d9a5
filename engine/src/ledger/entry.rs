//! What the ledger books. Each entry is self-contained (it carries every price it needs, e.g. the
//! fee asset's quote price at the fill's time), so a ledger rebuilt from stored entries years later
//! gives the same numbers without looking anything up.

use crate::ids::{BotId, Symbol};
use crate::model::{Fill, Market};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// How realized P&L is matched to entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PnlMethod {
    /// Average cost, as Binance USDⓈ-M futures and Bybit compute realized P&L. The default.
    AverageCost,
    /// First in, first out lots (a spot tax view). Totals over a full history are equal.
    Fifo,
}

/// Fixed facts about a bot's ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerConfig {
    /// The bot.
    pub bot_id: BotId,
    /// Currency every P&L figure is expressed in (`USDT`).
    pub quote_asset: String,
    /// Spot (base fees reduce the held base) or linear.
    pub market: Market,
    /// Which realized P&L the reports show (both are always maintained).
    pub method: PnlMethod,
}

/// A fill to book, with what the exchange's fill does not say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillBooking {
    /// The exchange's fill.
    pub fill: Fill,
    /// Base asset of the instrument (`BTC`): a fee in this asset reduces a spot position.
    pub base_asset: String,
    /// Quote asset of the instrument; must equal the ledger's quote asset.
    pub quote_asset: String,
    /// Price of ONE unit of the fee asset in quote at the fill's time (e.g. BNBUSDT at that
    /// moment). Required when the fee asset is neither quote nor base; for the base asset the
    /// fill price is used when absent; ignored for the quote asset (1).
    pub fee_asset_price: Option<Decimal>,
    /// Where `fee_asset_price` came from, for a third fee asset ([`super::FeeSource`]); boxed
    /// so that the rare third-asset fee does not widen every ledger entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_source: Option<Box<super::FeeSource>>,
    /// Strategy tag of the order, for per-strategy views.
    pub strategy: Option<String>,
    /// The smallest quantity the exchange trades in this instrument (the larger of its lot
    /// step and minimum quantity) when the fill was booked: a spot holding below it is fee
    /// dust that no order can sell, so it is not an open position ([`super::InstrumentBook::is_open`]).
    /// Absent in entries booked before it was recorded, and where the rules are unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_lot: Option<Decimal>,
}

/// A funding payment on a linear position (Binance income `FUNDING_FEE`, Bybit funding
/// execution), booked when it occurs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingPayment {
    /// Exchange id (`tranId` / `execId`), the idempotency key.
    pub id: String,
    /// Instrument.
    pub symbol: Symbol,
    /// Settlement asset; must equal the ledger's quote asset.
    pub asset: String,
    /// Amount: positive = received, negative = paid.
    pub amount: Decimal,
    /// When it was charged (epoch ms, UTC).
    pub time_ms: i64,
}

/// Capital moved into (positive) or out of (negative) the bot, in quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Idempotency key (exchange `tranId`, or an operator-chosen id).
    pub id: String,
    /// Amount in quote: positive deposit, negative withdrawal.
    pub amount: Decimal,
    /// When (epoch ms, UTC).
    pub time_ms: i64,
}

/// Capital earmarked for a strategy (a delta), for return-on-capital views. Does not move equity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// Idempotency key.
    pub id: String,
    /// Strategy tag.
    pub strategy: String,
    /// Change of allocated capital, in quote.
    pub amount: Decimal,
    /// When (epoch ms, UTC).
    pub time_ms: i64,
}

/// A mark price observation, for unrealized P&L, equity and its peak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkPrice {
    /// Instrument.
    pub symbol: Symbol,
    /// Mark (or last) price.
    pub price: Decimal,
    /// Observation time (epoch ms, UTC); an older mark than the one held is ignored.
    pub time_ms: i64,
}

/// One ledger row. The Durable Object may store these as rows and rebuild with
/// [`super::Ledger::replay`].
///
/// Fills, the largest variant, are also most of the rows: boxing them to shrink the rarer
/// funding, transfer and mark rows would allocate once per fill instead.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LedgerEntry {
    /// A trade of ours.
    Fill(FillBooking),
    /// A funding payment.
    Funding(FundingPayment),
    /// A deposit or withdrawal.
    Transfer(Transfer),
    /// A capital allocation to a strategy.
    Allocation(Allocation),
    /// A mark price.
    Mark(MarkPrice),
}

impl LedgerEntry {
    /// Event time (epoch ms, UTC).
    pub fn time_ms(&self) -> i64 {
        match self {
            Self::Fill(b) => b.fill.time_ms,
            Self::Funding(f) => f.time_ms,
            Self::Transfer(t) => t.time_ms,
            Self::Allocation(a) => a.time_ms,
            Self::Mark(m) => m.time_ms,
        }
    }

    /// Idempotency key; `None` for marks (re-applying a mark changes nothing).
    pub fn key(&self) -> Option<String> {
        match self {
            Self::Fill(b) => Some(fill_key(&b.fill.symbol, &b.fill.trade_id)),
            Self::Funding(f) => Some(format!("u:{}", f.id)),
            Self::Transfer(t) => Some(format!("t:{}", t.id)),
            Self::Allocation(a) => Some(format!("a:{}", a.id)),
            Self::Mark(_) => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Transfer(_) => 0,
            Self::Allocation(_) => 1,
            Self::Fill(_) => 2,
            Self::Funding(_) => 3,
            Self::Mark(_) => 4,
        }
    }

    fn tiebreak(&self) -> (&str, &str) {
        match self {
            Self::Fill(b) => (b.fill.symbol.as_str(), b.fill.trade_id.as_str()),
            Self::Funding(f) => (f.symbol.as_str(), f.id.as_str()),
            Self::Transfer(t) => ("", t.id.as_str()),
            Self::Allocation(a) => (a.strategy.as_str(), a.id.as_str()),
            Self::Mark(m) => (m.symbol.as_str(), ""),
        }
    }

    /// Whether this entry sorts before `key` in the canonical order (marks are never keys).
    pub(crate) fn sorts_before(&self, key: &LatestKey) -> bool {
        let (s, id) = self.tiebreak();
        self.time_ms()
            .cmp(&key.time_ms)
            .then(self.rank().cmp(&key.rank))
            .then(s.cmp(key.group.as_str()))
            .then(id_cmp(id, &key.id))
            == Ordering::Less
    }

    /// Overwrites `key` with this entry's sort key, reusing its buffers (no allocation once
    /// they are long enough: every fill of a backtest moves it).
    pub(crate) fn write_key(&self, key: &mut LatestKey) {
        let (s, id) = self.tiebreak();
        key.time_ms = self.time_ms();
        key.rank = self.rank();
        key.group.clear();
        key.group.push_str(s);
        key.id.clear();
        key.id.push_str(id);
    }

    /// The canonical booking order: time, then kind, then symbol, then id (numeric ids compared
    /// as numbers, as Binance trade ids grow). Replay sorts by it, so the ledger does not depend
    /// on the order in which the Durable Object happened to learn of its fills.
    pub fn canonical_cmp(&self, other: &Self) -> Ordering {
        let (s1, id1) = self.tiebreak();
        let (s2, id2) = other.tiebreak();
        self.time_ms()
            .cmp(&other.time_ms())
            .then(self.rank().cmp(&other.rank()))
            .then(s1.cmp(s2))
            .then(id_cmp(id1, id2))
            .then_with(|| match (self, other) {
                (Self::Mark(a), Self::Mark(b)) => a.price.cmp(&b.price),
                _ => Ordering::Equal,
            })
    }
}

/// Where the canonically latest booked entry sorts ([`LedgerEntry::canonical_cmp`] without the
/// entry): enough to tell whether a new entry arrived out of order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatestKey {
    /// Entry time.
    pub time_ms: i64,
    /// Kind rank (transfer, allocation, fill, funding).
    pub rank: u8,
    /// Symbol (or strategy) of the entry.
    pub group: String,
    /// Its id (trade, funding, transfer or allocation id).
    pub id: String,
}

/// Where the observation behind a held mark sorts in the canonical order: a mark is replaced only
/// by an observation that sorts at or after it, so the held mark is the canonically latest one
/// whatever order entries were booked in, and booking an entry again never moves it (a mark and
/// a fill at the same millisecond: the mark wins, as in replay, where marks sort after fills).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkKey {
    /// Observation time.
    pub time_ms: i64,
    /// Kind rank of the entry that set it (fill or mark).
    pub rank: u8,
    /// Trade id of a fill; empty for a mark.
    pub id: String,
    /// The price (orders two marks of the same millisecond, as replay does).
    pub price: Decimal,
}

impl MarkKey {
    /// Whether an observation with this key may replace the held one (`held`).
    pub(crate) fn replaces(&self, held: &MarkKey) -> bool {
        self.time_ms
            .cmp(&held.time_ms)
            .then(self.rank.cmp(&held.rank))
            .then(id_cmp(&self.id, &held.id))
            .then(self.price.cmp(&held.price))
            != Ordering::Less
    }
}

impl LedgerEntry {
    /// The mark this entry sets (symbol and key), if it sets one: fills and marks do.
    pub(crate) fn mark_key(&self) -> Option<(&Symbol, MarkKey)> {
        match self {
            Self::Fill(b) => Some((
                &b.fill.symbol,
                MarkKey {
                    time_ms: b.fill.time_ms,
                    rank: self.rank(),
                    id: b.fill.trade_id.clone(),
                    price: b.fill.price,
                },
            )),
            Self::Mark(m) => Some((
                &m.symbol,
                MarkKey {
                    time_ms: m.time_ms,
                    rank: self.rank(),
                    id: String::new(),
                    price: m.price,
                },
            )),
            _ => None,
        }
    }
}

/// Idempotency key of a fill: Binance trade ids are unique per symbol only.
pub(crate) fn fill_key(symbol: &Symbol, trade_id: &str) -> String {
    // `f:{symbol}:{trade_id}`, concatenated without the formatting machinery: every fill
    // builds it for its duplicate check.
    let symbol = symbol.as_str();
    let mut key = String::with_capacity(3 + symbol.len() + trade_id.len());
    key.push_str("f:");
    key.push_str(symbol);
    key.push(':');
    key.push_str(trade_id);
    key
}

fn id_cmp(a: &str, b: &str) -> Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if numeric(a) && numeric(b) {
        let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
        a.len().cmp(&b.len()).then(a.cmp(b))
    } else {
        a.cmp(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_sort_as_numbers() {
        assert_eq!(id_cmp("9", "10"), Ordering::Less);
        assert_eq!(id_cmp("010", "10"), Ordering::Equal);
        assert_eq!(id_cmp("b", "a"), Ordering::Greater);
    }
}
