//! Drift of a live strategy bot from the backtest of the same version over the same bars
//! (`keel_engine::analytics::drift`, docs/analytics.md#drift): after each strategy signal the bot
//! records how far its fills were from the deciding bar's close (where the backtester fills), or
//! that the target was missed, and raises a `drift` alert through the bot's alert channel when
//! the stated bound is crossed (resolved when back within it).

use super::alerts::Signal;
use super::store::kv_get;
use super::BotDO;
use crate::http::{json, ApiError};
use keel_engine::alert::{Alert, AlertKind};
use keel_engine::analytics::drift::{shortfall_bps, DriftBound, DriftState, DriftVerdict};
use serde_json::{json, Value};
use worker::Response;

/// The fills of a signal's answer: `(is_buy, avg_price, filled_qty)` per order that filled.
fn fills_of(outcome: &Value) -> Vec<(bool, f64, f64)> {
    let num = |v: &Value| match v {
        Value::String(s) => s.parse::<f64>().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    };
    outcome["orders"]
        .as_array()
        .map(|orders| {
            orders
                .iter()
                .filter_map(|o| {
                    let side = o["side"].as_str()?.to_ascii_lowercase();
                    let avg = num(&o["avg_price"])?;
                    let qty = num(&o["filled_qty"]).or_else(|| num(&o["executed_qty"]))?;
                    Some((side == "buy", avg, qty))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Records one strategy signal's execution against the deciding bar's `close` and alerts on a
/// crossed bound. Never fails the caller: errors are logged.
pub async fn record(bot: &BotDO, symbol: &str, close: f64, outcome: &Result<Value, ApiError>) {
    let result = async {
        let bound = DriftBound::default();
        let mut st: DriftState = kv_get(&bot.db, "drift")?.unwrap_or_default();
        let verdict = match outcome {
            Ok(v) if v["status"] == "executed" => match shortfall_bps(close, &fills_of(v)) {
                Some(bps) => st.executed(bps, &bound),
                None => return Ok(()),
            },
            Ok(_) => return Ok(()),
            Err(_) => st.missed(&bound),
        };
        let bot_id = bot.bot_id()?;
        let signals = match verdict {
            Some(DriftVerdict::Breached(why)) => vec![Signal::Raise(Alert::new(
                bot_id.as_str(),
                AlertKind::Drift,
                symbol,
                why,
            ))],
            Some(DriftVerdict::Cleared(_)) => {
                vec![Signal::Resolve(AlertKind::Drift, symbol.to_string())]
            }
            None => vec![],
        };
        let mut j = bot.journal()?;
        j.put("drift", &st)?;
        super::alerts::stage(bot, &mut j, signals)?;
        bot.commit(j).await
    }
    .await;
    if let Err(e) = result {
        worker::console_error!("drift: {}", e.message);
    }
}

/// `GET /view/drift`: the running drift and its bound.
///
/// # Errors
/// Storage failures.
pub fn view(bot: &BotDO) -> Result<Response, ApiError> {
    let st: DriftState = kv_get(&bot.db, "drift")?.unwrap_or_default();
    let bound = DriftBound::default();
    Ok(json(
        200,
        &json!({"bot_id": bot.bot_id()?.as_str(), "bound": bound, "mean_shortfall_bps": st.mean_bps(),
                "breach": st.breach(&bound), "state": st}),
    )?)
}

#[cfg(test)]
mod tests {
    use super::fills_of;
    use serde_json::json;

    #[test]
    fn reads_the_filled_orders_of_a_signal_answer() {
        let outcome = json!({"status": "executed", "orders": [
            {"side": "buy", "avg_price": "100.5", "executed_qty": "0.2"},
            {"side": "sell", "avg_price": null, "executed_qty": "0"},
            {"error": {"code": "x"}},
        ]});
        assert_eq!(fills_of(&outcome), vec![(true, 100.5, 0.2)]);
        assert!(fills_of(&json!({"status": "rejected"})).is_empty());
    }
}
