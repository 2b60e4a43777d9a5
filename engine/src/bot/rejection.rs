//! A refused signal: the HTTP status of docs/trading.md, a stable code, a human message, and what the
//! audit trail needs (field, rule detail, checks made).

use crate::risk::RiskCheck;
use crate::signal::{SignalError, SignalErrorKind};
use serde::Serialize;

/// Why a signal was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// HTTP status (400, 401, 403, 409, 413, 422, 423, 503).
    pub status: u16,
    /// Stable machine-readable code.
    pub code: String,
    /// Human explanation.
    pub message: String,
    /// Offending field.
    pub field: Option<String>,
    /// Rule detail (rule, limit, observed); boxed to keep `Result<_, Rejection>` small.
    pub detail: Option<Box<serde_json::Value>>,
    /// Risk checks evaluated before the refusal.
    #[serde(skip)]
    pub checks: Vec<Vec<RiskCheck>>,
}

impl Rejection {
    /// A rejection with status, code and message.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            field: None,
            detail: None,
            checks: Vec::new(),
        }
    }

    /// Names the field.
    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    /// Adds rule detail.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(Box::new(detail));
        self
    }

    /// Keeps the checks made before the refusal.
    pub fn with_checks(mut self, checks: Vec<Vec<RiskCheck>>) -> Self {
        self.checks = checks;
        self
    }

    /// Maps a signal parsing/freshness error to its status.
    pub fn from_signal(e: &SignalError) -> Self {
        let status = match e.kind() {
            SignalErrorKind::TooLarge => 413,
            SignalErrorKind::Malformed => 400,
            SignalErrorKind::Invalid => 422,
        };
        let mut r = Self::new(status, e.code(), e.to_string());
        r.field = e.field().map(String::from);
        r
    }
}
