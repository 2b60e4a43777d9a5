//! Chat control's storage in the `ControlDO` (issue 24): the operator's Telegram settings (bot
//! token, webhook secret, allowlisted chats, Bot API base URL), the flatten questions waiting for
//! their `/confirm`, and the platform audit of every command executed or refused. The decisions
//! (what a message says, whether a chat may command, whether a confirmation matches) are
//! `keel_engine::chat`'s; the edge (`src/chat.rs`) does the I/O.
//!
//! Routes (under the ControlDO): `GET /chat` (the settings without secrets), `GET /chat/internal`
//! (with them, for the edge only: the ControlDO is not reachable from outside), `PUT /chat`,
//! `POST /chat/audit`, `POST /chat/pending`, `POST /chat/confirm`.

use super::audit::{self, PlatformEvent};
use crate::db::{text, Db, WriteBatch};
use crate::http::{json, read_json, ApiError};
use keel_engine::chat::{confirm, ChatSettings, ConfirmError, PendingFlatten};
use serde::Deserialize;
use serde_json::{json as j, Value};
use worker::{Method, Request, Response};

/// The kv key of the settings.
const SETTINGS_KEY: &str = "chat_settings";

#[derive(Debug, Deserialize)]
struct KvRow {
    value: String,
}

fn kv_get<T: serde::de::DeserializeOwned>(db: &Db, key: &str) -> Result<Option<T>, ApiError> {
    let row: Option<KvRow> = db.row("SELECT value FROM kv WHERE key = ?", vec![text(key)])?;
    match row {
        Some(r) => serde_json::from_str(&r.value)
            .map(Some)
            .map_err(|e| ApiError::internal(format!("chat {key}: {e}"))),
        None => Ok(None),
    }
}

fn kv_put<T: serde::Serialize>(
    batch: &mut WriteBatch,
    key: &str,
    value: &T,
) -> Result<(), ApiError> {
    let v = serde_json::to_string(value).map_err(|e| ApiError::internal(e.to_string()))?;
    batch.push(
        "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        vec![text(key), text(v)],
    );
    Ok(())
}

/// The stored settings (defaults: disabled).
///
/// # Errors
/// Storage errors.
pub fn settings(db: &Db) -> Result<ChatSettings, ApiError> {
    Ok(kv_get(db, SETTINGS_KEY)?.unwrap_or_default())
}

/// The settings as the API answers them: whether each secret is set, never its value.
pub fn public_view(s: &ChatSettings) -> Value {
    j!({"enabled": s.enabled(), "bot_token_set": s.bot_token.is_some(),
        "webhook_secret_set": s.webhook_secret.is_some(),
        "allowed_chat_ids": s.allowed_chat_ids.0, "api_base_url": s.api_base()})
}

/// `PUT /chat`: each field present replaces the stored one (`null` clears a secret, which
/// disables the webhook); absent fields are kept.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetSettings {
    actor: String,
    #[serde(default, with = "double_option")]
    bot_token: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    webhook_secret: Option<Option<String>>,
    #[serde(default)]
    allowed_chat_ids: Option<Vec<i64>>,
    #[serde(default, with = "double_option")]
    api_base_url: Option<Option<String>>,
}

/// `absent` → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// `POST /chat/audit`.
#[derive(Debug, Deserialize)]
struct AuditBody {
    actor: String,
    event: PlatformEvent,
}

/// `POST /chat/confirm`.
#[derive(Debug, Deserialize)]
struct ConfirmBody {
    chat_id: i64,
    code: u32,
}

fn pending_key(chat_id: i64) -> String {
    format!("chat_pending:{chat_id}")
}

/// Routes `/chat…` of the ControlDO.
///
/// # Errors
/// 400/422 for bad bodies, 404 for unknown routes, 409/410 for confirmations that do not match.
pub async fn route(
    db: &Db,
    req: &mut Request,
    method: &Method,
    segments: &[&str],
    now: i64,
) -> Result<Response, ApiError> {
    match (method, segments) {
        (Method::Get, ["chat"]) => Ok(json(200, &public_view(&settings(db)?))?),
        (Method::Get, ["chat", "internal"]) => Ok(json(200, &settings(db)?)?),
        (Method::Put, ["chat"]) => {
            let body: SetSettings = read_json(req).await?;
            let mut s = settings(db)?;
            if let Some(t) = body.bot_token {
                s.bot_token = t;
            }
            if let Some(w) = body.webhook_secret {
                s.webhook_secret = w;
            }
            if let Some(ids) = body.allowed_chat_ids {
                s.allowed_chat_ids = keel_engine::chat::Allowlist(ids);
            }
            if let Some(u) = body.api_base_url {
                s.api_base_url = u;
            }
            s.validate().map_err(|e| {
                ApiError::unprocessable("invalid_chat_settings", e.to_string()).with_field(e.field)
            })?;
            let mut batch = WriteBatch::new();
            kv_put(&mut batch, SETTINGS_KEY, &s)?;
            let event = PlatformEvent::ChatSettingsSet {
                allowed_chat_ids: s.allowed_chat_ids.0.clone(),
                api_base_url: s.api_base().to_string(),
                bot_token_set: s.bot_token.is_some(),
                webhook_secret_set: s.webhook_secret.is_some(),
            };
            audit::stage(db, &mut batch, now, &body.actor, &event)?;
            db.commit(batch)?;
            Ok(json(200, &public_view(&s))?)
        }
        (Method::Post, ["chat", "audit"]) => {
            let body: AuditBody = read_json(req).await?;
            if !matches!(
                body.event,
                PlatformEvent::ChatCommand { .. } | PlatformEvent::ChatRefused { .. }
            ) {
                return Err(ApiError::bad_request(
                    "not_a_chat_event",
                    "only chat_command and chat_refused are recorded here",
                ));
            }
            let mut batch = WriteBatch::new();
            let seq = audit::stage(db, &mut batch, now, &body.actor, &body.event)?;
            db.commit(batch)?;
            Ok(json(200, &j!({"audit_seq": seq}))?)
        }
        (Method::Post, ["chat", "pending"]) => {
            let p: PendingFlatten = read_json(req).await?;
            let mut batch = WriteBatch::new();
            kv_put(&mut batch, &pending_key(p.chat_id), &p)?;
            db.commit(batch)?;
            Ok(json(200, &j!({"expires_ms": p.expires_ms}))?)
        }
        (Method::Post, ["chat", "confirm"]) => {
            let body: ConfirmBody = read_json(req).await?;
            let key = pending_key(body.chat_id);
            let pending: Option<PendingFlatten> = kv_get(db, &key)?;
            // Any answer consumes the question: a wrong code cannot be retried.
            let mut batch = WriteBatch::new();
            batch.push("DELETE FROM kv WHERE key = ?", vec![text(key)]);
            db.commit(batch)?;
            match confirm(pending.as_ref(), body.chat_id, body.code, now) {
                Ok(bot) => Ok(json(200, &j!({"bot": bot}))?),
                Err(e) => {
                    let (status, code) = match e {
                        ConfirmError::NothingPending => (404, "nothing_pending"),
                        ConfirmError::WrongCode => (409, "wrong_code"),
                        ConfirmError::Expired => (410, "confirmation_expired"),
                    };
                    Err(ApiError::new(status, code, e.to_string()))
                }
            }
        }
        _ => Err(ApiError::not_found(
            "no_route",
            format!("ControlDO: no chat route {method:?}"),
        )),
    }
}
