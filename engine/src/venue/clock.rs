//! Exchange server-clock tracking. Signed requests carry a timestamp the exchange accepts only
//! within `[server - recvWindow, server + 1000 ms)`, and a Worker's clock is not the exchange's.
//! [`ServerClock`] keeps the offset learned from `/time` replies and response envelopes (Bybit
//! `time`), estimates it at the midpoint of the round trip, and says when it must be re-synced.

use serde::{Deserialize, Serialize};

/// Re-sync at least this often even without errors.
pub const RESYNC_INTERVAL_MS: i64 = 10 * 60 * 1000;

/// Passive samples (from ordinary responses) with a round trip longer than this are ignored: the
/// midpoint estimate would be too loose.
pub const MAX_PASSIVE_RTT_MS: i64 = 1_000;

/// Signed timestamps are placed this far behind the estimated server time: being late costs
/// nothing inside recvWindow, being >1 s early is rejected.
pub const DEFAULT_LAG_MS: i64 = 250;

/// Tracked offset between local and server clocks, per exchange (held by the account's DO).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerClock {
    /// server − local, ms.
    offset_ms: i64,
    /// Round trip of the sample the offset came from.
    sample_rtt_ms: i64,
    /// Local time of the last accepted sample.
    last_sync_ms: Option<i64>,
    /// Set by a timestamp error: the next signed request must wait for a sync.
    stale: bool,
    /// Lag applied to signed timestamps.
    lag_ms: i64,
}

impl Default for ServerClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerClock {
    /// A clock that has never synced (offset 0, needs sync).
    pub fn new() -> Self {
        Self {
            offset_ms: 0,
            sample_rtt_ms: i64::MAX,
            last_sync_ms: None,
            stale: true,
            lag_ms: DEFAULT_LAG_MS,
        }
    }

    /// Current estimate of server − local, ms.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    /// Estimated server time at local `now_ms`.
    pub fn server_now(&self, now_ms: i64) -> i64 {
        now_ms.saturating_add(self.offset_ms)
    }

    /// Timestamp to put in a signed request built at local `now_ms`.
    pub fn signed_timestamp(&self, now_ms: i64) -> i64 {
        self.server_now(now_ms).saturating_sub(self.lag_ms)
    }

    /// Records an explicit sync (`/time` reply): always accepted.
    pub fn observe_sync(&mut self, server_ms: i64, sent_ms: i64, received_ms: i64) {
        let rtt = received_ms.saturating_sub(sent_ms).max(0);
        self.accept(server_ms, sent_ms, rtt, received_ms);
    }

    /// Records a passive sample (a response envelope's server time). Accepted when its round trip
    /// is short and it is at least as tight as the current sample or the current one is old.
    pub fn observe_passive(&mut self, server_ms: i64, sent_ms: i64, received_ms: i64) {
        let rtt = received_ms.saturating_sub(sent_ms).max(0);
        if rtt > MAX_PASSIVE_RTT_MS {
            return;
        }
        let old = self
            .last_sync_ms
            .is_none_or(|t| received_ms.saturating_sub(t) > RESYNC_INTERVAL_MS / 2);
        if rtt <= self.sample_rtt_ms || old {
            self.accept(server_ms, sent_ms, rtt, received_ms);
        }
    }

    fn accept(&mut self, server_ms: i64, sent_ms: i64, rtt: i64, received_ms: i64) {
        let midpoint = sent_ms.saturating_add(rtt / 2);
        self.offset_ms = server_ms.saturating_sub(midpoint);
        self.sample_rtt_ms = rtt;
        self.last_sync_ms = Some(received_ms);
        self.stale = false;
    }

    /// Marks the clock stale after a timestamp error (`-1021` / `10002`).
    pub fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// Whether a `/time` sync should run before the next signed request.
    pub fn needs_sync(&self, now_ms: i64) -> bool {
        self.stale
            || self
                .last_sync_ms
                .is_none_or(|t| now_ms.saturating_sub(t) > RESYNC_INTERVAL_MS)
    }

    /// Local time of the last accepted sample.
    pub fn last_sync_ms(&self) -> Option<i64> {
        self.last_sync_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_uses_round_trip_midpoint() {
        let mut c = ServerClock::new();
        assert!(c.needs_sync(0));
        // Sent at 1000, back at 1200; server said 2100 at the midpoint (1100) => offset +1000.
        c.observe_sync(2_100, 1_000, 1_200);
        assert_eq!(c.offset_ms(), 1_000);
        assert_eq!(c.server_now(5_000), 6_000);
        assert_eq!(c.signed_timestamp(5_000), 6_000 - DEFAULT_LAG_MS);
        assert!(!c.needs_sync(1_300));
        assert!(c.needs_sync(1_200 + RESYNC_INTERVAL_MS + 1));
    }

    struct Case {
        server: i64,
        sent: i64,
        received: i64,
        expected_offset: i64,
    }

    #[test]
    fn passive_samples_only_tighten() {
        let mut c = ServerClock::new();
        c.observe_sync(10_100, 10_000, 10_200); // offset 0, rtt 200
        let cases = [
            // Looser sample (rtt 600) ignored.
            Case {
                server: 20_900,
                sent: 20_000,
                received: 20_600,
                expected_offset: 0,
            },
            // Too slow (rtt 2000) ignored.
            Case {
                server: 40_000,
                sent: 30_000,
                received: 32_000,
                expected_offset: 0,
            },
            // Tighter sample (rtt 100) accepted: midpoint 40_050, server 40_000 => -50.
            Case {
                server: 40_000,
                sent: 40_000,
                received: 40_100,
                expected_offset: -50,
            },
        ];
        for case in cases {
            c.observe_passive(case.server, case.sent, case.received);
            assert_eq!(c.offset_ms(), case.expected_offset);
        }
    }

    #[test]
    fn timestamp_error_forces_resync() {
        let mut c = ServerClock::new();
        c.observe_sync(1_000, 1_000, 1_000);
        assert!(!c.needs_sync(1_001));
        c.mark_stale();
        assert!(c.needs_sync(1_001));
        c.observe_sync(3_000, 2_000, 2_000);
        assert!(!c.needs_sync(2_001));
        assert_eq!(c.offset_ms(), 1_000);
    }
}
