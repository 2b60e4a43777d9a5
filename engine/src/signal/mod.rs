//! The TradingView webhook contract (docs/trading.md), parsed strictly from the raw body.
//!
//! Why strict: a typo in an alert template (`"qyt": "1"`) must not silently trade the bot's
//! default size, and a decimal must be the exact text the alert sent. So the body must be one JSON
//! object (whatever the `Content-Type`: TradingView sends `text/plain` when it cannot tell),
//! unknown and duplicated fields are refused by name, decimals are parsed from their text without
//! `f64`, and each action's required and forbidden fields are checked here, before the bot sees it.
//!
//! The `secret` is split off into [`WebhookSecret`], which has no `Serialize` and a redacted
//! `Debug`, so a logged or audited [`Signal`] never carries it. Authentication, the source-IP
//! allowlist and freshness live in [`auth`]; the dedupe key in [`dedupe`]; the edge's whole
//! check sequence in [`accept_webhook`].

pub mod auth;
pub mod dedupe;
mod fields;
pub mod intake;
pub mod symbol;
pub mod value;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use auth::{
    authenticate, check_freshness, secret_matches, verify_signature, AuthError, AuthMethod,
    IpAllowlist, IpAllowlistError, SIGNATURE_HEADER, SIGNATURE_WINDOW_SECS, TRADINGVIEW_IPS,
};
pub use dedupe::{canonical_body, dedupe_key};
pub use intake::{accept_webhook, WebhookRejection, WebhookRequest};
pub use symbol::{normalize_symbol, SymbolError};

use crate::ids::{SignalId, Symbol};
use crate::model::OrderType;
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt;

/// Largest accepted webhook body (docs/trading.md). Checked before parsing so a huge body costs nothing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Every field the contract knows, in the order the README documents them.
pub const KNOWN_FIELDS: [&str; 13] = [
    "secret",
    "id",
    "action",
    "symbol",
    "qty",
    "quote_qty",
    "size_pct",
    "target_position",
    "order_type",
    "price",
    "stop_loss",
    "take_profit",
    "time",
];

/// What the alert asks the bot to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Buy (open/increase long, or reduce/flip a short on linear).
    Buy,
    /// Sell (open/increase short on linear, sell holdings on spot).
    Sell,
    /// Close the whole position of the symbol.
    Close,
    /// Cancel every open order of the bot (of the symbol, when one is given).
    CancelAll,
    /// Trade to `target_position`: heals missed and duplicated alerts by construction.
    Target,
}

impl Action {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Buy => "buy",
            Action::Sell => "sell",
            Action::Close => "close",
            Action::CancelAll => "cancel_all",
            Action::Target => "target",
        }
    }
}

/// The alert's own sizing (at most one of `qty`, `quote_qty`, `size_pct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "unit", content = "value")]
pub enum SignalSizing {
    /// Base-asset quantity (`qty`).
    Qty(Decimal),
    /// Quote amount (`quote_qty`), converted to base at the market price.
    QuoteQty(Decimal),
    /// Percent of the bot's equity (`size_pct`), as notional.
    SizePct(Decimal),
}

/// A validated alert, without its secret. Safe to log and to put in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal {
    /// The alert's own `id`, verbatim, when it sent one.
    pub id: Option<String>,
    /// What to do.
    pub action: Action,
    /// Normalised symbol; `None` only for `cancel_all` without a symbol (every symbol).
    pub symbol: Option<Symbol>,
    /// The alert's sizing; `None` means the bot's default sizing.
    pub sizing: Option<SignalSizing>,
    /// The strategy's signed position after this alert (`{{strategy.position_size}}`): required
    /// for `target`, informational otherwise (drift detection, invariant 7).
    pub target_position: Option<Decimal>,
    /// Market unless the alert asked for a limit.
    pub order_type: OrderType,
    /// Limit price, or for market orders the alert's reference price (`{{close}}`) used by the
    /// slippage rule.
    pub price: Option<Decimal>,
    /// Stop-loss trigger price.
    pub stop_loss: Option<Decimal>,
    /// Take-profit trigger price.
    pub take_profit: Option<Decimal>,
    /// When the alert fired, milliseconds since the epoch (UTC).
    pub time_ms: Option<i64>,
}

/// The per-bot shared secret as the alert sent it. Never serialised; `Debug` prints a mask.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret's bytes, for [`secret_matches`] only.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// The result of parsing one webhook body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignal {
    /// The validated alert.
    pub signal: Signal,
    /// The `secret` field, kept apart so it is never logged.
    pub secret: Option<WebhookSecret>,
    /// The key under which the bot remembers this alert for 24 h (see [`dedupe_key`]).
    pub signal_id: SignalId,
}

/// How the edge should answer a [`SignalError`]; the one HTTP mapping lives in the Worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalErrorKind {
    /// Over [`MAX_BODY_BYTES`] (413).
    TooLarge,
    /// Not the schema: bad JSON, unknown/duplicate field, wrong type or format (400).
    Malformed,
    /// Well-formed but refused: inconsistent fields, stale (422).
    Invalid,
}

/// Why a webhook body was refused; every variant names the field when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalError {
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("body is {size} bytes; the limit is {max}")]
    TooLarge {
        /// Size received.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The body is not one JSON object.
    #[error("body is not a JSON object: {reason}")]
    NotJsonObject {
        /// Parser message (with line and column).
        reason: String,
    },
    /// A field outside the contract.
    #[error("unknown field `{field}`")]
    UnknownField {
        /// The field name received.
        field: String,
    },
    /// A field given twice.
    #[error("field `{field}` appears more than once")]
    DuplicateField {
        /// The field name.
        field: String,
    },
    /// A required field is absent.
    #[error("`{field}` is required: {reason}")]
    Missing {
        /// The field.
        field: &'static str,
        /// Why it is required here.
        reason: String,
    },
    /// A field has the wrong type or format.
    #[error("`{field}`: {reason}")]
    Malformed {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The fields are well-formed but not acceptable together (or a value is out of range).
    #[error("`{field}`: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `time` is older than the bot's `max_signal_age_secs`, or too far in the future.
    #[error("`time`: {reason}")]
    Stale {
        /// Age in seconds (negative when in the future).
        age_secs: i64,
        /// What is wrong.
        reason: String,
    },
}

impl SignalError {
    /// The offending field, when one is to blame.
    pub fn field(&self) -> Option<&str> {
        match self {
            SignalError::TooLarge { .. } | SignalError::NotJsonObject { .. } => None,
            SignalError::UnknownField { field } | SignalError::DuplicateField { field } => {
                Some(field)
            }
            SignalError::Missing { field, .. }
            | SignalError::Malformed { field, .. }
            | SignalError::Invalid { field, .. } => Some(field),
            SignalError::Stale { .. } => Some("time"),
        }
    }

    /// A stable machine-readable code for the JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            SignalError::TooLarge { .. } => "body_too_large",
            SignalError::NotJsonObject { .. } => "malformed_json",
            SignalError::UnknownField { .. } => "unknown_field",
            SignalError::DuplicateField { .. } => "duplicate_field",
            SignalError::Missing { .. } => "missing_field",
            SignalError::Malformed { .. } => "malformed_field",
            SignalError::Invalid { .. } => "invalid_field",
            SignalError::Stale { .. } => "stale_signal",
        }
    }

    /// Which answer class this error belongs to.
    pub fn kind(&self) -> SignalErrorKind {
        match self {
            SignalError::TooLarge { .. } => SignalErrorKind::TooLarge,
            SignalError::Invalid { .. } | SignalError::Stale { .. } => SignalErrorKind::Invalid,
            _ => SignalErrorKind::Malformed,
        }
    }
}

/// Parses a webhook body (JSON, or `text/plain` holding JSON; a UTF-8 BOM is ignored).
///
/// # Errors
/// [`SignalError`] naming the field for any deviation from the contract.
pub fn parse_signal(body: &[u8]) -> Result<ParsedSignal, SignalError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(SignalError::TooLarge {
            size: body.len(),
            max: MAX_BODY_BYTES,
        });
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let object: value::StrictObject =
        serde_json::from_slice(body).map_err(|e| SignalError::NotJsonObject {
            reason: e.to_string(),
        })?;
    if let Some(field) = object.duplicate {
        return Err(SignalError::DuplicateField { field });
    }
    if let Some(field) = object
        .fields
        .keys()
        .find(|k| !KNOWN_FIELDS.contains(&k.as_str()))
    {
        return Err(SignalError::UnknownField {
            field: field.clone(),
        });
    }
    let (signal, secret) = fields::build(&object.fields)?;
    let signal_id =
        dedupe_key(signal.id.as_deref(), &object.fields).map_err(|e| SignalError::Malformed {
            field: "id",
            reason: e.to_string(),
        })?;
    Ok(ParsedSignal {
        signal,
        secret,
        signal_id,
    })
}
