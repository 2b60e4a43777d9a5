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
        let mut next = self.lots.clone();
        let mut rest = qty;
        let mut realized = Decimal::ZERO;
        while rest > Decimal::ZERO {
            let Some(front) = next.front_mut() else { break };
            if front.qty.is_sign_positive() == dir.is_sign_positive() {
                break;
            }
            let take = rest.min(front.qty.abs());
            let pnl = mul(
                mul(take, sub(price, front.price, "realized")?, "realized")?,
                -dir,
                "realized",
            )?;
            realized = add(realized, pnl, "realized")?;
            front.qty = add(front.qty, mul(dir, take, "qty")?, "qty")?;
            rest = sub(rest, take, "qty")?;
            if front.qty.is_zero() {
                next.pop_front();
            }
        }
        if rest > Decimal::ZERO {
            next.push_back(Lot {
                qty: mul(dir, rest, "qty")?,
                price,
            });
        }
        self.lots = next;
        Ok(realized)
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
}
