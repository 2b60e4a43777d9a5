//! The life of one exchange stream connection, sans-IO: connect on demand, authenticate and
//! subscribe, heartbeat, notice a silent connection, reconnect with jittered backoff, renew the
//! 24-hour connection and the USDⓈ-M listenKey, and **recover the gap** after every (re)connect:
//! REST queries cover the time the stream was not listening before the stream is trusted again.
//!
//! Why a machine: the account's Durable Object moves bytes and runs REST calls; every decision
//! about when to do what is here, tested on a virtual clock. Inputs (`on_*`) and [`StreamSession::poll`]
//! for the next [`Action`], like the exchange-call machine.
//!
//! Trust: events that arrive while the gap is being recovered are still handed on (booking is
//! idempotent by trade id), but [`StreamSession::trusted`] stays false, so REST polling stays on,
//! until the recovery says the gap is covered.

use crate::venue::stream::{SessionSignal, StreamEvent, StreamPlan};
use serde::{Deserialize, Serialize};

/// First reconnect delay; doubles per failed attempt up to [`BACKOFF_CAP_MS`].
pub const BACKOFF_BASE_MS: i64 = 500;
/// Longest reconnect delay.
pub const BACKOFF_CAP_MS: i64 = 30_000;
/// A connection that says nothing for this long (no frame, no pong) is dead.
pub const SILENCE_MS: i64 = 60_000;
/// How long to wait for the subscription answer after opening.
pub const SUBSCRIBE_TIMEOUT_MS: i64 = 10_000;

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not started, or stopped.
    Idle,
    /// Waiting for a listenKey (REST).
    FetchingKey,
    /// Socket being opened.
    Connecting,
    /// Open; auth/subscribe frames sent, waiting for the answer.
    Subscribing,
    /// Subscribed; the gap since the last trusted moment is being covered by REST.
    Recovering,
    /// Subscribed and the gap covered: the stream is trusted.
    Live,
    /// Waiting to reconnect.
    Backoff,
    /// The exchange refused auth or subscription: no retry until restarted (an alert).
    Refused,
}

/// What the driver should do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Fetch a listenKey (REST), then call [`StreamSession::on_listen_key`].
    FetchListenKey,
    /// Renew the listenKey (REST keepalive); a failure is [`StreamSession::on_closed`].
    KeepaliveListenKey,
    /// Build the plan ([`crate::venue::stream::StreamVenue::stream_plan`]) and open its URL,
    /// then call [`StreamSession::on_open`] with it (or `on_closed` if it failed).
    Connect,
    /// Send this text frame.
    Send(String),
    /// Send the venue's ping frame.
    Ping,
    /// Close the socket (then call `on_closed`).
    Close {
        /// Why (for the log and metrics).
        reason: String,
    },
    /// Run the REST gap recovery (trades, orders, funding) from `since_ms`, then call
    /// [`StreamSession::on_recovered`].
    RecoverGap {
        /// Last moment the stream was trusted (or the session's start).
        since_ms: i64,
    },
    /// Nothing to do before this time (arm an alarm).
    WaitUntil {
        /// Local ms.
        at_ms: i64,
    },
    /// Nothing to do at all (idle or refused).
    Nothing,
}

/// The stream's health, for `/health`, metrics and alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHealth {
    /// Reconnects since start.
    pub reconnects: u32,
    /// Gaps covered by REST.
    pub gaps_recovered: u32,
    /// Frames that did not parse.
    pub parse_errors: u32,
    /// Last frame, local ms.
    pub last_frame_ms: Option<i64>,
    /// Why the exchange refused, while refused.
    pub refused: Option<String>,
}

/// One stream connection's state (serialisable, so the Durable Object can persist it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSession {
    phase: Phase,
    plan: Option<StreamPlan>,
    listen_key: Option<String>,
    pending: Vec<Action>,
    /// When the phase's deadline is (subscribe timeout, backoff end).
    deadline_ms: i64,
    opened_ms: i64,
    last_ping_ms: i64,
    last_keepalive_ms: i64,
    /// Last moment up to which the stream (or a recovery) covered events.
    trusted_until_ms: i64,
    attempt: u32,
    rng: u64,
    /// The venue's user stream needs a listenKey (USDⓈ-M).
    keyed: bool,
    /// Health counters.
    pub health: StreamHealth,
}

impl StreamSession {
    /// A session; `seed` drives the backoff jitter (any value; fixed in tests).
    pub fn new(seed: u64) -> Self {
        Self {
            phase: Phase::Idle,
            plan: None,
            listen_key: None,
            pending: Vec::new(),
            deadline_ms: 0,
            opened_ms: 0,
            last_ping_ms: 0,
            last_keepalive_ms: 0,
            trusted_until_ms: 0,
            attempt: 0,
            rng: seed,
            keyed: false,
            health: StreamHealth::default(),
        }
    }

    /// Where it is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// True only while live: REST polling may rest.
    pub fn trusted(&self) -> bool {
        self.phase == Phase::Live
    }

    /// The listenKey in use (USDⓈ-M), for the plan.
    pub fn listen_key(&self) -> Option<&str> {
        self.listen_key.as_deref()
    }

    /// Starts (or restarts after a refusal) at `now_ms`; the first gap starts here too.
    /// `needs_listen_key`: the venue's user stream needs a listenKey first.
    pub fn start(&mut self, needs_listen_key: bool, now_ms: i64) {
        self.health.refused = None;
        self.trusted_until_ms = now_ms;
        self.attempt = 0;
        self.pending.clear();
        self.keyed = needs_listen_key;
        self.begin();
    }

    fn begin(&mut self) {
        if self.keyed && self.listen_key.is_none() {
            self.phase = Phase::FetchingKey;
            self.pending.push(Action::FetchListenKey);
        } else {
            self.phase = Phase::Connecting;
            self.pending.push(Action::Connect);
        }
    }

    /// The listenKey arrived.
    pub fn on_listen_key(&mut self, key: String, now_ms: i64) {
        self.listen_key = Some(key);
        self.last_keepalive_ms = now_ms;
        if self.phase == Phase::FetchingKey {
            self.phase = Phase::Connecting;
            self.pending.push(Action::Connect);
        }
    }

    /// The socket opened with `plan`: send its frames.
    pub fn on_open(&mut self, plan: StreamPlan, now_ms: i64) {
        self.opened_ms = now_ms;
        self.last_ping_ms = now_ms;
        self.health.last_frame_ms = Some(now_ms);
        self.pending
            .extend(plan.open_frames.iter().cloned().map(Action::Send));
        let subscribed_on_open = plan.open_frames.is_empty();
        self.plan = Some(plan);
        if subscribed_on_open {
            // A URL-subscribed stream (USDⓈ-M listenKey) is live once open.
            self.subscribed(now_ms);
        } else {
            self.phase = Phase::Subscribing;
            self.deadline_ms = now_ms.saturating_add(SUBSCRIBE_TIMEOUT_MS);
        }
    }

    fn subscribed(&mut self, _now_ms: i64) {
        self.attempt = 0;
        self.phase = Phase::Recovering;
        self.pending.push(Action::RecoverGap {
            since_ms: self.trusted_until_ms,
        });
    }

    /// A frame arrived and parsed into `events`; returns the events for the driver to route
    /// (everything but session signals, which the machine consumes).
    pub fn on_frame(&mut self, events: Vec<StreamEvent>, now_ms: i64) -> Vec<StreamEvent> {
        self.health.last_frame_ms = Some(now_ms);
        let mut routed = Vec::new();
        for e in events {
            match e {
                StreamEvent::Session(s) => self.on_signal(s, now_ms),
                other => routed.push(other),
            }
        }
        if self.phase == Phase::Live {
            self.trusted_until_ms = now_ms;
        }
        routed
    }

    fn on_signal(&mut self, s: SessionSignal, now_ms: i64) {
        match s {
            SessionSignal::Subscribed => {
                if self.phase == Phase::Subscribing {
                    self.subscribed(now_ms);
                }
            }
            SessionSignal::Authenticated | SessionSignal::Pong => {}
            SessionSignal::Refused { reason } => {
                self.health.refused = Some(reason.clone());
                self.phase = Phase::Refused;
                self.pending.push(Action::Close { reason });
            }
            SessionSignal::ServerShutdown | SessionSignal::Terminated => {
                self.reconnect_now("the exchange ended the stream", now_ms);
            }
            SessionSignal::ListenKeyExpired => {
                self.listen_key = None;
                self.reconnect_now("listenKey expired", now_ms);
            }
        }
    }

    fn reconnect_now(&mut self, reason: &str, _now_ms: i64) {
        self.health.reconnects = self.health.reconnects.saturating_add(1);
        self.pending.push(Action::Close {
            reason: reason.to_string(),
        });
        self.phase = Phase::Backoff;
        self.deadline_ms = 0;
    }

    /// A frame that did not parse: counted; the stream goes on.
    pub fn on_parse_error(&mut self, now_ms: i64) {
        self.health.parse_errors = self.health.parse_errors.saturating_add(1);
        self.health.last_frame_ms = Some(now_ms);
    }

    /// The REST recovery covered the gap up to `covered_until_ms` (when it started).
    pub fn on_recovered(&mut self, covered_until_ms: i64, _now_ms: i64) {
        if self.phase == Phase::Recovering {
            self.health.gaps_recovered = self.health.gaps_recovered.saturating_add(1);
            self.trusted_until_ms = self.trusted_until_ms.max(covered_until_ms);
            self.phase = Phase::Live;
        }
    }

    /// The socket closed (or could not open, or a REST step failed): back off and reconnect,
    /// unless refused or stopped.
    pub fn on_closed(&mut self, now_ms: i64) {
        self.plan = None;
        // Refused or stopped: stay. Backoff: the machine closed it and already chose when to
        // reconnect (at once, or after a backoff), and counted it.
        if matches!(self.phase, Phase::Refused | Phase::Idle | Phase::Backoff) {
            return;
        }
        self.health.reconnects = self.health.reconnects.saturating_add(1);
        let delay = self.backoff_ms();
        self.phase = Phase::Backoff;
        self.deadline_ms = now_ms.saturating_add(delay);
    }

    /// Stops: close and stay idle.
    pub fn stop(&mut self) {
        if !matches!(self.phase, Phase::Idle) {
            self.pending.push(Action::Close {
                reason: "stopped".into(),
            });
        }
        self.phase = Phase::Idle;
    }

    /// Equal-jitter exponential backoff: half the capped delay plus a random half.
    fn backoff_ms(&mut self) -> i64 {
        let exp = BACKOFF_BASE_MS.saturating_mul(1_i64 << self.attempt.min(10));
        let cap = exp.min(BACKOFF_CAP_MS);
        self.attempt = self.attempt.saturating_add(1);
        // SplitMix64 step: deterministic per seed.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let half = cap / 2;
        half + i64::try_from(z % u64::try_from(half.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    /// The next thing to do at `now_ms`.
    pub fn poll(&mut self, now_ms: i64) -> Action {
        if !self.pending.is_empty() {
            return self.pending.remove(0);
        }
        match self.phase {
            Phase::Idle | Phase::Refused => Action::Nothing,
            // Waiting for the driver's answer (REST or the socket); it calls back.
            Phase::FetchingKey | Phase::Connecting | Phase::Recovering => Action::WaitUntil {
                at_ms: now_ms.saturating_add(1_000),
            },
            Phase::Subscribing => {
                if now_ms >= self.deadline_ms {
                    self.reconnect_after_failure("no subscription answer", now_ms)
                } else {
                    Action::WaitUntil {
                        at_ms: self.deadline_ms,
                    }
                }
            }
            Phase::Backoff => {
                if now_ms >= self.deadline_ms {
                    self.begin();
                    self.poll(now_ms)
                } else {
                    Action::WaitUntil {
                        at_ms: self.deadline_ms,
                    }
                }
            }
            Phase::Live => self.live_duties(now_ms),
        }
    }

    fn reconnect_after_failure(&mut self, reason: &str, now_ms: i64) -> Action {
        self.health.reconnects = self.health.reconnects.saturating_add(1);
        let delay = self.backoff_ms();
        self.phase = Phase::Backoff;
        self.deadline_ms = now_ms.saturating_add(delay);
        self.plan = None;
        Action::Close {
            reason: reason.to_string(),
        }
    }

    fn live_duties(&mut self, now_ms: i64) -> Action {
        let Some(plan) = self.plan.clone() else {
            return self.reconnect_after_failure("no plan", now_ms);
        };
        let last = self.health.last_frame_ms.unwrap_or(self.opened_ms);
        if now_ms.saturating_sub(last) >= SILENCE_MS {
            return self.reconnect_after_failure("silent for 60 s", now_ms);
        }
        if now_ms.saturating_sub(self.opened_ms) >= plan.max_life_ms {
            // Planned renewal before the exchange's 24 h cut: reconnect at once, gap recovered.
            self.reconnect_now("renewing before the 24 h limit", now_ms);
            return self.poll(now_ms);
        }
        if plan.keepalive_every_ms > 0
            && now_ms.saturating_sub(self.last_keepalive_ms) >= plan.keepalive_every_ms
        {
            self.last_keepalive_ms = now_ms;
            return Action::KeepaliveListenKey;
        }
        if plan.ping_every_ms > 0 && now_ms.saturating_sub(self.last_ping_ms) >= plan.ping_every_ms
        {
            self.last_ping_ms = now_ms;
            return Action::Ping;
        }
        let mut next = last.saturating_add(SILENCE_MS);
        next = next.min(self.opened_ms.saturating_add(plan.max_life_ms));
        if plan.keepalive_every_ms > 0 {
            next = next.min(
                self.last_keepalive_ms
                    .saturating_add(plan.keepalive_every_ms),
            );
        }
        if plan.ping_every_ms > 0 {
            next = next.min(self.last_ping_ms.saturating_add(plan.ping_every_ms));
        }
        Action::WaitUntil { at_ms: next }
    }
}

#[cfg(test)]
#[path = "stream_session_tests.rs"]
mod tests;
