//! When a bot pauses itself: the two automatic-pause rules as pure decisions, so the Durable
//! Object (and later the sans-IO bot machine, issue 18) only applies them. A bot past its max
//! daily loss or max drawdown stops taking new risk; a bot whose orders the exchange keeps
//! refusing stops before it hammers the exchange (the refusal usually needs an operator:
//! balance, permissions, a symbol's filters).

use crate::config::RiskLimits;
use crate::ledger::RiskSnapshot;

/// Consecutive exchange rejections that pause the bot.
pub const MAX_CONSECUTIVE_REJECTIONS: u32 = 3;

/// Why the bot must pause for its loss limits now, or `None` while it is within them: the daily
/// loss (realized + unrealized + funding − fees since 00:00 UTC) at or past `max_daily_loss`,
/// else the drawdown from the equity peak at or past `max_drawdown_pct`. The daily loss is
/// checked first; the reason names the observed figure and the limit.
#[must_use]
pub fn loss_limit_reason(limits: &RiskLimits, snapshot: &RiskSnapshot) -> Option<String> {
    if let Some(max) = limits.max_daily_loss {
        let loss = -snapshot.daily_pnl;
        if loss >= max {
            return Some(format!(
                "daily loss {} reached max_daily_loss {max}",
                loss.round_dp(8)
            ));
        }
    }
    if let (Some(max), Some(dd)) = (limits.max_drawdown_pct, snapshot.drawdown_pct) {
        if dd >= max {
            return Some(format!(
                "drawdown {}% reached max_drawdown_pct {max}%",
                dd.round_dp(4)
            ));
        }
    }
    None
}

/// Why the bot must pause after an exchange rejection, or `None`: `consecutive` is the count of
/// consecutive rejections including this one; a bot already paused is not paused again.
#[must_use]
pub fn rejection_pause_reason(consecutive: u32, paused: bool) -> Option<String> {
    (consecutive >= MAX_CONSECUTIVE_REJECTIONS && !paused)
        .then(|| format!("{consecutive} consecutive exchange rejections"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    fn snapshot(daily_pnl: Decimal, drawdown_pct: Option<Decimal>) -> RiskSnapshot {
        RiskSnapshot {
            as_of_ms: 0,
            daily_pnl,
            realized_today: Decimal::ZERO,
            fees_today: Decimal::ZERO,
            funding_today: Decimal::ZERO,
            equity: Decimal::ZERO,
            peak_equity: Decimal::ZERO,
            drawdown: Decimal::ZERO,
            drawdown_pct,
            positions: std::collections::BTreeMap::new(),
            open_positions: 0,
            total_notional: Decimal::ZERO,
            fills_today: 0,
            orders_today: 0,
        }
    }

    fn limits(daily: Option<Decimal>, dd: Option<Decimal>) -> RiskLimits {
        RiskLimits {
            max_daily_loss: daily,
            max_drawdown_pct: dd,
            ..RiskLimits::default()
        }
    }

    #[test]
    fn no_limits_never_pause() {
        let s = snapshot(dec!(-1000000), Some(dec!(99)));
        assert_eq!(loss_limit_reason(&limits(None, None), &s), None);
    }

    #[test]
    fn daily_loss_pauses_at_the_limit_not_before() {
        let l = limits(Some(dec!(100)), None);
        assert_eq!(loss_limit_reason(&l, &snapshot(dec!(-99.99), None)), None);
        assert_eq!(
            loss_limit_reason(&l, &snapshot(dec!(-100), None)).as_deref(),
            Some("daily loss 100 reached max_daily_loss 100")
        );
        assert_eq!(loss_limit_reason(&l, &snapshot(dec!(50), None)), None);
    }

    #[test]
    fn daily_loss_is_rounded_to_8_places_in_the_reason() {
        let l = limits(Some(dec!(1)), None);
        assert_eq!(
            loss_limit_reason(&l, &snapshot(dec!(-1.123456789), None)).as_deref(),
            Some("daily loss 1.12345679 reached max_daily_loss 1")
        );
    }

    #[test]
    fn drawdown_pauses_at_the_limit_and_needs_a_peak() {
        let l = limits(None, Some(dec!(10)));
        assert_eq!(
            loss_limit_reason(&l, &snapshot(dec!(0), Some(dec!(9.9999)))),
            None
        );
        assert_eq!(
            loss_limit_reason(&l, &snapshot(dec!(0), Some(dec!(12.345678)))).as_deref(),
            Some("drawdown 12.3457% reached max_drawdown_pct 10%")
        );
        // No positive peak yet: no drawdown figure, no pause.
        assert_eq!(loss_limit_reason(&l, &snapshot(dec!(-5), None)), None);
    }

    #[test]
    fn daily_loss_is_named_before_drawdown() {
        let l = limits(Some(dec!(10)), Some(dec!(5)));
        let reason = loss_limit_reason(&l, &snapshot(dec!(-20), Some(dec!(50)))).unwrap();
        assert!(reason.starts_with("daily loss 20 "), "{reason}");
    }

    #[test]
    fn rejections_pause_from_the_third_once() {
        assert_eq!(rejection_pause_reason(1, false), None);
        assert_eq!(rejection_pause_reason(2, false), None);
        assert_eq!(
            rejection_pause_reason(3, false).as_deref(),
            Some("3 consecutive exchange rejections")
        );
        assert_eq!(
            rejection_pause_reason(7, false).as_deref(),
            Some("7 consecutive exchange rejections")
        );
        assert_eq!(rejection_pause_reason(3, true), None);
    }
}
