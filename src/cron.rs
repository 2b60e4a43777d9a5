//! The cron trigger: for every registered bot, a `tick` (keep-alive, exchange probe, outbox
//! flush, daily summary) and, on the reconciliation schedule, a reconciliation against the
//! exchange. A bot with `trading_hours` is ticked every minute only inside its windows (kept
//! warm); outside them every 15 minutes ([`keel_engine::schedule::cron_tick`] decides, from the
//! registry, so a skipped bot is not woken).

use crate::api::{call_bot, call_control, BOT_FAN_OUT};
use futures_util::stream::{self, StreamExt};
use keel_engine::schedule::{cron_tick, CronTick, TradingHours};
use serde_json::{json, Value};
use worker::{Env, Method};

/// What the cron decides for one registry row at `scheduled_ms`.
fn decide(row: &Value, scheduled_ms: i64) -> CronTick {
    let hours = row["trading_hours"]
        .as_str()
        .and_then(|t| serde_json::from_str::<TradingHours>(t).ok());
    cron_tick(hours.as_ref(), scheduled_ms)
}

/// Runs one scheduled invocation (`scheduled_ms`: the event's scheduled time).
pub async fn run(cron: String, scheduled_ms: i64, env: &Env) {
    let bots = match call_control(env, Method::Get, "/bots", None).await {
        Ok(v) => v,
        Err(e) => {
            worker::console_error!("cron: bot registry unavailable: {e}");
            return;
        }
    };
    // The bots tick BOT_FAN_OUT at a time: one after the other, a minute's cron over a few
    // hundred bots (each tick may ask its exchange) outlasted the minute.
    let ticks = bots
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|row| {
            let id = row["id"].as_str()?.to_string();
            let kind = decide(&row, scheduled_ms);
            (kind != CronTick::Skip).then(|| {
                let body = json!({
                    "cron": cron, "actor": "cron", "scheduled_ms": scheduled_ms,
                    "registered_ms": row["created_ms"], "kind": kind,
                });
                async move {
                    if let Err(e) =
                        call_bot(env, &id, Method::Post, "/control/tick", Some(body)).await
                    {
                        worker::console_error!("cron: bot {id} tick failed: {e}");
                    }
                }
            })
        });
    stream::iter(ticks)
        .buffer_unordered(BOT_FAN_OUT)
        .collect::<Vec<()>>()
        .await;
    crate::metrics::write_analytics(env).await;
}
