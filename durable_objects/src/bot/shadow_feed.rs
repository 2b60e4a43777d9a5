//! Feeding a bot's paper shadows (the A/B test of `shadow`): after the bot has handled an
//! admitted webhook signal, the signal path hands the same body to each shadow's
//! `POST /shadow/signal`. Its own layer below `signal` and `shadow`, so neither needs the other
//! for this.

use super::BotDO;
use crate::http::ApiError;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use worker::{Method, Request, RequestInit};

/// The shadows this bot feeds (`shadows` key).
///
/// # Errors
/// Storage failures.
pub fn shadows(bot: &BotDO) -> Result<BTreeSet<String>, ApiError> {
    Ok(super::store::kv_get(&bot.db, "shadows")?.unwrap_or_default())
}

/// Sends an admitted webhook body on to this bot's shadows, one after the other, after the bot
/// itself has handled it. Returns each shadow's status (HTTP code, or the transport error), for
/// the parent's answer; never fails the parent.
pub async fn forward(bot: &BotDO, body: &str, received_ms: i64) -> Vec<Value> {
    let (Ok(set), Ok(parent)) = (shadows(bot), bot.bot_id()) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(set.len());
    let mut gone = Vec::new();
    // All shadows at once (at most MAX_SHADOWS): A's answer waits for the slowest, not the sum.
    let payload = json!({"parent": parent.as_str(), "body": body, "received_ms": received_ms});
    let answers =
        futures_util::future::join_all(set.iter().map(|id| send(bot, id, &payload))).await;
    for (id, answer) in set.iter().zip(answers) {
        let status = match answer {
            Ok(code) => {
                if code == 404 {
                    gone.push(id.clone());
                }
                json!({"bot_id": id, "status": code})
            }
            Err(e) => {
                worker::console_error!("shadow {id}: {e}");
                json!({"bot_id": id, "status": Value::Null, "error": e})
            }
        };
        out.push(status);
    }
    // A deleted shadow answers 404 (no such bot): stop feeding it.
    if !gone.is_empty() {
        let kept: BTreeSet<String> = set.into_iter().filter(|s| !gone.contains(s)).collect();
        let saved = match bot.journal() {
            Ok(mut j) => match j.put("shadows", &kept) {
                Ok(_) => bot.commit(j).await,
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = saved {
            worker::console_error!("shadows not pruned: {}", e.message);
        }
    }
    out
}

async fn send(bot: &BotDO, id: &str, payload: &Value) -> Result<u16, String> {
    let ns = bot.env.durable_object("BOT").map_err(|e| e.to_string())?;
    let stub = ns.get_by_name(id).map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(payload.to_string().into()));
    let path = format!(
        "https://bot/{}/shadow/signal",
        crate::http::cap_text(id, 64)
    );
    let req = Request::new_with_init(&path, &init).map_err(|e| e.to_string())?;
    let resp = stub
        .fetch_with_request(req)
        .await
        .map_err(|e| e.to_string())?;
    Ok(resp.status_code())
}
