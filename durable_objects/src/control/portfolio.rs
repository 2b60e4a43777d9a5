//! The ControlDO's portfolio scopes: storage and routes around `keel_engine::portfolio::scope`.
//!
//! Every decision (grants, breaches, halts, the day's start) is the engine's; this module loads a
//! scope's JSON, calls it, and commits the new JSON together with its platform audit event in one
//! batch. The bots' lease requests (`POST /portfolio/lease`) are answered from here, off their
//! webhook path: a bot spends its lease locally and renews in the background.

use super::audit::{self, PlatformEvent};
use crate::db::{text, Db, WriteBatch};
use crate::http::{json, ApiError};
use keel_engine::portfolio::lease::Lease;
use keel_engine::portfolio::limits::{PortfolioLimits, ScopeState};
use keel_engine::portfolio::scope::{BotReport, Scope, ScopeError, ScopeSpec, ScopeView};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use worker::Response;

/// The table of scopes: one JSON document per scope.
pub const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS portfolio_scopes (name TEXT PRIMARY KEY, value TEXT NOT NULL)";

/// `PUT /portfolio/scopes/{name}`.
#[derive(Debug, Deserialize)]
pub struct SetScope {
    /// Who.
    pub actor: String,
    /// What.
    pub spec: serde_json::Value,
}

/// `POST /portfolio/scopes/{name}/halt|resume` and `DELETE /portfolio/scopes/{name}`.
#[derive(Debug, Deserialize)]
pub struct ScopeAction {
    /// Who.
    pub actor: String,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /portfolio/lease`: a bot's report and request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// The bot.
    pub bot: String,
    /// What it holds and is worth.
    pub report: BotReport,
    /// Headroom wanted (gross notional, quote).
    pub want: Decimal,
}

/// One scope's answer to a bot.
#[derive(Debug, Serialize)]
pub struct ScopeLease {
    /// The scope.
    pub scope: String,
    /// Its lease.
    pub lease: Lease,
    /// Its limits, for the bot's local entry check.
    pub limits: PortfolioLimits,
    /// Its aggregated state now (the bot checks entries against it until the next renewal).
    pub state: ScopeState,
}

/// The answer to a bot: the tightest lease over its scopes (the smallest ceiling and the
/// earliest expiry; halted if any scope is), and each scope's own.
#[derive(Debug, Serialize)]
pub struct LeaseAnswer {
    /// The combined lease (`None` when no scope covers the bot: no portfolio limit applies).
    pub lease: Option<Lease>,
    /// Per scope.
    pub scopes: Vec<ScopeLease>,
}

#[derive(Debug, Deserialize)]
struct Stored {
    value: String,
}

/// Maps the engine's scope error to the API's (400 with the field in the message).
fn refused(e: ScopeError) -> ApiError {
    ApiError::bad_request("invalid_portfolio_scope", e.to_string())
}

fn load(db: &Db, name: &str) -> Result<Option<Scope>, ApiError> {
    let row: Option<Stored> = db.row(
        "SELECT value FROM portfolio_scopes WHERE name = ?",
        vec![text(name)],
    )?;
    row.map(|r| serde_json::from_str(&r.value).map_err(|e| ApiError::internal(e.to_string())))
        .transpose()
}

fn load_all(db: &Db) -> Result<Vec<Scope>, ApiError> {
    let rows: Vec<Stored> = db.rows("SELECT value FROM portfolio_scopes ORDER BY name", vec![])?;
    rows.into_iter()
        .map(|r| serde_json::from_str(&r.value).map_err(|e| ApiError::internal(e.to_string())))
        .collect()
}

fn stage_save(batch: &mut WriteBatch, scope: &Scope) -> Result<(), ApiError> {
    let value = serde_json::to_string(scope).map_err(|e| ApiError::internal(e.to_string()))?;
    batch.push(
        "INSERT INTO portfolio_scopes (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        vec![text(scope.name.clone()), text(value)],
    );
    Ok(())
}

fn unknown(name: &str) -> ApiError {
    ApiError::not_found(
        "unknown_portfolio_scope",
        format!("no portfolio scope {name:?}"),
    )
}

/// `GET /portfolio`: every scope's view.
pub fn list(db: &Db, now: i64) -> Result<Response, ApiError> {
    let views: Vec<ScopeView> = load_all(db)?.iter().map(|s| s.view(now)).collect();
    Ok(json(200, &views)?)
}

/// `PUT /portfolio/scopes/{name}`: creates or changes a scope (reports, peak and halt kept).
pub fn set(db: &Db, name: &str, body: SetScope, now: i64) -> Result<Response, ApiError> {
    let spec: ScopeSpec = serde_json::from_value(body.spec.clone())
        .map_err(|e| ApiError::bad_request("invalid_portfolio_scope", e.to_string()))?;
    let scope = Scope::set(name, spec, load(db, name)?).map_err(refused)?;
    let mut batch = WriteBatch::new();
    stage_save(&mut batch, &scope)?;
    let event = PlatformEvent::PortfolioScopeSet {
        scope: name.to_string(),
        spec: serde_json::to_value(&scope.spec).map_err(|e| ApiError::internal(e.to_string()))?,
    };
    audit::stage(db, &mut batch, now, &body.actor, &event)?;
    db.commit(batch)?;
    Ok(json(200, &scope.view(now))?)
}

/// `DELETE /portfolio/scopes/{name}`.
pub fn delete(db: &Db, name: &str, body: ScopeAction, now: i64) -> Result<Response, ApiError> {
    if load(db, name)?.is_none() {
        return Err(unknown(name));
    }
    let mut batch = WriteBatch::new();
    batch.push(
        "DELETE FROM portfolio_scopes WHERE name = ?",
        vec![text(name)],
    );
    let event = PlatformEvent::PortfolioScopeDeleted {
        scope: name.to_string(),
    };
    audit::stage(db, &mut batch, now, &body.actor, &event)?;
    db.commit(batch)?;
    Ok(json(200, &serde_json::json!({"deleted": name}))?)
}

/// `POST /portfolio/scopes/{name}/halt` (`halted`) or `/resume`.
pub fn halt(
    db: &Db,
    name: &str,
    halted: bool,
    body: ScopeAction,
    now: i64,
) -> Result<Response, ApiError> {
    let mut scope = load(db, name)?.ok_or_else(|| unknown(name))?;
    let event = if halted {
        scope.halt(None, now);
        PlatformEvent::PortfolioHalted {
            scope: name.to_string(),
            breach: None,
            reason: body.reason,
        }
    } else {
        scope.resume();
        PlatformEvent::PortfolioResumed {
            scope: name.to_string(),
            reason: body.reason,
        }
    };
    let mut batch = WriteBatch::new();
    stage_save(&mut batch, &scope)?;
    audit::stage(db, &mut batch, now, &body.actor, &event)?;
    db.commit(batch)?;
    Ok(json(200, &scope.view(now))?)
}

/// `POST /portfolio/lease`: the bot's report goes to every scope covering it; each answers a
/// lease; a report that breaches a loss limit halts its scope (audited as `system`, in the same
/// commit). Answers the combined lease.
pub fn lease(db: &Db, body: LeaseRequest, now: i64) -> Result<Response, ApiError> {
    keel_engine::ids::BotId::new(&body.bot)
        .map_err(|e| ApiError::bad_request("invalid_bot_id", e.to_string()))?;
    let mut scopes = Vec::new();
    let mut combined: Option<Lease> = None;
    for mut scope in load_all(db)? {
        // One commit per scope: an audit event reads the chain's head, so two in one batch
        // would take the same seq. Nothing awaits in this loop, so no request interleaves.
        let mut batch = WriteBatch::new();
        if !scope.spec.members.covers(&body.bot, &body.report.account) {
            continue;
        }
        let reported = scope
            .report(&body.bot, body.report.clone(), body.want, now)
            .map_err(refused)?;
        if let Some(breach) = &reported.newly_halted {
            let event = PlatformEvent::PortfolioHalted {
                scope: scope.name.clone(),
                breach: serde_json::to_value(breach).ok(),
                reason: Some(breach.to_string()),
            };
            audit::stage(db, &mut batch, now, "system", &event)?;
        }
        stage_save(&mut batch, &scope)?;
        db.commit(batch)?;
        let l = reported.lease;
        combined = Some(match combined {
            None => l,
            Some(c) => Lease {
                ceiling: c.ceiling.min(l.ceiling),
                expires_ms: c.expires_ms.min(l.expires_ms),
                halted: c.halted || l.halted,
            },
        });
        scopes.push(ScopeLease {
            scope: scope.name.clone(),
            lease: l,
            limits: scope.spec.limits.clone(),
            state: scope.state(),
        });
    }
    Ok(json(
        200,
        &LeaseAnswer {
            lease: combined,
            scopes,
        },
    )?)
}
