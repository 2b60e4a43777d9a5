//! `ControlDO`: the singleton that knows which bots exist, which admin tokens are valid (stored as
//! SHA-256 hashes only), and whether the platform is halted. Bots keep their own state; this object
//! only holds what spans bots.
#![allow(missing_docs)] // `#[durable_object]` generates undocumented wasm-bindgen glue.

use crate::db::{int, text, Db, WriteBatch};
use crate::http::{json, read_json, respond, ApiError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

/// Role of an admin API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Reads only.
    Viewer,
}

/// A stored token (never the token itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRow {
    /// Public id, used in audit records.
    pub id: String,
    /// Operator's label.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Creation time (ms).
    pub created_ms: i64,
}

/// A registered bot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BotRow {
    /// Bot id.
    pub id: String,
    /// Registration time (ms).
    pub created_ms: i64,
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
}

#[derive(Debug, Deserialize)]
struct AuthQuery {
    token: String,
}

#[derive(Debug, Deserialize)]
struct RegisterBot {
    id: String,
}

#[derive(Debug, Deserialize)]
struct SetHalt {
    halted: bool,
    reason: Option<String>,
    actor: String,
}

#[derive(Debug, Deserialize)]
struct KvRow {
    value: String,
}

/// SHA-256 hex of a token; tokens are only ever stored and compared in this form.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The singleton control object.
#[durable_object]
pub struct ControlDO {
    db: Db,
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
        ] {
            if let Err(e) = db.exec(ddl, vec![]) {
                worker::console_error!("ControlDO schema: {e}");
            }
        }
        Self { db }
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
        match (method, segments.as_slice()) {
            (Method::Get, ["bots"]) => {
                let rows: Vec<BotRow> = self
                    .db
                    .rows("SELECT id, created_ms FROM bots ORDER BY id", vec![])?;
                Ok(json(200, &rows)?)
            }
            (Method::Post, ["bots"]) => {
                let body: RegisterBot = read_json(req).await?;
                let exists: Option<BotRow> = self.db.row(
                    "SELECT id, created_ms FROM bots WHERE id = ?",
                    vec![text(body.id.clone())],
                )?;
                if exists.is_some() {
                    return Err(ApiError::conflict(
                        "bot_exists",
                        format!("bot {} already exists", body.id),
                    ));
                }
                let mut batch = WriteBatch::new();
                batch.push(
                    "INSERT INTO bots (id, created_ms) VALUES (?, ?)",
                    vec![text(body.id.clone()), int(now)],
                );
                self.db.commit(batch)?;
                Ok(json(
                    201,
                    &BotRow {
                        id: body.id,
                        created_ms: now,
                    },
                )?)
            }
            (Method::Delete, ["bots", id]) => {
                let mut batch = WriteBatch::new();
                batch.push("DELETE FROM bots WHERE id = ?", vec![text(*id)]);
                self.db.commit(batch)?;
                Ok(json(200, &serde_json::json!({"deleted": id}))?)
            }
            (Method::Get, ["tokens"]) => {
                let rows: Vec<TokenRow> = self.db.rows(
                    "SELECT id, name, role, created_ms FROM tokens ORDER BY created_ms",
                    vec![],
                )?;
                Ok(json(200, &rows)?)
            }
            (Method::Post, ["tokens"]) => {
                let body: CreateToken = read_json(req).await?;
                let hash = token_hash(&body.token);
                let id = format!("tok_{}", &hash[..12]);
                let role = match body.role {
                    Role::Admin => "admin",
                    Role::Viewer => "viewer",
                };
                let mut batch = WriteBatch::new();
                batch.push(
                    "INSERT INTO tokens (id, name, role, hash, created_ms) VALUES (?, ?, ?, ?, ?)",
                    vec![
                        text(id.clone()),
                        text(body.name.clone()),
                        text(role),
                        text(hash),
                        int(now),
                    ],
                );
                self.db.commit(batch)?;
                Ok(json(
                    201,
                    &TokenRow {
                        id,
                        name: body.name,
                        role: body.role,
                        created_ms: now,
                    },
                )?)
            }
            (Method::Delete, ["tokens", id]) => {
                let mut batch = WriteBatch::new();
                batch.push("DELETE FROM tokens WHERE id = ?", vec![text(*id)]);
                self.db.commit(batch)?;
                Ok(json(200, &serde_json::json!({"revoked": id}))?)
            }
            (Method::Post, ["auth"]) => {
                let body: AuthQuery = read_json(req).await?;
                let row: Option<TokenRow> = self.db.row(
                    "SELECT id, name, role, created_ms FROM tokens WHERE hash = ?",
                    vec![text(token_hash(&body.token))],
                )?;
                match row {
                    Some(r) => Ok(json(200, &r)?),
                    None => Err(ApiError::unauthorized(
                        "invalid_token",
                        "unknown or revoked token",
                    )),
                }
            }
            (Method::Get, ["halt"]) => Ok(json(200, &self.halt_state()?)?),
            (Method::Post, ["halt"]) => {
                let body: SetHalt = read_json(req).await?;
                let state = HaltState {
                    halted: body.halted,
                    reason: body.reason,
                    actor: Some(body.actor),
                    since_ms: Some(now),
                };
                let value =
                    serde_json::to_string(&state).map_err(|e| ApiError::internal(e.to_string()))?;
                let mut batch = WriteBatch::new();
                batch.push(
                    "INSERT INTO kv (key, value) VALUES ('halt', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    vec![text(value)],
                );
                self.db.commit(batch)?;
                Ok(json(200, &state)?)
            }
            _ => Err(ApiError::not_found(
                "no_route",
                format!("ControlDO: no route {method:?} {path}"),
            )),
        }
    }

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
