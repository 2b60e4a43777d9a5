//! `AccountDO`: one per exchange account (API key) or per public egress. Every exchange request
//! of the bots sharing that account passes through it, so they share one rate-limit budget and
//! one ban state (docs/design.md invariant 6): it admits the request against the
//! [`AccountLimiter`], sends it, and feeds the response's usage headers back into the limiter.
//! A 418 ban stops every bot on the account until it ends; nobody retries into it.
#![allow(missing_docs)] // `#[durable_object]` generates undocumented wasm-bindgen glue.

use crate::db::{text, Db, WriteBatch};
use crate::http::{json, read_json, respond, ApiError};
use futures_util::future::{select, Either};
use keel_engine::venue::{
    limiter_config, live_venue, AccountLimiter, Admit, HttpRequest, HttpResponse, VenueOp,
    VenueSpec,
};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::time::Duration;
use worker::{
    durable_object, DurableObject, Env, Fetch, Method, Request, RequestInit, Response, Result,
    State,
};

/// Longest the account waits for budget before telling the bot to come back later.
const MAX_INLINE_WAIT_MS: i64 = 1_000;
/// Longest an exchange request may take before its outcome is treated as unknown.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Body of `POST /send`.
#[derive(Debug, Serialize, Deserialize)]
pub struct SendRequest {
    /// Which venue (to price the op and read its usage headers).
    pub spec: VenueSpec,
    /// The operation (priced by the venue).
    pub op: VenueOp,
    /// The request to send verbatim.
    pub request: HttpRequest,
}

/// Answer of `POST /send`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum SendOutcome {
    /// The exchange answered.
    Answered {
        /// The response.
        response: HttpResponse,
        /// ms between sending and receiving.
        latency_ms: u64,
    },
    /// The connection failed before any answer (safe to try another host).
    ConnectFailed {
        /// Error text.
        message: String,
    },
    /// Sent, but no answer within [`REQUEST_TIMEOUT`]: the outcome is unknown.
    TimedOut,
    /// Budget exhausted: try after `ms`.
    Wait {
        /// ms.
        ms: i64,
    },
    /// Banned until `until_ms`.
    Banned {
        /// Local ms.
        until_ms: i64,
    },
}

/// One exchange account's Durable Object.
#[durable_object]
pub struct AccountDO {
    db: Db,
    limiter: RefCell<Option<AccountLimiter>>,
}

impl std::fmt::Debug for AccountDO {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountDO")
    }
}

#[derive(Debug, Deserialize)]
struct KvRow {
    value: String,
}

impl DurableObject for AccountDO {
    fn new(state: State, _env: Env) -> Self {
        let db = Db::new(&state.storage());
        if let Err(e) = db.exec(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            vec![],
        ) {
            worker::console_error!("AccountDO schema: {e}");
        }
        Self {
            db,
            limiter: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let result = match (req.method(), req.path().as_str()) {
            (Method::Post, "/send") => self.send(&mut req).await,
            (Method::Get, "/state") => self.state_view(),
            _ => Err(ApiError::not_found("no_route", "AccountDO: no such route")),
        };
        respond(result)
    }
}

fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

impl AccountDO {
    fn limiter_for(&self, spec: &VenueSpec) -> std::result::Result<AccountLimiter, ApiError> {
        if let Some(l) = self.limiter.borrow().as_ref() {
            return Ok(l.clone());
        }
        let row: Option<KvRow> = self
            .db
            .row("SELECT value FROM kv WHERE key = 'limiter'", vec![])?;
        Ok(
            match row.and_then(|r| serde_json::from_str(&r.value).ok()) {
                Some(l) => l,
                None => AccountLimiter::new(limiter_config(spec.exchange, spec.market)),
            },
        )
    }

    fn save(&self, limiter: AccountLimiter) -> std::result::Result<(), ApiError> {
        let value =
            serde_json::to_string(&limiter).map_err(|e| ApiError::internal(e.to_string()))?;
        let mut b = WriteBatch::new();
        b.push(
            "INSERT INTO kv (key, value) VALUES ('limiter', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![text(value)],
        );
        self.db.commit(b)?;
        *self.limiter.borrow_mut() = Some(limiter);
        Ok(())
    }

    fn state_view(&self) -> std::result::Result<Response, ApiError> {
        let l = self.limiter.borrow().clone();
        let banned = l.as_ref().and_then(|l| l.banned_until(now_ms()));
        Ok(json(
            200,
            &serde_json::json!({"banned_until_ms": banned, "limiter": l}),
        )?)
    }

    async fn send(&self, req: &mut Request) -> std::result::Result<Response, ApiError> {
        let body: SendRequest = read_json(req).await?;
        let venue = live_venue(&body.spec);
        let cost = venue.cost(&body.op);
        let mut limiter = self.limiter_for(&body.spec)?;
        let mut waited = 0;
        loop {
            match limiter.admit(&cost, now_ms()) {
                Admit::Go => break,
                Admit::Wait { ms } if waited + ms <= MAX_INLINE_WAIT_MS => {
                    waited += ms;
                    worker::Delay::from(Duration::from_millis(ms.max(1) as u64)).await;
                }
                Admit::Wait { ms } => {
                    self.save(limiter)?;
                    return Ok(json(200, &SendOutcome::Wait { ms })?);
                }
                Admit::Banned { until_ms } => {
                    self.save(limiter)?;
                    return Ok(json(200, &SendOutcome::Banned { until_ms })?);
                }
            }
        }
        // The cost is counted before sending, so concurrent bots see it.
        self.save(limiter)?;
        let sent = now_ms();
        let outcome = match send_http(&body.request).await {
            Ok(Some(response)) => {
                let obs = venue.observe(&body.op, &response);
                let mut limiter = self.limiter_for(&body.spec)?;
                limiter.observe(&obs.usage, response.received_ms);
                self.save(limiter)?;
                SendOutcome::Answered {
                    latency_ms: (response.received_ms - sent).max(0) as u64,
                    response,
                }
            }
            Ok(None) => SendOutcome::TimedOut,
            Err(message) => SendOutcome::ConnectFailed { message },
        };
        Ok(json(200, &outcome)?)
    }
}

/// Sends a request with a timeout. `Ok(None)` = no answer in time (outcome unknown).
async fn send_http(request: &HttpRequest) -> std::result::Result<Option<HttpResponse>, String> {
    let mut init = RequestInit::new();
    let method = match request.method {
        keel_engine::venue::Method::Get => Method::Get,
        keel_engine::venue::Method::Post => Method::Post,
        keel_engine::venue::Method::Delete => Method::Delete,
    };
    init.with_method(method);
    let headers = worker::Headers::new();
    for (k, v) in &request.headers {
        headers.set(k, v).map_err(|e| e.to_string())?;
    }
    init.with_headers(headers);
    if !request.body.is_empty() {
        init.with_body(Some(request.body.clone().into()));
    }
    let req = Request::new_with_init(&request.url(), &init).map_err(|e| e.to_string())?;
    let fetch = Fetch::Request(req);
    let call = fetch.send();
    let timeout = worker::Delay::from(REQUEST_TIMEOUT);
    futures_util::pin_mut!(call);
    futures_util::pin_mut!(timeout);
    match select(call, timeout).await {
        Either::Left((Ok(mut resp), _)) => {
            let status = resp.status_code();
            let headers: Vec<(String, String)> = resp.headers().entries().collect();
            let body = resp.text().await.map_err(|e| e.to_string())?;
            Ok(Some(HttpResponse {
                status,
                headers,
                body,
                received_ms: now_ms(),
            }))
        }
        Either::Left((Err(e), _)) => {
            let msg = e.to_string();
            // workerd reports a reset after the request left as a network error too; only a
            // refused/unresolvable connection is a clean "not sent".
            if msg.contains("connect") || msg.contains("refused") || msg.contains("DNS") {
                Err(msg)
            } else {
                Ok(None)
            }
        }
        Either::Right(_) => Ok(None),
    }
}
