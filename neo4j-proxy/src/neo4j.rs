//! The only I/O of the proxy: sending Query API requests built by [`crate::query`] with the
//! Workers `fetch`, and creating the schema once per isolate.

use crate::cypher::SCHEMA;
use crate::query::{
    network_failure, parse_answer, schema_rule_exists, HttpRequest, Neo4jTarget, QueryFailure,
    QueryResult, TargetError,
};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use worker::{
    wasm_bindgen::JsValue, AbortController, Delay, Env, Fetch, Headers, Method, Request,
    RequestInit,
};

/// How long one Neo4j call may take before it is aborted and reported as a transient network
/// failure (a hung server must not hold a bot's outbox alarm forever).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Set once the constraints exist; an isolate re-checks them after a restart (cheap: `IF NOT EXISTS`).
static SCHEMA_READY: AtomicBool = AtomicBool::new(false);

/// Whether this isolate has already created the schema.
pub fn schema_ready() -> bool {
    SCHEMA_READY.load(Ordering::Relaxed)
}

/// Reads a var or secret, treating empty as unset.
pub fn env_text(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|s| !s.trim().is_empty())
}

/// A Neo4j connection described by the environment.
#[derive(Debug, Clone)]
pub struct Neo4jClient {
    target: Neo4jTarget,
}

impl Neo4jClient {
    /// `None` when `NEO4J_URL` is unset (the proxy then answers "not configured").
    ///
    /// # Errors
    /// [`TargetError`] when a variable is malformed.
    pub fn from_env(env: &Env) -> Result<Option<Self>, TargetError> {
        let Some(url) = env_text(env, "NEO4J_URL") else {
            return Ok(None);
        };
        let database = env_text(env, "NEO4J_DATABASE").unwrap_or_else(|| "neo4j".to_string());
        let user = env_text(env, "NEO4J_USER").unwrap_or_else(|| "neo4j".to_string());
        let password = env_text(env, "NEO4J_PASSWORD").unwrap_or_default();
        Neo4jTarget::new(&url, &database, &user, &password).map(|target| Some(Self { target }))
    }

    /// Database name in use.
    pub fn database(&self) -> &str {
        &self.target.database
    }

    /// Runs one parameterised statement.
    ///
    /// # Errors
    /// [`QueryFailure`], classified transient or permanent.
    pub async fn run(
        &self,
        statement: &str,
        parameters: Value,
    ) -> Result<QueryResult, QueryFailure> {
        let (status, body) = send(&self.target.query(statement, parameters)).await?;
        parse_answer(status, &body)
    }

    /// Creates the constraints and indexes unless this isolate already did.
    ///
    /// # Errors
    /// The first failing statement's [`QueryFailure`].
    pub async fn ensure_schema(&self) -> Result<(), QueryFailure> {
        if schema_ready() {
            return Ok(());
        }
        for statement in SCHEMA {
            match self.run(statement, Value::Object(Default::default())).await {
                Ok(_) => {}
                // Another isolate created the same rule a moment earlier: it exists, go on.
                Err(f) if schema_rule_exists(&f.code) => {}
                Err(f) => return Err(f),
            }
        }
        SCHEMA_READY.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// The discovery document (`neo4j_version`, `neo4j_edition`).
    ///
    /// # Errors
    /// [`QueryFailure`] when unreachable or not JSON.
    pub async fn discovery(&self) -> Result<Value, QueryFailure> {
        let (status, body) = send(&self.target.discovery()).await?;
        serde_json::from_str(&body).map_err(|_| QueryFailure {
            class: crate::query::classify_status(status),
            status,
            code: format!("http_{status}"),
            message: body.chars().take(200).collect(),
        })
    }
}

async fn send(req: &HttpRequest) -> Result<(u16, String), QueryFailure> {
    let net = |e: worker::Error| network_failure(&e.to_string());
    let headers = Headers::new();
    for (k, v) in &req.headers {
        headers.set(k, v).map_err(net)?;
    }
    let mut init = RequestInit::new();
    init.with_method(if req.method == "GET" {
        Method::Get
    } else {
        Method::Post
    })
    .with_headers(headers);
    if !req.body.is_empty() {
        init.with_body(Some(JsValue::from_str(&req.body)));
    }
    let request = Request::new_with_init(&req.url, &init).map_err(net)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    worker::wasm_bindgen_futures::spawn_local(async move {
        Delay::from(CALL_TIMEOUT).await;
        controller.abort();
    });
    let mut response = Fetch::Request(request)
        .send_with_signal(&signal)
        .await
        .map_err(|e| {
            if signal.aborted() {
                network_failure(&format!(
                    "Neo4j did not answer within {} s",
                    CALL_TIMEOUT.as_secs()
                ))
            } else {
                net(e)
            }
        })?;
    let status = response.status_code();
    let body = response.text().await.map_err(net)?;
    Ok((status, body))
}
