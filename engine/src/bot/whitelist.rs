//! The whitelist refusal a signal gets before it waits for the bot's turn. Its own decision (not
//! the risk engine's whitelist rule, which still runs later for everything it lets through)
//! because nothing about it depends on the market: a symbol outside the bot's instruments that
//! the bot does not hold is refused at once, without queueing behind a running execution.

use super::Rejection;
use crate::config::BotConfig;
use crate::ids::Symbol;
use crate::signal::{Action, Signal};
use serde_json::json;

/// The early refusal of `signal`, or `None` when it may go on: its symbol is in the bot's
/// instruments, it names no symbol, its action closes or cancels (a holding may always be
/// closed; the risk engine decides those), or `held` says the bot holds a position in it that is
/// not dust. `held` is asked only for a symbol outside the instruments, so the caller reads its
/// ledger only then.
pub fn whitelist_refusal(
    config: &BotConfig,
    signal: &Signal,
    held: impl FnOnce(&Symbol) -> bool,
) -> Option<Rejection> {
    let symbol = signal.symbol.as_ref()?;
    if config.allows_symbol(symbol) || matches!(signal.action, Action::Close | Action::CancelAll) {
        return None;
    }
    if held(symbol) {
        return None;
    }
    Some(
        Rejection::new(
            422,
            "risk_whitelist",
            format!("{symbol} is not in the bot's instruments"),
        )
        .with_field("symbol")
        .with_detail(json!({
            "rule": "whitelist",
            "limit": config.instruments.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            "observed": symbol.as_str(),
        })),
    )
}
