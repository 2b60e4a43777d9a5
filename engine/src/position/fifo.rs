//! FIFO lots: realized P&L matched against the oldest open lot first. Not what the exchanges
//! report (they use average cost), but what many tax views of spot trading need. Over a whole
//! history FIFO and average cost give the same realized + unrealized total; they differ in how
//! it splits between the two.

use super::{add, mul, sub, PositionError};
use crate::model::Side;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// One open lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// Signed quantity still open.
    pub qty: Decimal,
    /// Entry price.
    pub price: Decimal,
}

/// The open lots of one instrument, oldest first. All lots have the same sign.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FifoLots {
    /// Open lots, oldest first.
    pub lots: VecDeque<Lot>,
}

/// How to take back one [`FifoLots::apply_undoable`], so a caller that fails later in the same
/// booking can restore the lots without having cloned them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoUndo {
    popped: Vec<Lot>,
    front_before: Option<Lot>,
    pushed: bool,
}

impl FifoLots {
    /// Applies a trade; returns the FIFO realized P&L of its closing part.
    ///
    /// # Errors
    /// [`PositionError`] for non-positive inputs or overflow (lots unchanged then).
    pub fn apply(
        &mut self,
        side: Side,
        qty: Decimal,
        price: Decimal,
    ) -> Result<Decimal, PositionError> {
        self.apply_undoable(side, qty, price)
            .map(|(realized, _)| realized)
    }

    /// Like [`FifoLots::apply`], also returning how to undo it. Costs O(lots touched): the plan
    /// is computed read-only, then written.
    ///
    /// # Errors
    /// [`PositionError`] for non-positive inputs or overflow (lots unchanged then).
    pub fn apply_undoable(
        &mut self,
        side: Side,
        qty: Decimal,
        price: Decimal,
    ) -> Result<(Decimal, FifoUndo), PositionError> {
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
        // Plan: how many whole lots close, what is left of the next one, what opens.
        let mut rest = qty;
        let mut realized = Decimal::ZERO;
        let mut closed_lots = 0;
        let mut front_left = None;
        for lot in &self.lots {
            if rest.is_zero() || lot.qty.is_sign_positive() == dir.is_sign_positive() {
                break;
            }
            let take = rest.min(lot.qty.abs());
            let pnl = mul(
                mul(take, sub(price, lot.price, "realized")?, "realized")?,
                -dir,
                "realized",
            )?;
            realized = add(realized, pnl, "realized")?;
            rest = sub(rest, take, "qty")?;
            let left = add(lot.qty, mul(dir, take, "qty")?, "qty")?;
            if left.is_zero() {
                closed_lots += 1;
            } else {
                front_left = Some(left);
            }
        }
        let opened = if rest > Decimal::ZERO {
            Some(Lot {
                qty: mul(dir, rest, "qty")?,
                price,
            })
        } else {
            None
        };
        // Commit: nothing below can fail.
        let popped: Vec<Lot> = self.lots.drain(..closed_lots).collect();
        let mut front_before = None;
        if let (Some(q), Some(front)) = (front_left, self.lots.front_mut()) {
            front_before = Some(*front);
            front.qty = q;
        }
        let pushed = opened.is_some();
        if let Some(lot) = opened {
            self.lots.push_back(lot);
        }
        Ok((
            realized,
            FifoUndo {
                popped,
                front_before,
                pushed,
            },
        ))
    }

    /// Takes back the most recent [`FifoLots::apply_undoable`] (undo in reverse order).
    pub fn undo(&mut self, undo: FifoUndo) {
        if undo.pushed {
            self.lots.pop_back();
        }
        if let (Some(before), Some(front)) = (undo.front_before, self.lots.front_mut()) {
            *front = before;
        }
        for lot in undo.popped.into_iter().rev() {
            self.lots.push_front(lot);
        }
    }

    /// Signed open quantity.
    pub fn qty(&self) -> Decimal {
        self.lots
            .iter()
            .fold(Decimal::ZERO, |acc, l| acc.saturating_add(l.qty))
    }

    /// Unrealized P&L at `mark`: Σ lot qty × (mark − lot price).
    ///
    /// # Errors
    /// [`PositionError::Overflow`].
    pub fn unrealized(&self, mark: Decimal) -> Result<Decimal, PositionError> {
        self.lots.iter().try_fold(Decimal::ZERO, |acc, l| {
            add(
                acc,
                mul(l.qty, sub(mark, l.price, "unrealized")?, "unrealized")?,
                "unrealized",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use Side::{Buy, Sell};

    #[test]
    fn fifo_matches_oldest_first() {
        let mut f = FifoLots::default();
        assert_eq!(f.apply(Buy, dec!(1), dec!(100)), Ok(dec!(0)));
        assert_eq!(f.apply(Buy, dec!(1), dec!(120)), Ok(dec!(0)));
        // Sells 1 @ 100 lot and 0.5 @ 120 lot at 130: 30 + 5.
        assert_eq!(f.apply(Sell, dec!(1.5), dec!(130)), Ok(dec!(35)));
        assert_eq!(f.qty(), dec!(0.5));
        assert_eq!(f.unrealized(dec!(130)), Ok(dec!(5)));
        // Flip: close 0.5 @ 120 at 110 (-5), open short 1 @ 110.
        assert_eq!(f.apply(Sell, dec!(1.5), dec!(110)), Ok(dec!(-5)));
        assert_eq!(
            f.lots,
            VecDeque::from([Lot {
                qty: dec!(-1),
                price: dec!(110)
            }])
        );
        assert_eq!(f.apply(Buy, dec!(1), dec!(100)), Ok(dec!(10)));
        assert!(f.lots.is_empty());
    }

    #[test]
    fn undo_restores_exactly() {
        let mut f = FifoLots::default();
        f.apply(Buy, dec!(1), dec!(100)).unwrap();
        f.apply(Buy, dec!(1), dec!(120)).unwrap();
        f.apply(Buy, dec!(1), dec!(130)).unwrap();
        let before = f.clone();
        for (side, qty) in [
            (Sell, dec!(1.5)),
            (Sell, dec!(4)),
            (Buy, dec!(1)),
            (Sell, dec!(1)),
        ] {
            let (_, undo) = f.apply_undoable(side, qty, dec!(110)).unwrap();
            f.undo(undo);
            assert_eq!(f, before, "{side:?} {qty}");
        }
    }
}
