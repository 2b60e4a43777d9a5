//! Exchange filter arithmetic: quantities rounded DOWN to the step (never trade more than asked
//! or held), limit prices rounded to the tick in the conservative direction, and the minimum /
//! maximum checks that decide whether an order may be sent at all.

use super::SizingError;
use crate::model::{InstrumentRules, Side};
use rust_decimal::Decimal;

/// Rounds `qty` down to a multiple of `step`; a zero step means "not enforced" and returns `qty`.
///
/// # Errors
/// [`SizingError::Overflow`] if the arithmetic overflows.
pub fn round_down_to_step(qty: Decimal, step: Decimal) -> Result<Decimal, SizingError> {
    if step <= Decimal::ZERO {
        return Ok(qty);
    }
    let steps = qty
        .checked_div(step)
        .ok_or(SizingError::Overflow { what: "qty / step" })?
        .floor();
    let rounded = steps.checked_mul(step).ok_or(SizingError::Overflow {
        what: "steps x step",
    })?;
    Ok(rounded.normalize())
}

/// Rounds a limit price to the tick: down for buys (never pay more than asked), up for sells
/// (never sell for less), then checks the instrument's price range.
///
/// # Errors
/// [`SizingError::PriceOutOfRange`] outside `[min_price, max_price]` (zero bounds are ignored).
pub fn round_price(
    price: Decimal,
    side: Side,
    rules: &InstrumentRules,
) -> Result<Decimal, SizingError> {
    let tick = rules.tick_size;
    let rounded = if tick > Decimal::ZERO {
        let ticks = price.checked_div(tick).ok_or(SizingError::Overflow {
            what: "price / tick",
        })?;
        let ticks = match side {
            Side::Buy => ticks.floor(),
            Side::Sell => ticks.ceil(),
        };
        ticks
            .checked_mul(tick)
            .ok_or(SizingError::Overflow {
                what: "ticks x tick",
            })?
            .normalize()
    } else {
        price
    };
    let below = rules.min_price > Decimal::ZERO && rounded < rules.min_price;
    let above = rules.max_price > Decimal::ZERO && rounded > rules.max_price;
    if rounded <= Decimal::ZERO || below || above {
        return Err(SizingError::PriceOutOfRange {
            price: rounded,
            min: rules.min_price,
            max: rules.max_price,
        });
    }
    Ok(rounded)
}

/// Checks a rounded quantity against the instrument's limits. `market` selects the market-order
/// maximum; `reduce_only` skips the minimum notional, which the futures venues waive for orders
/// that only close (a dust position must stay closable).
///
/// # Errors
/// [`SizingError::BelowMinQty`], [`SizingError::BelowMinNotional`] or
/// [`SizingError::AboveMaxQty`].
pub fn check_filters(
    qty: Decimal,
    price: Decimal,
    rules: &InstrumentRules,
    market: bool,
    reduce_only: bool,
) -> Result<(), SizingError> {
    if qty <= Decimal::ZERO || (rules.min_qty > Decimal::ZERO && qty < rules.min_qty) {
        return Err(SizingError::BelowMinQty {
            qty,
            min_qty: rules.min_qty.max(rules.step_size),
        });
    }
    let max = if market && rules.max_market_qty > Decimal::ZERO {
        rules.max_market_qty
    } else {
        rules.max_qty
    };
    if max > Decimal::ZERO && qty > max {
        return Err(SizingError::AboveMaxQty { qty, max_qty: max });
    }
    if !reduce_only && rules.min_notional > Decimal::ZERO {
        let notional = qty.checked_mul(price).ok_or(SizingError::Overflow {
            what: "qty x price",
        })?;
        if notional < rules.min_notional {
            return Err(SizingError::BelowMinNotional {
                notional,
                min_notional: rules.min_notional,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Symbol;
    use rust_decimal_macros::dec;

    pub(crate) fn rules() -> InstrumentRules {
        InstrumentRules {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            base_asset: "BTC".into(),
            quote_asset: "USDT".into(),
            tick_size: dec!(0.10),
            step_size: dec!(0.001),
            min_qty: dec!(0.001),
            max_qty: dec!(100),
            max_market_qty: dec!(10),
            min_notional: dec!(5),
            min_price: dec!(0.10),
            max_price: dec!(1000000),
        }
    }

    #[test]
    fn rounding_down() {
        let cases = [
            (dec!(0.0019), dec!(0.001), dec!(0.001)),
            (dec!(0.002), dec!(0.001), dec!(0.002)),
            (dec!(1.23456789), dec!(0.00001), dec!(1.23456)),
            (dec!(7), dec!(5), dec!(5)),
            (dec!(0.0009), dec!(0.001), dec!(0)),
            (dec!(1.5), dec!(0), dec!(1.5)),
        ];
        for (qty, step, expected) in cases {
            assert_eq!(
                round_down_to_step(qty, step).unwrap(),
                expected,
                "{qty} / {step}"
            );
        }
    }

    #[test]
    fn prices() {
        let r = rules();
        assert_eq!(
            round_price(dec!(65000.17), Side::Buy, &r).unwrap(),
            dec!(65000.1)
        );
        assert_eq!(
            round_price(dec!(65000.11), Side::Sell, &r).unwrap(),
            dec!(65000.2)
        );
        assert_eq!(
            round_price(dec!(65000.1), Side::Sell, &r).unwrap(),
            dec!(65000.1)
        );
        assert!(round_price(dec!(0.05), Side::Buy, &r).is_err());
        assert!(round_price(dec!(2000000), Side::Buy, &r).is_err());
    }

    #[test]
    fn filters() {
        let r = rules();
        let cases: &[(Decimal, Decimal, bool, bool, Option<&str>)] = &[
            (dec!(0.001), dec!(65000), true, false, None),
            (dec!(0), dec!(65000), true, false, Some("below_min_qty")),
            (
                dec!(0.0005),
                dec!(65000),
                true,
                false,
                Some("below_min_qty"),
            ),
            (dec!(11), dec!(1), true, false, Some("above_max_qty")),
            (dec!(11), dec!(1), false, false, None),
            (
                dec!(0.001),
                dec!(4000),
                true,
                false,
                Some("below_min_notional"),
            ),
            (dec!(0.001), dec!(4000), true, true, None),
        ];
        for (qty, price, market, reduce, expected) in cases {
            let got = check_filters(*qty, *price, &r, *market, *reduce).err();
            assert_eq!(got.map(|e| e.code()), *expected, "{qty} @ {price}");
        }
    }
}
