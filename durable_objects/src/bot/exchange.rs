//! The bot's link to its exchange: builds signed requests with the venue adapter, sends them
//! through the account's `AccountDO` (shared rate-limit budget and ban state), feeds the circuit
//! breaker and server clock, follows the retry policy of `keel_engine::venue` (resync the clock
//! once on a timestamp error, honour `Retry-After`, fail over to alternate hosts when a
//! connection cannot be opened) and resolves ambiguous order outcomes by querying the client
//! order id — never by resending. Every request and response is recorded as an audit draft.

use super::store::Journal;
use super::{now_ms, BotDO};
use crate::account::{SendOutcome, SendRequest};
use crate::http::ApiError;
use keel_engine::audit::{Actor, AuditDraft, AuditEvent};
use keel_engine::config::BotConfig;
use keel_engine::ids::{ClientOrderId, SignalId, Symbol};
use keel_engine::model::BotMode;
use keel_engine::venue::paper::{PaperConfig, PaperVenue};
use keel_engine::venue::{
    live_venue, retry_decision, AmbiguousOrder, BaseUrls, BuildCtx, CallOutcome, CircuitBreaker,
    CircuitConfig, Credentials, Environment, HttpRequest, Permit, Planned, Resolution,
    RetryDecision, ServerClock, Venue, VenueError, VenueOp, VenueReply, VenueSpec,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use worker::{Method, Request, RequestInit};

/// Longest the bot sleeps inline for a rate-limit or clock retry.
const MAX_INLINE_SLEEP_MS: i64 = 1_500;
/// Attempts per operation (first try + retries).
const MAX_ATTEMPTS: u32 = 4;
/// Queries made to settle an order answered without fills (status, then trades).
const SETTLE_QUERIES: u32 = 4;
/// Pause between settle queries.
const SETTLE_PAUSE_MS: i64 = 150;
/// How far before the placement the trade read starts (clock error margin).
const SETTLE_LOOKBACK_MS: i64 = 5_000;

/// Per-bot exchange state kept under `venue_state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VenueState {
    /// Server clock offset.
    pub clock: ServerClock,
    /// Circuit breaker of this exchange as seen by the bot.
    pub circuit: CircuitBreaker,
    /// Hosts in failover order.
    pub urls: BaseUrls,
}

/// Why a call failed, beyond the venue's own errors.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The exchange (or the rules) said no, or it could not be reached.
    #[error(transparent)]
    Venue(#[from] VenueError),
    /// The circuit is open: entries are refused until `retry_at_ms`.
    #[error("exchange circuit open until {retry_at_ms}")]
    CircuitOpen {
        /// When a probe is allowed.
        retry_at_ms: i64,
    },
    /// An order was sent but its outcome is still unknown after querying.
    #[error("order {client_order_id} outcome unknown: {reason}")]
    Unknown {
        /// The order.
        client_order_id: ClientOrderId,
        /// Why it is unknown.
        reason: String,
    },
    /// Infrastructure failure (AccountDO unreachable, bad answer).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        match &e {
            CallError::CircuitOpen { .. } => ApiError::unavailable("circuit_open", e.to_string()),
            CallError::Venue(
                VenueError::Unavailable { .. }
                | VenueError::Banned { .. }
                | VenueError::RateLimited { .. },
            ) => ApiError::unavailable("exchange_unavailable", e.to_string()),
            CallError::Venue(v) => ApiError::unprocessable("exchange_rejected", v.to_string()),
            CallError::Unknown { .. } => {
                ApiError::unavailable("order_outcome_unknown", e.to_string())
            }
            CallError::Internal(m) => ApiError::internal(m.clone()),
        }
    }
}

/// A live link to the bot's exchange for one request's worth of work.
pub struct Link<'a> {
    bot: &'a BotDO,
    spec: VenueSpec,
    venue: Box<dyn Venue>,
    creds: Option<Credentials>,
    account: String,
    bot_id: keel_engine::ids::BotId,
    /// State to persist after the work (clock, circuit, hosts).
    pub state: VenueState,
    /// Audit drafts of every request and response, in order.
    pub trail: Vec<AuditDraft>,
    /// Correlation for the drafts.
    pub actor: Actor,
    /// Paper mode: the in-process venue that fills orders (market data still comes from the
    /// exchange's public endpoints).
    pub paper: Option<PaperVenue>,
    /// Fills the paper venue produced while its prices moved (resting limits), to be booked.
    pub pending_fills: Vec<keel_engine::model::Fill>,
}

impl std::fmt::Debug for Link<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Link({:?})", self.spec)
    }
}

fn environment(mode: BotMode) -> Environment {
    match mode {
        BotMode::Live | BotMode::Paper => Environment::Live,
        BotMode::Testnet => Environment::Testnet,
    }
}

/// The venue spec of a bot.
pub fn spec_of(config: &BotConfig) -> VenueSpec {
    VenueSpec {
        exchange: config.exchange,
        market: config.market,
        recv_window_ms: 5_000,
    }
}

impl<'a> Link<'a> {
    /// Opens the link: loads state, credentials (when stored) and the account name.
    ///
    /// # Errors
    /// Storage or credential failures.
    pub fn open(bot: &'a BotDO, config: &BotConfig, actor: Actor) -> Result<Self, ApiError> {
        let spec = spec_of(config);
        // Hosts are resolved from the config on every open and compared with the stored list:
        // a change of base URL, mode, exchange or market takes effect on the next request, and a
        // stored host never outlives the config that chose it (its clock offset and circuit
        // belonged to the old host, so they start afresh too).
        let fresh = BaseUrls::resolve(
            config.exchange,
            config.market,
            environment(config.mode),
            config.base_url.as_deref(),
        );
        let state = match super::store::kv_get::<VenueState>(&bot.db, "venue_state")? {
            Some(s) if s.urls.all() == fresh.all() => s,
            _ => VenueState {
                clock: ServerClock::new(),
                circuit: CircuitBreaker::new(CircuitConfig::default()),
                urls: fresh,
            },
        };
        let creds = super::credentials::open_credentials(bot)?
            .map(|c| Credentials::new(c.api_key, c.api_secret));
        let key_part = match &creds {
            Some(c) => hex::encode(&Sha256::digest(c.api_key.as_bytes())[..8]),
            None => "public".to_string(),
        };
        let account = format!(
            "{:?}-{:?}-{}-{}",
            spec.exchange,
            spec.market,
            state.urls.current(),
            key_part
        );
        let paper = match config.mode {
            BotMode::Paper => Some(
                match super::store::kv_get::<PaperVenue>(&bot.db, "paper")? {
                    Some(p) => p,
                    None => {
                        let mut p = PaperVenue::new(PaperConfig {
                            exchange: spec.exchange,
                            market: spec.market,
                            taker_fee_rate: PAPER_TAKER_FEE,
                            maker_fee_rate: PAPER_MAKER_FEE,
                            slippage_bps: PAPER_SLIPPAGE_BPS,
                        });
                        p.deposit(&super::ledger::quote_asset(config), PAPER_CAPITAL);
                        p
                    }
                },
            ),
            _ => None,
        };
        Ok(Self {
            bot,
            venue: live_venue(&spec),
            spec,
            creds,
            account,
            bot_id: config.id.clone(),
            state,
            trail: Vec::new(),
            actor,
            paper,
            pending_fills: Vec::new(),
        })
    }

    /// The name of the account's Durable Object (exchange, market, host, key digest): bots with
    /// the same name share one exchange account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The exchange's notion of now.
    pub fn server_now(&self) -> i64 {
        self.state.clock.server_now(now_ms())
    }

    /// Feeds the paper venue the latest rules and price (resting paper orders may fill).
    pub fn prime_paper(
        &mut self,
        rules: &keel_engine::model::InstrumentRules,
        price: rust_decimal::Decimal,
    ) {
        if let Some(p) = self.paper.as_mut() {
            p.set_rules(rules.clone());
            let fills = p.set_price(&rules.symbol, price, now_ms());
            self.pending_fills.extend(fills);
        }
    }

    /// Performs one operation with the full retry policy.
    ///
    /// # Errors
    /// [`CallError`].
    pub async fn call(&mut self, op: &VenueOp) -> Result<VenueReply, CallError> {
        if let Some(paper) = self.paper.as_mut() {
            if routes_to_paper(op) {
                let base = self.state.urls.current().to_string();
                let ctx = BuildCtx {
                    creds: None,
                    clock: &self.state.clock,
                    now_ms: now_ms(),
                    base_url: &base,
                };
                return match paper.build(op, &ctx)? {
                    Planned::Immediate(reply) => Ok(reply),
                    Planned::Http(_) => {
                        Err(CallError::Internal("paper venue asked for I/O".into()))
                    }
                };
            }
        }
        let mut attempt = 0;
        let mut host_tries = 0;
        loop {
            attempt += 1;
            let now = now_ms();
            if let Permit::Refuse { retry_at_ms } = self.state.circuit.permit(op.is_entry(), now) {
                return Err(CallError::CircuitOpen { retry_at_ms });
            }
            if self.venue.needs_clock(op) && self.state.clock.needs_sync(now) {
                self.sync_clock().await?;
            }
            let base = self.state.urls.current().to_string();
            let ctx = BuildCtx {
                creds: self.creds.as_ref(),
                clock: &self.state.clock,
                now_ms: now_ms(),
                base_url: &base,
            };
            let request = match self.venue.build(op, &ctx)? {
                Planned::Immediate(reply) => return Ok(reply),
                Planned::Http(r) => r,
            };
            self.record_request(&request);
            let sent = now_ms();
            match self.send(op, &request).await? {
                SendOutcome::Answered {
                    response,
                    latency_ms,
                } => {
                    let failed = response.status >= 500;
                    self.state.circuit.record(
                        if failed {
                            CallOutcome::Failed
                        } else {
                            CallOutcome::Answered {
                                latency_ms: i64::try_from(latency_ms).unwrap_or(i64::MAX),
                            }
                        },
                        response.received_ms,
                    );
                    let obs = self.venue.observe(op, &response);
                    if let Some(server) = obs.server_time_ms {
                        self.state
                            .clock
                            .observe_passive(server, sent, response.received_ms);
                    }
                    let parsed = self.venue.parse(op, &response);
                    let code = parsed
                        .as_ref()
                        .err()
                        .map(|e| format!("{e:?}").chars().take(80).collect());
                    self.trail.push(AuditDraft::new(
                        response.received_ms,
                        self.actor.clone(),
                        AuditEvent::exchange_response(
                            self.spec.exchange,
                            response.status,
                            code,
                            &response.body,
                            Some(latency_ms),
                        ),
                    ));
                    // Credentials alert: a refusal raises it, an accepted signed call resolves it.
                    match &parsed {
                        Err(VenueError::Auth { .. }) => {
                            let why = parsed.as_ref().err().map(|e| e.to_string());
                            super::alerts::credentials_observed(self.bot, why).await;
                        }
                        Ok(_) if op.is_signed() && self.creds.is_some() => {
                            super::alerts::credentials_observed(self.bot, None).await;
                        }
                        _ => {}
                    }
                    match parsed {
                        Ok(VenueReply::FollowUp(next)) => return Box::pin(self.call(&next)).await,
                        Ok(reply) => return Ok(reply),
                        Err(e) => match retry_decision(op, &e, attempt - 1) {
                            _ if attempt >= MAX_ATTEMPTS => return Err(e.into()),
                            RetryDecision::ResyncClockThenRetry => {
                                self.state.clock.mark_stale();
                                continue;
                            }
                            RetryDecision::RetryAfter { ms } if ms <= MAX_INLINE_SLEEP_MS => {
                                sleep(ms).await;
                                continue;
                            }
                            RetryDecision::ResolveByQuery {
                                symbol,
                                client_order_id,
                            } => {
                                return self.resolve(symbol, client_order_id, &request).await;
                            }
                            _ => return Err(e.into()),
                        },
                    }
                }
                SendOutcome::ConnectFailed { message } => {
                    self.state.circuit.record(CallOutcome::Failed, now_ms());
                    // A fetch error cannot tell "never connected" from "connection lost after the
                    // request went out": an order may exist, so it is resolved by its client id,
                    // never resent (here or to another host).
                    let err = VenueError::Unavailable {
                        status: 0,
                        msg: message.clone(),
                    };
                    if let RetryDecision::ResolveByQuery {
                        symbol,
                        client_order_id,
                    } = retry_decision(op, &err, attempt - 1)
                    {
                        return self.resolve(symbol, client_order_id, &request).await;
                    }
                    host_tries += 1;
                    if attempt < MAX_ATTEMPTS
                        && self.state.urls.next_after_failure(host_tries).is_some()
                    {
                        continue;
                    }
                    return Err(VenueError::Unavailable {
                        status: 0,
                        msg: message,
                    }
                    .into());
                }
                SendOutcome::TimedOut => {
                    self.state.circuit.record(CallOutcome::Failed, now_ms());
                    let err = VenueError::Unavailable {
                        status: 0,
                        msg: "no answer in time".into(),
                    };
                    match retry_decision(op, &err, attempt - 1) {
                        RetryDecision::ResolveByQuery {
                            symbol,
                            client_order_id,
                        } => {
                            return self.resolve(symbol, client_order_id, &request).await;
                        }
                        RetryDecision::RetryAfter { ms }
                            if attempt < MAX_ATTEMPTS && ms <= MAX_INLINE_SLEEP_MS =>
                        {
                            sleep(ms).await;
                        }
                        _ => return Err(err.into()),
                    }
                }
                SendOutcome::Wait { ms } => {
                    if ms <= MAX_INLINE_SLEEP_MS && attempt < MAX_ATTEMPTS {
                        sleep(ms).await;
                        continue;
                    }
                    return Err(VenueError::RateLimited { retry_after_ms: ms }.into());
                }
                SendOutcome::Banned { until_ms } => {
                    return Err(VenueError::Banned { until_ms }.into())
                }
            }
        }
    }

    /// An order request may or may not have reached the book: query its client order id until
    /// the request's receive window has passed in server time (after which it can no longer
    /// appear), and report what the exchange says.
    async fn resolve(
        &mut self,
        symbol: Symbol,
        client_order_id: ClientOrderId,
        request: &HttpRequest,
    ) -> Result<VenueReply, CallError> {
        let settles = request
            .signed
            .map(|w| w.expires_at_ms())
            .unwrap_or_else(|| self.server_now() + 5_000);
        let ambiguous = AmbiguousOrder {
            symbol: symbol.clone(),
            client_order_id: client_order_id.clone(),
            settles_at_server_ms: settles,
        };
        for _ in 0..4 {
            let query = VenueOp::QueryOrder {
                symbol: symbol.clone(),
                client_order_id: client_order_id.clone(),
            };
            let result = match Box::pin(self.call(&query)).await {
                Ok(VenueReply::Order(report)) => Ok(report),
                Ok(other) => return Err(CallError::Internal(format!("query answered {other:?}"))),
                Err(CallError::Venue(e)) => Err(e),
                Err(other) => return Err(other),
            };
            match ambiguous.resolve(result, self.server_now()) {
                Ok(Resolution::Placed(report)) => return Ok(VenueReply::Order(report)),
                Ok(Resolution::NotPlaced) => return Err(VenueError::Rejected {
                    code: 0,
                    msg:
                        "the order never reached the exchange (confirmed after its receive window)"
                            .into(),
                }
                .into()),
                Ok(Resolution::QueryAgainAt { server_ms }) => {
                    let wait = (server_ms - self.server_now()).clamp(50, 6_000);
                    sleep(wait).await;
                }
                Err(e) => {
                    return Err(CallError::Unknown {
                        client_order_id,
                        reason: e.to_string(),
                    });
                }
            }
        }
        Err(CallError::Unknown {
            client_order_id,
            reason: "still unknown after repeated queries".into(),
        })
    }

    /// Reloads the exchange state (clock, circuit, hosts) another link of this bot saved, e.g.
    /// reconciliation run in the middle of a signal: working on with the older copy would undo
    /// its clock resync (a second timestamp error) and overwrite it when this link is saved.
    ///
    /// # Errors
    /// Storage failures.
    pub fn reload_state(&mut self) -> Result<(), ApiError> {
        if let Some(s) = super::store::kv_get::<VenueState>(&self.bot.db, "venue_state")? {
            self.state = s;
        }
        Ok(())
    }

    /// Completes a placement answer that carries no fills. Binance USDⓈ-M answers `ACK`/`RESULT`
    /// without trades and Bybit's `order/create` only acknowledges (the order is matched
    /// asynchronously), so booking the answer as is would lose the fills and leave the bot
    /// believing it is flat. This queries the order by its client id until it is final (briefly),
    /// then reads the account's trades since the placement and keeps those of this order, so
    /// the fills booked are exactly the exchange's. A failure here keeps the placement answer
    /// (the order itself succeeded); reconciliation books any fill still missing.
    pub async fn settle_placement(
        &mut self,
        req: &keel_engine::model::OrderRequest,
        placed_at_ms: i64,
        outcome: Result<VenueReply, CallError>,
    ) -> Result<VenueReply, CallError> {
        let Ok(VenueReply::Order(mut report)) = outcome else {
            return outcome;
        };
        if self.paper.is_some() || !report.fills.is_empty() {
            return Ok(VenueReply::Order(report));
        }
        let query = VenueOp::QueryOrder {
            symbol: req.symbol.clone(),
            client_order_id: req.client_order_id.clone(),
        };
        for attempt in 0..SETTLE_QUERIES {
            if report.status.is_final() {
                break;
            }
            if attempt > 0 {
                sleep(SETTLE_PAUSE_MS).await;
            }
            match self.call(&query).await {
                Ok(VenueReply::Order(r)) => report = r,
                Ok(_) | Err(_) => break,
            }
        }
        if report.executed_qty.is_zero() {
            return Ok(VenueReply::Order(report));
        }
        // Trades since a little before the placement (server time), this order's only.
        let start = self.state.clock.server_now(placed_at_ms) - SETTLE_LOOKBACK_MS;
        for attempt in 0..SETTLE_QUERIES {
            if attempt > 0 {
                sleep(SETTLE_PAUSE_MS).await;
            }
            let op = VenueOp::Trades {
                symbol: req.symbol.clone(),
                cursor: keel_engine::venue::TradeCursor::from_time(start),
            };
            let Ok(VenueReply::Trades(page)) = self.call(&op).await else {
                break;
            };
            let mine: Vec<_> = page
                .fills
                .into_iter()
                .filter(|f| {
                    f.order_id == report.order_id
                        || f.client_order_id.as_ref() == Some(&req.client_order_id)
                })
                .collect();
            let qty: rust_decimal::Decimal = mine.iter().map(|f| f.qty).sum();
            if qty >= report.executed_qty {
                report.fills = mine;
                break;
            }
        }
        Ok(VenueReply::Order(report))
    }

    async fn sync_clock(&mut self) -> Result<(), CallError> {
        let base = self.state.urls.current().to_string();
        let ctx = BuildCtx {
            creds: None,
            clock: &self.state.clock,
            now_ms: now_ms(),
            base_url: &base,
        };
        let Planned::Http(request) = self.venue.build(&VenueOp::ServerTime, &ctx)? else {
            return Ok(());
        };
        let sent = now_ms();
        if let SendOutcome::Answered { response, .. } =
            self.send(&VenueOp::ServerTime, &request).await?
        {
            if let Ok(VenueReply::ServerTime(server)) =
                self.venue.parse(&VenueOp::ServerTime, &response)
            {
                self.state
                    .clock
                    .observe_sync(server, sent, response.received_ms);
            }
        }
        Ok(())
    }

    fn record_request(&mut self, request: &HttpRequest) {
        let (path, query) = request
            .path_and_query
            .split_once('?')
            .unwrap_or((&request.path_and_query, ""));
        self.trail.push(AuditDraft::new(
            now_ms(),
            self.actor.clone(),
            AuditEvent::request_sent(
                self.spec.exchange,
                request.method.as_str(),
                path,
                query,
                &request.body,
            ),
        ));
    }

    async fn send(&self, op: &VenueOp, request: &HttpRequest) -> Result<SendOutcome, CallError> {
        let body = SendRequest {
            spec: self.spec.clone(),
            op: op.clone(),
            request: request.clone(),
            bot: Some(self.bot_id.clone()),
        };
        let text = serde_json::to_string(&body).map_err(|e| CallError::Internal(e.to_string()))?;
        let ns = self
            .bot
            .env
            .durable_object("ACCOUNT")
            .map_err(|e| CallError::Internal(e.to_string()))?;
        let stub = ns
            .get_by_name(&self.account)
            .map_err(|e| CallError::Internal(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(text.into()));
        let req = Request::new_with_init("https://account/send", &init)
            .map_err(|e| CallError::Internal(e.to_string()))?;
        let mut resp = stub
            .fetch_with_request(req)
            .await
            .map_err(|e| CallError::Internal(e.to_string()))?;
        if resp.status_code() != 200 {
            let t = resp.text().await.unwrap_or_default();
            return Err(CallError::Internal(format!(
                "AccountDO {}: {t}",
                resp.status_code()
            )));
        }
        resp.json::<SendOutcome>()
            .await
            .map_err(|e| CallError::Internal(e.to_string()))
    }
}

/// Paper fees (Binance's default taker/maker rate for regular accounts).
const PAPER_TAKER_FEE: rust_decimal::Decimal = rust_decimal::Decimal::from_parts(1, 0, 0, false, 3);
/// Paper maker fee.
const PAPER_MAKER_FEE: rust_decimal::Decimal = rust_decimal::Decimal::from_parts(1, 0, 0, false, 3);
/// Paper market orders fill 5 bps worse than the ticker (see `PaperConfig::slippage_bps`).
pub const PAPER_SLIPPAGE_BPS: rust_decimal::Decimal =
    rust_decimal::Decimal::from_parts(5, 0, 0, false, 0);
/// Quote capital a new paper bot starts with (booked in its ledger as a transfer too).
pub const PAPER_CAPITAL: rust_decimal::Decimal =
    rust_decimal::Decimal::from_parts(10_000, 0, 0, false, 0);

/// Finished paper orders kept in the stored paper book (working orders are always kept).
pub const PAPER_KEEP_ORDERS: usize = 500;
/// Paper fills kept in the stored paper book (the bot's ledger keeps every fill).
pub const PAPER_KEEP_FILLS: usize = 2_000;

/// Operations a paper bot answers in-process (everything but public market data).
fn routes_to_paper(op: &VenueOp) -> bool {
    !matches!(
        op,
        VenueOp::Ticker { .. }
            | VenueOp::InstrumentRules { .. }
            | VenueOp::ServerTime
            | VenueOp::Klines { .. }
    )
}

async fn sleep(ms: i64) {
    worker::Delay::from(Duration::from_millis(ms.max(1) as u64)).await;
}

/// Moves the link's request/response drafts into the journal with correlation ids.
pub fn drain_trail(
    j: &mut Journal,
    link: &mut Link<'_>,
    signal_id: Option<&SignalId>,
    coid: Option<&ClientOrderId>,
) -> Result<(), ApiError> {
    for mut d in std::mem::take(&mut link.trail) {
        if let Some(s) = signal_id {
            d = d.signal(s.clone());
        }
        if let Some(c) = coid {
            d = d.order(c.clone());
        }
        j.audit(d)?;
    }
    Ok(())
}

/// Persists the link's clock/circuit state (and any pending trail) on its own.
pub async fn save_link(
    bot: &BotDO,
    link: &mut Link<'_>,
    signal_id: Option<&SignalId>,
) -> Result<(), ApiError> {
    let mut j = bot.journal()?;
    drain_trail(&mut j, link, signal_id, None)?;
    j.put("venue_state", &link.state)?;
    if let Some(p) = link.paper.as_mut() {
        p.prune(PAPER_KEEP_ORDERS, PAPER_KEEP_FILLS);
        j.put("paper", p)?;
    }
    bot.commit(j).await
}
