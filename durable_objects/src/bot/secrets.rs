//! What the bot keeps secret and how it stays out of sight (issue 26, item 7): the values the
//! audit redactor searches for (webhook secret, the previous one during a rotation's grace
//! period, the exchange API key and secret, the alert webhook URL, whose path carries a
//! Telegram/Discord/Slack token), the config as the audit records it (the alert URL replaced by a
//! fingerprint, so a diff still shows that it changed), and webhook-secret rotation with a grace
//! period.

use super::{now_ms, BotDO};
use crate::http::{json, read_json, ApiError};
use keel_engine::audit::redact::REDACTED;
use keel_engine::audit::{AuditDraft, AuditEvent, ControlAction, Redactor};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use worker::{Request, Response};

/// Default time the old webhook secret keeps working after a rotation.
pub const DEFAULT_GRACE_SECS: u64 = 3_600;
/// Longest grace period accepted (a week): an old secret must not live on indefinitely.
pub const MAX_GRACE_SECS: u64 = 7 * 86_400;

/// The secret replaced by the last rotation, accepted until `until_ms`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreviousSecret {
    /// The old secret.
    pub secret: String,
    /// End of its grace period.
    pub until_ms: i64,
}

/// The previous webhook secret while its grace period lasts.
///
/// # Errors
/// Storage failures.
pub fn previous_secret(bot: &BotDO, now: i64) -> Result<Option<String>, ApiError> {
    Ok(
        super::store::kv_get::<PreviousSecret>(&bot.db, "webhook_secret_prev")?
            .filter(|p| p.until_ms > now)
            .map(|p| p.secret),
    )
}

/// A redactor knowing every secret value of this bot.
///
/// # Errors
/// Storage failures (an unreadable credential is skipped: the name-based net still applies).
pub fn redactor(bot: &BotDO) -> Result<Redactor, ApiError> {
    let mut r = Redactor::new();
    if let Some(secret) = super::store::kv_get::<String>(&bot.db, "webhook_secret")? {
        r = r.with_secret(secret);
    }
    if let Some(prev) = super::store::kv_get::<PreviousSecret>(&bot.db, "webhook_secret_prev")? {
        r = r.with_secret(prev.secret);
    }
    if let Some(config) = super::store::kv_get::<Value>(&bot.db, "config")? {
        if let Some(url) = config["config"]["alerts"]["webhook"].as_str() {
            r = r.with_secret(url.to_string());
        }
    }
    if let Ok(Some(creds)) = super::credentials::open_credentials(bot) {
        r = r.with_secret(creds.api_key).with_secret(creds.api_secret);
    }
    Ok(r)
}

/// The config as the audit trail records it: the alert webhook URL (its path is a chat token) is
/// replaced by a fingerprint that changes with the URL.
pub fn audit_view(mut config: Value) -> Value {
    if let Some(url) = config["alerts"]["webhook"].as_str() {
        let digest = hex::encode(&Sha256::digest(url.as_bytes())[..6]);
        config["alerts"]["webhook"] = Value::String(format!("{REDACTED} sha256:{digest}"));
    }
    config
}

#[derive(Debug, Deserialize)]
struct RotateBody {
    actor: String,
    #[serde(default)]
    grace_secs: Option<u64>,
}

/// `POST /control/rotate-webhook-secret`: a new secret, answered once; the old one keeps working
/// until the end of the grace period (default an hour, at most a week, 0 for none) so alerts in
/// flight and not yet edited sources still arrive.
///
/// # Errors
/// 422 for a grace period over a week; storage failures.
pub async fn rotate_webhook_secret(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: RotateBody = read_json(req).await?;
    let actor = super::config::actor(&body.actor)?;
    super::config::load_config(bot)?;
    let grace = body.grace_secs.unwrap_or(DEFAULT_GRACE_SECS);
    if grace > MAX_GRACE_SECS {
        return Err(ApiError::unprocessable(
            "invalid_grace",
            format!("grace_secs must be at most {MAX_GRACE_SECS} (a week), got {grace}"),
        )
        .with_field("grace_secs"));
    }
    let old: String = super::store::kv_get(&bot.db, "webhook_secret")?
        .ok_or_else(|| ApiError::not_found("unknown_bot", "no such bot"))?;
    let now = now_ms();
    let until_ms = now.saturating_add(i64::try_from(grace).unwrap_or(0).saturating_mul(1000));
    let secret = new_webhook_secret()?;
    // The journal's redactor knows the old secret (and, below, the previous one): neither can
    // reach the audit trail.
    let mut j = bot.journal()?;
    j.put("webhook_secret", &secret)?;
    j.put(
        "webhook_secret_prev",
        &PreviousSecret {
            secret: old,
            until_ms,
        },
    )?;
    j.audit(AuditDraft::new(
        now,
        actor,
        AuditEvent::Control {
            action: ControlAction::RotateWebhookSecret,
            reason: Some(format!(
                "webhook secret rotated; the previous one is accepted until {until_ms} ms ({grace} s)"
            )),
        },
    ))?;
    bot.commit(j).await?;
    Ok(json(
        200,
        &json!({"webhook_secret": secret, "previous_valid_until_ms": until_ms, "grace_secs": grace}),
    )?)
}

/// A new webhook secret: 24 random bytes, hex, with a recognisable prefix.
///
/// # Errors
/// 500 when the runtime has no randomness.
pub fn new_webhook_secret() -> Result<String, ApiError> {
    Ok(format!(
        "whsec_{}",
        hex::encode(super::credentials::random_bytes::<24>()?)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_view_fingerprints_the_alert_url() {
        let a = audit_view(
            json!({"alerts": {"webhook": "https://api.telegram.org/bot123:SECRET/sendMessage"}, "name": "x"}),
        );
        let b = audit_view(
            json!({"alerts": {"webhook": "https://api.telegram.org/bot123:OTHER/sendMessage"}}),
        );
        let text = a.to_string();
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("[redacted] sha256:"), "{text}");
        assert_ne!(
            a["alerts"]["webhook"], b["alerts"]["webhook"],
            "a change still shows"
        );
        assert_eq!(a["name"], "x");
        let none = audit_view(json!({"alerts": {"webhook": null}}));
        assert_eq!(none["alerts"]["webhook"], Value::Null);
    }
}
