//! The venue layer: one [`Venue`] trait and its Binance (Spot, USDⓈ-M), Bybit V5 (spot, linear)
//! and paper implementations, **sans-IO**. An adapter turns a [`VenueOp`] into a signed
//! [`HttpRequest`] (or, for paper, an immediate reply) and turns the [`HttpResponse`] back into a
//! [`VenueReply`] or a typed [`VenueError`]. The Durable Object performs the fetch; nothing here
//! sends, sleeps or reads a clock.
//!
//! Around the adapters sit pure state machines the DO keeps per exchange account:
//! [`ServerClock`] (offset for signed timestamps), [`AccountLimiter`] (shared rate-limit budget),
//! [`CircuitBreaker`] (refuse entries while the exchange is failing) and [`BaseUrls`] (failover).
//!
//! One call is the sans-IO machine [`ExchangeCall`] (module [`call`]): it gates the request
//! (ban, circuit, clock), builds it, reads the answer through [`LinkGuards`] (clock samples,
//! the circuit's one failure rule [`CallOutcome::of_reply`]) and follows [`retry_decision`]:
//! resync once on a timestamp error, wait out a short `Retry-After`, fail a read over to the
//! next host, resolve an ambiguous order by its client id ([`AmbiguousOrder`]), never resend it.
//! The Durable Object only performs its `Send`/`SyncClock`/`Wait` steps; [`Settlement`] then
//! completes a placement answered without fills. [`Guards`] is the same clock and circuit
//! bookkeeping plus the [`AccountLimiter`], for a caller that holds the budget itself (the
//! `AccountDO` holds it for the bots).

pub mod binance;
pub mod bybit;
pub mod call;
pub mod circuit;
pub mod clock;
pub mod endpoints;
pub mod error;
pub mod guards;
pub mod http;
pub mod limiter;
pub mod op;
pub mod paper;
pub mod protect;
pub mod rules;
pub mod settle;
pub mod sign;
pub mod stream;
pub mod stream_account;
pub mod stream_session;
pub mod wire;

pub use call::{
    CallContext, CallFailure, CallState, CredentialCheck, ExchangeCall, Finished, Outgoing, Step,
    Transport,
};
pub use circuit::{CallOutcome, CircuitBreaker, CircuitConfig, CircuitState, Permit};
pub use clock::ServerClock;
pub use endpoints::{BaseUrls, Environment};
pub use error::{
    retry_decision, AmbiguousOrder, ErrorClass, Resolution, RetryDecision, VenueError,
};
pub use guards::{Gate, Guards, LinkGuards};
pub use http::{HttpRequest, HttpResponse, Method, SignedWindow};
pub use limiter::{AccountLimiter, Admit, LimiterConfig, OpCost, Usage};
pub use op::{
    Balance, ExitFill, ExitKind, ExitRef, ExitTrigger, FundingEvent, FundingPage, Kline, OcoExit,
    OcoLeg, OrderReport, OrderStatus, PositionReport, Protection, Ticker, TradeCursor, TradePage,
    TriggerReport, TriggerState, VenueOp, VenueReply,
};
pub use rules::{close_qty, prepare_order, round_price, round_to_step_down, CloseQty, RulesError};
pub use settle::{SettleStep, Settlement};
pub use sign::Credentials;

use crate::model::{Exchange, Market};
use serde::{Deserialize, Serialize};

/// Inputs of [`Venue::build`] that are not the operation itself.
#[derive(Debug, Clone, Copy)]
pub struct BuildCtx<'a> {
    /// API key pair; `None` allowed for public operations.
    pub creds: Option<&'a Credentials>,
    /// Server clock of this exchange.
    pub clock: &'a ServerClock,
    /// Local time now, ms.
    pub now_ms: i64,
    /// Host to address ([`BaseUrls::current`]).
    pub base_url: &'a str,
}

/// What [`Venue::build`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// Send this request, then call [`Venue::parse`] with the response.
    Http(HttpRequest),
    /// No I/O needed (paper): this is the answer.
    Immediate(VenueReply),
}

/// Facts about the exchange a response carries besides its payload: server time (for the clock)
/// and rate-limit usage (for the limiter). Produced by [`Venue::observe`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// Server time the response reports, ms, if any.
    pub server_time_ms: Option<i64>,
    /// Rate-limit usage and bans.
    pub usage: Usage,
}

/// The only exchange abstraction. Every exchange-specific decision lives in an implementation.
pub trait Venue {
    /// Which exchange this adapter speaks to (paper reports the exchange it imitates).
    fn exchange(&self) -> Exchange;

    /// Which market.
    fn market(&self) -> Market;

    /// Rate-limit cost of an operation (weight, orders, endpoint key, exit priority).
    fn cost(&self, op: &VenueOp) -> OpCost;

    /// Whether `op` is signed with a timestamp, so the clock must be in sync first.
    fn needs_clock(&self, op: &VenueOp) -> bool {
        op.is_signed()
    }

    /// Builds the request for `op` (signed with `ctx.creds` at `ctx.clock`'s server time), or
    /// answers immediately (paper). Takes `&mut self` because the paper venue keeps its book.
    ///
    /// # Errors
    /// [`VenueError::Unsupported`] when the venue cannot express `op`,
    /// [`VenueError::MissingCredentials`] for a signed op without credentials.
    fn build(&mut self, op: &VenueOp, ctx: &BuildCtx<'_>) -> Result<Planned, VenueError>;

    /// Parses the response to a request built for `op`.
    ///
    /// # Errors
    /// The exchange's refusal mapped to a typed [`VenueError`], or [`VenueError::Parse`].
    fn parse(&self, op: &VenueOp, resp: &HttpResponse) -> Result<VenueReply, VenueError>;

    /// Reads server time and rate-limit headers from any response (success or not).
    fn observe(&self, op: &VenueOp, resp: &HttpResponse) -> Observation;
}

/// Which adapter a bot uses; the DO builds it once from the bot config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueSpec {
    /// Exchange.
    pub exchange: Exchange,
    /// Market.
    pub market: Market,
    /// recvWindow for signed requests, ms (default 5000).
    pub recv_window_ms: i64,
}

/// Creates the live adapter for a spec.
pub fn live_venue(spec: &VenueSpec) -> Box<dyn Venue> {
    match spec.exchange {
        Exchange::Binance => Box::new(binance::Binance::new(spec.market, spec.recv_window_ms)),
        Exchange::Bybit => Box::new(bybit::Bybit::new(spec.market, spec.recv_window_ms)),
    }
}

/// The stream side of a venue (frames in, events out), for a spec; the streams' doc is in
/// [`stream`].
pub fn stream_venue(spec: &VenueSpec) -> Box<dyn stream::StreamVenue> {
    match spec.exchange {
        Exchange::Binance => Box::new(binance::stream::BinanceStream {
            market: spec.market,
        }),
        Exchange::Bybit => Box::new(bybit::stream::BybitStream {
            market: spec.market,
        }),
    }
}

/// Default limiter settings for a venue: one per exchange account.
pub fn limiter_config(exchange: Exchange, market: Market) -> LimiterConfig {
    match (exchange, market) {
        (Exchange::Binance, Market::Spot) => LimiterConfig::binance_spot(),
        (Exchange::Binance, Market::Linear) => LimiterConfig::binance_futures(),
        (Exchange::Bybit, _) => LimiterConfig::bybit(),
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod klines_tests;
