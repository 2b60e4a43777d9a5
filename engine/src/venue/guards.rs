//! The glue the Durable Object runs around every venue call, kept here so it is tested natively:
//! [`Guards::gate`] decides whether a request may leave now (circuit, clock, rate limit, ban), and
//! [`Guards::absorb`] feeds the response into the clock, limiter and circuit and parses it.
//! The three states may live in different places (limiter in the AccountDO, clock and circuit
//! per exchange); `Guards` only borrows them for one call.

use crate::venue::circuit::{CallOutcome, CircuitBreaker, CircuitState, Permit};
use crate::venue::clock::ServerClock;
use crate::venue::error::VenueError;
use crate::venue::http::HttpResponse;
use crate::venue::limiter::{AccountLimiter, Admit};
use crate::venue::op::{VenueOp, VenueReply};
use crate::venue::{Observation, Venue};
use serde::{Deserialize, Serialize};

/// Whether a request may leave now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "gate")]
pub enum Gate {
    /// Build and send it (its rate-limit cost has been counted).
    Send,
    /// Run [`VenueOp::ServerTime`] first (through the gate too), then ask again.
    SyncClockFirst,
    /// Rate limit: ask again after `ms`.
    Wait {
        /// ms.
        ms: i64,
    },
    /// Account/IP banned: nothing may be sent before `until_ms`.
    Banned {
        /// Local ms.
        until_ms: i64,
    },
    /// Circuit open and the op is an entry: refuse (webhook answers 503, audit event).
    CircuitOpen {
        /// Local ms.
        retry_at_ms: i64,
    },
}

/// Borrowed per-call view of an account's clock, limiter and circuit.
#[derive(Debug)]
pub struct Guards<'a> {
    /// Exchange server clock.
    pub clock: &'a mut ServerClock,
    /// Account rate-limit budget.
    pub limiter: &'a mut AccountLimiter,
    /// Exchange circuit breaker.
    pub circuit: &'a mut CircuitBreaker,
}

impl Guards<'_> {
    /// Decides whether `op` may be sent at local `now_ms`. Order: circuit (cheap refusal, spends
    /// no budget), clock (a stale clock would waste a request on `-1021`), then the limiter, which
    /// counts the cost when it says go.
    pub fn gate(&mut self, venue: &dyn Venue, op: &VenueOp, now_ms: i64) -> Gate {
        if let Some(gate) = self.link().before_budget(venue, op, now_ms) {
            return gate;
        }
        match self.limiter.admit(&venue.cost(op), now_ms) {
            Admit::Go => {}
            Admit::Wait { ms } => return Gate::Wait { ms },
            Admit::Banned { until_ms } => return Gate::Banned { until_ms },
        }
        self.link().permit(op, now_ms)
    }

    /// Absorbs a response to `op` sent at local `sent_ms`: updates clock (sync or passive
    /// sample), limiter (usage, 429/418), circuit (latency or failure), marks the clock stale on
    /// a timestamp error, and returns the parsed reply.
    ///
    /// # Errors
    /// The adapter's typed error; feed it to [`crate::venue::retry_decision`].
    pub fn absorb(
        &mut self,
        venue: &dyn Venue,
        op: &VenueOp,
        sent_ms: i64,
        resp: &HttpResponse,
    ) -> Result<VenueReply, VenueError> {
        let obs = venue.observe(op, resp);
        self.limiter.observe(&obs.usage, sent_ms, resp.received_ms);
        let latency_ms = resp.received_ms.saturating_sub(sent_ms);
        self.link()
            .absorb_observed(venue, op, sent_ms, resp, latency_ms, &obs)
    }

    /// Records a request that got no HTTP response at all (connection refused, reset, timeout).
    /// For a mutation the caller must then treat the outcome as ambiguous.
    pub fn connection_failed(&mut self, now_ms: i64) -> VenueError {
        self.link()
            .connection_failed("no response (connection failed or timed out)", now_ms)
    }

    fn link(&mut self) -> LinkGuards<'_> {
        LinkGuards {
            clock: self.clock,
            circuit: self.circuit,
        }
    }
}

/// The exchange half of [`Guards`] (server clock and circuit breaker) for a caller whose
/// rate-limit budget lives elsewhere: a bot's Durable Object sends through its account's
/// `AccountDO`, which holds the [`AccountLimiter`] shared by every bot on the key, so the bot
/// itself must apply the same clock and circuit rules without counting the budget twice.
/// [`Guards`] is this plus the limiter; both use the one failure rule of
/// [`CallOutcome::of_reply`].
#[derive(Debug)]
pub struct LinkGuards<'a> {
    /// Exchange server clock.
    pub clock: &'a mut ServerClock,
    /// Exchange circuit breaker.
    pub circuit: &'a mut CircuitBreaker,
}

impl LinkGuards<'_> {
    /// [`Guards::gate`] without the limiter: circuit, then clock, then the circuit's permit
    /// (which starts a half-open probe). Never answers [`Gate::Wait`] or [`Gate::Banned`]: those
    /// come from whoever holds the budget.
    pub fn gate(&mut self, venue: &dyn Venue, op: &VenueOp, now_ms: i64) -> Gate {
        self.before_budget(venue, op, now_ms)
            .unwrap_or_else(|| self.permit(op, now_ms))
    }

    /// The checks that come before the budget is spent: an open circuit refuses an entry, a stale
    /// clock asks for a sync.
    fn before_budget(&mut self, venue: &dyn Venue, op: &VenueOp, now_ms: i64) -> Option<Gate> {
        if op.is_entry() {
            if let CircuitState::Open { until_ms } = self.circuit.state(now_ms) {
                return Some(Gate::CircuitOpen {
                    retry_at_ms: until_ms,
                });
            }
        }
        if venue.needs_clock(op) && self.clock.needs_sync(now_ms) {
            return Some(Gate::SyncClockFirst);
        }
        None
    }

    /// The circuit's permit alone (starts a half-open probe for an entry): for a caller that
    /// goes ahead although [`LinkGuards::gate`] asked for a clock sync, because the sync it ran
    /// failed and the exchange is left to judge the timestamp.
    pub fn permit(&mut self, op: &VenueOp, now_ms: i64) -> Gate {
        match self.circuit.permit(op.is_entry(), now_ms) {
            Permit::Allow => Gate::Send,
            Permit::Refuse { retry_at_ms } => Gate::CircuitOpen { retry_at_ms },
        }
    }

    /// [`Guards::absorb`] without the limiter, with the round trip measured by the sender
    /// (`latency_ms`; the `AccountDO` times the exchange alone, not its own queue).
    ///
    /// # Errors
    /// The adapter's typed error; feed it to [`crate::venue::retry_decision`].
    pub fn absorb(
        &mut self,
        venue: &dyn Venue,
        op: &VenueOp,
        sent_ms: i64,
        resp: &HttpResponse,
        latency_ms: i64,
    ) -> Result<VenueReply, VenueError> {
        let obs = venue.observe(op, resp);
        self.absorb_observed(venue, op, sent_ms, resp, latency_ms, &obs)
    }

    fn absorb_observed(
        &mut self,
        venue: &dyn Venue,
        op: &VenueOp,
        sent_ms: i64,
        resp: &HttpResponse,
        latency_ms: i64,
        obs: &Observation,
    ) -> Result<VenueReply, VenueError> {
        if let Some(server_ms) = obs.server_time_ms {
            match op {
                VenueOp::ServerTime => {
                    self.clock
                        .observe_sync(server_ms, sent_ms, resp.received_ms)
                }
                _ => self
                    .clock
                    .observe_passive(server_ms, sent_ms, resp.received_ms),
            }
        }
        let reply = venue.parse(op, resp);
        self.circuit
            .record(CallOutcome::of_reply(&reply, latency_ms), resp.received_ms);
        if let Err(VenueError::Timestamp { .. }) = reply {
            self.clock.mark_stale();
        }
        reply
    }

    /// Records a request that got no HTTP response at all (connection refused, reset, timeout)
    /// as a venue failure, and returns the error that stands for it (`status` 0).
    pub fn connection_failed(&mut self, detail: &str, now_ms: i64) -> VenueError {
        self.circuit.record(CallOutcome::Failed, now_ms);
        VenueError::Unavailable {
            status: 0,
            msg: detail.to_string(),
        }
    }
}

#[cfg(test)]
#[path = "guards_tests.rs"]
mod tests;
