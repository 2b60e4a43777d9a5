//! What can happen to a bot, as audit event kinds. One variant per kind of fact, each carrying the
//! context an auditor needs to understand it without looking anywhere else (the rule, the limit and
//! the observed value of a risk decision; the redacted request that went out; the exchange's answer).
//! Correlation ids (signal, client order) and the actor live on the record, not here.

use crate::ids::{ClientOrderId, Symbol};
use crate::model::{Exchange, Fill, Market, OrderRequest};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One audited fact. Serialized with a `kind` tag (snake_case), which is also the `kind` column of
/// the outbox and the `kind` property of the Neo4j `Event` node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditEvent {
    /// A webhook body reached the bot (before any check). `payload` is the alert body with
    /// secrets removed (see [`super::Redactor`]).
    SignalReceived {
        /// Redacted alert body as parsed JSON (or `{"text": …}` for a text body).
        payload: serde_json::Value,
        /// Where it came from (`webhook`, `strategy:<name>`).
        source: String,
    },
    /// The signal was refused before reaching risk (auth, schema, freshness, duplicate, paused).
    SignalRejected {
        /// HTTP status answered (400, 401, 409, 423, …).
        status: u16,
        /// Machine-readable reason (`stale`, `duplicate`, `bad_secret`, …).
        reason: String,
        /// Offending field, when one is to blame.
        field: Option<String>,
    },
    /// The signal passed validation and whitelist; risk comes next.
    SignalAccepted {
        /// Normalised action (`buy`, `sell`, `close`, `cancel_all`, `target`).
        action: String,
        /// Instrument the signal is about.
        symbol: Option<Symbol>,
    },
    /// One risk rule's verdict on one signal.
    RiskDecision {
        /// Rule name as in the bot config (`max_order_notional`).
        rule: String,
        /// Configured limit, as text (decimals as strings).
        limit: String,
        /// Value observed when the rule ran.
        observed: String,
        /// Whether the rule let the order through.
        outcome: DecisionOutcome,
    },
    /// An order the bot decided to send (after every rule passed, sizing and rounding).
    OrderIntent {
        /// Venue.
        exchange: Exchange,
        /// Market of the venue.
        market: Market,
        /// The order exactly as decided.
        order: OrderRequest,
    },
    /// An HTTP request left for the exchange. Never holds the API key, the signature or a secret:
    /// build it with [`AuditEvent::request_sent`], which redacts the query and body.
    RequestSent {
        /// Venue.
        exchange: Exchange,
        /// HTTP method.
        method: String,
        /// Path without query (`/api/v3/order`).
        path: String,
        /// Query string with signature/key parameters replaced by `[redacted]`.
        query: String,
        /// Body with the same redaction (empty when none).
        body: String,
    },
    /// What the exchange answered.
    ExchangeResponse {
        /// Venue.
        exchange: Exchange,
        /// HTTP status.
        status: u16,
        /// Venue error code (`-2010`, `110007`), when any.
        code: Option<String>,
        /// First [`BODY_EXCERPT_CHARS`] characters of the body.
        body_excerpt: String,
        /// Round trip in milliseconds, when measured.
        latency_ms: Option<u64>,
    },
    /// An execution of one of our orders.
    Fill {
        /// Venue.
        exchange: Exchange,
        /// Market of the venue.
        market: Market,
        /// The execution as the venue reported it.
        fill: Fill,
    },
    /// The bot's position in one instrument changed.
    PositionChange {
        /// Instrument.
        symbol: Symbol,
        /// Signed quantity before.
        old_qty: Decimal,
        /// Signed quantity after.
        new_qty: Decimal,
        /// Average entry price after (zero when flat).
        avg_entry_price: Decimal,
    },
    /// The ledger booked P&L (realized, fees, funding) for one instrument.
    PnlBooked {
        /// Instrument.
        symbol: Symbol,
        /// Trade that caused it, when a fill did (funding has none).
        trade_id: Option<String>,
        /// Realized P&L in quote.
        realized: Decimal,
        /// Fees valued in quote at fill time.
        fees_quote: Decimal,
        /// Funding in quote (linear).
        funding: Decimal,
        /// Quote asset of the amounts.
        quote_asset: String,
    },
    /// The bot config changed from one version to the next (the actor is on the record).
    ConfigChange {
        /// Version before (none when the bot is created).
        old_version: Option<u64>,
        /// Version after.
        new_version: u64,
        /// Field-level changes, see [`super::config_diff`].
        diff: Vec<ConfigDiffEntry>,
    },
    /// Exchange credentials were set, rotated or removed. Never carries a value.
    CredentialChange {
        /// Venue of the credentials.
        exchange: Exchange,
        /// What happened.
        action: CredentialAction,
    },
    /// Pause, resume, halt, flatten (per bot or global).
    Control {
        /// What was done.
        action: ControlAction,
        /// Why, as typed by the operator or the system.
        reason: Option<String>,
    },
    /// The exchange circuit breaker moved.
    CircuitChange {
        /// Venue.
        exchange: Exchange,
        /// State before.
        from: CircuitState,
        /// State after.
        to: CircuitState,
        /// What tripped or healed it.
        reason: String,
    },
    /// Result of comparing the exchange's trade history with the ledger.
    Reconciliation {
        /// Trades compared.
        checked: u64,
        /// Differences found (empty = reconciled).
        mismatches: Vec<Mismatch>,
    },
    /// The strategy's idea of the position differs from the real one (invariant 7).
    PositionDrift {
        /// Instrument.
        symbol: Symbol,
        /// Position the alert claimed.
        expected_qty: Decimal,
        /// Position the bot holds.
        actual_qty: Decimal,
        /// Whether a corrective order was sent (target mode).
        healing_order: Option<ClientOrderId>,
    },
    /// An alert was sent to an operator.
    AlertSent {
        /// Channel (`email`, `webhook`).
        channel: String,
        /// `info` / `warning` / `critical`.
        severity: String,
        /// Alert text.
        message: String,
    },
    /// Capital moved into (positive) or out of (negative) the bot's ledger by an operator.
    CapitalTransfer {
        /// Transfer id (idempotency key in the ledger).
        transfer_id: String,
        /// Signed amount in the quote asset.
        amount: Decimal,
        /// Quote asset.
        quote_asset: String,
    },
    /// A/B test: the version of a paper shadow was promoted onto this bot (the config change
    /// that applies it is its own [`AuditEvent::ConfigChange`] in the same commit).
    Promotion {
        /// The shadow bot whose version was promoted.
        shadow: String,
        /// Promoted without a decision of the sequential test (the operator forced it).
        forced: bool,
        /// Why, as typed by the operator (required when forced).
        reason: Option<String>,
        /// The test's reading at that moment, as text (statistics are `f64`, and the audit's
        /// canonical JSON carries only integers): `decision=… p=… pairs=…`.
        evidence: String,
    },
    /// A regime gate of a strategy spec changed what the bot may do (`pause`, `reduce`,
    /// `switch`, or back to `trade`) because the instrument's regime label changed.
    RegimeAction {
        /// Instrument whose regime changed.
        symbol: String,
        /// The regime label now (`trend`, `range`, `volatile`, …).
        regime: String,
        /// The label before (none on the first classified bar).
        previous: Option<String>,
        /// What the gate now does with the bot's entries.
        action: String,
    },
}

/// How many characters of an exchange body an [`AuditEvent::ExchangeResponse`] keeps.
pub const BODY_EXCERPT_CHARS: usize = 512;

/// Verdict of one risk rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// The rule passed.
    Pass,
    /// The rule refused the order.
    Refuse,
}

/// What happened to a bot's exchange credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialAction {
    /// First set.
    Set,
    /// Replaced.
    Rotated,
    /// Deleted.
    Removed,
}

/// Operator or system control actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    /// Bot paused: only cancels and reduce-only orders.
    Pause,
    /// Bot resumed.
    Resume,
    /// Platform-wide halt applied to this bot.
    Halt,
    /// Platform-wide halt lifted.
    Unhalt,
    /// All positions closed on request.
    Flatten,
    /// The webhook secret was replaced; the reason says until when the old one is accepted.
    RotateWebhookSecret,
}

/// Circuit breaker states of an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Requests flow.
    Closed,
    /// Requests are refused without calling the exchange.
    Open,
    /// One probe request is allowed.
    HalfOpen,
}

/// One field changed by a config update. `old`/`new` are JSON values (absent = `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigDiffEntry {
    /// JSON pointer of the field (`/risk/max_daily_loss`).
    pub path: String,
    /// Value before (canonical JSON drops nulls, so absent reads back as `null`).
    #[serde(default)]
    pub old: serde_json::Value,
    /// Value after.
    #[serde(default)]
    pub new: serde_json::Value,
}

/// One reconciliation difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// What differs (`fee`, `qty`, `missing_trade`, …).
    pub subject: String,
    /// Trade concerned, when one is.
    pub trade_id: Option<String>,
    /// Our value.
    pub ours: String,
    /// The exchange's value.
    pub theirs: String,
}

impl AuditEvent {
    /// The `kind` tag of this event (same spelling as in JSON).
    pub fn kind(&self) -> &'static str {
        match self {
            AuditEvent::SignalReceived { .. } => "signal_received",
            AuditEvent::SignalRejected { .. } => "signal_rejected",
            AuditEvent::SignalAccepted { .. } => "signal_accepted",
            AuditEvent::RiskDecision { .. } => "risk_decision",
            AuditEvent::OrderIntent { .. } => "order_intent",
            AuditEvent::RequestSent { .. } => "request_sent",
            AuditEvent::ExchangeResponse { .. } => "exchange_response",
            AuditEvent::Fill { .. } => "fill",
            AuditEvent::PositionChange { .. } => "position_change",
            AuditEvent::PnlBooked { .. } => "pnl_booked",
            AuditEvent::ConfigChange { .. } => "config_change",
            AuditEvent::CredentialChange { .. } => "credential_change",
            AuditEvent::Control { .. } => "control",
            AuditEvent::CircuitChange { .. } => "circuit_change",
            AuditEvent::Reconciliation { .. } => "reconciliation",
            AuditEvent::PositionDrift { .. } => "position_drift",
            AuditEvent::AlertSent { .. } => "alert_sent",
            AuditEvent::CapitalTransfer { .. } => "capital_transfer",
            AuditEvent::Promotion { .. } => "promotion",
            AuditEvent::RegimeAction { .. } => "regime_action",
        }
    }

    /// A [`AuditEvent::RequestSent`] whose query and body are redacted (signature, api key,
    /// timestamps are kept): the only safe way to record an outgoing signed request.
    pub fn request_sent(
        exchange: Exchange,
        method: &str,
        path: &str,
        query: &str,
        body: &str,
    ) -> Self {
        AuditEvent::RequestSent {
            exchange,
            method: method.to_string(),
            path: path.to_string(),
            query: super::redact::redact_query(query),
            body: super::redact::redact_body(body),
        }
    }

    /// A [`AuditEvent::ExchangeResponse`] keeping only the first [`BODY_EXCERPT_CHARS`] characters.
    pub fn exchange_response(
        exchange: Exchange,
        status: u16,
        code: Option<String>,
        body: &str,
        latency_ms: Option<u64>,
    ) -> Self {
        AuditEvent::ExchangeResponse {
            exchange,
            status,
            code,
            body_excerpt: body.chars().take(BODY_EXCERPT_CHARS).collect(),
            latency_ms,
        }
    }
}

/// Field-level differences between two config JSON documents, in path order: what a
/// [`AuditEvent::ConfigChange`] records so the audit shows old → new without storing secrets
/// (configs hold none; credentials are separate).
pub fn config_diff(old: &serde_json::Value, new: &serde_json::Value) -> Vec<ConfigDiffEntry> {
    let mut out = Vec::new();
    diff_into(old, new, &mut String::new(), &mut out);
    out
}

fn diff_into(
    old: &serde_json::Value,
    new: &serde_json::Value,
    path: &mut String,
    out: &mut Vec<ConfigDiffEntry>,
) {
    use serde_json::Value;
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let len = path.len();
                path.push('/');
                path.push_str(key);
                let av = a.get(key).unwrap_or(&Value::Null);
                let bv = b.get(key).unwrap_or(&Value::Null);
                diff_into(av, bv, path, out);
                path.truncate(len);
            }
        }
        (a, b) if a != b => out.push(ConfigDiffEntry {
            path: if path.is_empty() {
                "/".to_string()
            } else {
                path.clone()
            },
            old: decimals_as_text(a),
            new: decimals_as_text(b),
        }),
        _ => {}
    }
}

/// A recorded value with every non-integer number as its exact decimal text: the audit's
/// canonical JSON refuses fractional numbers (money is text), while a config may hold them in a
/// strategy's `params` (`"k": 1.3`) or a declarative `strategy_spec` (`0.5` in an expression).
/// Without this, creating such a bot could not be audited and was refused.
fn decimals_as_text(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => Value::String(n.to_string()),
        Value::Array(a) => Value::Array(a.iter().map(decimals_as_text).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), decimals_as_text(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_diff_records_fractions_as_exact_text_so_the_event_is_canonical() {
        let old = json!({"params": {"k": 2}});
        let new: serde_json::Value = serde_json::from_str(
            r#"{"params": {"k": 1.30}, "strategy_spec": {"target": {"expr": {"if": [true, 0.5, -1]}}}}"#,
        )
        .unwrap();
        let diff = config_diff(&old, &new);
        assert_eq!(diff[0].new, json!("1.30"));
        assert_eq!(diff[0].old, json!(2));
        assert_eq!(
            diff[1].new,
            json!({"target": {"expr": {"if": [true, "0.5", -1]}}})
        );
        for d in &diff {
            crate::audit::canonical::to_canonical_string(&d.new).unwrap();
        }
    }

    #[test]
    fn config_diff_lists_changed_leaves() {
        let old = json!({"risk": {"max_daily_loss": "100", "cooldown_secs": 60}, "name": "a"});
        let new = json!({"risk": {"max_daily_loss": "50", "cooldown_secs": 60}, "name": "a", "mode": "live"});
        let diff = config_diff(&old, &new);
        assert_eq!(diff.len(), 2);
        assert_eq!(diff[0].path, "/mode");
        assert_eq!(diff[0].old, json!(null));
        assert_eq!(
            diff[1],
            ConfigDiffEntry {
                path: "/risk/max_daily_loss".into(),
                old: json!("100"),
                new: json!("50")
            }
        );
    }

    #[test]
    fn excerpt_is_bounded_and_kind_matches_tag() {
        let ev = AuditEvent::exchange_response(
            Exchange::Binance,
            400,
            Some("-2010".into()),
            &"x".repeat(2000),
            None,
        );
        let v = serde_json::to_value(&ev).unwrap_or_default();
        assert_eq!(v["kind"], json!(ev.kind()));
        assert_eq!(
            v["body_excerpt"].as_str().map(str::len),
            Some(BODY_EXCERPT_CHARS)
        );
    }
}
