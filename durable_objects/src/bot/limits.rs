//! The bot's loss-limit pause: past its max daily loss or max drawdown (checked after every
//! booking and on the cron's tick) it pauses itself. A low layer: order placement, exits and the
//! controls all pause through here. The rules are decided in [`keel_engine::bot::auto_pause`]
//! (the rejection pause is applied by `orders`, in the batch that records the rejection).

use super::alerts::{self, Signal};
use super::{ledger, now_ms, BotDO};
use crate::http::ApiError;
use keel_engine::alert::{Alert, AlertKind};
use keel_engine::audit::{Actor, AuditDraft, AuditEvent, ControlAction};
use keel_engine::bot::auto_pause::loss_limit_reason;
use keel_engine::config::BotConfig;

/// The auto-pause rule: a bot past its max daily loss or max drawdown pauses itself, audited
/// (actor `system`) and alerted. Returns the reason when it paused now.
///
/// # Errors
/// Storage failures.
pub async fn check_limits(bot: &BotDO, config: &BotConfig) -> Result<Option<String>, ApiError> {
    let flags = bot.flags()?;
    if flags.paused {
        return Ok(None);
    }
    let l = ledger::load(bot, config)?;
    let snap = l
        .risk_snapshot(now_ms())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let Some(why) = loss_limit_reason(&config.risk, &snap) else {
        return Ok(None);
    };
    pause_automatically(bot, &why).await?;
    Ok(Some(why))
}

/// Pauses the bot on its own authority (audited as `system`) and raises the alert.
///
/// # Errors
/// Storage failures.
pub async fn pause_automatically(bot: &BotDO, why: &str) -> Result<(), ApiError> {
    let mut flags = bot.flags()?;
    if flags.paused {
        return Ok(());
    }
    flags.paused = true;
    flags.pause_reason = Some(format!("auto-paused: {why}"));
    let mut j = bot.journal()?;
    j.put("flags", &flags)?;
    j.audit(AuditDraft::new(
        now_ms(),
        Actor::System,
        AuditEvent::Control {
            action: ControlAction::Pause,
            reason: flags.pause_reason.clone(),
        },
    ))?;
    let id = bot.bot_id()?.to_string();
    alerts::stage(
        bot,
        &mut j,
        vec![Signal::Raise(Alert::new(
            id,
            AlertKind::AutoPaused,
            "",
            why,
        ))],
    )?;
    bot.commit(j).await
}
