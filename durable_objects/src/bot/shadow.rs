//! A/B tests with a paper shadow (docs/analytics.md): bot B runs as a paper **shadow** of bot A,
//! fed the same TradingView signals (a strategy shadow computes on the same bars by itself), so
//! the two equity curves pair period by period and `GET /api/v1/compare` tests them.
//!
//! - On B: `POST /shadow/attach` records whom it shadows and the merge patch (the version under
//!   test) it was created with; only a paper bot can be a shadow. `POST /shadow/signal` takes a
//!   signal its parent already authenticated and runs it through the one signal path
//!   (`signal::process`: dedupe, risk, paper execution, every step audited).
//! - On A: `POST /shadow/link` lists B among its shadows; `shadow_feed::forward` sends every
//!   admitted webhook signal on to them after A has handled it (a shadow's failure never fails
//!   A: it is logged and reported in A's outcome). `POST /control/promote`
//!   applies the shadow's version to A and audits a [`AuditEvent::Promotion`] next to the
//!   [`AuditEvent::ConfigChange`], in one commit. Whether promotion is allowed (a decision of the
//!   sequential test, or forced with a reason) is decided at the edge, which has both curves.
//! - `GET /view/shadow`: the links of this bot, both ways.

use super::config::{actor, load_config};
use super::signal::{process, Origin};
use super::{now_ms, BotDO};
use crate::http::{json, read_json, ApiError};
use keel_engine::audit::{Actor, AuditDraft, AuditEvent};
use keel_engine::model::BotMode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use worker::{Request, Response};

/// Shadows one bot may feed: each one costs a Durable Object call on every signal.
pub const MAX_SHADOWS: usize = 4;

/// Config keys a promotion never copies from the shadow: who the bot is, where and how it trades,
/// and where it reports. Everything else the shadow's creation patch named (strategy, spec,
/// params, timeframe, sizing, risk, instruments…) is "the version".
const NOT_PROMOTED: [&str; 9] = [
    "id",
    "name",
    "mode",
    "base_url",
    "alerts",
    "allowed_ips",
    "location",
    "egress_proxy_url",
    "exchange",
];

/// What a shadow remembers about its parent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShadowOf {
    /// The bot it shadows (A).
    pub parent: String,
    /// The merge patch over A's config it was created with (its version under test).
    pub patch: Value,
    /// When the link was made.
    pub created_ms: i64,
}

#[derive(Debug, Deserialize)]
struct AttachBody {
    parent: String,
    #[serde(default)]
    patch: Value,
}

#[derive(Debug, Deserialize)]
struct LinkBody {
    shadow: String,
}

#[derive(Debug, Deserialize)]
struct ShadowSignal {
    parent: String,
    body: String,
    received_ms: i64,
}

#[derive(Debug, Deserialize)]
struct PromoteBody {
    actor: String,
    shadow: String,
    patch: Value,
    #[serde(default)]
    forced: bool,
    #[serde(default)]
    reason: Option<String>,
    evidence: String,
}

fn shadow_of(bot: &BotDO) -> Result<Option<ShadowOf>, ApiError> {
    Ok(super::store::kv_get(&bot.db, "shadow_of")?)
}

fn shadows(bot: &BotDO) -> Result<BTreeSet<String>, ApiError> {
    super::shadow_feed::shadows(bot)
}

/// `POST /shadow/attach` (on the shadow, right after it was created).
pub async fn attach(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: AttachBody = read_json(req).await?;
    let stored = load_config(bot)?;
    if stored.config.mode != BotMode::Paper {
        return Err(ApiError::unprocessable(
            "shadow_not_paper",
            "only a paper bot can be a shadow",
        )
        .with_field("mode"));
    }
    if body.parent == stored.config.id.as_str() {
        return Err(ApiError::unprocessable(
            "invalid_shadow",
            "a bot cannot shadow itself",
        ));
    }
    if let Some(existing) = shadow_of(bot)? {
        if existing.parent != body.parent {
            return Err(ApiError::conflict(
                "already_a_shadow",
                format!("this bot already shadows {:?}", existing.parent),
            ));
        }
    }
    let link = ShadowOf {
        parent: body.parent,
        patch: body.patch,
        created_ms: now_ms(),
    };
    let mut j = bot.journal()?;
    j.put("shadow_of", &link)?;
    bot.commit(j).await?;
    Ok(json(200, &link)?)
}

/// `POST /shadow/link` (on the parent): adds a shadow to feed.
pub async fn link(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: LinkBody = read_json(req).await?;
    let stored = load_config(bot)?;
    if shadow_of(bot)?.is_some() {
        return Err(ApiError::conflict(
            "shadow_of_a_shadow",
            "this bot is itself a shadow: shadow its parent instead",
        ));
    }
    if body.shadow == stored.config.id.as_str() {
        return Err(ApiError::unprocessable(
            "invalid_shadow",
            "a bot cannot shadow itself",
        ));
    }
    let mut set = shadows(bot)?;
    if !set.contains(&body.shadow) && set.len() >= MAX_SHADOWS {
        return Err(ApiError::conflict(
            "too_many_shadows",
            format!("a bot feeds at most {MAX_SHADOWS} shadows"),
        ));
    }
    set.insert(body.shadow);
    let mut j = bot.journal()?;
    j.put("shadows", &set)?;
    bot.commit(j).await?;
    Ok(json(200, &json!({"shadows": set}))?)
}

/// `GET /view/shadow`: `{shadow_of, shadows}`.
pub fn view(bot: &BotDO) -> Result<Response, ApiError> {
    let stored = load_config(bot)?;
    Ok(json(
        200,
        &json!({"bot_id": stored.config.id.as_str(), "shadow_of": shadow_of(bot)?, "shadows": shadows(bot)?}),
    )?)
}

/// `POST /shadow/signal` (on the shadow): a signal its parent admitted (authenticated, fresh
/// for the parent), run through this bot's own signal path. Refused (403) unless this bot
/// shadows that parent: the route skips the webhook secret, so only the link authorises it.
pub async fn signal(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: ShadowSignal = read_json(req).await?;
    let stored = load_config(bot)?;
    match shadow_of(bot)? {
        Some(link) if link.parent == body.parent => {}
        _ => {
            return Err(ApiError::forbidden(
                "not_a_shadow",
                format!("this bot does not shadow {:?}", body.parent),
            ))
        }
    }
    let parsed = keel_engine::signal::parse_signal(body.body.as_bytes()).map_err(|e| {
        let r = keel_engine::bot::Rejection::from_signal(&e);
        ApiError::new(r.status, r.code, r.message)
    })?;
    let origin = Origin {
        actor: Actor::Webhook,
        source: format!("shadow of {}", body.parent),
    };
    let outcome = process(bot, &stored, &parsed, body.received_ms, &origin).await?;
    Ok(json(200, &outcome)?)
}

/// The merge patch that promotes `shadow_config` onto a parent: the shadow's current value of
/// every key its creation patch named, less [`NOT_PROMOTED`]. Empty for an A/A shadow.
#[must_use]
pub fn promotion_patch(creation_patch: &Value, shadow_config: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(keys) = creation_patch.as_object() {
        for k in keys.keys() {
            if NOT_PROMOTED.contains(&k.as_str()) {
                continue;
            }
            out.insert(
                k.clone(),
                shadow_config.get(k).cloned().unwrap_or(Value::Null),
            );
        }
    }
    Value::Object(out)
}

/// `POST /control/promote` (on the parent): applies the shadow's version (a merge patch the edge
/// built with [`promotion_patch`]) as a new config version, audited as a config change and a
/// promotion in one commit.
pub async fn promote(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: PromoteBody = read_json(req).await?;
    let actor = actor(&body.actor)?;
    if !shadows(bot)?.contains(&body.shadow) {
        return Err(ApiError::conflict(
            "not_a_shadow",
            format!("{:?} is not a shadow of this bot", body.shadow),
        )
        .with_field("shadow"));
    }
    if let Some(k) = body
        .patch
        .as_object()
        .and_then(|o| o.keys().find(|k| NOT_PROMOTED.contains(&k.as_str())))
    {
        return Err(ApiError::unprocessable(
            "invalid_promotion",
            format!("a promotion never changes {k:?}"),
        )
        .with_field(k.clone()));
    }
    let old = load_config(bot)?;
    let now = now_ms();
    let (mut j, new_v, diff) = super::admin::stage_patch(bot, &old, &body.patch, actor.clone())?;
    j.audit(AuditDraft::new(
        now,
        actor,
        AuditEvent::Promotion {
            shadow: body.shadow.clone(),
            forced: body.forced,
            reason: body.reason.clone(),
            evidence: body.evidence.clone(),
        },
    ))?;
    bot.commit(j).await?;
    let mut out = new_v;
    out["diff"] = serde_json::to_value(&diff).unwrap_or(Value::Null);
    out["promoted_from"] = json!(body.shadow);
    out["forced"] = json!(body.forced);
    Ok(json(200, &out)?)
}

#[cfg(test)]
mod tests {
    use super::promotion_patch;
    use serde_json::json;

    #[test]
    fn promotes_the_shadows_current_values_of_the_keys_it_was_created_with() {
        let creation = json!({"sizing": {"mode": "fixed_qty", "value": "0.001"}, "mode": "paper", "name": "B", "params": {"fast": 5}});
        let shadow = json!({"sizing": {"mode": "fixed_qty", "value": "0.003"}, "mode": "paper", "name": "B", "params": {"fast": 7}, "risk": {}});
        assert_eq!(
            promotion_patch(&creation, &shadow),
            json!({"sizing": {"mode": "fixed_qty", "value": "0.003"}, "params": {"fast": 7}})
        );
        // A/A: nothing to promote.
        assert_eq!(promotion_patch(&json!({}), &shadow), json!({}));
        // A key the shadow no longer has is removed on the parent too (merge patch null).
        assert_eq!(
            promotion_patch(&json!({"timeframe": "1h"}), &shadow),
            json!({"timeframe": null})
        );
    }
}
