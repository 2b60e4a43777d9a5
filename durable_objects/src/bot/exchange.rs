//! The bot's link to its exchange: a driver of the engine's exchange-call machine
//! (`keel_engine::venue::ExchangeCall`), which owns every rule of a call (clock resync, circuit,
//! host failover, 429/418, ambiguity resolved by client id, never by resending). This file only
//! performs what the machine asks: a request through the account's `AccountDO` (shared
//! rate-limit budget and ban state), a sleep, or the end — where the audit drafts join the
//! link's trail and the credentials verdict raises or resolves the bot's alert.

use super::store::Journal;
use super::{now_ms, BotDO};
use crate::account::{SendOutcome, SendRequest};
use crate::http::ApiError;
use keel_engine::audit::{Actor, AuditDraft};
use keel_engine::config::BotConfig;
use keel_engine::ids::{ClientOrderId, SignalId};
use keel_engine::model::BotMode;
use keel_engine::venue::paper::{PaperConfig, PaperVenue};
use keel_engine::venue::{
    live_venue, BaseUrls, BuildCtx, CallContext, CallFailure, CallState, CredentialCheck,
    Credentials, Environment, ExchangeCall, Outgoing, Planned, SettleStep, Settlement, Step,
    Transport, Venue, VenueOp, VenueReply, VenueSpec,
};
use sha2::{Digest, Sha256};
use std::time::Duration;
use worker::{Method, Request, RequestInit};

/// Per-bot exchange state kept under `venue_state` (clock, circuit, hosts, ban): the engine's
/// [`CallState`], under the name the rest of the bot uses.
pub type VenueState = CallState;

impl From<CallFailure> for ApiError {
    /// The engine's one mapping of a call failure to a refusal ([`CallFailure::rejection`]),
    /// so a signal refused by the DO and by the bot machine answers alike.
    fn from(e: CallFailure) -> Self {
        let r = e.rejection();
        ApiError::new(r.status, r.code, r.message)
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
    /// Stages a paper bot's venue (its exits and book changed with the calls just made),
    /// bounded as every other save of it. Nothing for a live bot.
    ///
    /// # Errors
    /// Serialization failures.
    pub fn stage_paper(&mut self, j: &mut Journal) -> Result<(), ApiError> {
        if let Some(p) = self.paper.as_mut() {
            p.prune(PAPER_KEEP_ORDERS, PAPER_KEEP_FILLS);
            j.put("paper", p)?;
        }
        Ok(())
    }

    /// Stages everything the exchange calls just made changed: the clock/circuit/host state and,
    /// for a paper bot, its venue. One place, so no save of the link forgets the paper venue.
    ///
    /// # Errors
    /// Serialization failures.
    pub fn stage(&mut self, j: &mut Journal) -> Result<(), ApiError> {
        j.put("venue_state", &self.state)?;
        self.stage_paper(j)
    }

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
            _ => VenueState::new(fresh),
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
    /// [`CallFailure`].
    pub async fn call(&mut self, op: &VenueOp) -> Result<VenueReply, CallFailure> {
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
                        Err(CallFailure::Internal("paper venue asked for I/O".into()))
                    }
                };
            }
        }
        let mut call = ExchangeCall::new(op.clone(), self.actor.clone());
        loop {
            let step = call.poll(&mut self.call_context(), now_ms());
            self.trail.extend(call.take_trail());
            let out = match step {
                Step::Send(out) | Step::SyncClock(out) => out,
                Step::Wait { ms } => {
                    sleep(ms).await;
                    continue;
                }
                Step::Done(finished) => {
                    // Credentials alert: a refusal raises it, an accepted signed call resolves it.
                    match finished.credentials {
                        CredentialCheck::Refused { reason } => {
                            super::alerts::credentials_observed(self.bot, Some(reason)).await
                        }
                        CredentialCheck::Accepted => {
                            super::alerts::credentials_observed(self.bot, None).await
                        }
                        CredentialCheck::NotExercised => {}
                    }
                    return finished.result;
                }
            };
            let reply = self.send(&out).await?;
            call.on_reply(&mut self.call_context(), reply, now_ms());
        }
    }

    fn call_context(&mut self) -> CallContext<'_> {
        CallContext {
            venue: self.venue.as_mut(),
            state: &mut self.state,
            creds: self.creds.as_ref(),
        }
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
        outcome: Result<VenueReply, CallFailure>,
    ) -> Result<VenueReply, CallFailure> {
        let Ok(VenueReply::Order(report)) = outcome else {
            return outcome;
        };
        if self.paper.is_some() {
            return Ok(VenueReply::Order(report));
        }
        let placed = self.state.clock.server_now(placed_at_ms);
        let mut settle = Settlement::new(req.clone(), report, placed);
        loop {
            match settle.poll() {
                SettleStep::Call(op) => {
                    let reply = self.call(&op).await.ok();
                    settle.on_result(reply);
                }
                SettleStep::Pause { ms } => sleep(ms).await,
                SettleStep::Done(report) => return Ok(VenueReply::Order(report)),
            }
        }
    }

    /// Performs one request of the machine through the account's `AccountDO` and says what
    /// became of it.
    ///
    /// # Errors
    /// [`CallFailure::Internal`] when the AccountDO cannot be asked or answers nonsense.
    async fn send(&self, out: &Outgoing) -> Result<Transport, CallFailure> {
        let body = SendRequest {
            spec: self.spec.clone(),
            op: out.op.clone(),
            request: out.request.clone(),
            bot: Some(self.bot_id.clone()),
        };
        let text =
            serde_json::to_string(&body).map_err(|e| CallFailure::Internal(e.to_string()))?;
        let ns = self
            .bot
            .env
            .durable_object("ACCOUNT")
            .map_err(|e| CallFailure::Internal(e.to_string()))?;
        let stub = ns
            .get_by_name(&self.account)
            .map_err(|e| CallFailure::Internal(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(text.into()));
        let req = Request::new_with_init("https://account/send", &init)
            .map_err(|e| CallFailure::Internal(e.to_string()))?;
        let mut resp = stub
            .fetch_with_request(req)
            .await
            .map_err(|e| CallFailure::Internal(e.to_string()))?;
        if resp.status_code() != 200 {
            let t = resp.text().await.unwrap_or_default();
            return Err(CallFailure::Internal(format!(
                "AccountDO {}: {t}",
                resp.status_code()
            )));
        }
        let outcome = resp
            .json::<SendOutcome>()
            .await
            .map_err(|e| CallFailure::Internal(e.to_string()))?;
        Ok(match outcome {
            SendOutcome::Answered {
                response,
                latency_ms,
            } => Transport::Answered {
                response,
                latency_ms: i64::try_from(latency_ms).unwrap_or(i64::MAX),
            },
            SendOutcome::ConnectFailed { message } => Transport::ConnectFailed { message },
            SendOutcome::TimedOut => Transport::TimedOut,
            SendOutcome::Wait { ms } => Transport::Throttled { ms },
            SendOutcome::Banned { until_ms } => Transport::Banned { until_ms },
        })
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
    link.stage(&mut j)?;
    bot.commit(j).await
}
