//! Refusals of unauthenticated or unproven webhooks (everything turned away before the bot knows
//! the request is its owner's: edge size/rate/signature-shape refusals, bad secrets and
//! signatures, forbidden sources, malformed bodies, stale times), recorded cheaply: the first of
//! each reason per minute becomes one `signal_rejected` event and one `signals` row, the rest of
//! the minute only a count in memory, written as one more event when the minute ends (from the
//! alarm, or with the next refusal of that reason). A flood therefore writes at most two events
//! and one row per reason and minute, whatever its rate. The object is the only instance of the
//! bot, so the count is exact across the edge's isolates (lost only if the object is evicted
//! before the minute ends). Attacker text is capped before it is echoed or stored.

use super::store::Journal;
use super::{now_ms, BotDO};
use crate::db::{int, text};
use crate::http::{cap_text, ApiError};
use keel_engine::audit::{Actor, AuditDraft, AuditEvent};
use keel_engine::bot::Rejection;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Length of a coalescing window.
pub const WINDOW_MS: i64 = 60_000;
/// Most characters of a refusal's message kept (answer and audit).
pub const MAX_MESSAGE_CHARS: usize = 300;
/// Most characters of a refusal's `field` kept (unknown field names are attacker text).
pub const MAX_FIELD_CHARS: usize = 64;
/// Largest serialized `detail` kept; a larger one is replaced by a note.
pub const MAX_DETAIL_BYTES: usize = 512;

/// One reason's open window.
#[derive(Debug, Clone)]
struct Window {
    start_ms: i64,
    unreported: u64,
    status: u16,
}

/// Open windows by reason code, in the object's memory.
#[derive(Debug, Default)]
pub struct Refusals {
    map: HashMap<String, Window>,
}

/// What the caller must write for one refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Gate {
    /// Record it now; `carried` earlier refusals of the reason were counted but not yet recorded.
    Record { carried: u64 },
    /// Counted only.
    Counted,
}

impl Refusals {
    /// Counts `count` refusals of `code`; the first of a window is to be recorded (standing for
    /// all `count`), the rest only counted.
    fn admit(&mut self, code: &str, status: u16, count: u64, now: i64) -> Gate {
        match self.map.get_mut(code) {
            Some(w) if now - w.start_ms < WINDOW_MS => {
                w.unreported += count;
                Gate::Counted
            }
            Some(w) => {
                let carried = w.unreported;
                *w = Window {
                    start_ms: now,
                    unreported: 0,
                    status,
                };
                Gate::Record { carried }
            }
            None => {
                self.map.insert(
                    code.to_string(),
                    Window {
                        start_ms: now,
                        unreported: 0,
                        status,
                    },
                );
                Gate::Record { carried: 0 }
            }
        }
    }

    /// Windows that ended with counted refusals: `(code, status, count, window start)`; they are
    /// forgotten (the next refusal opens a new window).
    fn take_due(&mut self, now: i64) -> Vec<(String, u16, u64, i64)> {
        let due: Vec<String> = self
            .map
            .iter()
            .filter(|(_, w)| now - w.start_ms >= WINDOW_MS)
            .map(|(k, _)| k.clone())
            .collect();
        due.into_iter()
            .filter_map(|k| {
                let w = self.map.remove(&k)?;
                (w.unreported > 0).then_some((k, w.status, w.unreported, w.start_ms))
            })
            .collect()
    }

    /// When the earliest window with counted refusals ends.
    fn next_due(&self) -> Option<i64> {
        self.map
            .values()
            .filter(|w| w.unreported > 0)
            .map(|w| w.start_ms + WINDOW_MS)
            .min()
    }
}

/// Caps the caller-controlled parts of a refusal (message, field, detail) for the answer and the
/// audit trail.
pub fn capped(rej: &Rejection) -> Rejection {
    let mut out = Rejection::new(
        rej.status,
        &rej.code,
        cap_text(&rej.message, MAX_MESSAGE_CHARS),
    );
    out.field = rej.field.as_deref().map(|f| cap_text(f, MAX_FIELD_CHARS));
    out.detail = rej.detail.as_ref().map(|d| {
        if d.to_string().len() > MAX_DETAIL_BYTES {
            Box::new(
                json!({"truncated": true, "note": "detail longer than 512 bytes is not echoed"}),
            )
        } else {
            d.clone()
        }
    });
    out
}

/// Records one refusal of an unauthenticated or unproven webhook, standing for `count` refusals
/// (more than one when the edge coalesced them), coalesced per reason and minute.
///
/// # Errors
/// Storage failures of the write, when one is made.
pub async fn record(
    bot: &BotDO,
    rej: &Rejection,
    received_ms: i64,
    count: u64,
) -> Result<(), ApiError> {
    let now = now_ms();
    let gate = bot
        .refusals
        .borrow_mut()
        .admit(&rej.code, rej.status, count.max(1), now);
    let Gate::Record { carried } = gate else {
        ensure_alarm(bot).await;
        return Ok(());
    };
    let rej = capped(rej);
    let mut reason = format!("{}: {}", rej.code, rej.message);
    if count > 1 {
        reason.push_str(&format!(" (×{count}, coalesced at the edge)"));
    }
    if carried > 0 {
        reason.push_str(&format!(
            " (+{carried} more refused for this reason in the minute before, counted not recorded)"
        ));
    }
    let mut j = bot.journal()?;
    j.audit(AuditDraft::new(
        now,
        Actor::Webhook,
        AuditEvent::SignalRejected {
            status: rej.status,
            reason,
            field: rej.field.clone(),
        },
    ))?;
    let outcome = json!({"status": "rejected", "code": rej.code, "message": rej.message,
                         "field": rej.field, "detail": rej.detail, "count": count.max(1) + carried});
    insert_rejected(&mut j, received_ms, &rej, &outcome);
    bot.commit(j).await
}

/// Stores a refused request that has no signal row of its own (unproven, or refused before its
/// id was read) as one `signals` row keyed by time and code, so a repeat in the same millisecond
/// is one row. Shared by the coalesced refusals here and the signal path's own refusals.
pub(crate) fn insert_rejected(j: &mut Journal, received_ms: i64, rej: &Rejection, outcome: &Value) {
    j.exec(
        "INSERT OR IGNORE INTO signals (id, received_ms, status, outcome) VALUES (?, ?, ?, ?)",
        vec![
            text(format!("rejected-{received_ms}-{}", rej.code)),
            int(received_ms),
            int(i64::from(rej.status)),
            text(outcome.to_string()),
        ],
    );
}

/// Writes one event per ended window that counted refusals (called from the alarm), and keeps an
/// alarm pending for windows still open.
///
/// # Errors
/// Storage failures.
pub async fn flush(bot: &BotDO) -> Result<(), ApiError> {
    let now = now_ms();
    let due = bot.refusals.borrow_mut().take_due(now);
    if !due.is_empty() {
        let mut j = bot.journal()?;
        for (code, status, n, start) in due {
            j.audit(AuditDraft::new(
                now,
                Actor::Webhook,
                AuditEvent::SignalRejected {
                    status,
                    reason: format!(
                        "{code}: {n} more webhooks refused for this reason in the minute from {start} ms, counted not recorded"
                    ),
                    field: None,
                },
            ))?;
        }
        bot.commit(j).await?;
    }
    ensure_alarm(bot).await;
    Ok(())
}

/// Keeps an alarm pending no later than the end of the earliest window with counted refusals.
async fn ensure_alarm(bot: &BotDO) {
    let Some(due) = bot.refusals.borrow().next_due() else {
        return;
    };
    let storage = bot.state.storage();
    if matches!(storage.get_alarm().await, Ok(Some(at)) if at <= due) {
        return;
    }
    let wait = u64::try_from(due - now_ms()).unwrap_or(0).max(10);
    if let Err(e) = storage
        .set_alarm(std::time::Duration::from_millis(wait))
        .await
    {
        worker::console_error!("refusals: cannot set alarm: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_of_a_window_is_recorded_the_rest_counted_and_carried() {
        let mut r = Refusals::default();
        assert_eq!(
            r.admit("bad_secret", 401, 1, 0),
            Gate::Record { carried: 0 }
        );
        assert_eq!(r.admit("bad_secret", 401, 1, 5), Gate::Counted);
        assert_eq!(r.admit("bad_secret", 401, 3, 6), Gate::Counted);
        assert_eq!(r.admit("malformed", 400, 1, 7), Gate::Record { carried: 0 });
        assert_eq!(r.next_due(), Some(WINDOW_MS));
        assert_eq!(
            r.admit("bad_secret", 401, 1, WINDOW_MS),
            Gate::Record { carried: 4 }
        );
        assert_eq!(r.next_due(), None, "nothing counted in the new window yet");
        r.admit("bad_secret", 401, 2, WINDOW_MS + 1);
        assert!(r.take_due(WINDOW_MS + 2).is_empty(), "window still open");
        assert_eq!(
            r.take_due(2 * WINDOW_MS),
            vec![("bad_secret".to_string(), 401, 2, WINDOW_MS)]
        );
        assert_eq!(
            r.admit("bad_secret", 401, 1, 2 * WINDOW_MS),
            Gate::Record { carried: 0 }
        );
    }

    #[test]
    fn an_edge_count_above_one_counts_the_rest() {
        let mut r = Refusals::default();
        assert_eq!(
            r.admit("rate_limited", 429, 50, 0),
            Gate::Record { carried: 0 }
        );
        assert!(
            r.take_due(WINDOW_MS).is_empty(),
            "the recorded event stands for all 50"
        );
        r.admit("rate_limited", 429, 50, WINDOW_MS);
        r.admit("rate_limited", 429, 7, WINDOW_MS + 1);
        assert_eq!(
            r.take_due(2 * WINDOW_MS),
            vec![("rate_limited".to_string(), 429, 7, WINDOW_MS)]
        );
    }

    #[test]
    fn capped_bounds_attacker_text() {
        let mut rej =
            Rejection::new(400, "unknown_field", "x".repeat(20_000)).with_field(&"k".repeat(9_000));
        rej.detail = Some(Box::new(json!({"echo": "y".repeat(5_000)})));
        let c = capped(&rej);
        assert!(
            c.message.chars().count() < MAX_MESSAGE_CHARS + 40,
            "{}",
            c.message.len()
        );
        assert!(c.field.as_deref().unwrap_or_default().chars().count() < MAX_FIELD_CHARS + 40);
        assert_eq!(
            c.detail.as_deref().map(|d| d["truncated"].clone()),
            Some(json!(true))
        );
        let small = Rejection::new(401, "bad_secret", "secret does not match");
        assert_eq!(capped(&small).message, "secret does not match");
    }
}
