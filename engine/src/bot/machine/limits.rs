//! The automatic pauses, applied (the rules are [`crate::bot::auto_pause`]'s): the loss-limit
//! pause checked after every booking (the DO's `check_limits`), and the rejection pause
//! applied in the batch that records an exchange rejection.

use super::ctx::Ctx;
use super::effect::{AlertChange, Record};
use crate::alert::{Alert, AlertKind};
use crate::audit::{Actor, AuditDraft, AuditEvent, ControlAction};
use crate::bot::auto_pause::{loss_limit_reason, rejection_pause_reason};
use crate::ledger::{Booked, LedgerEntry, LedgerError};

/// A bot past its max daily loss or max drawdown pauses itself, audited (actor `system`) and
/// alerted, in a batch of its own. Returns the reason when it paused now.
pub fn check_limits(cx: &mut Ctx<'_>) -> Option<String> {
    if cx.book.flags.paused {
        return None;
    }
    let snap = cx.book.ledger.risk_snapshot(cx.now).ok()?;
    let why = loss_limit_reason(&cx.config.risk, &snap)?;
    let flags = &mut cx.book.flags;
    flags.paused = true;
    flags.pause_reason = Some(format!("auto-paused: {why}"));
    let reason = flags.pause_reason.clone();
    cx.io.record(Record::Flags(flags.clone()));
    cx.io.audit(AuditDraft::new(
        cx.now,
        Actor::System,
        AuditEvent::Control {
            action: ControlAction::Pause,
            reason,
        },
    ));
    cx.io.alert(AlertChange::Raise(Alert::new(
        cx.config.id.as_str(),
        AlertKind::AutoPaused,
        "",
        why.clone(),
    )));
    cx.io.flush();
    Some(why)
}

/// Counts one more exchange rejection and pauses the bot at the threshold, staged in the
/// current batch (the caller stages the flags afterwards).
pub fn count_rejection(cx: &mut Ctx<'_>) {
    let flags = &mut cx.book.flags;
    flags.consecutive_rejections = flags.consecutive_rejections.saturating_add(1);
    if let Some(why) = rejection_pause_reason(flags.consecutive_rejections, flags.paused) {
        flags.paused = true;
        // Named like the loss-limit pause, so an operator tells an automatic pause apart.
        flags.pause_reason = Some(format!("auto-paused: {why}"));
        let reason = flags.pause_reason.clone();
        cx.io.audit(AuditDraft::new(
            cx.now,
            Actor::System,
            AuditEvent::Control {
                action: ControlAction::Pause,
                reason: reason.clone(),
            },
        ));
        cx.io.alert(AlertChange::Raise(Alert::new(
            cx.config.id.as_str(),
            AlertKind::AutoPaused,
            "",
            why,
        )));
    }
}

/// Books entries that reach the ledger outside the machine's own flow (the tick's marks,
/// funding, capital transfers) in one batch, then checks the loss limits (the DO's tick: marks,
/// then `check_limits`). Returns the entries the ledger refused, with why (the tick logs them).
pub fn book_outside(
    cx: &mut Ctx<'_>,
    entries: Vec<LedgerEntry>,
) -> Vec<(LedgerEntry, LedgerError)> {
    let mut refused = Vec::new();
    for e in entries {
        match cx.book.ledger.book(&e) {
            Ok(Booked::Applied(_)) => cx.io.record(Record::Ledger(Box::new(e))),
            Ok(Booked::Duplicate) => {}
            Err(err) => refused.push((e, err)),
        }
    }
    cx.io.flush();
    check_limits(cx);
    refused
}
