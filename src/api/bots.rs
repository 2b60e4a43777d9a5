//! `/api/v1/bots/...`: create, list, read, patch, delete, credentials, controls and reads. The
//! ControlDO registry lists bots; each bot's data and decisions live in its BotDO.

use super::{call_bot, call_control, ok, Call};
use keel_durable_objects::http::ApiError;
use serde_json::{json, Value};
use worker::{Method, Response};

/// Routes `/bots/...` (`segs` excludes the leading `bots`).
///
/// # Errors
/// Any [`ApiError`] of the registry or the bot.
pub async fn route(ctx: &Call<'_>, method: &Method, segs: &[&str]) -> Result<Response, ApiError> {
    let actor = ctx.principal.actor();
    match (method, segs) {
        (Method::Get, []) => list(ctx).await,
        (Method::Post, []) => create(ctx).await,
        (Method::Get, [id]) => {
            let mut config = call_bot(ctx.env, id, Method::Get, "/config", None).await?;
            hide_from_viewer(ctx, &mut config);
            ok(200, &config)
        }
        (Method::Patch, [id]) => {
            let body = json!({"patch": ctx.body, "actor": actor});
            let out = call_bot(ctx.env, id, Method::Patch, "/config", Some(body)).await?;
            mirror_trading_hours(ctx, id, &out).await?;
            ok(200, &out)
        }
        (Method::Get, [id, "versions"]) => {
            let mut out = call_bot(ctx.env, id, Method::Get, "/config/versions", None).await?;
            if let Some(versions) = out["versions"].as_array_mut() {
                for v in versions {
                    hide_from_viewer(ctx, &mut v["config"]);
                }
            }
            ok(200, &out)
        }
        (Method::Post, [id, "webhook-secret", "rotate"]) => {
            let body = json!({"actor": actor, "grace_secs": ctx.body.get("grace_secs").cloned().unwrap_or(Value::Null)});
            ok(
                200,
                &call_bot(
                    ctx.env,
                    id,
                    Method::Post,
                    "/control/rotate-webhook-secret",
                    Some(body),
                )
                .await?,
            )
        }
        (Method::Delete, [id]) => delete(ctx, id).await,
        (Method::Put, [id, "credentials"]) => {
            let body = json!({"credentials": ctx.body, "actor": actor});
            ok(
                200,
                &call_bot(ctx.env, id, Method::Put, "/credentials", Some(body)).await?,
            )
        }
        (Method::Post, [id, "capital"]) => {
            let mut body = ctx.body.clone();
            body["actor"] = Value::String(actor);
            ok(
                200,
                &call_bot(ctx.env, id, Method::Post, "/capital", Some(body)).await?,
            )
        }
        (
            Method::Post,
            [id, action @ ("pause" | "resume" | "flatten" | "reconcile" | "strategy")],
        ) => {
            let body = json!({"actor": actor, "reason": ctx.body.get("reason").cloned().unwrap_or(Value::Null)});
            ok(
                200,
                &call_bot(
                    ctx.env,
                    id,
                    Method::Post,
                    &format!("/control/{action}"),
                    Some(body),
                )
                .await?,
            )
        }
        (Method::Get, [id, "audit", "verify"]) => super::audit_verify::route(ctx, id).await,
        (Method::Get, [id, view]) => {
            let view = crate::path::encode(view);
            let path = match &ctx.query {
                Some(q) => format!("/view/{view}?{q}"),
                None => format!("/view/{view}"),
            };
            ok(200, &call_bot(ctx.env, id, Method::Get, &path, None).await?)
        }
        (Method::Get, [id, "pnl", "history"]) => ok(
            200,
            &call_bot(ctx.env, id, Method::Get, "/view/pnl_history", None).await?,
        ),
        _ => Err(ApiError::not_found("no_route", "no such bots route")),
    }
}

/// `DELETE ?force=true` flattens first. Returns whether a flatten ran; a bot without the flatten
/// operation refuses the forced delete while anything is open rather than abandon a position.
async fn flatten_before_delete(ctx: &Call<'_>, id: &str) -> Result<bool, ApiError> {
    let body = json!({"actor": ctx.principal.actor(), "reason": "delete with force=true"});
    match call_bot(ctx.env, id, Method::Post, "/control/flatten", Some(body)).await {
        Ok(_) => Ok(true),
        Err(e) if e.code == "no_route" => Ok(false),
        Err(e) => Err(e),
    }
}

async fn delete(ctx: &Call<'_>, id: &str) -> Result<Response, ApiError> {
    let force = ctx
        .query
        .as_deref()
        .map(|q| q.split('&').any(|p| p == "force=true"))
        .unwrap_or(false);
    let flattened = if force {
        flatten_before_delete(ctx, id).await?
    } else {
        false
    };
    let body = json!({"force": force, "actor": ctx.principal.actor()});
    let out = match call_bot(ctx.env, id, Method::Delete, "/config", Some(body)).await {
        Err(e) if force && !flattened && e.code == "bot_not_flat" => {
            return Err(ApiError::conflict(
                "flatten_unavailable",
                format!("{}; force=true flattens first, but this bot has no flatten operation: close its positions and orders, then delete", e.message),
            ));
        }
        other => other?,
    };
    call_control(ctx.env, Method::Delete, &format!("/bots/{id}"), None).await?;
    ok(200, &out)
}

/// A viewer reads every config field but the alert webhook URL, whose path is a chat token
/// (Telegram bot token, Discord/Slack webhook key): it sees only that one is set.
fn hide_from_viewer(ctx: &Call<'_>, config: &mut Value) {
    if ctx.principal.role == keel_durable_objects::control::Role::Admin {
        return;
    }
    if config["alerts"]["webhook"].is_string() {
        config["alerts"]["webhook"] = Value::String(keel_engine::audit::redact::REDACTED.into());
    }
}

async fn list(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let rows = call_control(ctx.env, Method::Get, "/bots", None).await?;
    let ids: Vec<String> = rows
        .as_array()
        .map(|a| {
            a.iter()
                .map(|row| row["id"].as_str().unwrap_or_default().to_string())
                .filter(|id| ctx.principal.covers(id))
                .collect()
        })
        .unwrap_or_default();
    let out: Vec<Value> = super::call_bots(ctx.env, ids, Method::Get, "/view/summary", None)
        .await
        .into_iter()
        .map(|(id, res)| res.unwrap_or_else(|e| json!({"id": id, "error": e.body()})))
        .collect();
    ok(200, &Value::Array(out))
}

async fn create(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let id = ctx.body.get("id").and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad_request("invalid_config", "the bot config needs an `id`").with_field("id")
    })?;
    keel_engine::ids::BotId::new(id)
        .map_err(|e| ApiError::bad_request("invalid_config", e.to_string()).with_field("id"))?;
    // A scoped admin token may create a bot only under an id its scope names.
    if !ctx.principal.covers(id) {
        return Err(ApiError::forbidden(
            "token_scoped",
            format!("this token may not create bot {id:?}: it is outside the token's bots"),
        )
        .with_field("id"));
    }
    let created = create_bot(ctx, id, ctx.body.clone()).await?;
    ok(201, &created)
}

/// Validates, stores and registers bot `id` with `config` (a new bot or a paper shadow): the
/// bot validates and stores first, and only a valid bot is registered.
///
/// # Errors
/// The bot's refusal (422 invalid config, 409 exists) or the registry's.
pub(super) async fn create_bot(
    ctx: &Call<'_>,
    id: &str,
    mut config: Value,
) -> Result<Value, ApiError> {
    let halt = call_control(ctx.env, Method::Get, "/halt", None).await?;
    local_sim_base_url(
        &mut config,
        crate::env::get(ctx.env, crate::env::EXCHANGE_SIM_URL).as_deref(),
    );
    let body = json!({"config": config, "actor": ctx.principal.actor(), "halted": halt["halted"]});
    // The bot validates and stores its config first; only a valid bot is registered.
    let created = call_bot(ctx.env, id, Method::Post, "/config", Some(body)).await?;
    let hours = config.get("trading_hours").cloned().unwrap_or(Value::Null);
    call_control(
        ctx.env,
        Method::Post,
        "/bots",
        Some(json!({"id": id, "trading_hours": hours})),
    )
    .await?;
    Ok(created)
}

/// Copies `trading_hours` into the registry when the merge patch touched it (set or `null`), where
/// the cron reads it without waking the bot (the bot has already stored and audited the config).
async fn mirror_trading_hours(ctx: &Call<'_>, id: &str, patched: &Value) -> Result<(), ApiError> {
    if ctx.body.get("trading_hours").is_none() {
        return Ok(());
    }
    let hours = patched.get("trading_hours").cloned().unwrap_or(Value::Null);
    call_control(
        ctx.env,
        Method::Put,
        &format!("/bots/{id}/trading_hours"),
        Some(json!({"trading_hours": hours})),
    )
    .await?;
    Ok(())
}

/// The local stack's default exchange for a new bot. Why: under `npm start` the Worker runs next
/// to the exchange simulator (`EXCHANGE_SIM_URL`, which only the local stack sets), and a paper or
/// testnet bot created without `base_url` must trade against it, as `/health` already probes it,
/// rather than ask the real exchange. A live bot is never redirected, and an explicit `base_url`
/// is kept. The filled value is stored in the config, so the bot's config says where it trades.
/// Returns whether it filled one.
pub(crate) fn local_sim_base_url(config: &mut Value, sim_url: Option<&str>) -> bool {
    let Some(sim) = sim_url.map(str::trim).filter(|s| !s.is_empty()) else {
        return false;
    };
    let non_live = matches!(
        config.get("mode").and_then(Value::as_str),
        Some("paper" | "testnet")
    );
    let unset = match config.get("base_url") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false, // a wrong type is the config validation's to refuse
    };
    match config.as_object_mut() {
        Some(obj) if non_live && unset => {
            obj.insert(
                "base_url".into(),
                Value::String(sim.trim_end_matches('/').into()),
            );
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::local_sim_base_url;
    use serde_json::json;

    #[test]
    fn paper_and_testnet_default_to_the_local_simulator() {
        let sim = Some("http://127.0.0.1:9100/");
        for (config, filled, want) in [
            (
                json!({"mode": "paper"}),
                true,
                json!("http://127.0.0.1:9100"),
            ),
            (
                json!({"mode": "testnet", "base_url": null}),
                true,
                json!("http://127.0.0.1:9100"),
            ),
            (
                json!({"mode": "paper", "base_url": " "}),
                true,
                json!("http://127.0.0.1:9100"),
            ),
            (json!({"mode": "live"}), false, json!(null)),
            (
                json!({"mode": "paper", "base_url": "http://x"}),
                false,
                json!("http://x"),
            ),
            (json!({"mode": "paper", "base_url": 3}), false, json!(3)),
            (json!({}), false, json!(null)),
        ] {
            let mut c = config.clone();
            assert_eq!(local_sim_base_url(&mut c, sim), filled, "{config}");
            assert_eq!(
                c.get("base_url").cloned().unwrap_or(json!(null)),
                want,
                "{config}"
            );
        }
        // Deployed (no simulator): nothing changes.
        let mut c = json!({"mode": "paper"});
        assert!(!local_sim_base_url(&mut c, None));
        assert!(c.get("base_url").is_none());
    }
}
