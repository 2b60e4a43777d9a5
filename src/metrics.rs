//! `GET /api/v1/metrics`: every bot's counters and latency histograms (kept in its `BotDO`),
//! aggregated as JSON, or as Prometheus text exposition (`Accept: text/plain` or
//! `?format=prometheus`) for a scraper. The cron also writes one data point per bot to Workers
//! Analytics Engine when an `ANALYTICS` binding exists.

use crate::api::{call_bot, call_control, Call};
use keel_durable_objects::http::{json, ApiError};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use worker::{Env, Method, Response};

/// Analytics Engine dataset binding.
pub const ANALYTICS: &str = "ANALYTICS";

async fn bot_ids(env: &Env) -> Result<Vec<String>, ApiError> {
    let rows = call_control(env, Method::Get, "/bots", None).await?;
    Ok(rows
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default())
}

/// Every bot's metrics view by id (a bot that cannot answer is reported with its error).
///
/// # Errors
/// The bot registry is unreachable.
pub async fn collect(env: &Env) -> Result<BTreeMap<String, Value>, ApiError> {
    let mut out = BTreeMap::new();
    for id in bot_ids(env).await? {
        let v = call_bot(env, &id, Method::Get, "/view/metrics", None)
            .await
            .unwrap_or_else(|e| json!({"error": e.body()}));
        out.insert(id, v);
    }
    Ok(out)
}

fn add_map(total: &mut Map<String, Value>, part: &Value) {
    if let Some(m) = part.as_object() {
        for (k, v) in m {
            let sum = total.get(k).and_then(Value::as_i64).unwrap_or(0) + v.as_i64().unwrap_or(0);
            total.insert(k.clone(), json!(sum));
        }
    }
}

fn add_hist(total: &mut Value, part: &Value) {
    let counts: Vec<i64> = part["counts"]
        .as_array()
        .map(|a| a.iter().map(|c| c.as_i64().unwrap_or(0)).collect())
        .unwrap_or_default();
    if counts.is_empty() {
        return;
    }
    let mut acc: Vec<i64> = total["counts"]
        .as_array()
        .map(|a| a.iter().map(|c| c.as_i64().unwrap_or(0)).collect())
        .unwrap_or_default();
    acc.resize(counts.len().max(acc.len()), 0);
    for (a, c) in acc.iter_mut().zip(&counts) {
        *a += c;
    }
    total["counts"] = json!(acc);
    total["count"] =
        json!(total["count"].as_i64().unwrap_or(0) + part["count"].as_i64().unwrap_or(0));
    total["sum_ms"] =
        json!(total["sum_ms"].as_i64().unwrap_or(0) + part["sum_ms"].as_i64().unwrap_or(0));
}

/// Platform totals over the bots' views.
pub fn totals(bots: &BTreeMap<String, Value>) -> Value {
    let mut t = json!({"signals_total": 0, "orders_total": 0, "fills_total": 0, "bots": bots.len(), "paused": 0, "halted": 0,
        "latency_ms": {"webhook_to_exchange": {}, "exchange_round_trip": {}}});
    let (mut rej, mut orders, mut signals) = (Map::new(), Map::new(), Map::new());
    for v in bots.values() {
        for k in ["signals_total", "orders_total", "fills_total"] {
            t[k] = json!(t[k].as_i64().unwrap_or(0) + v[k].as_i64().unwrap_or(0));
        }
        for (flag, k) in [("paused", "paused"), ("halted", "halted")] {
            if v["flags"][flag].as_bool() == Some(true) {
                t[k] = json!(t[k].as_i64().unwrap_or(0) + 1);
            }
        }
        add_map(&mut rej, &v["rejections_by_rule"]);
        add_map(&mut orders, &v["orders_by_status"]);
        add_map(&mut signals, &v["signals_by_status"]);
        for h in ["webhook_to_exchange", "exchange_round_trip"] {
            add_hist(&mut t["latency_ms"][h], &v["latency_ms"][h]);
        }
    }
    t["rejections_by_rule"] = Value::Object(rej);
    t["orders_by_status"] = Value::Object(orders);
    t["signals_by_status"] = Value::Object(signals);
    t
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Bucket bounds (ms) as the bots report them.
const BUCKETS_MS: [u64; 12] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000];

/// Prometheus text exposition (format 0.0.4) of the bots' views.
pub fn prometheus(bots: &BTreeMap<String, Value>) -> String {
    let mut s = String::new();
    let family = |s: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(
        &mut s,
        "keel_signals_total",
        "counter",
        "Webhook signals received, by answer status.",
    );
    for (id, v) in bots {
        for (status, n) in v["signals_by_status"].as_object().into_iter().flatten() {
            let _ = writeln!(
                s,
                "keel_signals_total{{bot=\"{}\",status=\"{}\"}} {}",
                label(id),
                label(status),
                n.as_i64().unwrap_or(0)
            );
        }
    }
    family(
        &mut s,
        "keel_rejections_total",
        "counter",
        "Signals refused, by rule/code.",
    );
    for (id, v) in bots {
        for (rule, n) in v["rejections_by_rule"].as_object().into_iter().flatten() {
            let _ = writeln!(
                s,
                "keel_rejections_total{{bot=\"{}\",rule=\"{}\"}} {}",
                label(id),
                label(rule),
                n.as_i64().unwrap_or(0)
            );
        }
    }
    family(
        &mut s,
        "keel_orders_total",
        "counter",
        "Orders, by current status.",
    );
    for (id, v) in bots {
        for (st, n) in v["orders_by_status"].as_object().into_iter().flatten() {
            let _ = writeln!(
                s,
                "keel_orders_total{{bot=\"{}\",status=\"{}\"}} {}",
                label(id),
                label(st),
                n.as_i64().unwrap_or(0)
            );
        }
    }
    family(
        &mut s,
        "keel_fills_total",
        "counter",
        "Fills booked in the ledger.",
    );
    for (id, v) in bots {
        let _ = writeln!(
            s,
            "keel_fills_total{{bot=\"{}\"}} {}",
            label(id),
            v["fills_total"].as_i64().unwrap_or(0)
        );
    }
    family(
        &mut s,
        "keel_bot_paused",
        "gauge",
        "1 when the bot is paused (operator or automatic).",
    );
    for (id, v) in bots {
        let _ = writeln!(
            s,
            "keel_bot_paused{{bot=\"{}\"}} {}",
            label(id),
            i32::from(v["flags"]["paused"].as_bool() == Some(true))
        );
    }
    for (h, help) in [
        (
            "webhook_to_exchange",
            "Webhook receipt to the exchange call leaving the Durable Object (ms).",
        ),
        (
            "exchange_round_trip",
            "Exchange round trip of order calls (ms).",
        ),
    ] {
        let name = format!("keel_{h}_ms");
        family(&mut s, &name, "histogram", help);
        for (id, v) in bots {
            let hv = &v["latency_ms"][h];
            let counts: Vec<u64> = hv["counts"]
                .as_array()
                .map(|a| a.iter().map(|c| c.as_u64().unwrap_or(0)).collect())
                .unwrap_or_default();
            let mut cum = 0u64;
            for (i, le) in BUCKETS_MS.iter().enumerate() {
                cum += counts.get(i).copied().unwrap_or(0);
                let _ = writeln!(
                    s,
                    "{name}_bucket{{bot=\"{}\",le=\"{le}\"}} {cum}",
                    label(id)
                );
            }
            cum += counts.get(BUCKETS_MS.len()).copied().unwrap_or(0);
            let _ = writeln!(
                s,
                "{name}_bucket{{bot=\"{}\",le=\"+Inf\"}} {cum}",
                label(id)
            );
            let _ = writeln!(
                s,
                "{name}_sum{{bot=\"{}\"}} {}",
                label(id),
                hv["sum_ms"].as_u64().unwrap_or(0)
            );
            let _ = writeln!(
                s,
                "{name}_count{{bot=\"{}\"}} {}",
                label(id),
                hv["count"].as_u64().unwrap_or(0)
            );
        }
    }
    s
}

/// Serves `/api/v1/metrics` (viewer tokens allowed: it is a GET).
///
/// # Errors
/// The bot registry is unreachable.
pub async fn handle(ctx: &Call<'_>, accept: &str) -> Result<Response, ApiError> {
    let mut bots = collect(ctx.env).await?;
    // A token scoped to some bots sees their metrics and totals over them only.
    bots.retain(|id, _| ctx.principal.covers(id));
    let wants_text = ctx
        .query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|kv| kv == "format=prometheus"))
        || (accept.contains("text/plain") && !accept.contains("application/json"));
    if wants_text {
        let mut resp = Response::ok(prometheus(&bots))?;
        resp.headers_mut()
            .set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")?;
        return Ok(resp);
    }
    let t = totals(&bots);
    Ok(json(200, &json!({"totals": t, "bots": bots}))?)
}

/// Writes one Analytics Engine data point per bot (cron). Without the binding it does nothing.
pub async fn write_analytics(env: &Env) {
    let Ok(dataset) = env.analytics_engine(ANALYTICS) else {
        return;
    };
    let bots = match collect(env).await {
        Ok(b) => b,
        Err(e) => {
            worker::console_error!("metrics: {e}");
            return;
        }
    };
    for (id, v) in &bots {
        let n = |k: &str| v[k].as_f64().unwrap_or(0.0);
        let rejections: f64 = v["rejections_by_rule"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_f64).sum())
            .unwrap_or(0.0);
        let point = worker::AnalyticsEngineDataPointBuilder::new()
            .indexes([id.as_str()])
            .blobs([id.clone()])
            .doubles([
                n("signals_total"),
                n("orders_total"),
                n("fills_total"),
                rejections,
                v["latency_ms"]["webhook_to_exchange"]["count"]
                    .as_f64()
                    .unwrap_or(0.0),
                v["latency_ms"]["webhook_to_exchange"]["sum_ms"]
                    .as_f64()
                    .unwrap_or(0.0),
            ])
            .build();
        if let Err(e) = dataset.write_data_point(&point) {
            worker::console_error!("analytics engine: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot(signals: i64, hist: &[u64]) -> Value {
        json!({"signals_total": signals, "signals_by_status": {"200": signals}, "rejections_by_rule": {"risk_max_daily_loss": 1},
               "orders_total": 2, "orders_by_status": {"filled": 2}, "fills_total": 2, "flags": {"paused": true},
               "latency_ms": {"webhook_to_exchange": {"counts": hist, "count": hist.iter().sum::<u64>(), "sum_ms": 30},
                              "exchange_round_trip": {}}})
    }

    #[test]
    fn totals_and_prometheus() {
        let mut bots = BTreeMap::new();
        bots.insert(
            "a".to_string(),
            bot(3, &[1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        );
        bots.insert(
            "b".to_string(),
            bot(1, &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        );
        let t = totals(&bots);
        assert_eq!(t["signals_total"], 4);
        assert_eq!(t["rejections_by_rule"]["risk_max_daily_loss"], 2);
        assert_eq!(t["paused"], 2);
        assert_eq!(t["latency_ms"]["webhook_to_exchange"]["count"], 5);
        let text = prometheus(&bots);
        assert!(text.contains("keel_signals_total{bot=\"a\",status=\"200\"} 3\n"));
        assert!(text.contains("keel_webhook_to_exchange_ms_bucket{bot=\"a\",le=\"5\"} 3\n"));
        assert!(text.contains("keel_webhook_to_exchange_ms_bucket{bot=\"a\",le=\"+Inf\"} 4\n"));
        assert!(text.contains("keel_webhook_to_exchange_ms_count{bot=\"a\"} 4\n"));
        assert!(text.contains("# TYPE keel_rejections_total counter\n"));
    }
}
