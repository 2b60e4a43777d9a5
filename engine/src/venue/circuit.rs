//! Per-exchange circuit breaker as a pure state machine. When an exchange keeps failing (5xx,
//! timeouts) or answers too slowly, new entries are refused quickly (the webhook answers `503`)
//! instead of piling up; cancels and reduce-only orders are always let through, because getting
//! out must never be blocked by our own protection.
//!
//! | state | entries | exits | leaves when |
//! |---|---|---|---|
//! | Closed | allowed | allowed | `failure_threshold` consecutive failures/slow calls → Open |
//! | Open | refused | allowed | `open_ms` elapsed → HalfOpen |
//! | HalfOpen | one probe at a time | allowed | probe succeeds → Closed; fails → Open |

use crate::venue::error::VenueError;
use crate::venue::op::VenueReply;
use serde::{Deserialize, Serialize};

/// Thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitConfig {
    /// Consecutive failures (or slow successes) that open the circuit.
    pub failure_threshold: u32,
    /// A success slower than this counts as a failure.
    pub slow_call_ms: i64,
    /// How long the circuit stays open before a probe.
    pub open_ms: i64,
}

impl Default for CircuitConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            slow_call_ms: 5_000,
            open_ms: 30_000,
        }
    }
}

/// Current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum CircuitState {
    /// Healthy.
    Closed {
        /// Consecutive bad outcomes so far.
        consecutive_failures: u32,
    },
    /// Tripped until `until_ms`.
    Open {
        /// Local ms.
        until_ms: i64,
    },
    /// Trying one probe.
    HalfOpen {
        /// When the probe in flight was let through (`None`: no probe yet). A probe whose
        /// outcome was never recorded (the caller crashed) stops blocking after `open_ms`.
        probe_started_ms: Option<i64>,
    },
}

/// Decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "permit")]
pub enum Permit {
    /// Send it.
    Allow,
    /// Refuse (entries only) until about `retry_at_ms`.
    Refuse {
        /// Local ms.
        retry_at_ms: i64,
    },
}

/// Outcome of a request, as the breaker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum CallOutcome {
    /// The exchange answered (any business answer, even a rejection) in `latency_ms`.
    Answered {
        /// Round trip, ms.
        latency_ms: i64,
    },
    /// Connection failure, timeout or 5xx ([`crate::venue::VenueError::is_venue_failure`]).
    Failed,
}

impl CallOutcome {
    /// The one rule for what an answered request tells the breaker, used by every caller
    /// ([`crate::venue::Guards`], [`crate::venue::LinkGuards`], the exchange call): the exchange
    /// failed when the typed reply says it was unavailable
    /// ([`VenueError::is_venue_failure`]: 5xx, "status unknown" codes); any other answer, even a
    /// refusal, a rate limit or an unreadable body, shows the exchange alive and counts only by
    /// its latency. Deciding on the typed error rather than the HTTP status keeps one
    /// definition: the adapters already map every 5xx and every server-side timeout code to
    /// `Unavailable`, and a business refusal never trips the circuit.
    pub fn of_reply(reply: &Result<VenueReply, VenueError>, latency_ms: i64) -> Self {
        match reply {
            Err(e) if e.is_venue_failure() => CallOutcome::Failed,
            _ => CallOutcome::Answered { latency_ms },
        }
    }
}

/// The breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitBreaker {
    config: CircuitConfig,
    state: CircuitState,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: CircuitConfig) -> Self {
        Self {
            config,
            state: CircuitState::Closed {
                consecutive_failures: 0,
            },
        }
    }

    /// Current state (for `/health`), with Open→HalfOpen applied at `now_ms`.
    pub fn state(&self, now_ms: i64) -> CircuitState {
        match self.state {
            CircuitState::Open { until_ms } if now_ms >= until_ms => CircuitState::HalfOpen {
                probe_started_ms: None,
            },
            s => s,
        }
    }

    /// May this request go? `is_entry` is [`crate::venue::VenueOp::is_entry`]: exits always go.
    pub fn permit(&mut self, is_entry: bool, now_ms: i64) -> Permit {
        self.state = self.state(now_ms);
        if !is_entry {
            return Permit::Allow;
        }
        match self.state {
            CircuitState::Closed { .. } => Permit::Allow,
            CircuitState::Open { until_ms } => Permit::Refuse {
                retry_at_ms: until_ms,
            },
            CircuitState::HalfOpen {
                probe_started_ms: Some(t),
            } if now_ms < t.saturating_add(self.config.open_ms) => Permit::Refuse {
                retry_at_ms: t.saturating_add(self.config.open_ms),
            },
            CircuitState::HalfOpen { .. } => {
                self.state = CircuitState::HalfOpen {
                    probe_started_ms: Some(now_ms),
                };
                Permit::Allow
            }
        }
    }

    /// Records the outcome of any request (entries, exits, probes, cron pings).
    pub fn record(&mut self, outcome: CallOutcome, now_ms: i64) {
        let bad = match outcome {
            CallOutcome::Failed => true,
            CallOutcome::Answered { latency_ms } => latency_ms > self.config.slow_call_ms,
        };
        let open = CircuitState::Open {
            until_ms: now_ms.saturating_add(self.config.open_ms),
        };
        self.state = match (self.state(now_ms), bad) {
            (CircuitState::Closed { .. }, false) => CircuitState::Closed {
                consecutive_failures: 0,
            },
            (
                CircuitState::Closed {
                    consecutive_failures,
                },
                true,
            ) => {
                let n = consecutive_failures.saturating_add(1);
                if n >= self.config.failure_threshold {
                    open
                } else {
                    CircuitState::Closed {
                        consecutive_failures: n,
                    }
                }
            }
            (CircuitState::HalfOpen { .. }, false) => CircuitState::Closed {
                consecutive_failures: 0,
            },
            (CircuitState::HalfOpen { .. }, true) => open,
            // An exit answered while open says little about overall health; keep the timer.
            (s @ CircuitState::Open { .. }, _) => s,
        };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_lost_probe_does_not_block_forever() {
        let mut cb = CircuitBreaker::new(cfg());
        for t in 0..3 {
            cb.record(CallOutcome::Failed, t);
        }
        assert_eq!(cb.permit(true, 10_002), Permit::Allow);
        assert_eq!(
            cb.permit(true, 10_003),
            Permit::Refuse {
                retry_at_ms: 20_002
            }
        );
        assert_eq!(
            cb.permit(true, 20_002),
            Permit::Allow,
            "probe outcome never recorded: probe again"
        );
    }

    use super::*;

    fn cfg() -> CircuitConfig {
        CircuitConfig {
            failure_threshold: 3,
            slow_call_ms: 1_000,
            open_ms: 10_000,
        }
    }

    #[test]
    fn opens_after_consecutive_failures_and_lets_exits_through() {
        let mut cb = CircuitBreaker::new(cfg());
        cb.record(CallOutcome::Failed, 0);
        cb.record(CallOutcome::Answered { latency_ms: 2_000 }, 1); // slow counts
        assert_eq!(cb.permit(true, 2), Permit::Allow);
        cb.record(CallOutcome::Failed, 3);
        assert_eq!(cb.state(4), CircuitState::Open { until_ms: 10_003 });
        assert_eq!(
            cb.permit(true, 4),
            Permit::Refuse {
                retry_at_ms: 10_003
            }
        );
        assert_eq!(
            cb.permit(false, 4),
            Permit::Allow,
            "cancels and reduce-only still go"
        );
    }

    #[test]
    fn success_resets_the_count() {
        let mut cb = CircuitBreaker::new(cfg());
        cb.record(CallOutcome::Failed, 0);
        cb.record(CallOutcome::Failed, 1);
        cb.record(CallOutcome::Answered { latency_ms: 10 }, 2);
        cb.record(CallOutcome::Failed, 3);
        assert_eq!(
            cb.state(4),
            CircuitState::Closed {
                consecutive_failures: 1
            }
        );
    }

    struct Case {
        probe: CallOutcome,
        expected: CircuitState,
    }

    #[test]
    fn half_open_probe_decides() {
        let cases = [
            Case {
                probe: CallOutcome::Answered { latency_ms: 50 },
                expected: CircuitState::Closed {
                    consecutive_failures: 0,
                },
            },
            Case {
                probe: CallOutcome::Failed,
                expected: CircuitState::Open { until_ms: 20_100 },
            },
        ];
        for case in cases {
            let mut cb = CircuitBreaker::new(cfg());
            for t in 0..3 {
                cb.record(CallOutcome::Failed, t);
            }
            assert_eq!(
                cb.permit(true, 10_050),
                Permit::Allow,
                "first entry after open_ms is the probe"
            );
            assert!(
                matches!(cb.permit(true, 10_060), Permit::Refuse { .. }),
                "one probe at a time"
            );
            cb.record(case.probe, 10_100);
            assert_eq!(cb.state(10_100), case.expected);
        }
    }
}
