//! Instrument filters (tick, step, min/max quantity, min notional), checked before an order
//! reaches the engine, as both exchanges do. Each protocol maps a failure to its own code.

use rust_decimal::Decimal;

use crate::config::InstrumentConfig;
use crate::model::OrdType;

/// Which rule an order broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterFail {
    /// Price has more decimals than the tick allows.
    PricePrecision,
    /// Price is not a multiple of the tick.
    PriceTick,
    /// Price outside [min, max].
    PriceRange,
    /// Quantity has more decimals than the step allows.
    QtyPrecision,
    /// Quantity is not a multiple of the step.
    QtyStep,
    /// Quantity below minimum.
    QtyMin,
    /// Quantity above maximum (limit orders).
    QtyMax,
    /// Quantity above the market-order maximum.
    MarketQtyMax,
    /// Order value below minimum notional.
    Notional,
}

/// True when `v` is a whole multiple of `step` (a zero step disables the rule).
pub fn is_multiple(v: Decimal, step: Decimal) -> bool {
    step.is_zero() || (v % step).is_zero()
}

fn too_precise(v: Decimal, step: Decimal) -> bool {
    !step.is_zero() && v.normalize().scale() > step.normalize().scale()
}

/// Checks price and quantity against the instrument's filters. `qty` is `None` for quote-amount
/// market orders, whose value is `quote_value`; `ref_price` prices market orders.
///
/// # Errors
/// The first [`FilterFail`] found, in the exchanges' order: price, quantity, notional.
pub fn check(
    inst: &InstrumentConfig,
    kind: OrdType,
    price: Option<Decimal>,
    qty: Option<Decimal>,
    quote_value: Option<Decimal>,
    ref_price: Decimal,
) -> Result<(), FilterFail> {
    if let (OrdType::Limit, Some(p)) = (kind, price) {
        if p < inst.min_price || p > inst.max_price {
            return Err(FilterFail::PriceRange);
        }
        if too_precise(p, inst.tick_size) {
            return Err(FilterFail::PricePrecision);
        }
        if !is_multiple(p, inst.tick_size) {
            return Err(FilterFail::PriceTick);
        }
    }
    if let Some(q) = qty {
        if too_precise(q, inst.step_size) {
            return Err(FilterFail::QtyPrecision);
        }
        if !is_multiple(q, inst.step_size) {
            return Err(FilterFail::QtyStep);
        }
        if q < inst.min_qty {
            return Err(FilterFail::QtyMin);
        }
        if kind == OrdType::Market && q > inst.max_market_qty {
            return Err(FilterFail::MarketQtyMax);
        }
        if q > inst.max_qty {
            return Err(FilterFail::QtyMax);
        }
    }
    let value = match (qty, quote_value) {
        (Some(q), _) => {
            q * price
                .filter(|_| kind == OrdType::Limit)
                .unwrap_or(ref_price)
        }
        (None, Some(v)) => v,
        (None, None) => Decimal::ZERO,
    };
    if value < inst.min_notional {
        return Err(FilterFail::Notional);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    #[test]
    fn table() {
        let cfg = SimConfig::default();
        let btc = cfg
            .instruments
            .iter()
            .find(|i| i.symbol == "BTCUSDT")
            .cloned()
            .unwrap();
        let d = |s: &str| s.parse::<Decimal>().ok();
        let p = d("65000").unwrap();
        type Case = (
            OrdType,
            Option<Decimal>,
            Option<Decimal>,
            Result<(), FilterFail>,
        );
        let cases: [Case; 8] = [
            (OrdType::Limit, d("65000.01"), d("0.001"), Ok(())),
            (
                OrdType::Limit,
                d("65000.001"),
                d("0.001"),
                Err(FilterFail::PricePrecision),
            ),
            (
                OrdType::Limit,
                d("65000"),
                d("0.000001"),
                Err(FilterFail::QtyPrecision),
            ),
            (
                OrdType::Limit,
                d("0.001"),
                d("0.001"),
                Err(FilterFail::PriceRange),
            ),
            (
                OrdType::Limit,
                d("65000"),
                d("0.00005"),
                Err(FilterFail::Notional),
            ),
            (
                OrdType::Market,
                None,
                d("121"),
                Err(FilterFail::MarketQtyMax),
            ),
            (
                OrdType::Limit,
                d("65000"),
                d("9001"),
                Err(FilterFail::QtyMax),
            ),
            (OrdType::Market, None, d("0.0001"), Ok(())),
        ];
        for (kind, price, qty, want) in cases {
            assert_eq!(
                check(&btc, kind, price, qty, None, p),
                want,
                "{price:?} {qty:?}"
            );
        }
    }
}
