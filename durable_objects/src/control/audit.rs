//! The platform audit chain: what an operator did to the platform as a whole (tokens created and
//! revoked, global halt and resume, credential re-encryption across bots). Bots audit their own
//! actions in their own chains; these actions span bots, so they live in the ControlDO.
//!
//! Same byte format as a bot's chain (`keel_engine::audit::record`): the body is the canonical JSON
//! of `{"v":1,"bot_id":"platform","seq","time_ms","actor","event":{"kind",…}}` and
//! `hash = sha256(prev_hash ‖ body)`, so `keel_engine::audit::verify_links("platform", …)` checks it.
//! Each event is staged in the SAME [`WriteBatch`] as the state change it describes.

use crate::db::{int, text, Db, WriteBatch};
use crate::http::ApiError;
use keel_engine::audit::canonical::to_canonical_string;
use keel_engine::audit::{chain_hash, verify_links, Actor, StoredLink, VerifyAnchor, GENESIS_HASH};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Chain name used as `bot_id` in the records (not a bot: no bot can own this chain's storage).
pub const CHAIN: &str = "platform";

/// Schema of the platform chain.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS platform_audit (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL)";

/// One platform-level fact. Never carries a token, a key or a secret: tokens by id only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlatformEvent {
    /// An API token was created.
    TokenCreated {
        /// Its public id.
        token_id: String,
        /// Operator's label.
        name: String,
        /// `admin` or `viewer`.
        role: String,
        /// When it expires (ms); absent on events recorded before tokens expired.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_ms: Option<i64>,
        /// The bots it is limited to; absent for a token over every bot.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bots: Option<Vec<String>>,
    },
    /// An API token was revoked (it stops working at once).
    TokenRevoked {
        /// Its public id.
        token_id: String,
    },
    /// The global kill switch was set.
    Halt {
        /// Operator's reason.
        reason: Option<String>,
        /// Whether every bot was asked to flatten.
        flatten: bool,
    },
    /// The global kill switch was released.
    Resume {
        /// Operator's reason.
        reason: Option<String>,
    },
    /// Every bot's credentials were re-sealed under the current `MASTER_KEY`.
    CredentialsRotated {
        /// Bots whose credentials were re-sealed.
        rotated: Vec<String>,
        /// Bots without credentials.
        skipped: Vec<String>,
        /// Bots that failed (with the error code), still sealed under the old key.
        failed: Vec<String>,
    },
    /// A portfolio scope was created or its members, limits or lease time changed.
    PortfolioScopeSet {
        /// Scope name.
        scope: String,
        /// The spec as set (members, limits, lease_ttl_secs).
        spec: serde_json::Value,
    },
    /// A portfolio scope was deleted (its limits stop applying).
    PortfolioScopeDeleted {
        /// Scope name.
        scope: String,
    },
    /// A portfolio scope was halted: by the operator, or by a loss limit (`breach`, actor
    /// `system`). Its bots fall back to reduce-only at their next lease, at the latest when
    /// their lease expires.
    PortfolioHalted {
        /// Scope name.
        scope: String,
        /// The breached limit (rule, limit, observed), for an automatic halt.
        breach: Option<serde_json::Value>,
        /// Operator's reason.
        reason: Option<String>,
    },
    /// A halted portfolio scope was resumed.
    PortfolioResumed {
        /// Scope name.
        scope: String,
        /// Operator's reason.
        reason: Option<String>,
    },
    /// The chat control settings changed (never the bot token or the webhook secret themselves:
    /// only whether each is set).
    ChatSettingsSet {
        /// Chats allowed to command.
        allowed_chat_ids: Vec<i64>,
        /// Bot API base URL in use.
        api_base_url: String,
        /// Whether a bot token is set.
        bot_token_set: bool,
        /// Whether a webhook secret is set.
        webhook_secret_set: bool,
    },
    /// A chat command was executed (or answered with an error after it was read).
    ChatCommand {
        /// The chat it came from (allowlisted).
        chat_id: i64,
        /// The sending user, when Telegram named one.
        user_id: Option<i64>,
        /// The sender's username (informative).
        username: Option<String>,
        /// The command (`halt`, `pause`, ...).
        command: String,
        /// The bot it named, if any.
        bot: Option<String>,
        /// `ok`, `asked_confirmation`, or the error code.
        outcome: String,
    },
    /// A chat update was refused unexecuted: a wrong or missing secret, or a chat not on the
    /// allowlist.
    ChatRefused {
        /// The chat it claimed to come from, when the update could be read.
        chat_id: Option<i64>,
        /// The sending user, when named.
        user_id: Option<i64>,
        /// `bad_secret` or `chat_not_allowed`.
        reason: String,
        /// The command word it carried, if any (at most 32 characters; never the whole text).
        command: Option<String>,
    },
}

impl PlatformEvent {
    fn kind(&self) -> &'static str {
        match self {
            PlatformEvent::TokenCreated { .. } => "token_created",
            PlatformEvent::TokenRevoked { .. } => "token_revoked",
            PlatformEvent::Halt { .. } => "halt",
            PlatformEvent::Resume { .. } => "resume",
            PlatformEvent::CredentialsRotated { .. } => "credentials_rotated",
            PlatformEvent::PortfolioScopeSet { .. } => "portfolio_scope_set",
            PlatformEvent::PortfolioScopeDeleted { .. } => "portfolio_scope_deleted",
            PlatformEvent::PortfolioHalted { .. } => "portfolio_halted",
            PlatformEvent::PortfolioResumed { .. } => "portfolio_resumed",
            PlatformEvent::ChatSettingsSet { .. } => "chat_settings_set",
            PlatformEvent::ChatCommand { .. } => "chat_command",
            PlatformEvent::ChatRefused { .. } => "chat_refused",
        }
    }
}

#[derive(Debug, Deserialize)]
struct Row {
    seq: i64,
    time_ms: i64,
    kind: String,
    actor: String,
    prev_hash: String,
    hash: String,
    body: String,
}

#[derive(Debug, Deserialize)]
struct Head {
    seq: i64,
    hash: String,
}

/// The last `(seq, hash)` of the chain (genesis when empty).
fn head(db: &Db) -> Result<(u64, String), ApiError> {
    let h: Option<Head> = db.row(
        "SELECT seq, hash FROM platform_audit ORDER BY seq DESC LIMIT 1",
        vec![],
    )?;
    Ok(h.map(|h| (u64::try_from(h.seq).unwrap_or(0), h.hash))
        .unwrap_or((0, GENESIS_HASH.to_string())))
}

/// Builds the canonical body of the next record.
fn body(seq: u64, time_ms: i64, actor: &Actor, event: &PlatformEvent) -> Result<String, ApiError> {
    let value = json!({"v": 1, "bot_id": CHAIN, "seq": seq, "time_ms": time_ms,
                       "actor": actor.to_string(), "event": event});
    to_canonical_string(&value).map_err(|e| ApiError::internal(format!("platform audit: {e}")))
}

/// Stages the next platform audit event into `batch` (committed with the state change). The DO is
/// single-threaded and nothing awaits between this read of the head and the commit, so no other
/// request can take the same seq.
///
/// # Errors
/// 400 for a malformed actor; storage errors.
pub fn stage(
    db: &Db,
    batch: &mut WriteBatch,
    time_ms: i64,
    actor: &str,
    event: &PlatformEvent,
) -> Result<u64, ApiError> {
    let actor = Actor::try_from(actor.to_string())
        .map_err(|e| ApiError::bad_request("invalid_actor", e.to_string()))?;
    let (last_seq, last_hash) = head(db)?;
    let seq = last_seq + 1;
    let body = body(seq, time_ms, &actor, event)?;
    let hash = chain_hash(&last_hash, &body);
    batch.push(
        "INSERT INTO platform_audit (seq, time_ms, kind, actor, prev_hash, hash, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
        vec![
            int(i64::try_from(seq).unwrap_or(i64::MAX)),
            int(time_ms),
            text(event.kind()),
            text(actor.to_string()),
            text(last_hash),
            text(hash),
            text(body),
        ],
    );
    Ok(seq)
}

/// `GET /audit?after=&limit=`: a page of the chain, verified from the event before it.
///
/// # Errors
/// Storage errors.
pub fn page(db: &Db, after: i64, limit: i64) -> Result<Value, ApiError> {
    let rows: Vec<Row> = db.rows(
        "SELECT seq, time_ms, kind, actor, prev_hash, hash, body FROM platform_audit WHERE seq > ? ORDER BY seq LIMIT ?",
        vec![int(after.max(0)), int(limit.clamp(1, 1000))],
    )?;
    let anchor = if after <= 0 {
        VerifyAnchor::genesis()
    } else {
        let prev: Option<Head> = db.row(
            "SELECT seq, hash FROM platform_audit WHERE seq = ?",
            vec![int(after)],
        )?;
        match prev {
            Some(p) => VerifyAnchor {
                seq: u64::try_from(p.seq).unwrap_or(0),
                hash: p.hash,
            },
            None => VerifyAnchor::genesis(),
        }
    };
    let links: Vec<StoredLink> = rows
        .iter()
        .map(|r| StoredLink {
            seq: u64::try_from(r.seq).unwrap_or(0),
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
            body: r.body.clone(),
        })
        .collect();
    let report = if after <= 0 || anchor.seq > 0 {
        Some(verify_links(CHAIN, anchor, &links))
    } else {
        None
    };
    let events: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let record: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            json!({"seq": r.seq, "time_ms": r.time_ms, "kind": r.kind, "actor": r.actor,
                   "hash": r.hash, "prev_hash": r.prev_hash, "record": record})
        })
        .collect();
    let (last_seq, _) = head(db)?;
    Ok(json!({
        "chain": CHAIN,
        "events": events,
        "last_seq": last_seq,
        "verified": report.as_ref().map(|r| r.first_break.is_none()),
        "first_break": report.and_then(|r| r.first_break),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_chain_and_verify_with_the_engine_verifier() {
        let events = [
            PlatformEvent::TokenCreated {
                token_id: "tok_1".into(),
                name: "ci".into(),
                role: "viewer".into(),
                expires_ms: None,
                bots: None,
            },
            PlatformEvent::Halt {
                reason: Some("drill".into()),
                flatten: false,
            },
            PlatformEvent::TokenRevoked {
                token_id: "tok_1".into(),
            },
            PlatformEvent::TokenCreated {
                token_id: "tok_2".into(),
                name: "desk".into(),
                role: "viewer".into(),
                expires_ms: Some(9_000),
                bots: Some(vec!["b1".into()]),
            },
        ];
        let actor = Actor::Token("bootstrap".into());
        let mut prev = GENESIS_HASH.to_string();
        let mut links = Vec::new();
        for (i, ev) in events.iter().enumerate() {
            let seq = i as u64 + 1;
            let b = body(seq, 1_000 + seq as i64, &actor, ev).expect("canonical");
            assert!(!b.contains("token\":\"keel_"), "no token value in {b}");
            if seq == 1 {
                // Events recorded before expiry and scope existed keep their exact bytes.
                assert!(!b.contains("expires_ms") && !b.contains("bots"), "{b}");
            }
            let hash = chain_hash(&prev, &b);
            links.push(StoredLink {
                seq,
                prev_hash: prev.clone(),
                hash: hash.clone(),
                body: b,
            });
            prev = hash;
        }
        let ok = verify_links(CHAIN, VerifyAnchor::genesis(), &links);
        assert_eq!((ok.checked, ok.first_break.is_none()), (4, true));
        links[1].body = links[1].body.replace("drill", "DRILL");
        let broken = verify_links(CHAIN, VerifyAnchor::genesis(), &links);
        assert_eq!(broken.first_break.map(|b| b.seq()), Some(2));
    }
}
