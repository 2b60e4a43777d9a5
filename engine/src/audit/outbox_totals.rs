//! The platform-wide view of every bot's audit outbox, for the unauthenticated `GET /health`.
//!
//! Why: during a Neo4j outage each bot keeps its events in its own outbox; an operator (or a load
//! balancer probe) must see the backlog grow and drain without listing bots. The totals carry
//! counts only, never bot ids, since `/health` answers anyone.

use super::outbox::{OutboxHealth, OutboxStatus};
use serde::{Deserialize, Serialize};

/// Sum of the bots' outbox health.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutboxTotals {
    /// Bots asked.
    pub bots: u32,
    /// Unshipped events over all bots.
    pub depth: u64,
    /// Bots with at least one unshipped event.
    pub behind: u32,
    /// Bots whose last shipping attempt failed (backing off).
    pub failing: u32,
    /// Bots reporting `lagging`.
    pub lagging: u32,
    /// Bots parked on a permanent failure.
    pub parked: u32,
    /// Bots that did not answer with their outbox health.
    pub unreadable: u32,
    /// Age of the oldest unshipped event of any bot (ms), 0 when none.
    pub oldest_age_ms: i64,
    /// Worst status over the bots: `parked` > `lagging` > `ok`.
    pub status: Option<OutboxStatus>,
}

impl OutboxTotals {
    /// Adds one bot's health, or `None` for a bot that could not be read.
    pub fn add(&mut self, health: Option<&OutboxHealth>) {
        self.bots = self.bots.saturating_add(1);
        let Some(h) = health else {
            self.unreadable = self.unreadable.saturating_add(1);
            return;
        };
        self.depth = self.depth.saturating_add(h.depth);
        self.behind += u32::from(h.depth > 0);
        self.failing += u32::from(h.failures > 0);
        self.lagging += u32::from(h.status == OutboxStatus::Lagging);
        self.parked += u32::from(h.status == OutboxStatus::Parked);
        self.oldest_age_ms = self.oldest_age_ms.max(h.oldest_age_ms);
        let rank = |s: Option<OutboxStatus>| match s {
            None => 0,
            Some(OutboxStatus::Ok) => 1,
            Some(OutboxStatus::Lagging) => 2,
            Some(OutboxStatus::Parked) => 3,
        };
        if rank(Some(h.status)) > rank(self.status) {
            self.status = Some(h.status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(depth: u64, failures: u32, status: OutboxStatus, age: i64) -> OutboxHealth {
        OutboxHealth {
            depth,
            oldest_age_ms: age,
            failures,
            status,
            last_error: None,
        }
    }

    #[test]
    fn sums_counts_and_keeps_the_worst_status() {
        struct Case {
            bots: Vec<Option<OutboxHealth>>,
            expected: OutboxTotals,
        }
        let cases = [
            Case {
                bots: vec![],
                expected: OutboxTotals::default(),
            },
            Case {
                bots: vec![Some(h(0, 0, OutboxStatus::Ok, 0))],
                expected: OutboxTotals {
                    bots: 1,
                    status: Some(OutboxStatus::Ok),
                    ..OutboxTotals::default()
                },
            },
            Case {
                bots: vec![
                    Some(h(12, 3, OutboxStatus::Ok, 4_000)),
                    Some(h(1_500, 5, OutboxStatus::Lagging, 90_000)),
                    None,
                    Some(h(0, 0, OutboxStatus::Ok, 0)),
                ],
                expected: OutboxTotals {
                    bots: 4,
                    depth: 1_512,
                    behind: 2,
                    failing: 2,
                    lagging: 1,
                    parked: 0,
                    unreadable: 1,
                    oldest_age_ms: 90_000,
                    status: Some(OutboxStatus::Lagging),
                },
            },
            Case {
                bots: vec![
                    Some(h(7, 1, OutboxStatus::Parked, 10)),
                    Some(h(2_000, 9, OutboxStatus::Lagging, 20)),
                ],
                expected: OutboxTotals {
                    bots: 2,
                    depth: 2_007,
                    behind: 2,
                    failing: 2,
                    lagging: 1,
                    parked: 1,
                    unreadable: 0,
                    oldest_age_ms: 20,
                    status: Some(OutboxStatus::Parked),
                },
            },
        ];
        for c in cases {
            let mut t = OutboxTotals::default();
            for b in &c.bots {
                t.add(b.as_ref());
            }
            assert_eq!(t, c.expected);
        }
    }
}
