//! The vocabulary of a call: what a signal channel asks its followers to do, as read from its
//! message. Every field is optional because a message may not say it; the parser never fills a
//! field the message does not state (the grammar module says how).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Direction of a call (spot "buy" is a long).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallSide {
    /// Profit when the price rises.
    Long,
    /// Profit when the price falls.
    Short,
}

/// Where the call enters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entry {
    /// "Entry: CMP" / "market": at the first price after the call.
    Market,
    /// One limit price.
    Price(Decimal),
    /// A zone `[low, high]` (low < high); the call fills at the first touch of the zone.
    Zone {
        /// Lower edge.
        low: Decimal,
        /// Upper edge.
        high: Decimal,
    },
}

/// Margin mode named next to the leverage ("Leverage cross 10x").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarginMode {
    /// Cross margin.
    Cross,
    /// Isolated margin.
    Isolated,
}

/// Leverage as stated: a single multiple, with the margin mode when the message names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leverage {
    /// The multiple (10 for "10x").
    pub x: Decimal,
    /// The margin mode, when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<MarginMode>,
}

/// A field of a call, for flags and the per-field score of the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallField {
    /// The instrument.
    Pair,
    /// Long or short.
    Side,
    /// Entry price, zone or market.
    Entry,
    /// Stop-loss price.
    Stop,
    /// Take-profit prices in the order given.
    Targets,
    /// Leverage multiple (and mode).
    Leverage,
    /// How long the entry stays valid.
    Validity,
}

impl CallField {
    /// Every field, in report order.
    pub const ALL: [CallField; 7] = [
        CallField::Pair,
        CallField::Side,
        CallField::Entry,
        CallField::Stop,
        CallField::Targets,
        CallField::Leverage,
        CallField::Validity,
    ];

    /// The field's name in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            CallField::Pair => "pair",
            CallField::Side => "side",
            CallField::Entry => "entry",
            CallField::Stop => "stop",
            CallField::Targets => "targets",
            CallField::Leverage => "leverage",
            CallField::Validity => "validity",
        }
    }
}

/// Something in the message the parser could not read; the field it concerns is left empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// 1-based line of the message.
    pub line: usize,
    /// The field concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<CallField>,
    /// Why, in words an operator understands.
    pub reason: String,
}

/// A call's fields, as read from a message or entered by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFields {
    /// Exchange symbol, upper case, base then quote (`BTCUSDT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
    /// Direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<CallSide>,
    /// Entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
    /// Stop-loss price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Decimal>,
    /// Take-profit prices in the order the message lists them (empty when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Decimal>,
    /// Leverage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leverage: Option<Leverage>,
    /// How long the entry stays valid after the call, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_ms: Option<i64>,
}

impl CallFields {
    /// Whether `field` is present.
    pub fn has(&self, field: CallField) -> bool {
        match field {
            CallField::Pair => self.pair.is_some(),
            CallField::Side => self.side.is_some(),
            CallField::Entry => self.entry.is_some(),
            CallField::Stop => self.stop.is_some(),
            CallField::Targets => !self.targets.is_empty(),
            CallField::Leverage => self.leverage.is_some(),
            CallField::Validity => self.validity_ms.is_some(),
        }
    }

    /// Whether `field` holds the same value in both (absent equals absent). Decimals compare by
    /// value (`0.50` equals `0.5`).
    pub fn same(&self, other: &CallFields, field: CallField) -> bool {
        match field {
            CallField::Pair => self.pair == other.pair,
            CallField::Side => self.side == other.side,
            CallField::Entry => self.entry == other.entry,
            CallField::Stop => self.stop == other.stop,
            CallField::Targets => self.targets == other.targets,
            CallField::Leverage => self.leverage == other.leverage,
            CallField::Validity => self.validity_ms == other.validity_ms,
        }
    }
}

/// A message read by the grammar: the fields it states and the flags for what it could not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedCall {
    /// The fields read.
    pub fields: CallFields,
    /// What was not read, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
}
