//! The bot re-checks the platform's halt state itself (issue 26, item 4): the halt is pushed to
//! every bot, but a bot that missed the push (unreachable at that moment, evicted, a network
//! error) would otherwise keep trading. Before deciding on a signal the bot reads the ControlDO's
//! halt state, at most once per [`LEASE_MS`] (a lease: the answer is trusted for that long), adopts
//! it (audited when it differs from its own flag), and when the ControlDO cannot be read it
//! decides as if halted — entries are refused, closes still go through — until it can.

use super::{now_ms, BotDO, Flags};
use crate::http::ApiError;
use keel_engine::audit::{Actor, AuditDraft, AuditEvent, ControlAction};
use serde_json::Value;
use worker::{Method, Request, RequestInit};

/// How long a confirmed platform state is trusted before the bot asks again.
pub const LEASE_MS: i64 = 10_000;

/// What the bot should decide with: the platform's halt, or halted when it is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformView {
    /// Read from the ControlDO (or within the lease): halted or not.
    Known(bool),
    /// The ControlDO could not be read: decide as if halted.
    Unknown,
}

impl PlatformView {
    /// Whether entries must be refused.
    pub fn halted(self) -> bool {
        !matches!(self, PlatformView::Known(false))
    }
}

/// Whether the lease taken at `checked_ms` still covers `now`.
pub fn lease_valid(checked_ms: i64, now: i64) -> bool {
    checked_ms > 0 && now >= checked_ms && now - checked_ms < LEASE_MS
}

async fn read_control(bot: &BotDO) -> Result<bool, String> {
    let ns = bot
        .env
        .durable_object("CONTROL")
        .map_err(|e| e.to_string())?;
    let stub = ns.get_by_name("control").map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get);
    let req = Request::new_with_init("https://do/halt", &init).map_err(|e| e.to_string())?;
    let mut resp = stub
        .fetch_with_request(req)
        .await
        .map_err(|e| e.to_string())?;
    if resp.status_code() != 200 {
        return Err(format!("ControlDO answered {}", resp.status_code()));
    }
    let v: Value = resp.json().await.map_err(|e| e.to_string())?;
    v["halted"]
        .as_bool()
        .ok_or_else(|| "ControlDO halt state has no `halted`".to_string())
}

/// Confirms the platform state (within the lease, from memory) and adopts it into the bot's flag.
///
/// # Errors
/// Storage failures while adopting a changed state.
pub async fn sync(bot: &BotDO) -> Result<PlatformView, ApiError> {
    let now = now_ms();
    if lease_valid(bot.platform_checked_ms.get(), now) {
        return Ok(PlatformView::Known(bot.flags()?.halted));
    }
    let halted = match read_control(bot).await {
        Ok(h) => h,
        Err(e) => {
            worker::console_error!("platform state unreadable, deciding as halted: {e}");
            return Ok(PlatformView::Unknown);
        }
    };
    let mut flags: Flags = bot.flags()?;
    if flags.halted != halted {
        flags.halted = halted;
        let mut j = bot.journal()?;
        j.put("flags", &flags)?;
        j.audit(AuditDraft::new(
            now,
            Actor::System,
            AuditEvent::Control {
                action: if halted {
                    ControlAction::Halt
                } else {
                    ControlAction::Unhalt
                },
                reason: Some(
                    "adopted from the platform state: the halt/resume push did not reach this bot"
                        .into(),
                ),
            },
        ))?;
        bot.commit(j).await?;
    }
    bot.platform_checked_ms.set(now);
    Ok(PlatformView::Known(halted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_platform_state_decides_as_halted() {
        assert!(PlatformView::Unknown.halted());
        assert!(PlatformView::Known(true).halted());
        assert!(!PlatformView::Known(false).halted());
    }

    #[test]
    fn the_lease_expires() {
        assert!(!lease_valid(0, 5), "never checked");
        assert!(lease_valid(1_000, 1_000 + LEASE_MS - 1));
        assert!(!lease_valid(1_000, 1_000 + LEASE_MS));
        assert!(!lease_valid(2_000, 1_000), "clock went back: ask again");
    }
}
