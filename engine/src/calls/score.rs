//! Scoring a call against exact candles (stored history or the exchange's klines), in
//! `rust_decimal` throughout. The rules, fixed so two runs and a hand computation agree:
//!
//! - **Fill**: the first candle whose `open_time_ms >= call_time_ms` (and, with a validity,
//!   `< call_time_ms + validity_ms`) that touches the entry. A long price `p` is touched when
//!   `low <= p` and fills at `min(p, open)` (a limit buy takes a better open); a long zone fills at
//!   `min(zone.high, open)` when `low <= zone.high`; shorts mirror this (`high >= p`,
//!   `max(p, open)`; zone: `max(zone.low, open)`). A market entry fills at the first candle's open.
//!   The fill then pays slippage: long `× (1 + slippage)`, short `× (1 − slippage)`.
//! - **Risk** is `|fill − stop|` per unit; the stop must lie on the losing side of the fill.
//! - **Exits**: the position is split equally across the targets. On the fill candle only the
//!   stop is checked (its high may have come before the fill); on each later candle the stop is
//!   checked **before** the targets (a candle touching both counts as stopped — pessimistic). A
//!   stop fills at the stop, or at the open when the candle gaps through it; a target fills at the
//!   target. Exits pay slippage against the position (long `× (1 − slippage)`).
//! - **Fees**: `fee_rate` of the notional on entry and on every exit.
//! - **R-multiple** = `Σ portion P&L / (targets × risk)`, rounded to 8 places (banker's rounding).
//!   A call still open at `as_of_ms` is marked at the last close (status `Open`, not ranked).
//! - **Excursions**: MFE/MAE in R from the fill candle to the exit candle inclusive.
//! - **Expired**: no fill before the validity ended (counted apart, not in mean R); **Pending**:
//!   no fill yet and the validity has not ended by `as_of_ms`.

use super::model::{CallFields, CallSide, Entry};
use crate::history::Candle;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Costs applied to every fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreParams {
    /// Adverse price move per fill, as a fraction (0.0005 = 5 bps).
    pub slippage: Decimal,
    /// Fee per fill, as a fraction of notional (0.0004 = 4 bps).
    pub fee_rate: Decimal,
}

/// Where a scored call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreStatus {
    /// The call lacks what a score needs (side, entry, stop, targets) or is inconsistent.
    NotScorable,
    /// Not filled yet; still valid at `as_of_ms`.
    Pending,
    /// Never filled before its validity ended.
    Expired,
    /// Filled, then stopped (possibly after some targets).
    Stopped,
    /// Filled, every target hit.
    Done,
    /// Filled and still open at `as_of_ms` (R marked at the last close).
    Open,
}

/// A call's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallScore {
    /// Outcome.
    pub status: ScoreStatus,
    /// Why it is not scorable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Open time of the fill candle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_time_ms: Option<i64>,
    /// Entry price after slippage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_price: Option<Decimal>,
    /// Open time of the candle that closed the last portion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_time_ms: Option<i64>,
    /// R-multiple net of slippage and fees (8 places).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r_multiple: Option<Decimal>,
    /// Per target: time from the fill candle to the candle that hit it, ms (`None`: not hit).
    #[serde(default)]
    pub time_to_target_ms: Vec<Option<i64>>,
    /// Maximum favourable excursion, in R (8 places).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfe_r: Option<Decimal>,
    /// Maximum adverse excursion, in R (8 places).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mae_r: Option<Decimal>,
}

impl CallScore {
    fn bare(status: ScoreStatus, reason: Option<String>) -> Self {
        CallScore {
            status,
            reason,
            fill_time_ms: None,
            fill_price: None,
            exit_time_ms: None,
            r_multiple: None,
            time_to_target_ms: Vec::new(),
            mfe_r: None,
            mae_r: None,
        }
    }

    fn not_scorable(why: &str) -> Self {
        Self::bare(ScoreStatus::NotScorable, Some(why.to_string()))
    }
}

/// Rounds to 8 places (banker's rounding) and drops trailing zeros, so answers read `-1`, not
/// `-1.00000000`.
fn r8(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(8, RoundingStrategy::MidpointNearestEven)
        .normalize()
}

/// Scores `fields` made at `call_time_ms` against `candles` (ascending, complete up to
/// `as_of_ms`). Pure and total: overflow or inconsistent input gives `NotScorable`, never a panic.
pub fn score_call(
    fields: &CallFields,
    call_time_ms: i64,
    candles: &[Candle],
    as_of_ms: i64,
    params: ScoreParams,
) -> CallScore {
    score_inner(fields, call_time_ms, candles, as_of_ms, params)
        .unwrap_or_else(|| CallScore::not_scorable("arithmetic overflow"))
}

fn score_inner(
    fields: &CallFields,
    call_time_ms: i64,
    candles: &[Candle],
    as_of_ms: i64,
    params: ScoreParams,
) -> Option<CallScore> {
    let (Some(side), Some(entry), Some(stop)) = (fields.side, fields.entry, fields.stop) else {
        return Some(CallScore::not_scorable(
            "side, entry and stop are all needed",
        ));
    };
    if fields.targets.is_empty() {
        return Some(CallScore::not_scorable("no target"));
    }
    let long = side == CallSide::Long;
    let valid_until = match fields.validity_ms {
        Some(v) => Some(call_time_ms.checked_add(v)?),
        None => None,
    };
    let usable = |c: &&Candle| c.open_time_ms >= call_time_ms && c.open_time_ms < as_of_ms;
    // 1. The fill.
    let mut fill: Option<(usize, Decimal)> = None;
    for (k, c) in candles.iter().enumerate().filter(|(_, c)| usable(c)) {
        if valid_until.is_some_and(|u| c.open_time_ms >= u) {
            break;
        }
        let raw = match (entry, long) {
            (Entry::Market, _) => Some(c.open),
            (Entry::Price(p), true) => (c.low <= p).then(|| p.min(c.open)),
            (Entry::Price(p), false) => (c.high >= p).then(|| p.max(c.open)),
            (Entry::Zone { high, .. }, true) => (c.low <= high).then(|| high.min(c.open)),
            (Entry::Zone { low, .. }, false) => (c.high >= low).then(|| low.max(c.open)),
        };
        if let Some(raw) = raw {
            fill = Some((k, raw));
            break;
        }
    }
    let Some((fill_k, raw_fill)) = fill else {
        let expired = valid_until.is_some_and(|u| u <= as_of_ms);
        return Some(CallScore::bare(
            if expired {
                ScoreStatus::Expired
            } else {
                ScoreStatus::Pending
            },
            None,
        ));
    };
    let one = Decimal::ONE;
    let entry_px = if long {
        raw_fill.checked_mul(one.checked_add(params.slippage)?)?
    } else {
        raw_fill.checked_mul(one.checked_sub(params.slippage)?)?
    };
    let risk = if long {
        entry_px.checked_sub(stop)?
    } else {
        stop.checked_sub(entry_px)?
    };
    if risk <= Decimal::ZERO {
        return Some(CallScore::not_scorable(
            "the stop is not on the losing side of the fill",
        ));
    }
    if fields
        .targets
        .iter()
        .any(|t| if long { *t <= raw_fill } else { *t >= raw_fill })
    {
        return Some(CallScore::not_scorable("a target is not beyond the fill"));
    }
    let fill_time = candles.get(fill_k)?.open_time_ms;
    let n = fields.targets.len();
    let mut hit: Vec<Option<i64>> = vec![None; n];
    let mut exits: Vec<Decimal> = Vec::new(); // raw exit prices of closed portions
    let mut stopped = false;
    let mut exit_time = None;
    let mut best = raw_fill;
    let mut worst = raw_fill;
    let mut last_close = raw_fill;
    // 2. The path after the fill.
    for (k, c) in candles
        .iter()
        .enumerate()
        .skip(fill_k)
        .filter(|(_, c)| usable(c))
    {
        if long {
            best = best.max(c.high);
            worst = worst.min(c.low);
        } else {
            best = best.min(c.low);
            worst = worst.max(c.high);
        }
        last_close = c.close;
        let stop_hit = if long { c.low <= stop } else { c.high >= stop };
        if stop_hit {
            let px = if long {
                stop.min(c.open)
            } else {
                stop.max(c.open)
            };
            // On the fill candle the open came before the fill: the stop fills at the stop.
            let px = if k == fill_k { stop } else { px };
            while exits.len() < n {
                exits.push(px);
            }
            stopped = true;
            exit_time = Some(c.open_time_ms);
            break;
        }
        if k == fill_k {
            continue;
        }
        for (t, target) in fields.targets.iter().enumerate() {
            let touched = if long {
                c.high >= *target
            } else {
                c.low <= *target
            };
            if touched && hit.get(t).is_some_and(Option::is_none) {
                hit[t] = Some(c.open_time_ms.checked_sub(fill_time)?);
                exits.push(*target);
            }
        }
        if exits.len() == n {
            exit_time = Some(c.open_time_ms);
            break;
        }
    }
    let status = if stopped {
        ScoreStatus::Stopped
    } else if exits.len() == n {
        ScoreStatus::Done
    } else {
        ScoreStatus::Open
    };
    while exits.len() < n {
        exits.push(last_close);
    }
    // 3. P&L per portion, net of slippage and fees.
    let mut pnl = Decimal::ZERO;
    for raw_exit in exits {
        let exit_px = if long {
            raw_exit.checked_mul(one.checked_sub(params.slippage)?)?
        } else {
            raw_exit.checked_mul(one.checked_add(params.slippage)?)?
        };
        let gross = if long {
            exit_px.checked_sub(entry_px)?
        } else {
            entry_px.checked_sub(exit_px)?
        };
        let fees = params
            .fee_rate
            .checked_mul(entry_px.checked_add(exit_px)?)?;
        pnl = pnl.checked_add(gross.checked_sub(fees)?)?;
    }
    let n_dec = Decimal::from(n as u64);
    let r = pnl.checked_div(n_dec.checked_mul(risk)?)?;
    let (fav, adv) = if long {
        (best.checked_sub(entry_px)?, entry_px.checked_sub(worst)?)
    } else {
        (entry_px.checked_sub(best)?, worst.checked_sub(entry_px)?)
    };
    Some(CallScore {
        status,
        reason: None,
        fill_time_ms: Some(fill_time),
        fill_price: Some(entry_px.normalize()),
        exit_time_ms: exit_time,
        r_multiple: Some(r8(r)),
        time_to_target_ms: hit,
        mfe_r: Some(r8(fav.max(Decimal::ZERO).checked_div(risk)?)),
        mae_r: Some(r8(adv.max(Decimal::ZERO).checked_div(risk)?)),
    })
}
