//! The cron trigger: for every registered bot, a `tick` (keep-alive, exchange probe, outbox
//! flush) and, on the reconciliation schedule, a reconciliation against the exchange.

use crate::api::{call_bot, call_control};
use serde_json::json;
use worker::{Env, Method};

/// Runs one scheduled invocation.
pub async fn run(cron: String, env: &Env) {
    let bots = match call_control(env, Method::Get, "/bots", None).await {
        Ok(v) => v,
        Err(e) => {
            worker::console_error!("cron: bot registry unavailable: {e}");
            return;
        }
    };
    let ids: Vec<String> = bots
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for id in ids {
        let body = json!({"cron": cron, "actor": "cron"});
        if let Err(e) = call_bot(env, &id, Method::Post, "/control/tick", Some(body)).await {
            worker::console_error!("cron: bot {id} tick failed: {e}");
        }
    }
    crate::metrics::write_analytics(env).await;
}
