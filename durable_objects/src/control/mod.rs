//! `ControlDO`: the singleton that knows which bots exist, which admin tokens are valid (stored as
//! SHA-256 hashes only), and whether the platform is halted. Bots keep their own state; this object
//! only holds what spans bots, and the platform audit chain ([`audit`]) of the actions on it.
#![allow(missing_docs)] // `#[durable_object]` generates undocumented wasm-bindgen glue.

pub mod audit;
pub mod bucket;
pub mod calls;
pub mod chat;
pub mod portfolio;
pub mod tokens;

use crate::db::{int, text, Db, WriteBatch};
use crate::http::{json, read_json, respond, ApiError};
use audit::PlatformEvent;
use bucket::{Buckets, Policy};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
pub use tokens::{Role, TokenRow};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

/// A registered bot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BotRow {
    /// Bot id.
    pub id: String,
    /// Registration time (ms).
    pub created_ms: i64,
    /// The bot's `trading_hours` (JSON text), so the cron decides without waking the bot.
    #[serde(default)]
    pub trading_hours: Option<String>,
}

/// Platform-wide halt state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HaltState {
    /// Whether every bot is paused.
    pub halted: bool,
    /// Why, and by whom.
    pub reason: Option<String>,
    /// Actor that set it.
    pub actor: Option<String>,
    /// When (ms).
    pub since_ms: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct CreateToken {
    name: String,
    role: Role,
    token: String,
    actor: String,
    /// Lifetime asked for (validated by the edge with [`tokens::parse_create`]); `None` for the
    /// default.
    #[serde(default)]
    ttl_secs: Option<i64>,
    /// When the minting token expires (`None` for the bootstrap token).
    #[serde(default)]
    minter_expires_ms: Option<i64>,
    /// Scope, or every bot.
    #[serde(default)]
    bots: Option<Vec<String>>,
}

/// A `tokens` row as SQLite holds it (the scope as JSON text).
#[derive(Debug, Deserialize)]
struct StoredToken {
    id: String,
    name: String,
    role: Role,
    created_ms: i64,
    #[serde(default)]
    expires_ms: Option<i64>,
    #[serde(default)]
    bots: Option<String>,
}

impl StoredToken {
    /// The row as answered, with its effective expiry; a scope that does not decode is read as
    /// an empty list (no bot) rather than as every bot: a damaged scope fails closed.
    fn into_row(self) -> TokenRow {
        let bots = self
            .bots
            .map(|text| serde_json::from_str::<Vec<String>>(&text).unwrap_or_default());
        TokenRow {
            id: self.id,
            name: self.name,
            role: self.role,
            created_ms: self.created_ms,
            expires_ms: self.expires_ms,
            bots,
        }
        .with_expiry()
    }
}

/// Columns of [`StoredToken`].
const TOKEN_COLUMNS: &str = "id, name, role, created_ms, expires_ms, bots";

#[derive(Debug, Deserialize)]
struct ActorOnly {
    actor: String,
}

#[derive(Debug, Deserialize)]
struct RecordRotation {
    actor: String,
    rotated: Vec<String>,
    skipped: Vec<String>,
    failed: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RateQuery {
    key: String,
    capacity: i64,
    period_ms: i64,
}

#[derive(Debug, Deserialize)]
struct AuthQuery {
    token: String,
}

#[derive(Debug, Deserialize)]
struct RegisterBot {
    id: String,
    #[serde(default)]
    trading_hours: Option<serde_json::Value>,
}

/// `PUT /bots/{id}/trading_hours`: the edge mirrors a config change here.
#[derive(Debug, Deserialize)]
struct SetTradingHours {
    #[serde(default)]
    trading_hours: Option<serde_json::Value>,
}

/// JSON text of a `trading_hours` value (`null`/absent → SQL NULL).
fn hours_text(v: Option<serde_json::Value>) -> worker::SqlStorageValue {
    match v {
        Some(v) if !v.is_null() => text(v.to_string()),
        _ => worker::SqlStorageValue::Null,
    }
}

#[derive(Debug, Deserialize)]
struct SetHalt {
    halted: bool,
    reason: Option<String>,
    actor: String,
    #[serde(default)]
    flatten: bool,
}

#[derive(Debug, Deserialize)]
struct KvRow {
    value: String,
}

/// A token as listed: the row, its expiry as RFC 3339 and whether it has expired (never the
/// token or its hash).
fn listed(row: TokenRow, now: i64) -> serde_json::Value {
    let expiry = row.expiry_ms();
    let mut v = serde_json::to_value(&row).unwrap_or(serde_json::Value::Null);
    v["expires_at"] = serde_json::Value::String(keel_engine::calendar::rfc3339(expiry));
    v["expired"] = serde_json::Value::Bool(now >= expiry);
    v
}

/// SHA-256 hex of a token; tokens are only ever stored and compared in this form.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The singleton control object.
#[durable_object]
pub struct ControlDO {
    db: Db,
    buckets: RefCell<Buckets>,
}

impl std::fmt::Debug for ControlDO {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ControlDO")
    }
}

impl DurableObject for ControlDO {
    fn new(state: State, _env: Env) -> Self {
        let db = Db::new(&state.storage());
        for ddl in [
            "CREATE TABLE IF NOT EXISTS bots (id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            audit::SCHEMA,
            portfolio::SCHEMA,
            calls::SCHEMA[0],
            calls::SCHEMA[1],
        ] {
            if let Err(e) = db.exec(ddl, vec![]) {
                worker::console_error!("ControlDO schema: {e}");
            }
        }
        // Added after the first release: fails harmlessly once the column exists.
        let _ = db.exec("ALTER TABLE bots ADD COLUMN trading_hours TEXT", vec![]);
        // Token expiry and scope (issue 26, item 7); NULL on tokens made before them.
        let _ = db.exec("ALTER TABLE tokens ADD COLUMN expires_ms INTEGER", vec![]);
        let _ = db.exec("ALTER TABLE tokens ADD COLUMN bots TEXT", vec![]);
        Self {
            db,
            buckets: RefCell::new(Buckets::default()),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let method = req.method();
        let result = self.route(&mut req, &method, &path).await;
        respond(result)
    }
}

impl ControlDO {
    async fn route(
        &self,
        req: &mut Request,
        method: &Method,
        path: &str,
    ) -> std::result::Result<Response, ApiError> {
        let now = worker::Date::now().as_millis() as i64;
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        if segments.first() == Some(&"calls") {
            return calls::route(&self.db, req, method, &segments, now).await;
        }
        if segments.first() == Some(&"chat") {
            return chat::route(&self.db, req, method, &segments, now).await;
        }
        match (method, segments.as_slice()) {
            (Method::Get, ["bots"]) => {
                let rows: Vec<BotRow> = self.db.rows(
                    "SELECT id, created_ms, trading_hours FROM bots ORDER BY id",
                    vec![],
                )?;
                Ok(json(200, &rows)?)
            }
            (Method::Post, ["bots"]) => {
                let body: RegisterBot = read_json(req).await?;
                let exists: Option<BotRow> = self.db.row(
                    "SELECT id, created_ms, trading_hours FROM bots WHERE id = ?",
                    vec![text(body.id.clone())],
                )?;
                if exists.is_some() {
                    return Err(ApiError::conflict(
                        "bot_exists",
                        format!("bot {} already exists", body.id),
                    ));
                }
                let mut batch = WriteBatch::new();
                let hours = body.trading_hours.as_ref().map(|v| v.to_string());
                batch.push(
                    "INSERT INTO bots (id, created_ms, trading_hours) VALUES (?, ?, ?)",
                    vec![
                        text(body.id.clone()),
                        int(now),
                        hours_text(body.trading_hours),
                    ],
                );
                self.db.commit(batch)?;
                Ok(json(
                    201,
                    &BotRow {
                        id: body.id,
                        created_ms: now,
                        trading_hours: hours,
                    },
                )?)
            }
            (Method::Put, ["bots", id, "trading_hours"]) => {
                let body: SetTradingHours = read_json(req).await?;
                let mut batch = WriteBatch::new();
                batch.push(
                    "UPDATE bots SET trading_hours = ? WHERE id = ?",
                    vec![hours_text(body.trading_hours), text(*id)],
                );
                self.db.commit(batch)?;
                Ok(json(200, &serde_json::json!({"id": id}))?)
            }
            (Method::Delete, ["bots", id]) => {
                let mut batch = WriteBatch::new();
                batch.push("DELETE FROM bots WHERE id = ?", vec![text(*id)]);
                self.db.commit(batch)?;
                Ok(json(200, &serde_json::json!({"deleted": id}))?)
            }
            (Method::Get, ["tokens"]) => {
                let rows: Vec<StoredToken> = self.db.rows(
                    &format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_ms"),
                    vec![],
                )?;
                let out: Vec<serde_json::Value> = rows
                    .into_iter()
                    .map(|r| listed(r.into_row(), now))
                    .collect();
                Ok(json(200, &out)?)
            }
            (Method::Post, ["tokens"]) => {
                let body: CreateToken = read_json(req).await?;
                let expires_ms = tokens::expiry_for(now, body.ttl_secs, body.minter_expires_ms)?;
                let hash = token_hash(&body.token);
                let mut raw = [0u8; 8];
                getrandom::getrandom(&mut raw)
                    .map_err(|e| ApiError::internal(format!("random: {e}")))?;
                let id = format!("tok_{}", hex::encode(raw));
                let role = body.role.name();
                let scope = match &body.bots {
                    Some(b) => text(
                        serde_json::to_string(b).map_err(|e| ApiError::internal(e.to_string()))?,
                    ),
                    None => worker::SqlStorageValue::Null,
                };
                let mut batch = WriteBatch::new();
                batch.push(
                    "INSERT INTO tokens (id, name, role, hash, created_ms, expires_ms, bots) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    vec![
                        text(id.clone()),
                        text(body.name.clone()),
                        text(role),
                        text(hash),
                        int(now),
                        int(expires_ms),
                        scope,
                    ],
                );
                let event = PlatformEvent::TokenCreated {
                    token_id: id.clone(),
                    name: body.name.clone(),
                    role: role.into(),
                    expires_ms: Some(expires_ms),
                    bots: body.bots.clone(),
                };
                audit::stage(&self.db, &mut batch, now, &body.actor, &event)?;
                self.db.commit(batch)?;
                let row = TokenRow {
                    id,
                    name: body.name,
                    role: body.role,
                    created_ms: now,
                    expires_ms: Some(expires_ms),
                    bots: body.bots,
                };
                Ok(json(201, &listed(row, now))?)
            }
            (Method::Post, ["tokens", id, "revoke"]) => {
                let body: ActorOnly = read_json(req).await?;
                let row: Option<StoredToken> = self.db.row(
                    &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?"),
                    vec![text(*id)],
                )?;
                if row.is_none() {
                    return Err(ApiError::not_found(
                        "unknown_token",
                        format!("no token {id:?}"),
                    ));
                }
                let mut batch = WriteBatch::new();
                batch.push("DELETE FROM tokens WHERE id = ?", vec![text(*id)]);
                audit::stage(
                    &self.db,
                    &mut batch,
                    now,
                    &body.actor,
                    &PlatformEvent::TokenRevoked {
                        token_id: id.to_string(),
                    },
                )?;
                self.db.commit(batch)?;
                Ok(json(200, &serde_json::json!({"revoked": id}))?)
            }
            (Method::Post, ["auth"]) => {
                let body: AuthQuery = read_json(req).await?;
                let row: Option<StoredToken> = self.db.row(
                    &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?"),
                    vec![text(token_hash(&body.token))],
                )?;
                match row {
                    Some(r) => {
                        let row = r.into_row();
                        row.check_alive(now)?;
                        Ok(json(200, &row)?)
                    }
                    None => Err(ApiError::unauthorized(
                        "invalid_token",
                        "unknown or revoked token",
                    )),
                }
            }
            (Method::Get, ["halt"]) => Ok(json(200, &self.halt_state()?)?),
            (Method::Post, ["halt"]) => {
                let body: SetHalt = read_json(req).await?;
                let event = if body.halted {
                    PlatformEvent::Halt {
                        reason: body.reason.clone(),
                        flatten: body.flatten,
                    }
                } else {
                    PlatformEvent::Resume {
                        reason: body.reason.clone(),
                    }
                };
                let state = HaltState {
                    halted: body.halted,
                    reason: body.reason,
                    actor: Some(body.actor.clone()),
                    since_ms: Some(now),
                };
                let value =
                    serde_json::to_string(&state).map_err(|e| ApiError::internal(e.to_string()))?;
                let mut batch = WriteBatch::new();
                batch.push(
                    "INSERT INTO kv (key, value) VALUES ('halt', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    vec![text(value)],
                );
                audit::stage(&self.db, &mut batch, now, &body.actor, &event)?;
                self.db.commit(batch)?;
                Ok(json(200, &state)?)
            }
            (Method::Post, ["audit", "credentials-rotated"]) => {
                let body: RecordRotation = read_json(req).await?;
                let event = PlatformEvent::CredentialsRotated {
                    rotated: body.rotated,
                    skipped: body.skipped,
                    failed: body.failed,
                };
                let mut batch = WriteBatch::new();
                let seq = audit::stage(&self.db, &mut batch, now, &body.actor, &event)?;
                self.db.commit(batch)?;
                Ok(json(200, &serde_json::json!({"audit_seq": seq}))?)
            }
            (Method::Get, ["audit"]) => {
                let query = req.url().ok().and_then(|u| u.query().map(String::from));
                let param = |name: &str| -> Option<i64> {
                    query.as_deref()?.split('&').find_map(|kv| {
                        let (k, v) = kv.split_once('=')?;
                        (k == name).then(|| v.parse().ok()).flatten()
                    })
                };
                Ok(json(
                    200,
                    &audit::page(
                        &self.db,
                        param("after").unwrap_or(0),
                        param("limit").unwrap_or(100),
                    )?,
                )?)
            }
            (Method::Get, ["portfolio"]) => portfolio::list(&self.db, now),
            (Method::Put, ["portfolio", "scopes", name]) => {
                portfolio::set(&self.db, name, read_json(req).await?, now)
            }
            (Method::Delete, ["portfolio", "scopes", name]) => {
                portfolio::delete(&self.db, name, read_json(req).await?, now)
            }
            (Method::Post, ["portfolio", "scopes", name, action @ ("halt" | "resume")]) => {
                portfolio::halt(
                    &self.db,
                    name,
                    *action == "halt",
                    read_json(req).await?,
                    now,
                )
            }
            (Method::Post, ["portfolio", "lease"]) => {
                portfolio::lease(&self.db, read_json(req).await?, now)
            }
            (Method::Post, ["ratelimit"]) => {
                let body: RateQuery = read_json(req).await?;
                let policy = Policy {
                    capacity: body.capacity,
                    period_ms: body.period_ms,
                };
                let verdict = self.buckets.borrow_mut().take(&body.key, policy, now);
                Ok(json(
                    200,
                    &serde_json::json!({"allowed": verdict.allowed, "retry_after_ms": verdict.retry_after_ms}),
                )?)
            }
            _ => Err(ApiError::not_found(
                "no_route",
                format!("ControlDO: no route {method:?} {path}"),
            )),
        }
    }

    /// The platform's halt state.
    fn halt_state(&self) -> std::result::Result<HaltState, ApiError> {
        let row: Option<KvRow> = self
            .db
            .row("SELECT value FROM kv WHERE key = 'halt'", vec![])?;
        match row {
            Some(r) => {
                serde_json::from_str(&r.value).map_err(|e| ApiError::internal(e.to_string()))
            }
            None => Ok(HaltState::default()),
        }
    }
}
