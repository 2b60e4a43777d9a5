//! `AccountDO`: one per exchange account (API key) or per public egress. Every exchange request
//! of the bots sharing that account passes through it, so they share one rate-limit budget and
//! one ban state (docs/design.md invariant 6): it admits the request against the
//! [`AccountLimiter`], sends it, and feeds the response's usage headers back into the limiter.
//! A 418 ban stops every bot on the account until it ends; nobody retries into it.
//!
//! It also knows every bot that trades on the key (each request names its bot), so it is where
//! an account-level amount is divided between them: a funding charge on the account's one net
//! position is split pro rata to each bot's position at the funding time
//! ([`keel_engine::ledger::split_funding`]), decided once and stored, so every bot books its own
//! share and the shares sum exactly to the exchange's charge.
#![allow(missing_docs)] // `#[durable_object]` generates undocumented wasm-bindgen glue.

use crate::account_stream::AccountStream;
use crate::db::{text, Db, WriteBatch};
use crate::http::{json, read_json, respond, ApiError};
use futures_util::future::{select, Either};
use keel_engine::ids::BotId;
use keel_engine::ledger::{split_funding, FundingPayment};
use keel_engine::venue::{
    limiter_config, live_venue, AccountLimiter, Admit, HttpRequest, HttpResponse, VenueOp,
    VenueSpec,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeSet;
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
    /// The bot sending it (registers the bot as trading on this account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotId>,
}

/// Body of `POST /funding/share`: a bot asks for its share of an account-level funding charge.
#[derive(Debug, Serialize, Deserialize)]
pub struct FundingShareRequest {
    /// This account's name (as the bots derive it), so other bots can confirm they trade on it.
    pub account: String,
    /// The asking bot.
    pub bot: BotId,
    /// Its signed position in the charge's symbol at the funding time.
    pub position: Decimal,
    /// The charge as the exchange reports it for the whole account.
    pub payment: FundingPayment,
}

/// A funding charge's split, decided once per exchange funding id and stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FundingSplit {
    /// The exchange's charge.
    pub payment: FundingPayment,
    /// Every bot's signed position at the funding time (bot id order).
    pub positions: Vec<(BotId, Decimal)>,
    /// The shares, summing exactly to the charge (bots with no position have none).
    pub shares: Vec<(BotId, FundingPayment)>,
    /// When it was decided (ms).
    pub decided_ms: i64,
}

/// A bot's answer to `GET /{bot}/funding/position`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PositionAnswer {
    /// Signed position at the time asked.
    pub position: Decimal,
    /// Whether the bot trades on the account named in the question (its key may have changed).
    pub on_account: bool,
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
    env: Env,
    limiter: RefCell<Option<AccountLimiter>>,
    /// Bots known to trade on this account (mirrors table `bots`).
    bots: RefCell<Option<BTreeSet<String>>>,
    /// The account's user-data stream (account_stream.rs; docs/streams.md).
    stream: AccountStream,
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
    fn new(state: State, env: Env) -> Self {
        let db = Db::new(&state.storage());
        for ddl in [
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS bots (bot_id TEXT PRIMARY KEY)",
            "CREATE TABLE IF NOT EXISTS funding_splits (funding_id TEXT PRIMARY KEY, body TEXT NOT NULL)",
        ] {
            if let Err(e) = db.exec(ddl, vec![]) {
                worker::console_error!("AccountDO schema: {e}");
            }
        }
        Self {
            stream: AccountStream::new(db.clone()),
            db,
            env,
            limiter: RefCell::new(None),
            bots: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let result = match (req.method(), req.path().as_str()) {
            (Method::Post, "/send") => self.send(&mut req).await,
            (Method::Get, "/state") => self.state_view(),
            (Method::Post, "/stream") => self.stream_switch(&mut req).await,
            (Method::Post, "/funding/share") => self.funding_share(&mut req).await,
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
            &serde_json::json!({"banned_until_ms": banned, "limiter": l, "stream": self.stream.view()}),
        )?)
    }

    /// `POST /stream` `{"enabled": bool}`: switches the account's user-data stream on or off
    /// (docs/streams.md), answering the account's view.
    async fn stream_switch(&self, req: &mut Request) -> std::result::Result<Response, ApiError> {
        #[derive(Deserialize)]
        struct Body {
            enabled: bool,
        }
        let body: Body = read_json(req).await?;
        self.stream.set_enabled(&self.env, body.enabled)?;
        self.state_view()
    }

    /// Records a bot as trading on this account (once; later calls are answered from memory).
    fn register(&self, bot: &BotId) -> std::result::Result<(), ApiError> {
        let known = self.known_bots()?;
        if known.contains(bot.as_str()) {
            return Ok(());
        }
        self.db.exec(
            "INSERT OR IGNORE INTO bots (bot_id) VALUES (?)",
            vec![text(bot.as_str())],
        )?;
        if let Some(set) = self.bots.borrow_mut().as_mut() {
            set.insert(bot.to_string());
        }
        Ok(())
    }

    fn known_bots(&self) -> std::result::Result<BTreeSet<String>, ApiError> {
        if let Some(set) = self.bots.borrow().as_ref() {
            return Ok(set.clone());
        }
        #[derive(Deserialize)]
        struct Row {
            bot_id: String,
        }
        let rows: Vec<Row> = self.db.rows("SELECT bot_id FROM bots", vec![])?;
        let set: BTreeSet<String> = rows.into_iter().map(|r| r.bot_id).collect();
        *self.bots.borrow_mut() = Some(set.clone());
        Ok(set)
    }

    fn stored_split(&self, id: &str) -> std::result::Result<Option<FundingSplit>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            body: String,
        }
        let row: Option<Row> = self.db.row(
            "SELECT body FROM funding_splits WHERE funding_id = ?",
            vec![text(id)],
        )?;
        row.map(|r| serde_json::from_str(&r.body))
            .transpose()
            .map_err(|e| ApiError::internal(format!("stored funding split: {e}")))
    }

    /// `POST /funding/share`: the split of one funding charge between the bots on this account
    /// (decided on the first question, from every known bot's position at the funding time, and
    /// stored: later questions get the same split, so the shares always sum to the charge).
    async fn funding_share(&self, req: &mut Request) -> std::result::Result<Response, ApiError> {
        let body: FundingShareRequest = read_json(req).await?;
        self.register(&body.bot)?;
        if let Some(split) = self.stored_split(&body.payment.id)? {
            return Ok(json(200, &split)?);
        }
        let mut positions = vec![(body.bot.clone(), body.position)];
        for other in self.known_bots()? {
            if other == body.bot.as_str() {
                continue;
            }
            let Ok(id) = BotId::new(other.clone()) else {
                continue;
            };
            let position = self.position_of(&id, &body).await?;
            positions.push((id, position));
        }
        positions.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        let shares = split_funding(&body.payment, &positions)
            .map_err(|e| ApiError::unprocessable("funding_unsplittable", e.to_string()))?;
        let split = FundingSplit {
            payment: body.payment.clone(),
            positions,
            shares,
            decided_ms: now_ms(),
        };
        let text_body =
            serde_json::to_string(&split).map_err(|e| ApiError::internal(e.to_string()))?;
        // Another bot may have decided it while this one was asking: the first stored wins.
        self.db.exec(
            "INSERT OR IGNORE INTO funding_splits (funding_id, body) VALUES (?, ?)",
            vec![text(body.payment.id.as_str()), text(text_body)],
        )?;
        let stored = self.stored_split(&body.payment.id)?.unwrap_or(split);
        Ok(json(200, &stored)?)
    }

    /// Another bot's signed position at the funding time, asked of its own Durable Object. A bot
    /// that no longer exists or now trades on another key holds nothing here; any other failure
    /// fails the split (the asking bot tries again at its next reconciliation).
    async fn position_of(
        &self,
        bot: &BotId,
        q: &FundingShareRequest,
    ) -> std::result::Result<Decimal, ApiError> {
        let unavailable = |e: String| {
            ApiError::unavailable("funding_split_unavailable", format!("bot {bot}: {e}"))
        };
        let stub = self
            .env
            .durable_object("BOT")
            .and_then(|ns| ns.get_by_name(bot.as_str()))
            .map_err(|e| unavailable(e.to_string()))?;
        let mut url =
            worker::Url::parse("https://bot/").map_err(|e| ApiError::internal(e.to_string()))?;
        url.set_path(&format!("/{bot}/funding/position"));
        url.query_pairs_mut()
            .append_pair("symbol", q.payment.symbol.as_str())
            .append_pair("time_ms", &q.payment.time_ms.to_string())
            .append_pair("account", &q.account);
        let mut resp = stub
            .fetch_with_str(url.as_str())
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        match resp.status_code() {
            200 => {
                let a: PositionAnswer =
                    resp.json().await.map_err(|e| unavailable(e.to_string()))?;
                Ok(if a.on_account {
                    a.position
                } else {
                    Decimal::ZERO
                })
            }
            404 => Ok(Decimal::ZERO),
            status => Err(unavailable(format!(
                "answered {status}: {}",
                resp.text().await.unwrap_or_default()
            ))),
        }
    }

    async fn send(&self, req: &mut Request) -> std::result::Result<Response, ApiError> {
        let body: SendRequest = read_json(req).await?;
        if let Some(bot) = &body.bot {
            self.register(bot)?;
        }
        // Stream bookkeeping (owners of client order ids, the key to open with) only while the
        // stream is on: an account without it pays no query or write per order for it. Orders
        // placed before it was switched on are covered by the catch-up every (re)connect runs.
        if let Some(bot) = body.bot.as_ref().filter(|_| self.stream.is_on(&self.env)) {
            let known = self.known_bots()?;
            self.stream.relayed(
                &self.env,
                bot.as_str(),
                &body.spec,
                &body.op,
                &body.request,
                &known,
            );
        }
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
                limiter.observe(&obs.usage, sent, response.received_ms);
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
