//! `BotDO`: one per bot. The only writer of the bot's state (config, flags, orders, fills,
//! positions, ledger, audit chain). Requests arrive as `https://do/{bot_id}/{op}` from the edge.
//! Every state change goes through a [`store::Journal`] so it commits together with its audit
//! event; the alarm ships the audit outbox to neo4j-proxy.
//!
//! The submodules are layered one way: each uses only modules listed before it here, so there
//! is no import circle (`node scripts/check-layers.ts`, in `npm test`, keeps it so).
//! 1. storage, config and bookkeeping: `store`, `platform_state`, `interrupted`, `config`,
//!    `credentials`, `ledger`, `refusals`, `alerts`, `outbox`, `secrets`, `metrics`, `summary`,
//!    `retention`, `audit_verify`, `analytics` (the ledger's entries and equity through
//!    `keel_engine::analytics`);
//! 2. the exchange link and what reads through it: `exchange` (the `Link` and its persistence),
//!    `limits` (auto-pause), `facts` (price, rules, fee valuations), `funding`, `market`;
//! 3. execution: `protection` (exit triggers), `orders`, `exit_cancel`, `reconcile`;
//! 4. entry points: `signal`, `strategy`, `controls`, `book_views`, `views`, `admin`.
#![allow(missing_docs)] // `#[durable_object]` generates undocumented wasm-bindgen glue.

mod admin;
pub mod alerts;
mod analytics;
mod audit_verify;
mod book_views;
mod config;
pub mod controls;
mod credentials;
mod drift;
mod exchange;
mod exit_cancel;
mod facts;
mod funding;
mod interrupted;
mod ledger;
mod limits;
mod market;
mod metrics;
mod orders;
mod outbox;
mod platform_state;
mod protection;
mod reconcile;
mod refusals;
mod regime;
mod retention;
mod secrets;
pub mod shadow;
mod shadow_feed;
mod signal;
pub mod store;
mod strategy;
mod summary;
mod views;

use crate::db::Db;
use crate::http::{respond, ApiError};
use keel_engine::audit::AuditChain;
use keel_engine::ids::BotId;
use serde::Deserialize;
use std::cell::RefCell;
use store::{kv_get, load_chain, Journal, StoreError, SCHEMA};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

/// Operational flags of a bot (design: pause/halt/needs_attention), kept under `flags`: the bot
/// machine's type (one definition; the stored field names are unchanged).
pub use keel_engine::bot::machine::Flags;

/// What the object keeps in memory between requests (rebuilt from storage on start).
#[derive(Debug)]
struct Loaded {
    bot_id: BotId,
    chain: AuditChain,
}

/// One bot's Durable Object.
#[durable_object]
pub struct BotDO {
    state: State,
    env: Env,
    db: Db,
    loaded: RefCell<Option<Loaded>>,
    ledger: RefCell<Option<keel_engine::ledger::Ledger>>,
    /// Serialises the bot's trading work (signals, flatten, tick, reconciliation): requests of
    /// one object interleave at every await, and two executions must never race on the same
    /// positions, paper book or exchange state. Reads and admin writes do not take it.
    exec: futures_util::lock::Mutex<()>,
    /// Refusals of unauthenticated webhooks counted in the current minute (see `refusals`).
    refusals: RefCell<refusals::Refusals>,
    /// When the platform's halt state was last confirmed from the ControlDO (`platform_state`).
    platform_checked_ms: std::cell::Cell<i64>,
    /// Client order ids this instance is sending right now. An order stored as `sent` that is
    /// not in here lost its answer with the instance that sent it (a crash, an eviction) and is
    /// resolved by its client id on the next refresh (`keel_engine::order::refresh_action`).
    in_flight: RefCell<std::collections::BTreeSet<String>>,
    /// Signal ids this instance is executing right now. A signal stored as `processing` that is
    /// not in here lost its execution with the instance (a crash, an eviction) and gets its
    /// outcome on the next refresh (`keel_engine::order::interrupted_signal`).
    live_signals: RefCell<std::collections::BTreeSet<String>>,
}

/// Marks a client order id as sent (or a signal id as executed) by a live execution of this
/// instance until dropped (also on an early `?` return), so the refresh never mistakes it for an
/// order whose answer was lost or a signal whose execution died.
pub(crate) struct InFlight<'a> {
    set: &'a RefCell<std::collections::BTreeSet<String>>,
    key: String,
}

impl<'a> InFlight<'a> {
    fn new(bot: &'a BotDO, coid: &str) -> Self {
        Self::mark(&bot.in_flight, coid)
    }

    /// A signal id being executed by this instance.
    fn signal(bot: &'a BotDO, signal_id: &str) -> Self {
        Self::mark(&bot.live_signals, signal_id)
    }

    fn mark(set: &'a RefCell<std::collections::BTreeSet<String>>, key: &str) -> Self {
        set.borrow_mut().insert(key.to_string());
        Self {
            set,
            key: key.to_string(),
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.set.borrow_mut().remove(&self.key);
    }
}

impl BotDO {
    /// True when a live execution of this instance is sending the order right now.
    fn is_in_flight(&self, coid: &str) -> bool {
        self.in_flight.borrow().contains(coid)
    }

    /// True when a live execution of this instance is processing the signal right now.
    fn is_live_signal(&self, signal_id: &str) -> bool {
        self.live_signals.borrow().contains(signal_id)
    }
}

impl std::fmt::Debug for BotDO {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotDO")
    }
}

impl DurableObject for BotDO {
    fn new(state: State, env: Env) -> Self {
        // The schema is created by the first config write only, so requests naming unknown bots
        // (typos, scans) leave no storage behind.
        let db = Db::new(&state.storage());
        Self {
            state,
            env,
            db,
            loaded: RefCell::new(None),
            ledger: RefCell::new(None),
            exec: futures_util::lock::Mutex::new(()),
            refusals: RefCell::new(refusals::Refusals::default()),
            platform_checked_ms: std::cell::Cell::new(0),
            in_flight: RefCell::new(std::collections::BTreeSet::new()),
            live_signals: RefCell::new(std::collections::BTreeSet::new()),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let method = req.method();
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let bot = parts.next().unwrap_or_default().to_string();
        let op = format!("/{}", parts.next().unwrap_or_default());
        let query = req.url().ok().and_then(|u| u.query().map(String::from));
        let result = match BotId::new(bot.clone()) {
            Ok(id) => {
                self.route(&mut req, &method, &op, query.as_deref(), id)
                    .await
            }
            Err(e) => Err(ApiError::not_found(
                "unknown_bot",
                format!("no bot {bot:?}: {e}"),
            )),
        };
        respond(result)
    }

    async fn alarm(&self) -> Result<Response> {
        if let Err(e) = outbox::ship(self).await {
            // A storage error is transient: try again shortly instead of waiting for the next
            // event to schedule the alarm.
            worker::console_error!("outbox: {e}");
            let _ = self
                .state
                .storage()
                .set_alarm(std::time::Duration::from_millis(5_000))
                .await;
        }
        if let Err(e) = refusals::flush(self).await {
            worker::console_error!("refusals: {}", e.message);
        }
        match retention::prune(self).await {
            Ok(Some((first, last))) => {
                worker::console_log!("retention: archived and pruned audit seqs {first}..={last}")
            }
            Ok(None) => {}
            Err(e) => worker::console_error!("retention: {}", e.message),
        }
        if let Err(e) = retention::prune_signals(self) {
            worker::console_error!("signals retention: {}", e.message);
        }
        match alerts::deliver(self).await {
            Ok(Some(retry_ms)) => {
                let storage = self.state.storage();
                if !matches!(storage.get_alarm().await, Ok(Some(_))) {
                    let _ = storage
                        .set_alarm(std::time::Duration::from_millis(retry_ms))
                        .await;
                }
            }
            Ok(None) => {}
            Err(e) => worker::console_error!("alerts: {}", e.message),
        }
        strategy::on_alarm(self).await;
        Response::ok("ok")
    }
}

impl BotDO {
    async fn route(
        &self,
        req: &mut Request,
        method: &Method,
        op: &str,
        query: Option<&str>,
        bot_id: BotId,
    ) -> std::result::Result<Response, ApiError> {
        if !self.initialized()? {
            if (method, op) != (&Method::Post, "/config") {
                return Err(ApiError::not_found(
                    "unknown_bot",
                    format!("no bot {:?}", bot_id.as_str()),
                ));
            }
            for ddl in SCHEMA.iter().chain(std::iter::once(&ledger::SCHEMA)) {
                self.db.exec(ddl, vec![])?;
            }
        }
        self.ensure_loaded(&bot_id)?;
        match (method, op) {
            (Method::Post, "/signal") => signal::handle(self, req).await,
            (Method::Post, "/config") => admin::create(self, req).await,
            (Method::Get, "/config") => admin::read(self),
            (Method::Get, "/config/versions") => admin::versions(self),
            (Method::Patch, "/config") => admin::patch(self, req).await,
            (Method::Delete, "/config") => admin::delete(self, req).await,
            (Method::Put, "/credentials") => admin::credentials(self, req).await,
            (Method::Post, "/control/rotate-credentials") => {
                admin::rotate_credentials(self, req).await
            }
            (Method::Post, "/control/rotate-webhook-secret") => {
                secrets::rotate_webhook_secret(self, req).await
            }
            (Method::Post, "/capital") => admin::capital(self, req).await,
            (Method::Post, "/control/reconcile") => reconcile::handle(self, req).await,
            (Method::Get, "/funding/position") => funding::position_route(self, query),
            (Method::Post, "/control/pause") => admin::pause(self, req, true).await,
            (Method::Post, "/control/resume") => admin::pause(self, req, false).await,
            (Method::Post, "/control/halt") => admin::halt(self, req).await,
            (Method::Post, "/control/flatten") => controls::flatten_route(self, req).await,
            (Method::Post, "/control/tick") => controls::tick(self, req).await,
            (Method::Post, "/control/strategy") => strategy::run_route(self).await,
            (Method::Get, "/view/strategy") => strategy::view(self),
            (Method::Get, "/view/shadow") => shadow::view(self),
            (Method::Get, "/view/regime") => regime::view(self),
            (Method::Get, "/view/drift") => drift::view(self),
            (Method::Post, "/shadow/attach") => shadow::attach(self, req).await,
            (Method::Post, "/shadow/link") => shadow::link(self, req).await,
            (Method::Post, "/shadow/signal") => shadow::signal(self, req).await,
            (Method::Post, "/control/promote") => shadow::promote(self, req).await,
            (Method::Get, "/view/market") => market::view(self, query).await,
            (Method::Post, "/edge-rejection") => admin::edge_rejection(self, req).await,
            (Method::Get, view) if view.starts_with("/view/") => {
                views::render(self, &view["/view/".len()..], query)
            }
            _ => Err(ApiError::not_found(
                "no_route",
                format!("BotDO: no route {method:?} {op}"),
            )),
        }
    }

    fn initialized(&self) -> std::result::Result<bool, ApiError> {
        #[derive(Deserialize)]
        struct N {
            n: i64,
        }
        let n: Option<N> = self.db.row(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'kv'",
            vec![],
        )?;
        Ok(n.map(|n| n.n > 0).unwrap_or(false))
    }

    fn ensure_loaded(&self, bot_id: &BotId) -> std::result::Result<(), ApiError> {
        let mut slot = self.loaded.borrow_mut();
        if slot.as_ref().map(|l| &l.bot_id) == Some(bot_id) {
            return Ok(());
        }
        let chain = load_chain(&self.db, bot_id.clone())?;
        *slot = Some(Loaded {
            bot_id: bot_id.clone(),
            chain,
        });
        Ok(())
    }

    fn bot_id(&self) -> std::result::Result<BotId, ApiError> {
        self.loaded
            .borrow()
            .as_ref()
            .map(|l| l.bot_id.clone())
            .ok_or_else(|| ApiError::internal("bot not loaded"))
    }

    /// A journal on the current chain, redacting this bot's secrets.
    fn journal(&self) -> std::result::Result<Journal, ApiError> {
        let slot = self.loaded.borrow();
        let loaded = slot
            .as_ref()
            .ok_or_else(|| ApiError::internal("bot not loaded"))?;
        let redactor = secrets::redactor(self)?;
        let mode = kv_get::<serde_json::Value>(&self.db, "config")?
            .and_then(|c| serde_json::from_value(c["config"]["mode"].clone()).ok());
        Ok(Journal::new(&loaded.chain, redactor).with_mode(mode))
    }

    /// Commits a journal, advances the in-memory chain, and makes sure the outbox alarm runs.
    async fn commit(&self, journal: Journal) -> std::result::Result<(), ApiError> {
        let chain = journal.commit(&self.db).map_err(ApiError::from)?;
        if let Some(l) = self.loaded.borrow_mut().as_mut() {
            l.chain = chain;
        }
        outbox::schedule(self).await;
        Ok(())
    }

    fn flags(&self) -> std::result::Result<Flags, StoreError> {
        Ok(kv_get::<Flags>(&self.db, "flags")?.unwrap_or_default())
    }
}

/// Milliseconds since the epoch, from the runtime clock (the only clock read of the bot).
pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}
