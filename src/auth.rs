//! Admin API authentication: `Authorization: Bearer <token>`. The bootstrap `ADMIN_TOKEN` secret
//! is compared in constant time here; any other token is looked up by its SHA-256 hash in the
//! ControlDO. Handlers receive a [`Principal`] and never see the token again.

use crate::env;
use keel_durable_objects::control::{tokens, Role, TokenRow};
use keel_durable_objects::http::ApiError;
use worker::{Env, Request};

/// Who is calling: the token's public id (used in audit records), role, expiry and scope.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Token id (`bootstrap` for the `ADMIN_TOKEN` secret).
    pub id: String,
    /// Role.
    pub role: Role,
    /// When the token expires (ms); `None` for the bootstrap token, which never does.
    pub expires_ms: Option<i64>,
    /// The bots the token is limited to; `None` = every bot and the platform-wide routes.
    pub bots: Option<Vec<String>>,
}

impl Principal {
    /// Refuses a viewer where a write is asked.
    ///
    /// # Errors
    /// 403 `forbidden_role`.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Viewer => Err(ApiError::forbidden(
                "forbidden_role",
                "this token has the viewer role: reads only",
            )),
        }
    }

    /// Whether the token may see and act on `bot_id`.
    pub fn covers(&self, bot_id: &str) -> bool {
        tokens::scope_covers(self.bots.as_deref(), bot_id)
    }

    /// Refuses a bot outside the token's scope exactly as a bot that does not exist is refused
    /// (404 `unknown_bot`), so a scoped token learns nothing about the other bots, not even
    /// whether they exist.
    ///
    /// # Errors
    /// 404 `unknown_bot`.
    pub fn require_bot(&self, bot_id: &str) -> Result<(), ApiError> {
        if self.covers(bot_id) {
            return Ok(());
        }
        Err(ApiError::not_found(
            "unknown_bot",
            format!("no bot {bot_id:?}"),
        ))
    }

    /// Refuses a platform-wide operation (halt, tokens, the platform audit, health, credential
    /// rotation, shared history imports, signal chains) to a token scoped to some bots.
    ///
    /// # Errors
    /// 403 `token_scoped`.
    pub fn require_unscoped(&self, what: &str) -> Result<(), ApiError> {
        match &self.bots {
            None => Ok(()),
            Some(bots) => Err(ApiError::forbidden(
                "token_scoped",
                format!(
                    "this token is limited to the bots {}: {what} is platform-wide and needs a token over every bot",
                    bots.join(", ")
                ),
            )),
        }
    }

    /// The actor string recorded in audit events.
    pub fn actor(&self) -> String {
        format!("token:{}", self.id)
    }
}

/// Constant-time comparison, shared with the Telegram webhook's secret check.
pub(crate) use subtle_eq::ct_eq;

mod subtle_eq {
    /// Constant-time byte comparison (length leak only).
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Shortest `ADMIN_TOKEN` accepted (24 random bytes in base64url).
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;
/// Fewest distinct characters accepted in `ADMIN_TOKEN` (a random 32-character base64 string
/// has about 25; `aaaa…` or `12341234…` have a handful).
const MIN_DISTINCT_CHARS: usize = 12;

/// Why `token` is too weak to be the bootstrap admin token, if it is.
pub fn admin_token_weakness(token: &str) -> Option<String> {
    let chars = token.chars().count();
    if chars < MIN_ADMIN_TOKEN_CHARS {
        return Some(format!("{chars} characters"));
    }
    let distinct = token
        .chars()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    (distinct < MIN_DISTINCT_CHARS).then(|| format!("only {distinct} distinct characters"))
}

/// Authenticates the request.
///
/// # Errors
/// 401 `missing_token` / `invalid_token` / `token_expired`, or `access_required` / `access_denied` in Access mode.
pub async fn authenticate(req: &Request, env: &Env) -> Result<Principal, ApiError> {
    // Access mode (CF_ACCESS_TEAM_DOMAIN + CF_ACCESS_AUD): the person must have passed Access too.
    crate::access::check(req, env).await?;
    let header = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    let token = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("missing_token", "send Authorization: Bearer <token>")
        })?;
    if let Some(admin) = env::get(env, env::ADMIN_TOKEN) {
        if ct_eq(admin.as_bytes(), token.as_bytes()) {
            // A guessable bootstrap token would open everything: it is refused (and the operator
            // told why) until it is replaced; tokens issued by the ControlDO still work.
            if let Some(weak) = admin_token_weakness(&admin) {
                worker::console_error!("ADMIN_TOKEN refused: {weak}");
                return Err(ApiError::unavailable("admin_token_weak", format!(
                    "the ADMIN_TOKEN secret is too weak ({weak}); set one of at least {MIN_ADMIN_TOKEN_CHARS} random characters, e.g. `openssl rand -base64 32 | npx wrangler secret put ADMIN_TOKEN`"
                )));
            }
            return Ok(Principal {
                id: "bootstrap".into(),
                role: Role::Admin,
                expires_ms: None,
                bots: None,
            });
        }
    }
    let body = serde_json::json!({ "token": token });
    let resp = crate::api::call_control(env, worker::Method::Post, "/auth", Some(body)).await?;
    let row: TokenRow =
        serde_json::from_value(resp).map_err(|e| ApiError::internal(format!("auth reply: {e}")))?;
    // The ControlDO refused an expired token (401 `token_expired`); its answer carries the
    // effective expiry and the scope.
    Ok(Principal {
        id: row.id,
        role: row.role,
        expires_ms: row.expires_ms,
        bots: row.bots,
    })
}

#[cfg(test)]
mod tests {
    use super::{admin_token_weakness, Principal};
    use keel_durable_objects::control::Role;

    #[test]
    fn a_scoped_token_sees_only_its_bots_and_no_platform_route() {
        let scoped = Principal {
            id: "tok_1".into(),
            role: Role::Admin,
            expires_ms: Some(1),
            bots: Some(vec!["a".into(), "b".into()]),
        };
        assert!(scoped.require_bot("a").is_ok());
        let other = scoped.require_bot("c").unwrap_err();
        assert_eq!((other.status, other.code.as_str()), (404, "unknown_bot"));
        assert_eq!(other.message, "no bot \"c\"");
        let platform = scoped.require_unscoped("the halt").unwrap_err();
        assert_eq!(
            (platform.status, platform.code.as_str()),
            (403, "token_scoped")
        );
        assert!(platform.message.contains("a, b") && platform.message.contains("the halt"));
        let every = Principal {
            bots: None,
            ..scoped
        };
        assert!(every.require_bot("c").is_ok());
        assert!(every.require_unscoped("the halt").is_ok());
    }

    #[test]
    fn weak_admin_tokens_are_named() {
        assert!(admin_token_weakness("changeme").is_some_and(|w| w.contains("8 characters")));
        assert!(admin_token_weakness(&"ab".repeat(20)).is_some_and(|w| w.contains("distinct")));
        assert_eq!(
            admin_token_weakness("Zx8_kQ2m-Vb7LpR4tN9wYc3HfJ6sA1dE"),
            None
        );
    }
}
