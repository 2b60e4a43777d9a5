//! Signals whose execution was interrupted (the object restarted mid-execution): each is
//! settled from its orders' final states once those are known, so its sender reads what the
//! exchange did. Run by the cron's tick and after reconciliation; decided by
//! [`keel_engine::order::interrupted_signal`].

use super::{now_ms, BotDO};
use crate::db::{int, text};
use crate::http::ApiError;
use keel_engine::audit::{Actor, AuditDraft, AuditEvent};
use keel_engine::ids::SignalId;
use serde::Deserialize;
use serde_json::{json, Value};

/// Gives an outcome to signals whose execution died with the instance that ran it (still
/// `processing`, not live here), once none of their orders is open: `200 executed` with the
/// orders when any of them filled, else `503 execution_interrupted` (nothing traded; audited as a
/// refusal). The rule is the engine's (`keel_engine::order::interrupted_signal`). Runs in the
/// refresh after the orders were settled by client id, so the outcome states what the exchange
/// did; without it the sender would read `processing` for ever and a resend would be refused as
/// "still being executed".
///
/// # Errors
/// Storage failures.
pub async fn resolve_interrupted(bot: &BotDO) -> Result<usize, ApiError> {
    #[derive(Deserialize)]
    struct Claimed {
        id: String,
    }
    #[derive(Deserialize)]
    struct OrderBody {
        body: String,
    }
    use keel_engine::order::{interrupted_signal, InterruptedSignal, Order};
    let claimed: Vec<Claimed> = bot.db.rows(
        "SELECT id FROM signals WHERE status = 0 ORDER BY received_ms LIMIT 50",
        vec![],
    )?;
    let mut resolved = 0;
    for c in claimed {
        let rows: Vec<OrderBody> = bot.db.rows(
            "SELECT body FROM orders WHERE signal_id = ? ORDER BY updated_ms",
            vec![text(c.id.as_str())],
        )?;
        // Only order records count: exit-trigger rows (their own body shape) ride on an entry.
        let mut bodies = Vec::new();
        let mut states = Vec::new();
        for r in rows {
            let mut body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            let Ok(order) = serde_json::from_value::<Order>(body["record"].clone()) else {
                continue;
            };
            states.push((order.status, !order.filled_qty.is_zero()));
            if let Some(map) = body.as_object_mut() {
                map.remove("record");
            }
            bodies.push(body);
        }
        let (status, outcome): (u16, Value) = match interrupted_signal(
            bot.is_live_signal(&c.id),
            &states,
        ) {
            InterruptedSignal::Wait => continue,
            InterruptedSignal::Executed => (
                200,
                json!({"status": "executed", "orders": bodies, "interrupted": true,
                       "message": "the execution was interrupted (the process restarted); its orders were settled by client id"}),
            ),
            InterruptedSignal::NothingFilled => (
                503,
                json!({"status": "rejected", "code": "execution_interrupted", "orders": bodies,
                       "message": "the execution was interrupted (the process restarted) and nothing filled; send it again with a new id if it still applies"}),
            ),
        };
        let mut j = bot.journal()?;
        if status != 200 {
            let mut draft = AuditDraft::new(
                now_ms(),
                Actor::System,
                AuditEvent::SignalRejected {
                    status,
                    reason:
                        "execution_interrupted: the execution was interrupted and nothing filled"
                            .into(),
                    field: None,
                },
            );
            if let Ok(id) = SignalId::new(c.id.clone()) {
                draft = draft.signal(id);
            }
            j.audit(draft)?;
        }
        j.exec(
            "UPDATE signals SET status = ?, outcome = json_patch(outcome, ?) WHERE id = ? AND status = 0",
            vec![int(i64::from(status)), text(outcome.to_string()), text(c.id.as_str())],
        );
        bot.commit(j).await?;
        resolved += 1;
    }
    Ok(resolved)
}
