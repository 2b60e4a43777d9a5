//! The AccountDO's user-data stream: the I/O around the engine's [`StreamSession`] (every
//! decision is the session's, or [`keel_engine::venue::stream_account`]'s). One socket per
//! exchange account, open while a bot of the account used it in the last
//! [`stream_account::IDLE_AFTER_MS`]; a stream event wakes the bot that owns its client order id
//! through the bot's own `POST /control/tick` (its REST catch-up, the cron's path), so a fill is
//! booked by the one REST path, exactly once by trade id, whichever of the stream and the cron
//! sees it first. After every (re)connect, every bot of the account runs that catch-up before the
//! stream is trusted again (the session's gap recovery).
//!
//! A leaf module: the AccountDO calls it; it calls only the runtime and the engine.

use crate::db::{int, text, Db};
use futures_util::future::{join_all, select, Either};
use futures_util::StreamExt;
use keel_engine::venue::stream::Channel;
use keel_engine::venue::stream_account::{self, Routing};
use keel_engine::venue::stream_session::{Action, Phase, StreamSession};
use keel_engine::venue::{stream_venue, VenueSpec};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;
use worker::{Env, Method, Request, RequestInit, WebSocket, WebsocketEvent};

/// Longest the driver sleeps before looking again (so a stop or a new bot is seen within it).
const LOOK_AGAIN_MS: i64 = 1_000;
/// Client order ids older than this are forgotten (the cron's REST path still books them).
const OWNER_TTL_MS: i64 = 30 * 24 * 3_600_000;

/// What the stream needs to open, learnt from the calls the account relays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamConfig {
    /// The venue.
    pub spec: VenueSpec,
    /// REST base URL the bots call (`https://fapi.binance.com`, the simulator's `http://…`).
    pub rest_base: String,
    /// The account's API key (Binance USDⓈ-M creates its listenKey with it alone).
    pub api_key: String,
}

/// The stream's health, for the account's `/state` view (and `/health`, metrics, alerts).
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamView {
    /// `disabled` (not switched on for this account), `off` (no bot used the account lately),
    /// `needs_secret` (the venue signs its stream with the API secret, which only the bots
    /// hold), or the session's phase.
    pub state: String,
    /// Only a live stream whose gap was recovered is trusted (REST polling stays on regardless).
    pub trusted: bool,
    /// Age of the last frame, ms.
    pub last_message_age_ms: Option<i64>,
    /// Reconnects since the stream started.
    pub reconnects: u32,
    /// Gaps covered by the bots' REST catch-up.
    pub gaps_recovered: u32,
    /// Frames that did not parse.
    pub parse_errors: u32,
    /// Why the exchange refused, while refused.
    pub refused: Option<String>,
    /// Order/fill/trigger/funding events received.
    pub events: u64,
    /// Bot catch-ups the stream triggered (events and gap recoveries).
    pub bot_wakes: u64,
    /// Events no client order id of a known bot claimed (they woke every bot).
    pub unclaimed: u64,
    /// Bots known to trade on the account.
    pub bots: usize,
}

/// Shared between the Durable Object's requests and the stream's task.
#[derive(Debug)]
struct Hub {
    config: Option<StreamConfig>,
    session: StreamSession,
    running: bool,
    last_use_ms: Option<i64>,
    bots: BTreeSet<String>,
    owners: BTreeMap<String, String>,
    /// Bots whose catch-up is running -> another one is wanted after it.
    waking: BTreeMap<String, bool>,
    events: u64,
    bot_wakes: u64,
    unclaimed: u64,
    needs_secret: bool,
    recovering: bool,
    /// Switched on for this account (`POST /stream`), or for all by `KEEL_USER_STREAMS=on`.
    enabled: bool,
}

/// The account's stream (cheap to clone: one shared state).
#[derive(Debug, Clone)]
pub struct AccountStream {
    hub: Rc<RefCell<Hub>>,
    db: Db,
}

fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

#[derive(Debug, Deserialize)]
struct OwnerRow {
    client_order_id: String,
    bot_id: String,
}

impl AccountStream {
    /// The stream of the account whose storage is `db` (tables created here).
    pub fn new(db: Db) -> Self {
        if let Err(e) = db.exec(
            "CREATE TABLE IF NOT EXISTS stream_owners (client_order_id TEXT PRIMARY KEY, bot_id TEXT NOT NULL, at_ms INTEGER NOT NULL)",
            vec![],
        ) {
            worker::console_error!("AccountDO stream schema: {e}");
        }
        let mut seed_bytes = [0u8; 8];
        if getrandom::getrandom(&mut seed_bytes).is_err() {
            seed_bytes = now_ms().to_le_bytes();
        }
        let seed = u64::from_le_bytes(seed_bytes);
        let mut owners = BTreeMap::new();
        let cutoff = now_ms().saturating_sub(OWNER_TTL_MS);
        let _ = db.exec(
            "DELETE FROM stream_owners WHERE at_ms < ?",
            vec![int(cutoff)],
        );
        if let Ok(rows) =
            db.rows::<OwnerRow>("SELECT client_order_id, bot_id FROM stream_owners", vec![])
        {
            for r in rows {
                owners.insert(r.client_order_id, r.bot_id);
            }
        }
        let config = db
            .row::<KvRow>("SELECT value FROM kv WHERE key = 'stream_config'", vec![])
            .ok()
            .flatten()
            .and_then(|r| serde_json::from_str(&r.value).ok());
        let enabled = db
            .row::<KvRow>("SELECT value FROM kv WHERE key = 'stream_enabled'", vec![])
            .ok()
            .flatten()
            .is_some_and(|r| r.value == "true");
        Self {
            hub: Rc::new(RefCell::new(Hub {
                config,
                session: StreamSession::new(seed),
                running: false,
                last_use_ms: None,
                bots: BTreeSet::new(),
                owners,
                waking: BTreeMap::new(),
                events: 0,
                bot_wakes: 0,
                unclaimed: 0,
                needs_secret: false,
                recovering: false,
                enabled,
            })),
            db,
        }
    }

    /// A bot relayed an exchange call: remember who owns its client order ids, learn the
    /// stream's config, and start the stream if it is not running.
    pub fn relayed(
        &self,
        env: &Env,
        bot: &str,
        spec: &VenueSpec,
        op: &keel_engine::venue::VenueOp,
        request: &keel_engine::venue::HttpRequest,
        known_bots: &BTreeSet<String>,
    ) {
        let now = now_ms();
        let ids = stream_account::client_ids(op);
        {
            let mut hub = self.hub.borrow_mut();
            // Calls of the catch-ups the stream itself triggered do not keep it open.
            if !hub.recovering && !hub.waking.contains_key(bot) {
                hub.last_use_ms = Some(now);
            }
            hub.bots.clone_from(known_bots);
            for id in &ids {
                if hub.owners.get(id).map(String::as_str) != Some(bot) {
                    hub.owners.insert(id.clone(), bot.to_string());
                    let _ = self.db.exec(
                        "INSERT INTO stream_owners (client_order_id, bot_id, at_ms) VALUES (?, ?, ?) ON CONFLICT(client_order_id) DO UPDATE SET bot_id = excluded.bot_id, at_ms = excluded.at_ms",
                        vec![text(id.as_str()), text(bot), int(now)],
                    );
                }
            }
            if !stream_account::opens_with_key_only(spec) {
                hub.needs_secret = true;
                return;
            }
            let Some(api_key) = stream_account::api_key_of(spec.exchange, request) else {
                return;
            };
            let config = StreamConfig {
                spec: spec.clone(),
                rest_base: request.base_url.clone(),
                api_key,
            };
            if hub.config.as_ref() != Some(&config) {
                if let Ok(v) = serde_json::to_string(&config) {
                    let _ = self.db.exec(
                        "INSERT INTO kv (key, value) VALUES ('stream_config', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        vec![text(v)],
                    );
                }
                hub.config = Some(config);
            }
        }
        self.ensure_running(env);
    }

    /// Switches the stream on or off for this account (stored; off closes it at the next look).
    ///
    /// # Errors
    /// Storage failures.
    pub fn set_enabled(&self, env: &Env, on: bool) -> Result<(), crate::db::DbError> {
        self.db.exec(
            "INSERT INTO kv (key, value) VALUES ('stream_enabled', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![text(if on { "true" } else { "false" })],
        )?;
        self.hub.borrow_mut().enabled = on;
        if on {
            self.ensure_running(env);
        }
        Ok(())
    }

    /// Whether the stream is switched on for this account (its own switch or
    /// `KEEL_USER_STREAMS=on`): while it is off, the order path does no stream bookkeeping.
    pub fn is_on(&self, env: &Env) -> bool {
        self.hub.borrow().enabled
            || env
                .var("KEEL_USER_STREAMS")
                .is_ok_and(|v| v.to_string() == "on")
    }

    /// Starts the stream's task unless it runs (or nobody wants it, or it cannot open).
    pub fn ensure_running(&self, env: &Env) {
        let everywhere = env
            .var("KEEL_USER_STREAMS")
            .is_ok_and(|v| v.to_string() == "on");
        {
            let mut hub = self.hub.borrow_mut();
            hub.enabled |= everywhere;
            if hub.running
                || !hub.enabled
                || hub.config.is_none()
                || !stream_account::wanted(hub.last_use_ms, now_ms())
            {
                return;
            }
            hub.running = true;
            let keyed = hub.config.as_ref().is_some_and(|c| {
                stream_venue(&c.spec)
                    .stream_plan(&Channel::User { listen_key: None }, "", None, 0)
                    .is_ok_and(|p| p.needs_listen_key)
            });
            hub.session.start(keyed, now_ms());
        }
        let me = self.clone();
        let env = env.clone();
        worker::wasm_bindgen_futures::spawn_local(async move {
            me.run(&env).await;
            me.hub.borrow_mut().running = false;
        });
    }

    /// The stream's health.
    pub fn view(&self) -> StreamView {
        let hub = self.hub.borrow();
        let now = now_ms();
        let state = if !hub.enabled {
            "disabled".to_string()
        } else if hub.needs_secret && hub.config.is_none() {
            "needs_secret".to_string()
        } else if !hub.running {
            "off".to_string()
        } else {
            serde_json::to_value(hub.session.phase())
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        let h = &hub.session.health;
        StreamView {
            state,
            trusted: hub.running && hub.session.trusted(),
            last_message_age_ms: h.last_frame_ms.map(|t| now.saturating_sub(t).max(0)),
            reconnects: h.reconnects,
            gaps_recovered: h.gaps_recovered,
            parse_errors: h.parse_errors,
            refused: h.refused.clone(),
            events: hub.events,
            bot_wakes: hub.bot_wakes,
            unclaimed: hub.unclaimed,
            bots: hub.bots.len(),
        }
    }

    fn still_wanted(&self) -> bool {
        let hub = self.hub.borrow();
        hub.enabled && stream_account::wanted(hub.last_use_ms, now_ms())
    }

    fn poll(&self) -> Action {
        if !self.still_wanted() && self.hub.borrow().session.phase() != Phase::Idle {
            self.hub.borrow_mut().session.stop();
        }
        self.hub.borrow_mut().session.poll(now_ms())
    }

    /// The driver: performs the session's actions until it has nothing to do.
    async fn run(&self, env: &Env) {
        loop {
            match self.poll() {
                Action::Nothing => return,
                Action::WaitUntil { at_ms } => sleep_until(at_ms).await,
                Action::FetchListenKey | Action::KeepaliveListenKey => {
                    match self.listen_key().await {
                        Ok(k) => self.hub.borrow_mut().session.on_listen_key(k, now_ms()),
                        Err(e) => {
                            worker::console_error!("account stream: listenKey: {e}");
                            self.hub.borrow_mut().session.on_closed(now_ms());
                        }
                    }
                }
                Action::Connect => self.connected(env).await,
                // Not connected: nothing to send; a close is already done.
                Action::Send(_) | Action::Ping => {}
                Action::Close { .. } => self.hub.borrow_mut().session.on_closed(now_ms()),
                Action::RecoverGap { .. } => {
                    // Only reachable connected; treat as a lost connection.
                    self.hub.borrow_mut().session.on_closed(now_ms());
                }
            }
        }
    }

    async fn listen_key(&self) -> Result<String, String> {
        let Some(c) = self.hub.borrow().config.clone() else {
            return Err("no stream config".into());
        };
        let req = stream_account::listen_key_request(&c.rest_base, &c.api_key);
        let (status, body) = http(&req).await?;
        stream_account::parse_listen_key(status, &body).map_err(|e| e.to_string())
    }

    /// One connection: open, then serve the session's actions and the socket's frames until
    /// it closes (the session decides what follows).
    async fn connected(&self, env: &Env) {
        let Some(c) = self.hub.borrow().config.clone() else {
            self.hub.borrow_mut().session.on_closed(now_ms());
            return;
        };
        let venue = stream_venue(&c.spec);
        let channel = Channel::User {
            listen_key: self.hub.borrow().session.listen_key().map(str::to_string),
        };
        let base = stream_account::stream_base(&c.spec, &c.rest_base, true);
        let plan = match venue.stream_plan(&channel, &base, None, now_ms()) {
            Ok(p) => p,
            Err(e) => {
                worker::console_error!("account stream: plan: {e}");
                self.hub.borrow_mut().session.on_closed(now_ms());
                return;
            }
        };
        let ws = match worker::Url::parse(&plan.url) {
            Ok(url) => WebSocket::connect(url).await,
            Err(e) => Err(worker::Error::RustError(e.to_string())),
        };
        let ws = match ws {
            Ok(ws) => ws,
            Err(e) => {
                worker::console_error!("account stream: connect: {e}");
                self.hub.borrow_mut().session.on_closed(now_ms());
                return;
            }
        };
        let mut events = match ws.events() {
            Ok(ev) => ev,
            Err(e) => {
                worker::console_error!("account stream: events: {e}");
                self.hub.borrow_mut().session.on_closed(now_ms());
                return;
            }
        };
        if let Err(e) = ws.accept() {
            worker::console_error!("account stream: accept: {e}");
            self.hub.borrow_mut().session.on_closed(now_ms());
            return;
        }
        self.hub.borrow_mut().session.on_open(plan, now_ms());
        loop {
            match self.poll() {
                Action::Send(frame) => {
                    if ws.send_with_str(&frame).is_err() {
                        break;
                    }
                }
                Action::Ping => {
                    if let Some(p) = venue.ping_frame(now_ms()) {
                        if ws.send_with_str(&p).is_err() {
                            break;
                        }
                    }
                }
                Action::Close { reason } => {
                    let _ = ws.close(
                        Some(1000),
                        Some(reason.chars().take(100).collect::<String>()),
                    );
                    break;
                }
                Action::RecoverGap { .. } => {
                    let started = now_ms();
                    if self.recover_gap(env).await {
                        self.hub
                            .borrow_mut()
                            .session
                            .on_recovered(started, now_ms());
                    } else {
                        let _ = ws.close(Some(1000), Some("gap recovery failed"));
                        break;
                    }
                }
                Action::KeepaliveListenKey => {
                    if let Err(e) = self.listen_key().await {
                        worker::console_error!("account stream: listenKey keepalive: {e}");
                        let _ = ws.close(Some(1000), Some("listenKey keepalive failed"));
                        break;
                    }
                }
                Action::FetchListenKey | Action::Connect | Action::Nothing => {
                    let _ = ws.close(Some(1000), Some("restarting"));
                    break;
                }
                Action::WaitUntil { at_ms } => {
                    let wait = at_ms.saturating_sub(now_ms()).clamp(0, LOOK_AGAIN_MS);
                    let next = events.next();
                    let timer = worker::Delay::from(Duration::from_millis(wait as u64));
                    futures_util::pin_mut!(timer);
                    match select(next, timer).await {
                        Either::Left((Some(Ok(WebsocketEvent::Message(m))), _)) => {
                            if let Some(t) = m.text() {
                                self.on_text(env, venue.as_ref(), &channel, &t);
                            }
                        }
                        Either::Left((
                            Some(Ok(WebsocketEvent::Close(_))) | Some(Err(_)) | None,
                            _,
                        )) => break,
                        Either::Right(_) => {}
                    }
                }
            }
        }
        self.hub.borrow_mut().session.on_closed(now_ms());
    }

    fn on_text(
        &self,
        env: &Env,
        venue: &dyn keel_engine::venue::stream::StreamVenue,
        channel: &Channel,
        text: &str,
    ) {
        let now = now_ms();
        let routed = match venue.parse_frame(channel, text) {
            Ok(events) => self.hub.borrow_mut().session.on_frame(events, now),
            Err(_) => {
                self.hub.borrow_mut().session.on_parse_error(now);
                return;
            }
        };
        let routing = {
            let hub = self.hub.borrow();
            stream_account::route(&routed, |c| hub.owners.get(c).cloned())
        };
        if routing.events == 0 {
            return;
        }
        let targets = {
            let mut hub = self.hub.borrow_mut();
            hub.events = hub.events.saturating_add(u64::from(routing.events));
            if routing.everyone {
                hub.unclaimed = hub.unclaimed.saturating_add(1);
            }
            targets(&routing, &hub.bots)
        };
        for bot in targets {
            self.wake(env, bot);
        }
    }

    /// Runs `bot`'s catch-up now, or once more after the one running (events coalesce).
    fn wake(&self, env: &Env, bot: String) {
        {
            let mut hub = self.hub.borrow_mut();
            let running = hub.waking.contains_key(&bot);
            hub.waking.insert(bot.clone(), running);
            if running {
                return;
            }
        }
        let me = self.clone();
        let env = env.clone();
        worker::wasm_bindgen_futures::spawn_local(async move {
            loop {
                if let Err(e) = catch_up(&env, &bot).await {
                    worker::console_error!("account stream: waking bot {bot}: {e}");
                }
                let mut hub = me.hub.borrow_mut();
                hub.bot_wakes = hub.bot_wakes.saturating_add(1);
                if hub.waking.get(&bot).copied().unwrap_or(false) {
                    hub.waking.insert(bot.clone(), false);
                } else {
                    hub.waking.remove(&bot);
                    return;
                }
            }
        });
    }

    /// Every bot of the account runs its REST catch-up; true when all of them did (a bot that
    /// no longer exists counts as done).
    async fn recover_gap(&self, env: &Env) -> bool {
        let bots: Vec<String> = self.hub.borrow().bots.iter().cloned().collect();
        self.hub.borrow_mut().recovering = true;
        let results = join_all(bots.iter().map(|b| catch_up(env, b))).await;
        let n = u64::try_from(bots.len()).unwrap_or(u64::MAX);
        let mut hub = self.hub.borrow_mut();
        hub.recovering = false;
        hub.bot_wakes = hub.bot_wakes.saturating_add(n);
        results.iter().all(Result::is_ok)
    }
}

/// The bots a routing wakes (all known bots when an event is unclaimed).
fn targets(routing: &Routing, bots: &BTreeSet<String>) -> Vec<String> {
    if routing.everyone {
        bots.iter().cloned().collect()
    } else {
        routing.bots.iter().cloned().collect()
    }
}

#[derive(Debug, Deserialize)]
struct KvRow {
    value: String,
}

/// `POST /{bot}/control/tick` on the bot's Durable Object: its REST catch-up (open orders,
/// exchange-side exits, reconciliation when due), the same path as the cron's tick.
async fn catch_up(env: &Env, bot: &str) -> Result<(), String> {
    let stub = env
        .durable_object("BOT")
        .and_then(|ns| ns.get_by_name(bot))
        .map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    init.with_body(Some(
        serde_json::json!({"actor": "system", "kind": "stream"})
            .to_string()
            .into(),
    ));
    let headers = worker::Headers::new();
    headers
        .set("content-type", "application/json")
        .map_err(|e| e.to_string())?;
    init.with_headers(headers);
    let req = Request::new_with_init(&format!("https://bot/{bot}/control/tick"), &init)
        .map_err(|e| e.to_string())?;
    let resp = stub
        .fetch_with_request(req)
        .await
        .map_err(|e| e.to_string())?;
    match resp.status_code() {
        200 | 404 => Ok(()),
        s => Err(format!("tick answered {s}")),
    }
}

/// One plain REST call (the listenKey), with the account's request timeout.
async fn http(request: &keel_engine::venue::HttpRequest) -> Result<(u16, String), String> {
    let mut init = RequestInit::new();
    init.with_method(match request.method {
        keel_engine::venue::Method::Get => Method::Get,
        keel_engine::venue::Method::Post => Method::Post,
        keel_engine::venue::Method::Delete => Method::Delete,
    });
    let headers = worker::Headers::new();
    for (k, v) in &request.headers {
        headers.set(k, v).map_err(|e| e.to_string())?;
    }
    init.with_headers(headers);
    let req = Request::new_with_init(&request.url(), &init).map_err(|e| e.to_string())?;
    let fetch = worker::Fetch::Request(req);
    let call = fetch.send();
    let timeout = worker::Delay::from(Duration::from_secs(10));
    futures_util::pin_mut!(call);
    futures_util::pin_mut!(timeout);
    match select(call, timeout).await {
        Either::Left((Ok(mut resp), _)) => {
            let status = resp.status_code();
            let body = resp.text().await.map_err(|e| e.to_string())?;
            Ok((status, body))
        }
        Either::Left((Err(e), _)) => Err(e.to_string()),
        Either::Right(_) => Err("timed out".into()),
    }
}

async fn sleep_until(at_ms: i64) {
    let wait = at_ms.saturating_sub(now_ms()).clamp(0, LOOK_AGAIN_MS);
    worker::Delay::from(Duration::from_millis(wait as u64)).await;
}
