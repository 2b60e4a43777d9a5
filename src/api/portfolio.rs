//! `/api/v1/portfolio`: portfolio scopes (limits across bots, kept by the ControlDO) and capital
//! allocation proposals (docs/portfolio.md).
//!
//! - `GET /portfolio`: every scope with its exposure, limit use, leases, drawdown and halt.
//! - `PUT /portfolio/scopes/{name}` (body: `{members, limits, lease_ttl_secs}`), `DELETE` it,
//!   `POST /portfolio/scopes/{name}/halt|resume` (`{reason}`): audited in the platform chain.
//! - `POST /portfolio/allocation`: weights from the bots' performance history by a rule
//!   (`fixed`, `vol_target`, `equal_risk`, with an optional fractional-Kelly cap), turned into
//!   target equity per bot and the transfers that reach it. Nothing moves.
//! - `POST /portfolio/allocation/accept` (`{proposal_id, transfers}`): books each transfer as
//!   the bot's capital movement (audited in its chain), idempotently per proposal and bot.

use super::{call_bot, call_bots, call_control, ok, Call};
use keel_durable_objects::http::ApiError;
use keel_engine::portfolio::allocation::{self, AllocationError, Request, Rule};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use worker::{Method, Response};

/// Most bots in one allocation (each is read twice).
const MAX_ALLOCATION_BOTS: usize = 200;

/// Routes `/portfolio…` (segments after `portfolio`).
///
/// # Errors
/// Any [`ApiError`].
pub async fn route(ctx: &Call<'_>, method: &Method, segs: &[&str]) -> Result<Response, ApiError> {
    let actor = ctx.principal.actor();
    match (method, segs) {
        (Method::Get, []) => ok(
            200,
            &call_control(ctx.env, Method::Get, "/portfolio", None).await?,
        ),
        (Method::Put, ["scopes", name]) => ok(
            200,
            &call_control(
                ctx.env,
                Method::Put,
                &format!("/portfolio/scopes/{}", crate::path::encode(name)),
                Some(json!({"actor": actor, "spec": ctx.body})),
            )
            .await?,
        ),
        (Method::Delete, ["scopes", name]) => ok(
            200,
            &call_control(
                ctx.env,
                Method::Delete,
                &format!("/portfolio/scopes/{}", crate::path::encode(name)),
                Some(json!({"actor": actor})),
            )
            .await?,
        ),
        (Method::Post, ["scopes", name, action @ ("halt" | "resume")]) => {
            let reason = ctx.body.get("reason").cloned().unwrap_or(Value::Null);
            ok(
                200,
                &call_control(
                    ctx.env,
                    Method::Post,
                    &format!("/portfolio/scopes/{}/{action}", crate::path::encode(name)),
                    Some(json!({"actor": actor, "reason": reason})),
                )
                .await?,
            )
        }
        (Method::Post, ["allocation"]) => propose(ctx).await,
        (Method::Post, ["allocation", "accept"]) => accept(ctx).await,
        _ => Err(ApiError::not_found("no_route", "no such portfolio route")),
    }
}

/// `POST /portfolio/allocation` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllocationBody {
    bots: Vec<String>,
    rule: Rule,
    capital: Decimal,
    #[serde(default)]
    step: Option<Decimal>,
    #[serde(default)]
    kelly_fraction: Option<f64>,
    #[serde(default)]
    period: Option<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::unprocessable("invalid_allocation", message)
}

fn allocation_error(e: AllocationError) -> ApiError {
    invalid(e.to_string())
}

/// A content id for a proposal: the same proposal accepted twice books nothing twice.
fn proposal_id(transfers: &BTreeMap<String, Decimal>) -> String {
    let text = serde_json::to_string(transfers).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    format!("alloc-{}", hex::encode(&digest[..6]))
}

async fn propose(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let body: AllocationBody = serde_json::from_value(ctx.body.clone())
        .map_err(|e| invalid(format!("allocation body: {e}")))?;
    if body.bots.is_empty() || body.bots.len() > MAX_ALLOCATION_BOTS {
        return Err(
            invalid(format!("bots: between 1 and {MAX_ALLOCATION_BOTS} bot ids"))
                .with_field("bots"),
        );
    }
    for id in &body.bots {
        ctx.principal.require_bot(id)?;
    }
    let period = body.period.unwrap_or_else(|| "1d".to_string());
    if period.is_empty() || !period.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid(format!("period {period:?} is not a timeframe")).with_field("period"));
    }
    let analytics = call_bots(
        ctx.env,
        body.bots.clone(),
        Method::Get,
        &format!("/view/analytics?period={period}"),
        None,
    )
    .await;
    let mut curves = Vec::with_capacity(body.bots.len());
    for (_, res) in analytics {
        curves.push(super::compare::curve(&res?));
    }
    let summaries = call_bots(
        ctx.env,
        body.bots.clone(),
        Method::Get,
        "/view/summary",
        None,
    )
    .await;
    let mut current = BTreeMap::new();
    for (id, res) in summaries {
        let equity = res?
            .get("equity")
            .and_then(|e| serde_json::from_value::<Decimal>(e.clone()).ok())
            .unwrap_or_default();
        current.insert(id, equity);
    }
    let (stats, cov) = allocation::stats_from_curves(&curves).map_err(allocation_error)?;
    let req = Request {
        rule: body.rule,
        bots: body.bots.clone(),
        stats: stats.clone(),
        cov: Some(cov),
        kelly_fraction: body.kelly_fraction,
    };
    let weights = allocation::weights(&req).map_err(allocation_error)?;
    let step = body.step.unwrap_or_else(|| Decimal::new(1, 2));
    let proposal = allocation::propose(body.capital, step, &body.bots, &weights, &current)
        .map_err(allocation_error)?;
    let bots: Vec<Value> = body
        .bots
        .iter()
        .zip(&weights)
        .zip(&stats)
        .map(|((id, w), s)| {
            json!({"bot_id": id, "weight": w, "mean_return": s.mean, "volatility": s.vol,
                   "current": current.get(id), "target": proposal.targets.get(id),
                   "transfer": proposal.transfers.get(id)})
        })
        .collect();
    ok(
        200,
        &json!({
            "proposal_id": proposal_id(&proposal.transfers),
            "period": period,
            "capital": body.capital,
            "unallocated": proposal.unallocated,
            "transfers": proposal.transfers,
            "bots": bots,
        }),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    proposal_id: String,
    transfers: BTreeMap<String, Decimal>,
}

async fn accept(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let body: AcceptBody = serde_json::from_value(ctx.body.clone())
        .map_err(|e| invalid(format!("accept body: {e}")))?;
    if proposal_id(&body.transfers) != body.proposal_id {
        return Err(invalid(
            "proposal_id does not match these transfers: accept the proposal as it was answered",
        )
        .with_field("proposal_id"));
    }
    for id in body.transfers.keys() {
        ctx.principal.require_bot(id)?;
    }
    let actor = ctx.principal.actor();
    let mut results = Vec::new();
    for (id, amount) in &body.transfers {
        if amount.is_zero() {
            results.push(json!({"bot_id": id, "status": "unchanged"}));
            continue;
        }
        let transfer = json!({"actor": actor, "amount": amount,
                              "id": format!("{}-{id}", body.proposal_id)});
        match call_bot(ctx.env, id, Method::Post, "/capital", Some(transfer)).await {
            Ok(v) => results.push(json!({"bot_id": id, "status": "booked", "result": v})),
            Err(e) if e.status == 409 => {
                results.push(json!({"bot_id": id, "status": "already_booked"}));
            }
            Err(e) => results.push(json!({"bot_id": id, "status": "failed", "error": e.body()})),
        }
    }
    ok(
        200,
        &json!({"proposal_id": body.proposal_id, "bots": results}),
    )
}
