//! A/B tests with a paper shadow (docs/analytics.md, docs/admin-api.md):
//!
//! - `POST /api/v1/bots/{id}/shadow` `{"id": B, "name"?, "patch"?: {…}}` creates bot B as a
//!   **paper** copy of bot A's config with the merge patch applied (the version under test; `{}`
//!   or no patch = an A/A test measuring the execution gap), links it to A, and from then on every
//!   signal A admits is fed to B too (`keel_durable_objects::bot::shadow`).
//! - `POST /api/v1/bots/{id}/promote` `{"shadow": B, "period"?, "force"?, "reason"?}` applies B's
//!   version to A, audited (a config change and a `promotion` event in A's audit trail). Allowed
//!   when the mSPRT has decided that B is better; refused (409) while it has not decided
//!   (`no_decision`) or decided for A (`a_is_better`) unless `force: true` with a `reason`, which
//!   the audit event records.

use super::compare::comparison;
use super::{call_bot, ok, Call};
use keel_durable_objects::bot::shadow::promotion_patch;
use keel_durable_objects::http::ApiError;
use serde_json::{json, Value};
use worker::{Method, Response};

/// Longest promotion reason kept (the audit event carries it).
const MAX_REASON_CHARS: usize = 500;

/// Keys of A's config answer that are not config (version, flags, derived ids).
const NOT_CONFIG: [&str; 3] = ["version", "flags", "strategy_version"];

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable("invalid_shadow", message).with_field(field)
}

/// `POST /bots/{parent}/shadow`.
///
/// # Errors
/// 422 for a bad body (id, patch touching `id`/`mode`), 409 when the parent cannot take a shadow
/// (it is a shadow itself, or has the maximum), the new bot's own validation errors.
pub async fn create(ctx: &Call<'_>, parent: &str) -> Result<Response, ApiError> {
    let id = ctx
        .body
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("id", "id: the shadow bot's id is required"))?;
    keel_engine::ids::BotId::new(id).map_err(|e| invalid("id", e.to_string()))?;
    if id == parent {
        return Err(invalid("id", "a bot cannot shadow itself"));
    }
    if !ctx.principal.covers(id) {
        return Err(ApiError::forbidden(
            "token_scoped",
            format!("this token may not create bot {id:?}: it is outside the token's bots"),
        )
        .with_field("id"));
    }
    let patch = match ctx.body.get("patch") {
        None | Some(Value::Null) => json!({}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => return Err(invalid("patch", "patch: a JSON merge patch object")),
    };
    for k in ["id", "mode"] {
        if patch.get(k).is_some() {
            return Err(invalid(
                &format!("patch.{k}"),
                format!("a shadow's {k} is not patched (it is the new id, and paper)"),
            ));
        }
    }
    // Refuse before creating anything when the parent cannot take it.
    let links = call_bot(ctx.env, parent, Method::Get, "/view/shadow", None).await?;
    if !links["shadow_of"].is_null() {
        return Err(ApiError::conflict(
            "shadow_of_a_shadow",
            format!("{parent:?} is itself a shadow: shadow its parent instead"),
        ));
    }
    if links["shadows"].as_array().map_or(0, Vec::len)
        >= keel_durable_objects::bot::shadow::MAX_SHADOWS
    {
        return Err(ApiError::conflict(
            "too_many_shadows",
            format!(
                "a bot feeds at most {} shadows",
                keel_durable_objects::bot::shadow::MAX_SHADOWS
            ),
        ));
    }
    let mut config = call_bot(ctx.env, parent, Method::Get, "/config", None).await?;
    if let Some(obj) = config.as_object_mut() {
        for k in NOT_CONFIG {
            obj.remove(k);
        }
    }
    keel_engine::config::merge_patch(&mut config, &patch);
    let name = match ctx.body.get("name").and_then(Value::as_str) {
        Some(n) => n.to_string(),
        None => format!("{} (shadow)", config["name"].as_str().unwrap_or(parent)),
    };
    config["id"] = json!(id);
    config["name"] = json!(name);
    config["mode"] = json!("paper");
    let created = super::bots::create_bot(ctx, id, config).await?;
    call_bot(
        ctx.env,
        id,
        Method::Post,
        "/shadow/attach",
        Some(json!({"parent": parent, "patch": patch})),
    )
    .await?;
    call_bot(
        ctx.env,
        parent,
        Method::Post,
        "/shadow/link",
        Some(json!({"shadow": id})),
    )
    .await?;
    ok(
        201,
        &json!({"parent": parent, "patch": patch, "shadow": created}),
    )
}

/// `POST /bots/{parent}/promote`.
///
/// # Errors
/// 422 bad body (no shadow, bad period, force without a reason), 409 `not_a_shadow`,
/// `no_decision` or `a_is_better` (with the test's reading in `detail`), the bots' errors.
pub async fn promote(ctx: &Call<'_>, parent: &str) -> Result<Response, ApiError> {
    let bad =
        |field: &str, m: String| ApiError::unprocessable("invalid_promotion", m).with_field(field);
    let shadow = ctx
        .body
        .get("shadow")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("shadow", "shadow: the shadow bot's id is required".into()))?
        .to_string();
    ctx.principal.require_bot(&shadow)?;
    let period = match ctx.body.get("period") {
        None | Some(Value::Null) => "1d".to_string(),
        Some(Value::String(p)) if keel_engine::market::Timeframe::parse(p).is_ok() => p.clone(),
        Some(other) => return Err(bad("period", format!("period {other} is not a timeframe"))),
    };
    let force = match ctx.body.get("force") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("force", "force: true or false".into())),
    };
    let reason = match ctx.body.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if !r.trim().is_empty() => Some(
            keel_durable_objects::http::cap_text(r.trim(), MAX_REASON_CHARS),
        ),
        Some(_) => return Err(bad("reason", "reason: a non-empty text".into())),
    };
    if force && reason.is_none() {
        return Err(bad(
            "reason",
            "a forced promotion needs a reason (it is audited)".into(),
        ));
    }
    let links = call_bot(ctx.env, &shadow, Method::Get, "/view/shadow", None).await?;
    if links["shadow_of"]["parent"].as_str() != Some(parent) {
        return Err(ApiError::conflict(
            "not_a_shadow",
            format!("{shadow:?} is not a shadow of {parent:?}"),
        )
        .with_field("shadow"));
    }
    let c = comparison(ctx, parent, &shadow, &period).await?;
    let seq = &c["sequential"];
    let decision = seq["decision"].as_str().unwrap_or("continue").to_string();
    let reading = json!({
        "decision": decision, "p_value": seq["p_value"], "pairs": c["pairs"],
        "periods_to_decision": seq["periods_to_decision"], "period": period,
    });
    if decision != "b_better" && !force {
        let (code, why) = if decision == "a_better" {
            (
                "a_is_better",
                "the sequential test decided that the bot beats its shadow",
            )
        } else {
            ("no_decision", "the sequential test has not decided yet")
        };
        return Err(ApiError::conflict(
            code,
            format!("{why}: promote with force=true and a reason to override (audited)"),
        )
        .with_detail(reading));
    }
    let evidence = format!(
        "decision={decision} p={} pairs={} period={period} sharpe_diff_p={}",
        fmt_num(&seq["p_value"]),
        c["pairs"],
        fmt_num(&c["sharpe_difference"]["hac"]["p_value"]),
    );
    let shadow_config = call_bot(ctx.env, &shadow, Method::Get, "/config", None).await?;
    let patch = promotion_patch(&links["shadow_of"]["patch"], &shadow_config);
    let body = json!({
        "actor": ctx.principal.actor(), "shadow": shadow, "patch": patch,
        "forced": force && decision != "b_better", "reason": reason, "evidence": evidence,
    });
    let mut out = call_bot(
        ctx.env,
        parent,
        Method::Post,
        "/control/promote",
        Some(body),
    )
    .await?;
    out["test"] = reading;
    ok(200, &out)
}

/// A statistic for the audit text: 6 significant digits, or `none`.
fn fmt_num(v: &Value) -> String {
    v.as_f64()
        .map(|x| format!("{x:.6}"))
        .unwrap_or_else(|| "none".into())
}
