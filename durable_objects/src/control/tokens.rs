//! The rules of API tokens issued by the ControlDO (issue 26, item 7): every token expires, at most
//! [`MAX_TTL_SECS`] after it was made; a token may be scoped to a list of bots, and then sees and
//! acts on those bots only. Pure functions over the request body and the stored row, so the rules
//! are unit-tested without a runtime; the edge (`src/auth.rs`, `src/api`) applies them.
//!
//! The bootstrap `ADMIN_TOKEN` secret is not a stored token: it never expires and has no scope.

use crate::http::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Lifetime of a token created without `ttl_secs`: 90 days.
pub const DEFAULT_TTL_SECS: i64 = 90 * 86_400;
/// Longest lifetime of a token: one year. A token that leaks from a forgotten dashboard stops
/// working on its own; tokens stored before expiry existed expire this long after their creation.
pub const MAX_TTL_SECS: i64 = 365 * 86_400;
/// Shortest lifetime: one minute (a shorter token would expire before it is copied).
pub const MIN_TTL_SECS: i64 = 60;
/// Most bots a token's scope may name.
pub const MAX_SCOPE_BOTS: usize = 100;
/// Longest token label.
pub const MAX_TOKEN_NAME: usize = 64;

/// Role of an admin API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Reads only.
    Viewer,
}

impl Role {
    /// Stored and displayed name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
}

/// A stored token (never the token itself, nor its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    /// Public id, used in audit records.
    pub id: String,
    /// Operator's label.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Creation time (ms).
    pub created_ms: i64,
    /// When it stops working (ms). Always set on answers ([`TokenRow::with_expiry`]).
    #[serde(default)]
    pub expires_ms: Option<i64>,
    /// The bots it is limited to; `None` = every bot and the platform-wide routes.
    #[serde(default)]
    pub bots: Option<Vec<String>>,
}

impl TokenRow {
    /// When the token stops working: its stored expiry, or for a token stored before expiry
    /// existed, [`MAX_TTL_SECS`] after its creation.
    pub fn expiry_ms(&self) -> i64 {
        self.expires_ms
            .unwrap_or_else(|| self.created_ms.saturating_add(MAX_TTL_SECS * 1000))
    }

    /// The row with its effective expiry filled in, as answered to the edge and the operator.
    pub fn with_expiry(mut self) -> Self {
        self.expires_ms = Some(self.expiry_ms());
        self
    }

    /// Whether the token may still be used at `now_ms`.
    ///
    /// # Errors
    /// 401 `token_expired` naming when it expired.
    pub fn check_alive(&self, now_ms: i64) -> Result<(), ApiError> {
        let until = self.expiry_ms();
        if now_ms < until {
            return Ok(());
        }
        Err(ApiError::unauthorized(
            "token_expired",
            format!(
                "this token expired at {}; ask an admin for a new one",
                keel_engine::calendar::rfc3339(until)
            ),
        ))
    }
}

/// A validated `POST /api/v1/tokens` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// Label (`unnamed` when absent).
    pub name: String,
    /// Role (`viewer` when absent: the least power by default).
    pub role: Role,
    /// Lifetime asked for, in seconds; `None` = [`DEFAULT_TTL_SECS`], cut to the minter's.
    pub ttl_secs: Option<i64>,
    /// Scope: the bots the token is limited to (sorted, without duplicates), or every bot.
    pub bots: Option<Vec<String>>,
}

fn field_error(code: &str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, message).with_field(field)
}

/// Validates a token creation body: `{"name"?, "role"?, "ttl_secs"?, "bots"?}`.
///
/// # Errors
/// 400 naming the field: `unknown_field`, `invalid_role`, `invalid_name`, `invalid_ttl`,
/// `invalid_scope`.
pub fn parse_create(body: &Value) -> Result<TokenSpec, ApiError> {
    let empty = serde_json::Map::new();
    let fields = match body {
        Value::Null => &empty,
        Value::Object(o) => o,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "expected {\"name\", \"role\", \"ttl_secs\", \"bots\"}",
            ))
        }
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "role" | "ttl_secs" | "bots"))
    {
        let shown = crate::http::cap_text(unknown, 64);
        return Err(field_error(
            "unknown_field",
            &shown,
            format!("unknown field {shown:?}"),
        ));
    }
    let role = match fields.get("role") {
        None | Some(Value::Null) => Role::Viewer,
        Some(Value::String(r)) if r == "admin" => Role::Admin,
        Some(Value::String(r)) if r == "viewer" => Role::Viewer,
        Some(_) => {
            return Err(field_error(
                "invalid_role",
                "role",
                "role must be admin or viewer",
            ))
        }
    };
    let name = match fields.get("name") {
        None | Some(Value::Null) => "unnamed".to_string(),
        Some(Value::String(n)) if !n.trim().is_empty() && n.chars().count() <= MAX_TOKEN_NAME => {
            n.clone()
        }
        Some(_) => {
            return Err(field_error(
                "invalid_name",
                "name",
                format!("name must be 1..={MAX_TOKEN_NAME} characters"),
            ))
        }
    };
    let ttl_secs = match fields.get("ttl_secs") {
        None | Some(Value::Null) => None,
        Some(v) => v
            .as_i64()
            .filter(|s| (MIN_TTL_SECS..=MAX_TTL_SECS).contains(s))
            .ok_or_else(|| {
                field_error(
                    "invalid_ttl",
                    "ttl_secs",
                    format!(
                        "ttl_secs must be a whole number of seconds from {MIN_TTL_SECS} to {MAX_TTL_SECS} (365 days)"
                    ),
                )
            })
            .map(Some)?,
    };
    let bots = match fields.get("bots") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => Some(parse_scope(list)?),
        Some(_) => {
            return Err(field_error(
                "invalid_scope",
                "bots",
                "bots must be a list of bot ids",
            ))
        }
    };
    Ok(TokenSpec {
        name,
        role,
        ttl_secs,
        bots,
    })
}

fn parse_scope(list: &[Value]) -> Result<Vec<String>, ApiError> {
    if list.is_empty() || list.len() > MAX_SCOPE_BOTS {
        return Err(field_error(
            "invalid_scope",
            "bots",
            format!("bots must name 1..={MAX_SCOPE_BOTS} bots (omit it for every bot)"),
        ));
    }
    let mut ids = Vec::with_capacity(list.len());
    for v in list {
        let id = v.as_str().ok_or_else(|| {
            field_error("invalid_scope", "bots", "bots must be a list of bot ids")
        })?;
        keel_engine::ids::BotId::new(id).map_err(|e| {
            field_error(
                "invalid_scope",
                "bots",
                format!("{:?} is not a bot id: {e}", crate::http::cap_text(id, 64)),
            )
        })?;
        ids.push(id.to_string());
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// When a token made at `now_ms` expires. It never outlives the token that mints it
/// (`minter_expires_ms`; `None` for the bootstrap token), so a token about to expire cannot extend
/// its own life by minting a longer one: without `ttl_secs` the default lifetime is cut to the
/// minter's, and an explicit `ttl_secs` past it is refused.
///
/// # Errors
/// 400 `invalid_ttl` on `ttl_secs`.
pub fn expiry_for(
    now_ms: i64,
    ttl_secs: Option<i64>,
    minter_expires_ms: Option<i64>,
) -> Result<i64, ApiError> {
    let asked = ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
    let expires = now_ms.saturating_add(asked.saturating_mul(1000));
    match minter_expires_ms {
        Some(limit) if expires > limit && ttl_secs.is_none() => Ok(limit),
        Some(limit) if expires > limit => Err(field_error(
            "invalid_ttl",
            "ttl_secs",
            format!(
                "a token cannot outlive the token that creates it (which expires at {}): ask for at most {} s",
                keel_engine::calendar::rfc3339(limit),
                (limit - now_ms).max(0) / 1000
            ),
        )),
        _ => Ok(expires),
    }
}

/// Whether a scope (`None` = every bot) covers `bot_id`.
pub fn scope_covers(scope: Option<&[String]>, bot_id: &str) -> bool {
    scope.is_none_or(|bots| bots.iter().any(|b| b == bot_id))
}

/// A narrower scope must stay inside the minter's: a token limited to some bots cannot mint one
/// for others (scoped tokens cannot mint at all today; this keeps the rule true if that changes).
pub fn scope_within(minter: Option<&[String]>, wanted: Option<&[String]>) -> bool {
    match (minter, wanted) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(m), Some(w)) => w.iter().all(|b| m.contains(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(created_ms: i64, expires_ms: Option<i64>) -> TokenRow {
        TokenRow {
            id: "tok_1".into(),
            name: "n".into(),
            role: Role::Viewer,
            created_ms,
            expires_ms,
            bots: None,
        }
    }

    #[test]
    fn creation_defaults_to_a_viewer_for_every_bot_for_ninety_days() {
        let spec = parse_create(&Value::Null).unwrap();
        assert_eq!(
            spec,
            TokenSpec {
                name: "unnamed".into(),
                role: Role::Viewer,
                ttl_secs: None,
                bots: None
            }
        );
        let spec = parse_create(
            &json!({"name": "desk", "role": "admin", "ttl_secs": 3600, "bots": ["b", "a", "b"]}),
        )
        .unwrap();
        assert_eq!(spec.role, Role::Admin);
        assert_eq!(spec.ttl_secs, Some(3600));
        assert_eq!(spec.bots, Some(vec!["a".to_string(), "b".to_string()]));
    }

    #[test]
    fn bad_bodies_are_refused_naming_the_field() {
        let cases = [
            (json!({"role": "root"}), "invalid_role", "role"),
            (json!({"name": ""}), "invalid_name", "name"),
            (json!({"name": "x".repeat(65)}), "invalid_name", "name"),
            (json!({"extra": 1}), "unknown_field", "extra"),
            (json!({"ttl_secs": 59}), "invalid_ttl", "ttl_secs"),
            (
                json!({"ttl_secs": MAX_TTL_SECS + 1}),
                "invalid_ttl",
                "ttl_secs",
            ),
            (json!({"ttl_secs": 1.5}), "invalid_ttl", "ttl_secs"),
            (json!({"ttl_secs": "3600"}), "invalid_ttl", "ttl_secs"),
            (json!({"ttl_secs": -3600}), "invalid_ttl", "ttl_secs"),
            (json!({"bots": []}), "invalid_scope", "bots"),
            (json!({"bots": "a"}), "invalid_scope", "bots"),
            (json!({"bots": [1]}), "invalid_scope", "bots"),
            (json!({"bots": ["no spaces"]}), "invalid_scope", "bots"),
            (json!({"bots": ["é"]}), "invalid_scope", "bots"),
        ];
        for (body, code, field) in cases {
            let err = parse_create(&body).unwrap_err();
            assert_eq!((err.status, err.code.as_str()), (400, code), "{body}");
            assert_eq!(err.field.as_deref(), Some(field), "{body}");
        }
        let many: Vec<String> = (0..=MAX_SCOPE_BOTS).map(|i| format!("b{i}")).collect();
        assert_eq!(
            parse_create(&json!({ "bots": many })).unwrap_err().code,
            "invalid_scope"
        );
        assert_eq!(parse_create(&json!([1])).unwrap_err().code, "invalid_body");
        // An attacker's field name is echoed capped.
        let long = "k".repeat(10_000);
        let err = parse_create(&json!({ long.clone(): 1 })).unwrap_err();
        assert!(err.message.len() < 200, "{}", err.message);
    }

    #[test]
    fn a_token_expires_at_its_expiry_and_legacy_tokens_after_the_maximum_lifetime() {
        let t = row(1_000, Some(5_000));
        assert!(t.check_alive(4_999).is_ok());
        let err = t.check_alive(5_000).unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (401, "token_expired"));
        assert!(
            err.message.contains("1970-01-01T00:00:05"),
            "{}",
            err.message
        );
        let legacy = row(1_000, None);
        assert_eq!(legacy.expiry_ms(), 1_000 + MAX_TTL_SECS * 1000);
        assert!(legacy.check_alive(1_000 + MAX_TTL_SECS * 1000 - 1).is_ok());
        assert!(legacy.check_alive(1_000 + MAX_TTL_SECS * 1000).is_err());
        assert_eq!(
            legacy.with_expiry().expires_ms,
            Some(1_000 + MAX_TTL_SECS * 1000)
        );
    }

    #[test]
    fn a_token_cannot_outlive_its_minter() {
        assert_eq!(expiry_for(1_000, Some(60), None).unwrap(), 61_000);
        assert_eq!(
            expiry_for(1_000, None, None).unwrap(),
            1_000 + DEFAULT_TTL_SECS * 1000
        );
        assert_eq!(expiry_for(1_000, Some(60), Some(61_000)).unwrap(), 61_000);
        let err = expiry_for(1_000, Some(61), Some(61_000)).unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.field.as_deref()),
            ("invalid_ttl", Some("ttl_secs"))
        );
        assert!(err.message.contains("at most 60 s"), "{}", err.message);
        // The default lifetime is cut to the minter's rather than refused.
        assert_eq!(expiry_for(1_000, None, Some(61_000)).unwrap(), 61_000);
        assert_eq!(
            expiry_for(i64::MAX - 5, Some(MAX_TTL_SECS), None).unwrap(),
            i64::MAX
        );
    }

    #[test]
    fn scopes() {
        let ab = vec!["a".to_string(), "b".to_string()];
        assert!(scope_covers(None, "anything"));
        assert!(scope_covers(Some(&ab), "a"));
        assert!(!scope_covers(Some(&ab), "c"));
        assert!(!scope_covers(Some(&[]), "a"));
        assert!(scope_within(None, None));
        assert!(scope_within(None, Some(&ab)));
        assert!(!scope_within(Some(&ab), None));
        assert!(scope_within(Some(&ab), Some(&ab[..1])));
        assert!(!scope_within(Some(&ab[..1]), Some(&ab)));
    }
}
