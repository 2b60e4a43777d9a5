//! Operator actions on one bot: config create/read/patch/delete (versioned, every change audited
//! with its diff), write-only credentials (sealed with the vault), pause/resume, the halt pushed by
//! the ControlDO, and the audit of rejections decided at the edge.

use super::config::{actor, load_config, StoredConfig};
use super::credentials::{master_keys, open_credentials, random_bytes};
use super::secrets::new_webhook_secret;
use super::store::Journal;
use super::{now_ms, BotDO, Flags};
use crate::http::{json, read_json, ApiError};
use keel_engine::audit::{
    config_diff, Actor, AuditDraft, AuditEvent, ConfigDiffEntry, ControlAction, CredentialAction,
};
use keel_engine::config::BotConfig;
use keel_engine::vault::{self, ApiCredentials, SealedCredentials};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Request, Response};

#[derive(Debug, Deserialize)]
struct CreateBody {
    config: Value,
    actor: String,
    #[serde(default)]
    halted: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct PatchBody {
    patch: Value,
    actor: String,
}

#[derive(Debug, Deserialize)]
struct ActorBody {
    actor: String,
    #[serde(default)]
    reason: Option<Value>,
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Deserialize)]
struct CredentialsBody {
    credentials: Value,
    actor: String,
}

#[derive(Debug, Deserialize)]
struct HaltBody {
    halted: bool,
    actor: String,
    #[serde(default)]
    flatten: bool,
}

#[derive(Debug, Deserialize)]
struct EdgeRejection {
    status: u16,
    code: String,
    message: String,
    received_ms: i64,
    /// Refusals this report stands for (the edge coalesces per minute); 1 when absent.
    #[serde(default)]
    count: Option<u64>,
}

/// Maps a config validation failure to a 422 naming the first field (all fields in `detail`).
pub fn config_error(e: &keel_engine::config::ConfigError) -> ApiError {
    let fields = e.fields();
    let first = fields
        .first()
        .map(|f| f.field.clone())
        .unwrap_or_else(|| ".".into());
    ApiError::unprocessable("invalid_config", e.to_string())
        .with_field(first)
        .with_detail(json!({"errors": fields}))
}

/// The config as answered and audited (with its version and strategy version).
pub(super) fn config_json(stored: &StoredConfig) -> Result<Value, ApiError> {
    let mut v = stored
        .config
        .to_value()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    v["version"] = json!(stored.version);
    if stored.config.source == keel_engine::config::SignalSource::Strategy {
        // The immutable strategy version (name@code#params-hash): a params change shows here as
        // old id → new id in the config change's audit diff.
        v["strategy_version"] = json!(keel_engine::strategy::live::attribution(&stored.config));
    }
    Ok(v)
}

/// `POST /config`: creates the bot. Answers the webhook secret once.
pub async fn create(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: CreateBody = read_json(req).await?;
    let actor = actor(&body.actor)?;
    if super::store::kv_get::<StoredConfig>(&bot.db, "config")?.is_some() {
        return Err(ApiError::conflict(
            "bot_exists",
            "a bot with this id already exists",
        ));
    }
    let config = BotConfig::from_value(body.config).map_err(|e| config_error(&e))?;
    if config.id != bot.bot_id()? {
        return Err(
            ApiError::bad_request("invalid_config", "id does not match the bot").with_field("id"),
        );
    }
    let now = now_ms();
    let stored = StoredConfig {
        version: 1,
        config,
        updated_ms: now,
    };
    let secret = new_webhook_secret()?;
    let new_value = config_json(&stored)?;
    let flags = Flags {
        halted: body.halted.unwrap_or(false),
        ..Flags::default()
    };
    let mut j = bot.journal()?;
    j.put("config", &stored)?
        .put("webhook_secret", &secret)?
        .put("flags", &flags)?;
    j.put("config_history", &vec![stored.clone()])?;
    if stored.config.mode == keel_engine::model::BotMode::Paper {
        // A paper bot starts with simulated capital, booked so equity and sizing see it.
        let capital = keel_engine::ledger::LedgerEntry::Transfer(keel_engine::ledger::Transfer {
            id: "paper-capital".into(),
            amount: super::exchange::PAPER_CAPITAL,
            time_ms: now,
        });
        super::ledger::stage(&mut j, &[capital])?;
    }
    j.audit(AuditDraft::new(
        now,
        actor,
        AuditEvent::ConfigChange {
            old_version: None,
            new_version: 1,
            diff: config_diff(&Value::Null, &super::secrets::audit_view(new_value.clone())),
        },
    ))?;
    bot.commit(j).await?;
    let mut out = new_value;
    out["webhook_secret"] = Value::String(secret);
    out["webhook_path"] = Value::String(format!("/webhook/{}", stored.config.id));
    Ok(json(201, &out)?)
}

/// `GET /config`.
pub fn read(bot: &BotDO) -> Result<Response, ApiError> {
    let stored = load_config(bot)?;
    let mut v = config_json(&stored)?;
    v["flags"] = serde_json::to_value(bot.flags()?).unwrap_or(Value::Null);
    Ok(json(200, &v)?)
}

/// `GET /config/versions`: every version of the config, oldest first (the diffs are in the audit).
pub fn versions(bot: &BotDO) -> Result<Response, ApiError> {
    let current = load_config(bot)?;
    let history: Vec<StoredConfig> =
        super::store::kv_get(&bot.db, "config_history")?.unwrap_or_default();
    let versions = history
        .iter()
        .map(|v| {
            Ok(json!({"version": v.version, "updated_ms": v.updated_ms, "config": config_json(v)?}))
        })
        .collect::<Result<Vec<Value>, ApiError>>()?;
    Ok(json(
        200,
        &json!({"bot_id": current.config.id.to_string(), "current_version": current.version, "versions": versions}),
    )?)
}

/// `PATCH /config`: JSON merge-patch → a new validated version, audited with its diff. Takes
/// effect on the very next signal (the signal path reads the stored config).
pub async fn patch(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: PatchBody = read_json(req).await?;
    let actor = actor(&body.actor)?;
    let old = load_config(bot)?;
    if body
        .patch
        .get("id")
        .is_some_and(|id| id.as_str() != Some(old.config.id.as_str()))
    {
        return Err(
            ApiError::unprocessable("invalid_config", "a bot's id cannot change").with_field("id"),
        );
    }
    let (j, new_v, diff) = stage_patch(bot, &old, &body.patch, actor)?;
    bot.commit(j).await?;
    let mut out = new_v;
    out["diff"] = serde_json::to_value(&diff).unwrap_or(Value::Null);
    Ok(json(200, &out)?)
}

/// A new version of the bot's config from a JSON merge patch, staged in a journal (not yet
/// committed) with its history row and its audited [`AuditEvent::ConfigChange`]: the one way a
/// config changes (`PATCH /config`, a shadow's promotion), so every change is versioned and
/// audited alike. Returns the journal (the caller may add events and commits it), the new config
/// as JSON and the diff (the alert URL only as a fingerprint, as in the audit).
///
/// # Errors
/// 422 `invalid_config` (the patched config does not validate); storage errors.
pub(super) fn stage_patch(
    bot: &BotDO,
    old: &StoredConfig,
    patch: &Value,
    actor: Actor,
) -> Result<(Journal, Value, Vec<ConfigDiffEntry>), ApiError> {
    let (config, _changes) = old
        .config
        .apply_patch(patch)
        .map_err(|e| config_error(&e))?;
    let now = now_ms();
    let new = StoredConfig {
        version: old.version + 1,
        config,
        updated_ms: now,
    };
    let (old_v, new_v) = (config_json(old)?, config_json(&new)?);
    let diff = config_diff(
        &super::secrets::audit_view(old_v),
        &super::secrets::audit_view(new_v.clone()),
    );
    let mut history: Vec<StoredConfig> =
        super::store::kv_get(&bot.db, "config_history")?.unwrap_or_default();
    history.push(new.clone());
    let mut j = bot.journal()?;
    j.put("config", &new)?.put("config_history", &history)?;
    j.audit(AuditDraft::new(
        now,
        actor,
        AuditEvent::ConfigChange {
            old_version: Some(old.version),
            new_version: new.version,
            diff: diff.clone(),
        },
    ))?;
    Ok((j, new_v, diff))
}

/// `DELETE /config`: only when flat (no open position or order). `force` means the edge asked the
/// bot to flatten first; deletion still waits until the flatten has closed everything, so a forced
/// delete never abandons a live position.
pub async fn delete(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: ActorBody = read_json(req).await?;
    let actor = actor(&body.actor)?;
    load_config(bot)?;
    let open = super::views::open_exposure(bot)?;
    if open > 0 {
        let hint = if body.force {
            "the flatten has not closed everything yet; retry when flat"
        } else {
            "flatten first or pass force=true"
        };
        return Err(ApiError::conflict(
            "bot_not_flat",
            format!("the bot has {open} open positions/orders: {hint}"),
        )
        .with_detail(json!({"open": open})));
    }
    let mut j = bot.journal()?;
    j.exec(
        "DELETE FROM kv WHERE key IN ('config', 'webhook_secret', 'credentials')",
        vec![],
    );
    j.audit(AuditDraft::new(
        now_ms(),
        actor,
        AuditEvent::Control {
            action: ControlAction::Pause,
            reason: Some("bot deleted".into()),
        },
    ))?;
    bot.commit(j).await?;
    Ok(json(
        200,
        &json!({"deleted": bot.bot_id()?.to_string(), "forced": body.force}),
    )?)
}

/// `PUT /credentials`: write-only; sealed with AES-256-GCM, the bot id as associated data.
pub async fn credentials(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: CredentialsBody = read_json(req).await?;
    let actor = actor(&body.actor)?;
    let stored = load_config(bot)?;
    let creds: ApiCredentials = serde_json::from_value(body.credentials).map_err(|e| {
        ApiError::bad_request(
            "invalid_credentials",
            format!("expected {{api_key, api_secret}}: {e}"),
        )
    })?;
    let (key, _) = master_keys(bot)?;
    let sealed = vault::seal(
        &key,
        stored.config.id.as_str(),
        &creds,
        random_bytes::<12>()?,
    )
    .map_err(|e| ApiError::unprocessable("invalid_credentials", e.to_string()))?;
    let existed = super::store::kv_get::<SealedCredentials>(&bot.db, "credentials")?.is_some();
    let mut j = bot.journal()?;
    j.put("credentials", &sealed)?;
    j.audit(AuditDraft::new(
        now_ms(),
        actor,
        AuditEvent::CredentialChange {
            exchange: stored.config.exchange,
            action: if existed {
                CredentialAction::Rotated
            } else {
                CredentialAction::Set
            },
        },
    ))?;
    bot.commit(j).await?;
    Ok(json(
        200,
        &json!({"stored": true, "key_id": sealed.key_id}),
    )?)
}

/// `POST /control/rotate-credentials`: re-seals the credentials under the current `MASTER_KEY`
/// (opening them with `MASTER_KEY_PREVIOUS` if that sealed them).
pub async fn rotate_credentials(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: ActorBody = read_json(req).await?;
    let actor = actor(&body.actor)?;
    let stored = load_config(bot)?;
    let Some(creds) = open_credentials(bot)? else {
        return Ok(json(
            200,
            &json!({"rotated": false, "reason": "no credentials stored"}),
        )?);
    };
    let (key, _) = master_keys(bot)?;
    let sealed = vault::seal(
        &key,
        stored.config.id.as_str(),
        &creds,
        random_bytes::<12>()?,
    )
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut j = bot.journal()?;
    j.put("credentials", &sealed)?;
    j.audit(AuditDraft::new(
        now_ms(),
        actor,
        AuditEvent::CredentialChange {
            exchange: stored.config.exchange,
            action: CredentialAction::Rotated,
        },
    ))?;
    bot.commit(j).await?;
    Ok(json(
        200,
        &json!({"rotated": true, "key_id": sealed.key_id}),
    )?)
}

/// `POST /control/pause|resume`.
pub async fn pause(bot: &BotDO, req: &mut Request, paused: bool) -> Result<Response, ApiError> {
    let body: ActorBody = read_json(req).await?;
    let actor = actor(&body.actor)?;
    load_config(bot)?;
    let mut flags = bot.flags()?;
    let reason = body
        .reason
        .as_ref()
        .and_then(Value::as_str)
        .map(String::from);
    flags.paused = paused;
    flags.pause_reason = if paused {
        reason.clone().or_else(|| Some("paused by operator".into()))
    } else {
        None
    };
    if !paused {
        flags.consecutive_rejections = 0;
        flags.needs_attention = false;
        flags.attention_reason = None;
    }
    let mut j = bot.journal()?;
    j.put("flags", &flags)?;
    if !paused {
        // Resuming ends an automatic pause's alert episode (a "resolved" message).
        let resolve = super::alerts::Signal::Resolve(
            keel_engine::alert::AlertKind::AutoPaused,
            String::new(),
        );
        super::alerts::stage(bot, &mut j, vec![resolve])?;
    }
    j.audit(AuditDraft::new(
        now_ms(),
        actor,
        AuditEvent::Control {
            action: if paused {
                ControlAction::Pause
            } else {
                ControlAction::Resume
            },
            reason,
        },
    ))?;
    bot.commit(j).await?;
    Ok(json(
        200,
        &json!({"bot_id": bot.bot_id()?.to_string(), "flags": flags}),
    )?)
}

/// `POST /control/halt`: the platform flag pushed by the edge after the ControlDO stored it.
/// A halt is answered once the bot has stopped: the flag stored and no trading execution
/// running.
pub async fn halt(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: HaltBody = read_json(req).await?;
    let actor = actor(&body.actor)?;
    let mut flags = bot.flags()?;
    flags.halted = body.halted;
    let mut j = bot.journal()?;
    j.put("flags", &flags)?;
    j.audit(AuditDraft::new(
        now_ms(),
        actor,
        AuditEvent::Control {
            action: if body.halted {
                ControlAction::Halt
            } else {
                ControlAction::Unhalt
            },
            reason: body
                .flatten
                .then(|| "platform halt with flatten".to_string()),
        },
    ))?;
    bot.commit(j).await?;
    if body.halted {
        // The flag is stored first, so every decision from now on sees it. The answer waits
        // until no trading execution is still running (one that decided before the halt may
        // still be sending an entry), so "reached" means the bot has stopped; a bot whose
        // execution outlasts the edge's deadline is reported unreached, and adopts the halt
        // itself anyway.
        drop(bot.exec.lock().await);
    }
    Ok(json(
        200,
        &json!({"halted": flags.halted, "flatten_requested": body.flatten}),
    )?)
}

/// `POST /edge-rejection`: webhooks refused at the edge (size, rate, signature shape) are
/// audited in the bot's chain, coalesced with the bot's own refusals of unauthenticated requests
/// (`count` is how many the edge's report stands for). Unknown bots have no chain: they are
/// answered 404.
pub async fn edge_rejection(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: EdgeRejection = read_json(req).await?;
    load_config(bot)?;
    let rej = keel_engine::bot::Rejection::new(body.status, &body.code, body.message);
    super::refusals::record(bot, &rej, body.received_ms, body.count.unwrap_or(1)).await?;
    Ok(json(200, &json!({"audited": true}))?)
}

#[derive(Debug, Deserialize)]
struct CapitalBody {
    actor: String,
    amount: rust_decimal::Decimal,
    #[serde(default)]
    id: Option<String>,
}

/// `POST /capital`: records capital moved into (positive) or out of (negative) the bot, as a
/// ledger transfer. Equity, drawdown and percentage sizing of testnet and live bots start from
/// it (the exchange account may be shared by several bots, so its balance is not the bot's).
pub async fn capital(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: CapitalBody = read_json(req).await?;
    let actor = actor(&body.actor)?;
    let stored = load_config(bot)?;
    if body.amount.is_zero() {
        return Err(
            ApiError::unprocessable("invalid_amount", "amount must not be zero")
                .with_field("amount"),
        );
    }
    let now = now_ms();
    let id = body.id.unwrap_or_else(|| format!("capital-{now}"));
    let entry = keel_engine::ledger::LedgerEntry::Transfer(keel_engine::ledger::Transfer {
        id: id.clone(),
        amount: body.amount,
        time_ms: now,
    });
    let mut ledger = super::ledger::load(bot, &stored.config)?;
    match ledger
        .book(&entry)
        .map_err(|e| ApiError::unprocessable("ledger_refused", e.to_string()))?
    {
        keel_engine::ledger::Booked::Duplicate => {
            return Err(ApiError::conflict(
                "duplicate_transfer",
                format!("transfer {id} was already booked"),
            ));
        }
        keel_engine::ledger::Booked::Applied(_) => {}
    }
    let mut j = bot.journal()?;
    super::ledger::stage(&mut j, std::slice::from_ref(&entry))?;
    j.audit(AuditDraft::new(
        now,
        actor,
        AuditEvent::CapitalTransfer {
            transfer_id: id.clone(),
            amount: body.amount,
            quote_asset: super::ledger::quote_asset(&stored.config),
        },
    ))?;
    bot.commit(j).await?;
    let equity = ledger
        .equity()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    *bot.ledger.borrow_mut() = Some(ledger);
    Ok(json(
        200,
        &json!({"transfer_id": id, "amount": body.amount, "equity": equity}),
    )?)
}
