//! Per-instrument positions with average-cost entry price, as Binance USDⓈ-M futures and Bybit
//! compute it; FIFO lots ([`FifoLots`]) as an alternative view for spot tax reports.
//!
//! A position is kept as a signed quantity and a signed **cost basis** (Σ qty × price of what is
//! still open), not as a stored average: the average is `cost / qty`, derived. Reductions remove
//! cost pro rata, so realized + unrealized always equals the cash flows exactly, even when the
//! average price is a non-terminating decimal.
//!
//! | operation | result |
//! |---|---|
//! | increase (same side, or from flat) | `qty += q`, `cost += q × price`, realized 0 |
//! | reduce by `c ≤ |qty|` | realized = `c × price × sign(qty) − round16(cost × c / |qty|)` |
//! | flip through zero | close the whole position as above, then open the rest at the fill price |
//!
//! For spot the quantity is the base asset the bot holds (never negative in practice; a sale of
//! base the bot did not acquire through its own fills shows as a negative quantity so the
//! arithmetic stays consistent and reconciliation can flag it).

mod arith;
pub mod breakeven;
mod fifo;

pub(crate) use arith::{add, div, mul, sub};
pub use fifo::{FifoLots, FifoUndo, Lot};

use crate::ids::Symbol;
use crate::model::Side;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Decimals kept for the cost removed by a partial reduction. The pro-rata share of a cost basis
/// is generally a non-terminating decimal; rounding it once, to a scale far below any exchange's
/// printed precision (Binance prints 8), keeps every later sum exact (no 28-digit truncation),
/// and the remaining cost absorbs the rounding so realized + unrealized still equals the cash.
pub const COST_DP: u32 = 16;

/// Why a position update was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PositionError {
    /// A decimal operation overflowed or divided by zero.
    #[error("arithmetic overflow computing {field}")]
    Overflow {
        /// The field being computed.
        field: &'static str,
    },
    /// Quantity or price was not positive.
    #[error("field {field} must be positive, got {value}")]
    NonPositive {
        /// `qty` or `price`.
        field: &'static str,
        /// The value given.
        value: Decimal,
    },
}

/// What one trade did to a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PositionChange {
    /// Realized P&L of the closing portion, in quote (fees excluded, as the exchanges report it).
    pub realized: Decimal,
    /// Quantity closed (≥ 0).
    pub closed_qty: Decimal,
    /// Quantity opened or added (≥ 0).
    pub opened_qty: Decimal,
}

/// An open (or flat) position in one instrument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Instrument.
    pub symbol: Symbol,
    /// Signed quantity: positive long / held base, negative short.
    pub qty: Decimal,
    /// Signed cost basis of the open quantity, in quote (`qty × avg_entry_price`).
    pub cost: Decimal,
}

impl Position {
    /// A flat position.
    pub fn flat(symbol: Symbol) -> Self {
        Self {
            symbol,
            qty: Decimal::ZERO,
            cost: Decimal::ZERO,
        }
    }

    /// True when nothing is open.
    pub fn is_flat(&self) -> bool {
        self.qty.is_zero()
    }

    /// Average entry price; `None` when flat.
    pub fn avg_entry_price(&self) -> Option<Decimal> {
        if self.qty.is_zero() {
            return None;
        }
        self.cost.checked_div(self.qty)
    }

    /// Applies one trade of `qty` (> 0) at `price` (> 0) on `side`.
    ///
    /// # Errors
    /// [`PositionError`] for a non-positive input or an overflow; the position is unchanged then.
    pub fn apply(
        &mut self,
        side: Side,
        qty: Decimal,
        price: Decimal,
    ) -> Result<PositionChange, PositionError> {
        if qty <= Decimal::ZERO {
            return Err(PositionError::NonPositive {
                field: "qty",
                value: qty,
            });
        }
        if price <= Decimal::ZERO {
            return Err(PositionError::NonPositive {
                field: "price",
                value: price,
            });
        }
        let dir = side.sign();
        let same_way = self.qty.is_zero() || self.qty.is_sign_positive() == dir.is_sign_positive();
        if same_way {
            let qty_next = add(self.qty, mul(dir, qty, "qty")?, "qty")?;
            let cost_next = add(
                self.cost,
                mul(mul(dir, qty, "cost")?, price, "cost")?,
                "cost",
            )?;
            self.qty = qty_next;
            self.cost = cost_next;
            return Ok(PositionChange {
                realized: Decimal::ZERO,
                closed_qty: Decimal::ZERO,
                opened_qty: qty,
            });
        }
        let held = self.qty.abs();
        let pos_sign = -dir;
        let closed = qty.min(held);
        let cost_removed = if closed == held {
            self.cost
        } else {
            div(mul(self.cost, closed, "cost")?, held, "cost")?
                .round_dp_with_strategy(COST_DP, RoundingStrategy::MidpointNearestEven)
        };
        let proceeds = mul(mul(closed, price, "realized")?, pos_sign, "realized")?;
        let realized = sub(proceeds, cost_removed, "realized")?;
        let rest = sub(qty, closed, "qty")?;
        let (qty_next, cost_next) = if rest.is_zero() {
            (
                sub(self.qty, mul(pos_sign, closed, "qty")?, "qty")?,
                sub(self.cost, cost_removed, "cost")?,
            )
        } else {
            // Flip: the whole position closed; the rest opens at the fill price.
            let q = mul(dir, rest, "qty")?;
            (q, mul(q, price, "cost")?)
        };
        self.qty = qty_next;
        self.cost = if qty_next.is_zero() {
            Decimal::ZERO
        } else {
            cost_next
        };
        Ok(PositionChange {
            realized,
            closed_qty: closed,
            opened_qty: rest,
        })
    }

    /// Unrealized P&L at `mark`: `qty × mark − cost`.
    ///
    /// # Errors
    /// [`PositionError::Overflow`].
    pub fn unrealized(&self, mark: Decimal) -> Result<Decimal, PositionError> {
        sub(mul(self.qty, mark, "unrealized")?, self.cost, "unrealized")
    }

    /// Absolute notional at `mark`.
    ///
    /// # Errors
    /// [`PositionError::Overflow`].
    pub fn notional(&self, mark: Decimal) -> Result<Decimal, PositionError> {
        mul(self.qty.abs(), mark, "notional")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use Side::{Buy, Sell};

    struct Case {
        name: &'static str,
        trades: Vec<(Side, Decimal, Decimal)>,
        realized: Vec<Decimal>,
        qty: Decimal,
        avg: Option<Decimal>,
    }

    #[test]
    fn average_cost_cases() {
        let cases = [
            Case {
                name: "increase moves the average",
                trades: vec![(Buy, dec!(1), dec!(100)), (Buy, dec!(3), dec!(120))],
                realized: vec![dec!(0), dec!(0)],
                qty: dec!(4),
                avg: Some(dec!(115)),
            },
            Case {
                name: "reduce realizes against the average, average unchanged",
                trades: vec![
                    (Buy, dec!(1), dec!(100)),
                    (Buy, dec!(3), dec!(120)),
                    (Sell, dec!(2), dec!(130)),
                ],
                realized: vec![dec!(0), dec!(0), dec!(30)],
                qty: dec!(2),
                avg: Some(dec!(115)),
            },
            Case {
                name: "short: profit when price falls",
                trades: vec![(Sell, dec!(2), dec!(100)), (Buy, dec!(0.5), dec!(90))],
                realized: vec![dec!(0), dec!(5)],
                qty: dec!(-1.5),
                avg: Some(dec!(100)),
            },
            Case {
                name: "flip long to short: close at avg, open rest at fill price",
                trades: vec![(Buy, dec!(1), dec!(100)), (Sell, dec!(3), dec!(90))],
                realized: vec![dec!(0), dec!(-10)],
                qty: dec!(-2),
                avg: Some(dec!(90)),
            },
            Case {
                name: "close to flat",
                trades: vec![
                    (Buy, dec!(1), dec!(100)),
                    (Buy, dec!(2), dec!(101)),
                    (Sell, dec!(3), dec!(102)),
                ],
                realized: vec![dec!(0), dec!(0), dec!(4)],
                qty: dec!(0),
                avg: None,
            },
        ];
        for c in cases {
            let mut p = Position::flat(Symbol::new("BTCUSDT").unwrap());
            let got: Vec<Decimal> = c
                .trades
                .iter()
                .map(|(s, q, px)| p.apply(*s, *q, *px).unwrap().realized)
                .collect();
            assert_eq!(got, c.realized, "{}", c.name);
            assert_eq!(p.qty, c.qty, "{}", c.name);
            assert_eq!(p.avg_entry_price(), c.avg, "{}", c.name);
        }
    }

    #[test]
    fn non_terminating_average_keeps_totals_exact() {
        let mut p = Position::flat(Symbol::new("BTCUSDT").unwrap());
        p.apply(Buy, dec!(1), dec!(100)).unwrap();
        p.apply(Buy, dec!(2), dec!(101)).unwrap();
        let r = p.apply(Sell, dec!(1), dec!(102)).unwrap().realized;
        // cash: -100 -202 +102 = -200; holding 2 at mark 102 = 204; total 4 exactly.
        assert_eq!(r + p.unrealized(dec!(102)).unwrap(), dec!(4));
    }

    #[test]
    fn refuses_bad_inputs() {
        let mut p = Position::flat(Symbol::new("BTCUSDT").unwrap());
        assert_eq!(
            p.apply(Buy, dec!(0), dec!(1)),
            Err(PositionError::NonPositive {
                field: "qty",
                value: dec!(0)
            })
        );
        assert!(p.apply(Buy, dec!(1), dec!(-1)).is_err());
        assert!(p.is_flat());
    }
}
