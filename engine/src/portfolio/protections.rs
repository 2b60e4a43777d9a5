//! Timed protections: stop entries for a while after the market has been telling a bot (or a group
//! of bots) something — K stop-outs within a window, a drawdown of closed trades within a
//! lookback, a symbol that keeps losing. The cases Freqtrade's StoplossGuard, MaxDrawdown and
//! LowProfitPairs cover, as one pure function of the closed trades.
//!
//! Why "as of each close": a protection is judged at the moment each trade closed, over the window
//! ending there, and its lock runs from that close for the stated duration. So whether an entry at
//! time `t` is locked depends only on the trades closed by `t`, never on when (or how often) the
//! check runs: a backtest, a paper bot and a live bot given the same trades lock the same entries.
//! Reduce-only orders are never locked (the caller checks locks for entries only).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A closed trade, as the protections see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedTrade {
    /// The symbol.
    pub symbol: String,
    /// When it closed (ms since the epoch).
    pub closed_ms: i64,
    /// Net P&L, quote (fees and funding included).
    pub pnl: Decimal,
    /// Closed by a stop-loss.
    pub stop_out: bool,
}

/// One protection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Protection {
    /// `trade_limit` stop-outs within `lookback_mins` → no entries for `stop_mins` (all symbols,
    /// or only the symbol of the stop-outs with `per_symbol`).
    StopLossGuard {
        /// Window, minutes.
        lookback_mins: u32,
        /// Stop-outs that trigger.
        trade_limit: u32,
        /// Lock length, minutes.
        stop_mins: u32,
        /// Count and lock per symbol.
        #[serde(default)]
        per_symbol: bool,
    },
    /// A drawdown of the closed trades' cumulative P&L within `lookback_mins` of at least
    /// `max_drawdown` (quote), over at least `trade_limit` trades → no entries for `stop_mins`.
    MaxDrawdown {
        /// Window, minutes.
        lookback_mins: u32,
        /// Fewest trades in the window for the rule to judge.
        trade_limit: u32,
        /// Drawdown that triggers, quote.
        max_drawdown: Decimal,
        /// Lock length, minutes.
        stop_mins: u32,
    },
    /// A symbol whose trades within `lookback_mins` (at least `trade_limit` of them) made less
    /// than `required_pnl` together → no entries in that symbol for `stop_mins`.
    LowProfitSymbols {
        /// Window, minutes.
        lookback_mins: u32,
        /// Fewest trades of the symbol in the window.
        trade_limit: u32,
        /// Net P&L the symbol must reach, quote.
        required_pnl: Decimal,
        /// Lock length, minutes.
        stop_mins: u32,
    },
}

/// Why a protection is refused when configured.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtectionError {
    /// A window, limit or duration of zero.
    #[error("protection {index}: {field} must be at least 1")]
    Zero {
        /// Position in the list.
        index: usize,
        /// The field.
        field: &'static str,
    },
    /// A drawdown that is not positive.
    #[error("protection {index}: max_drawdown must be positive")]
    Drawdown {
        /// Position in the list.
        index: usize,
    },
}

/// What a lock covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "scope", content = "symbol", rename_all = "snake_case")]
pub enum LockScope {
    /// Every symbol.
    All,
    /// One symbol.
    Symbol(String),
}

/// An active lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lock {
    /// What it covers.
    pub scope: LockScope,
    /// From when (the close that triggered it), ms.
    pub from_ms: i64,
    /// Until when, ms.
    pub until_ms: i64,
    /// Index of the protection in the configured list.
    pub protection: usize,
    /// Human reason (rule and numbers).
    pub reason: String,
}

const MIN_MS: i64 = 60_000;

/// Validates a list of protections.
///
/// # Errors
/// The first bad field, with the protection's position.
pub fn validate(list: &[Protection]) -> Result<(), ProtectionError> {
    for (index, p) in list.iter().enumerate() {
        let (lookback, limit, stop) = match p {
            Protection::StopLossGuard {
                lookback_mins,
                trade_limit,
                stop_mins,
                ..
            }
            | Protection::LowProfitSymbols {
                lookback_mins,
                trade_limit,
                stop_mins,
                ..
            } => (*lookback_mins, *trade_limit, *stop_mins),
            Protection::MaxDrawdown {
                lookback_mins,
                trade_limit,
                stop_mins,
                max_drawdown,
            } => {
                if *max_drawdown <= Decimal::ZERO {
                    return Err(ProtectionError::Drawdown { index });
                }
                (*lookback_mins, *trade_limit, *stop_mins)
            }
        };
        for (field, v) in [
            ("lookback_mins", lookback),
            ("trade_limit", limit),
            ("stop_mins", stop),
        ] {
            if v == 0 {
                return Err(ProtectionError::Zero { index, field });
            }
        }
    }
    Ok(())
}

/// The locks active at `now_ms`, from the trades closed by then (any order; later ones ignored).
/// At most one lock per protection and scope: the one that lasts longest.
pub fn active_locks(list: &[Protection], trades: &[ClosedTrade], now_ms: i64) -> Vec<Lock> {
    let mut closed: Vec<&ClosedTrade> = trades.iter().filter(|t| t.closed_ms <= now_ms).collect();
    closed.sort_by_key(|t| t.closed_ms);
    let mut out: Vec<Lock> = Vec::new();
    for (index, p) in list.iter().enumerate() {
        // Only closes whose lock could still run at `now` matter, and only the trades inside
        // their windows: a backtest with thousands of trades judges a handful.
        let (lookback, stop) = p.spans_ms();
        let first_close = now_ms.saturating_sub(stop);
        let first_seen = first_close.saturating_sub(lookback);
        let start = closed.partition_point(|t| t.closed_ms <= first_seen);
        let recent = &closed[start..];
        for (k, last) in recent.iter().enumerate() {
            if last.closed_ms <= first_close {
                continue;
            }
            if let Some((scope, stop_mins, reason)) = judge(p, &recent[..=k], last) {
                let until_ms = last
                    .closed_ms
                    .saturating_add(i64::from(stop_mins).saturating_mul(MIN_MS));
                if until_ms <= now_ms {
                    continue;
                }
                let lock = Lock {
                    scope,
                    from_ms: last.closed_ms,
                    until_ms,
                    protection: index,
                    reason,
                };
                match out
                    .iter_mut()
                    .find(|l| l.protection == index && l.scope == lock.scope)
                {
                    Some(l) if l.until_ms < lock.until_ms => *l = lock,
                    Some(_) => {}
                    None => out.push(lock),
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.scope, a.protection).cmp(&(&b.scope, b.protection)));
    out
}

impl Protection {
    /// `(lookback, lock length)` in ms.
    fn spans_ms(&self) -> (i64, i64) {
        let (lookback, stop) = match self {
            Protection::StopLossGuard {
                lookback_mins,
                stop_mins,
                ..
            }
            | Protection::MaxDrawdown {
                lookback_mins,
                stop_mins,
                ..
            }
            | Protection::LowProfitSymbols {
                lookback_mins,
                stop_mins,
                ..
            } => (*lookback_mins, *stop_mins),
        };
        (
            i64::from(lookback).saturating_mul(MIN_MS),
            i64::from(stop).saturating_mul(MIN_MS),
        )
    }
}

/// Whether an entry in `symbol` is locked.
pub fn locked<'a>(locks: &'a [Lock], symbol: &str) -> Option<&'a Lock> {
    locks.iter().find(|l| match &l.scope {
        LockScope::All => true,
        LockScope::Symbol(s) => s == symbol,
    })
}

/// Judges protection `p` at the close of `last`, over `history` (closed by then, sorted, ending
/// with `last`).
fn judge(
    p: &Protection,
    history: &[&ClosedTrade],
    last: &ClosedTrade,
) -> Option<(LockScope, u32, String)> {
    let window = |mins: u32| {
        let from = last
            .closed_ms
            .saturating_sub(i64::from(mins).saturating_mul(MIN_MS));
        history.iter().filter(move |t| t.closed_ms > from)
    };
    match p {
        Protection::StopLossGuard {
            lookback_mins,
            trade_limit,
            stop_mins,
            per_symbol,
        } => {
            if !last.stop_out {
                return None;
            }
            let n = window(*lookback_mins)
                .filter(|t| t.stop_out && (!per_symbol || t.symbol == last.symbol))
                .count();
            (n >= *trade_limit as usize).then(|| {
                let scope = if *per_symbol {
                    LockScope::Symbol(last.symbol.clone())
                } else {
                    LockScope::All
                };
                let reason = format!("{n} stop-outs within {lookback_mins} min");
                (scope, *stop_mins, reason)
            })
        }
        Protection::MaxDrawdown {
            lookback_mins,
            trade_limit,
            max_drawdown,
            stop_mins,
        } => {
            let mut n = 0_usize;
            let (mut cum, mut peak, mut worst) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
            for t in window(*lookback_mins) {
                n += 1;
                cum = cum.saturating_add(t.pnl);
                peak = peak.max(cum);
                worst = worst.max(peak.saturating_sub(cum));
            }
            (n >= *trade_limit as usize && worst >= *max_drawdown).then(|| {
                let reason = format!(
                    "drawdown {worst} over {n} trades within {lookback_mins} min (limit {max_drawdown})"
                );
                (LockScope::All, *stop_mins, reason)
            })
        }
        Protection::LowProfitSymbols {
            lookback_mins,
            trade_limit,
            required_pnl,
            stop_mins,
        } => {
            let mut n = 0_usize;
            let mut sum = Decimal::ZERO;
            for t in window(*lookback_mins).filter(|t| t.symbol == last.symbol) {
                n += 1;
                sum = sum.saturating_add(t.pnl);
            }
            (n >= *trade_limit as usize && sum < *required_pnl).then(|| {
                let reason = format!(
                    "{} made {sum} over {n} trades within {lookback_mins} min (required {required_pnl})",
                    last.symbol
                );
                (LockScope::Symbol(last.symbol.clone()), *stop_mins, reason)
            })
        }
    }
}

#[cfg(test)]
#[path = "protections_tests.rs"]
mod tests;
