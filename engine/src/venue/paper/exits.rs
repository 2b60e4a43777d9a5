//! The exits the paper venue holds (stop-loss, take-profit, one-cancels-the-other pairs) and the
//! one rule that decides when a price observation fires them. The backtester and paper bots
//! both trade on [`super::PaperVenue`], so this file is the only place where an exit's fill is
//! decided outside a real exchange.
//!
//! **The rule.** Prices move in steps: a *jump* (a new tick, or a bar's open after the previous
//! close) lands on one price; a *walk* (inside a bar) passes through every price on its way.
//! - An exit fires when the price touches it: a long's stop-loss at or below its trigger, its
//!   take-profit at or above; a short the reverse.
//! - On a jump, a touched trigger fills at the price jumped to (a gap through a stop fills at
//!   the open, worse than the stop); on a walk, at its trigger price (the walk passes through it).
//! - A bar is the jump to its open, then the walk to the extreme that hurts the protected
//!   position first (the low for a long, the high for a short), then to the other extreme, then
//!   to the close: when a bar touches both the stop-loss and the take-profit, the stop fills.
//! - A triggered stop-loss or take-profit is a market order: it fills at the touch price moved
//!   against it by the venue's slippage (on the tick), with the taker fee. The take-profit leg
//!   of a one-cancels-the-other pair is a resting limit-maker: it fills at its own price with the
//!   maker fee, also when the price gaps through it.
//! - When one exit fills, its siblings end: on linear every exit of the symbol (the position is
//!   closed), on spot the other leg of the same entry. Quantities are the exit's own (spot: the
//!   holding, on the step) or the whole position (linear close-position triggers); an exit with
//!   nothing left to close ends cancelled.
//! - A single price tick is a jump: "touched by the price".

use crate::ids::{ClientOrderId, Symbol};
use crate::market::Bar;
use crate::model::Side;
use crate::venue::op::{ExitKind, TriggerReport, TriggerState};
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One exit order resting on the paper venue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperExit {
    /// Venue id of the exit (`PX<n>`), reported as the trigger's order id.
    pub id: String,
    /// Our id of the exit; `None` for protection attached to an entry (Bybit TP/SL on create:
    /// the exchange's exit orders carry no id of ours).
    pub client_order_id: Option<ClientOrderId>,
    /// Symbol.
    pub symbol: Symbol,
    /// Side of the closing order (opposite of the entry).
    pub close_side: Side,
    /// Stop-loss or take-profit.
    pub kind: ExitKind,
    /// Trigger price (or the limit price of a limit leg), on the tick.
    pub price: Decimal,
    /// A resting limit-maker leg (a spot OCO take-profit): fills at `price`, maker fee.
    pub limit: bool,
    /// Quantity it closes; `None`: the whole position in its direction (linear).
    pub qty: Option<Decimal>,
    /// Exits of one entry or one OCO list: when one fills, the others end.
    pub group: Option<ClientOrderId>,
    /// Rides on the position (Bybit TP/SL on create): ends when the position goes flat.
    pub attached: bool,
    /// Base quantity held for it from placement (spot), released when the group ends.
    pub locked: Decimal,
    /// Where it stands.
    pub state: TriggerState,
    /// Client id of the closing order it sent when it fired (the key of that order in the
    /// book, so `QueryOrder` finds it as on the exchange).
    pub order_key: Option<ClientOrderId>,
    /// Exchange id of the closing order it sent.
    pub actual_order_id: Option<String>,
    /// When it was placed, ms.
    pub placed_ms: i64,
    /// Last change, ms.
    pub updated_ms: i64,
}

impl PaperExit {
    /// Whether `price` touches the exit (see the module's rule).
    pub fn touched(&self, price: Decimal) -> bool {
        touched(self.kind, self.close_side, self.price, price)
    }

    /// The exit as a venue reports a trigger.
    pub fn report(&self) -> TriggerReport {
        TriggerReport {
            trigger_id: self.id.clone(),
            client_order_id: self.client_order_id.clone(),
            state: self.state,
            actual_order_id: self.actual_order_id.clone(),
            finished: self.state == TriggerState::Fired,
            updated_ms: self.updated_ms,
        }
    }
}

/// Whether `price` touches an exit of `kind` closing on `close_side` at `trigger`: a long's
/// (`close_side` sell) stop at or below the trigger, its target at or above; a short the reverse.
pub fn touched(kind: ExitKind, close_side: Side, trigger: Decimal, price: Decimal) -> bool {
    match (kind, close_side) {
        (ExitKind::StopLoss, Side::Sell) | (ExitKind::TakeProfit, Side::Buy) => price <= trigger,
        (ExitKind::StopLoss, Side::Buy) | (ExitKind::TakeProfit, Side::Sell) => price >= trigger,
    }
}

/// A bar's prices, exact (on the tick).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarPrices {
    /// Open.
    pub open: Decimal,
    /// High.
    pub high: Decimal,
    /// Low.
    pub low: Decimal,
    /// Close.
    pub close: Decimal,
}

impl BarPrices {
    /// A candle's prices as exact decimals on the `tick` (nearest: candles carry traded prices,
    /// on the tick already), as the backtester reads them; `None` when one is not a positive,
    /// finite price.
    pub fn of(bar: &Bar, tick: Decimal) -> Option<BarPrices> {
        let d = |x: f64| {
            let p = Decimal::from_f64(x).filter(|p| *p > Decimal::ZERO)?;
            if tick <= Decimal::ZERO {
                return Some(p);
            }
            Some((p.checked_div(tick)?.round().checked_mul(tick)?).normalize())
        };
        Some(BarPrices {
            open: d(bar.open)?,
            high: d(bar.high)?,
            low: d(bar.low)?,
            close: d(bar.close)?,
        })
    }

    /// The bar's path after its open: the extreme that hurts a long first (`long`: the low;
    /// otherwise the high), the other extreme, the close. The open itself is a jump.
    pub fn walk(&self, long: bool) -> [Decimal; 3] {
        if long {
            [self.low, self.high, self.close]
        } else {
            [self.high, self.low, self.close]
        }
    }
}

/// The prices a walk from `from` to `to` stops at: every exit price strictly between them, in
/// the order the walk meets them, then `to` (each visited once, so every exit on the way is
/// touched exactly at its own price).
pub fn stops(from: Decimal, to: Decimal, prices: impl Iterator<Item = Decimal>) -> Vec<Decimal> {
    let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
    let mut out: Vec<Decimal> = prices.filter(|p| *p > lo && *p < hi).collect();
    out.sort();
    out.dedup();
    if from > to {
        out.reverse();
    }
    out.push(to);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_long_stop_fires_at_or_below_and_its_target_at_or_above() {
        use ExitKind::{StopLoss, TakeProfit};
        use Side::{Buy, Sell};
        let cases = [
            (StopLoss, Sell, dec!(95), true),
            (StopLoss, Sell, dec!(94), true),
            (StopLoss, Sell, dec!(96), false),
            (TakeProfit, Sell, dec!(95), true),
            (TakeProfit, Sell, dec!(94), false),
            (StopLoss, Buy, dec!(95), true),
            (StopLoss, Buy, dec!(96), true),
            (StopLoss, Buy, dec!(94), false),
            (TakeProfit, Buy, dec!(94), true),
            (TakeProfit, Buy, dec!(96), false),
        ];
        for (kind, side, price, want) in cases {
            assert_eq!(
                touched(kind, side, dec!(95), price),
                want,
                "{kind:?} {side:?} {price}"
            );
        }
    }

    #[test]
    fn a_walk_visits_every_exit_price_between_in_order() {
        let exits = [dec!(95), dec!(110), dec!(90), dec!(95), dec!(100)];
        assert_eq!(
            stops(dec!(100), dec!(88), exits.iter().copied()),
            vec![dec!(95), dec!(90), dec!(88)]
        );
        assert_eq!(
            stops(dec!(88), dec!(112), exits.iter().copied()),
            vec![dec!(90), dec!(95), dec!(100), dec!(110), dec!(112)]
        );
        assert_eq!(
            stops(dec!(100), dec!(100), exits.iter().copied()),
            vec![dec!(100)]
        );
    }

    #[test]
    fn a_bar_hurts_the_position_first() {
        let b = BarPrices {
            open: dec!(100),
            high: dec!(110),
            low: dec!(90),
            close: dec!(105),
        };
        assert_eq!(b.walk(true), [dec!(90), dec!(110), dec!(105)]);
        assert_eq!(b.walk(false), [dec!(110), dec!(90), dec!(105)]);
    }
}
