//! Breakeven of a position: the exit price at which closing it nets exactly nothing once every
//! cost is counted — the entry fees already paid, the funding paid (or received) while it was
//! open, and the taker fee the close itself will pay.
//!
//! Why it matters: "move the stop to breakeven" and the per-bot breakeven the portfolio page
//! shows are wrong by the fees and funding if they use the entry price; on a perpetual held for
//! days, funding alone can be larger than the fees.
//!
//! Exact: a long's breakeven solves `q·p·(1 − r) = C + F + U` (entry cost `C`, fees paid `F`,
//! funding paid `U`, close fee rate `r`), a short's `R − F − U = q·p·(1 + r)` (entry proceeds
//! `R`); the division is done in 28-digit decimals, so the net at the unrounded price is zero to
//! far below any exchange's precision, and [`Breakeven::at_tick`] rounds it *against* the trader
//! (up for a long, down for a short), so a stop placed there never locks in a loss.

use crate::model::Side;
use rust_decimal::Decimal;
use serde::Serialize;
use thiserror::Error;

/// An open position and what it has cost so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPosition {
    /// Long (`Buy`) or short (`Sell`).
    pub side: Side,
    /// Quantity held, base units, positive.
    pub qty: Decimal,
    /// Quote paid to open (long) or received (short), before fees.
    pub entry_notional: Decimal,
    /// Fees paid so far, quote.
    pub fees_paid: Decimal,
    /// Funding paid so far, quote (negative when received).
    pub funding_paid: Decimal,
    /// Fee rate the close will pay (taker), e.g. 0.0004.
    pub close_fee_rate: Decimal,
}

/// Why no breakeven exists.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BreakevenError {
    /// Quantity not positive.
    #[error("no open quantity")]
    NoQuantity,
    /// Fee rate outside [0, 1).
    #[error("close fee rate {0} is outside [0, 1)")]
    FeeRate(Decimal),
    /// A short whose costs exceed its proceeds cannot break even at any positive price.
    #[error("the short's fees and funding exceed its entry proceeds")]
    Unreachable,
    /// Overflow of decimal arithmetic (absurd inputs).
    #[error("the numbers are too large to compute a breakeven")]
    Overflow,
}

/// A breakeven price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Breakeven {
    /// The exact price (28 significant digits).
    pub price: Decimal,
    /// The position's side.
    #[serde(skip)]
    side: Side,
}

impl Breakeven {
    /// The price on the instrument's tick grid, rounded against the trader: up for a long, down
    /// for a short (a zero or negative tick returns the exact price).
    pub fn at_tick(&self, tick: Decimal) -> Decimal {
        if tick <= Decimal::ZERO {
            return self.price;
        }
        let Some(steps) = self.price.checked_div(tick) else {
            return self.price;
        };
        let steps = match self.side {
            Side::Buy => steps.ceil(),
            Side::Sell => steps.floor(),
        };
        steps.checked_mul(tick).unwrap_or(self.price)
    }
}

impl OpenPosition {
    /// The breakeven price.
    ///
    /// # Errors
    /// No quantity, a fee rate out of range, a short that cannot break even, overflow.
    pub fn breakeven(&self) -> Result<Breakeven, BreakevenError> {
        if self.qty <= Decimal::ZERO {
            return Err(BreakevenError::NoQuantity);
        }
        if self.close_fee_rate < Decimal::ZERO || self.close_fee_rate >= Decimal::ONE {
            return Err(BreakevenError::FeeRate(self.close_fee_rate));
        }
        let costs = self
            .fees_paid
            .checked_add(self.funding_paid)
            .ok_or(BreakevenError::Overflow)?;
        let (num, factor) = match self.side {
            Side::Buy => (
                self.entry_notional.checked_add(costs),
                Decimal::ONE - self.close_fee_rate,
            ),
            Side::Sell => (
                self.entry_notional.checked_sub(costs),
                Decimal::ONE + self.close_fee_rate,
            ),
        };
        let num = num.ok_or(BreakevenError::Overflow)?;
        if num <= Decimal::ZERO {
            return Err(BreakevenError::Unreachable);
        }
        let den = self
            .qty
            .checked_mul(factor)
            .ok_or(BreakevenError::Overflow)?;
        let price = num.checked_div(den).ok_or(BreakevenError::Overflow)?;
        Ok(Breakeven {
            price,
            side: self.side,
        })
    }

    /// Net result of closing the whole position at `price`: proceeds minus every cost, quote.
    ///
    /// # Errors
    /// Overflow.
    pub fn net_at(&self, price: Decimal) -> Result<Decimal, BreakevenError> {
        let close = self
            .qty
            .checked_mul(price)
            .ok_or(BreakevenError::Overflow)?;
        let close_fee = close
            .checked_mul(self.close_fee_rate)
            .ok_or(BreakevenError::Overflow)?;
        let gross = match self.side {
            Side::Buy => close.checked_sub(self.entry_notional),
            Side::Sell => self.entry_notional.checked_sub(close),
        }
        .ok_or(BreakevenError::Overflow)?;
        gross
            .checked_sub(close_fee)
            .and_then(|x| x.checked_sub(self.fees_paid))
            .and_then(|x| x.checked_sub(self.funding_paid))
            .ok_or(BreakevenError::Overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn position(side: Side, qty: i64, px: i64, fee_bp: i64, funding: i64) -> OpenPosition {
        let qty = Decimal::new(qty, 4);
        let entry_notional = qty * Decimal::new(px, 2);
        let rate = Decimal::new(fee_bp, 4);
        OpenPosition {
            side,
            qty,
            entry_notional,
            fees_paid: (entry_notional * rate).round_dp(8),
            funding_paid: Decimal::new(funding, 4),
            close_fee_rate: rate,
        }
    }

    proptest! {
        #![proptest_config(crate::prop_seed::config(500))]

        /// The net at the breakeven is zero (to 1e-12 quote: the 28-digit division's rest), and
        /// on the tick grid it is never a loss while one tick worse is.
        #[test]
        fn breakeven_nets_zero_and_its_tick_never_a_loss(
            long in any::<bool>(),
            qty in 1_i64..10_000_000,
            px in 100_i64..10_000_000,
            fee_bp in 0_i64..20,
            funding in -50_000_i64..50_000,
        ) {
            let side = if long { Side::Buy } else { Side::Sell };
            let p = position(side, qty, px, fee_bp, funding);
            let Ok(be) = p.breakeven() else {
                // Only a short whose costs exceed its proceeds has none.
                prop_assert!(!long);
                return Ok(());
            };
            let net = p.net_at(be.price).unwrap();
            prop_assert_eq!(net.round_dp(12), Decimal::ZERO, "net {} at {}", net, be.price);
            let tick = dec!(0.01);
            let on_grid = be.at_tick(tick);
            prop_assert!(p.net_at(on_grid).unwrap() >= Decimal::ZERO);
            let worse = if long { on_grid - tick } else { on_grid + tick };
            if worse > Decimal::ZERO && worse != be.price {
                prop_assert!(p.net_at(worse).unwrap() < Decimal::ZERO);
            }
        }
    }

    #[test]
    fn a_worked_long_with_fees_and_funding() {
        // 0.5 BTC bought at 60,000 (30,000 quote), 12 fees, 3 funding paid, 0.04 % to close:
        // p = 30,015 / (0.5 · 0.9996) = 60,054.0216086434...
        let p = OpenPosition {
            side: Side::Buy,
            qty: dec!(0.5),
            entry_notional: dec!(30000),
            fees_paid: dec!(12),
            funding_paid: dec!(3),
            close_fee_rate: dec!(0.0004),
        };
        let be = p.breakeven().unwrap();
        assert_eq!(be.at_tick(dec!(0.1)), dec!(60054.1));
        assert_eq!(be.price.round_dp(6), dec!(60054.021609));
        assert_eq!(
            OpenPosition {
                qty: Decimal::ZERO,
                ..p.clone()
            }
            .breakeven(),
            Err(BreakevenError::NoQuantity)
        );
        assert_eq!(
            OpenPosition {
                close_fee_rate: Decimal::ONE,
                ..p
            }
            .breakeven(),
            Err(BreakevenError::FeeRate(Decimal::ONE))
        );
    }
}
