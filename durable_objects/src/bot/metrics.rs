//! Per-bot metrics for `/api/v1/metrics`. Counts are read from the tables that already hold the
//! facts (signals, orders, ledger fills), so they cannot drift from what the bot did; only the
//! two latency histograms are kept apart (`latency` key), written after the exchange answered so
//! the measurement never delays an order.

use super::store::kv_get;
use super::BotDO;
use crate::db::{text, WriteBatch};
use crate::http::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Upper bounds (ms) of the histogram buckets (Prometheus `le`), `+Inf` implied.
pub const BUCKETS_MS: [u64; 12] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000];

/// A cumulative-free latency histogram (counts per bucket; the last slot is `+Inf`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// Observations per bucket (`BUCKETS_MS.len() + 1` slots).
    pub counts: Vec<u64>,
    /// Number of observations.
    pub count: u64,
    /// Sum of observations (ms).
    pub sum_ms: u64,
}

impl Histogram {
    /// Adds one observation.
    pub fn observe(&mut self, ms: i64) {
        let ms = u64::try_from(ms).unwrap_or(0);
        if self.counts.len() != BUCKETS_MS.len() + 1 {
            self.counts = vec![0; BUCKETS_MS.len() + 1];
        }
        let slot = BUCKETS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(BUCKETS_MS.len());
        self.counts[slot] += 1;
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
    }
}

/// The two latencies of docs/benchmarks.md.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Webhook receipt → the exchange call leaving the object (our own time).
    pub decision: Histogram,
    /// Exchange round trip (request sent → answer committed).
    pub exchange: Histogram,
}

/// Records one order's latencies (called by the order path after the outcome is committed).
/// A storage failure is logged, never raised: metrics must not fail trading.
pub fn record_order(
    bot: &BotDO,
    signal_id: Option<&keel_engine::ids::SignalId>,
    sent_ms: i64,
    answered_ms: i64,
) {
    #[derive(Deserialize)]
    struct R {
        received_ms: i64,
    }
    let result = (|| -> Result<(), ApiError> {
        let mut l: Latency = kv_get(&bot.db, "latency")?.unwrap_or_default();
        if let Some(id) = signal_id {
            let r: Option<R> = bot.db.row(
                "SELECT received_ms FROM signals WHERE id = ?",
                vec![text(id.as_str())],
            )?;
            if let Some(r) = r {
                l.decision.observe(sent_ms - r.received_ms);
            }
        }
        l.exchange.observe(answered_ms - sent_ms);
        let mut b = WriteBatch::new();
        b.push(
            "INSERT INTO kv (key, value) VALUES ('latency', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![text(serde_json::to_string(&l).map_err(|e| ApiError::internal(e.to_string()))?)],
        );
        bot.db.commit(b)?;
        Ok(())
    })();
    if let Err(e) = result {
        worker::console_error!("metrics: {}", e.message);
    }
}

#[derive(Debug, Deserialize)]
struct Keyed {
    k: Option<String>,
    n: i64,
}

fn grouped(bot: &BotDO, sql: &str) -> Result<BTreeMap<String, i64>, ApiError> {
    let rows: Vec<Keyed> = bot.db.rows(sql, vec![])?;
    Ok(rows
        .into_iter()
        .map(|r| (r.k.unwrap_or_else(|| "unknown".into()), r.n))
        .collect())
}

/// The bot's metrics view (`/view/metrics`).
///
/// # Errors
/// Storage failures.
pub fn view(bot: &BotDO) -> Result<Value, ApiError> {
    let signals = grouped(
        bot,
        "SELECT CAST(status AS TEXT) AS k, COUNT(*) AS n FROM signals GROUP BY status",
    )?;
    let rejections = grouped(
        bot,
        "SELECT json_extract(outcome, '$.code') AS k, COUNT(*) AS n FROM signals WHERE status >= 400 GROUP BY k",
    )?;
    let orders = grouped(
        bot,
        "SELECT status AS k, COUNT(*) AS n FROM orders GROUP BY status",
    )?;
    let fills = grouped(
        bot,
        "SELECT 'fills' AS k, COUNT(*) AS n FROM ledger WHERE key LIKE 'f:%'",
    )?;
    let latency: Latency = kv_get(&bot.db, "latency")?.unwrap_or_default();
    let alerts = super::alerts::load(bot)?;
    Ok(json!({
        "signals_total": signals.values().sum::<i64>(),
        "signals_by_status": signals,
        "rejections_by_rule": rejections,
        "orders_total": orders.values().sum::<i64>(),
        "orders_by_status": orders,
        "fills_total": fills.get("fills").copied().unwrap_or(0),
        "latency_buckets_ms": BUCKETS_MS,
        "latency_ms": {"webhook_to_exchange": latency.decision, "exchange_round_trip": latency.exchange},
        "alerts": {"open": alerts.book.open.len(), "queued": alerts.queue.len(), "delivered": alerts.delivered},
        "audit_events": super::outbox::last_seq(bot),
        "flags": bot.flags()?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets() {
        let mut h = Histogram::default();
        for ms in [0, 1, 3, 25, 26, 9_999, -5] {
            h.observe(ms);
        }
        assert_eq!(h.count, 7);
        assert_eq!(h.counts[0], 3); // 0, 1, -5 (clamped to 0)
        assert_eq!(h.counts[2], 1); // 3 ≤ 5
        assert_eq!(h.counts[4], 1); // 25
        assert_eq!(h.counts[5], 1); // 26 ≤ 50
        assert_eq!(h.counts[12], 1); // +Inf
        assert_eq!(h.sum_ms, 1 + 3 + 25 + 26 + 9_999);
    }
}
