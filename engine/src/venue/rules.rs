//! Instrument-rule arithmetic: round to tick and step, and refuse (before sending) an order the
//! exchange would refuse. Doing this locally saves a round trip, keeps the rate-limit budget, and
//! turns a cryptic `-1013 Filter failure` into an error naming the rule, limit and value.
//!
//! | function | returns |
//! |---|---|
//! | [`round_to_step_down`] | largest multiple of `step` ≤ value (qty) |
//! | [`round_price`] | price on the tick, rounded toward the passive side (buy down, sell up) |
//! | [`prepare_order`] | the order with price and qty rounded, or the first rule it breaks |
//! | [`close_qty`] | the sellable part of a free balance, and the dust left behind |

use crate::model::{InstrumentRules, OrderQty, OrderRequest, OrderType, Side};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// An order breaks an instrument rule (checked after rounding).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum RulesError {
    /// A field that must be positive was not.
    #[error("{field} must be positive, got {value}")]
    NotPositive {
        /// Field name.
        field: &'static str,
        /// Value.
        value: Decimal,
    },
    /// Rounding down to the step left nothing.
    #[error("qty {qty} rounds to zero with step {step}")]
    ZeroAfterRounding {
        /// Qty before rounding.
        qty: Decimal,
        /// Step size.
        step: Decimal,
    },
    /// Quantity below the minimum (LOT_SIZE minQty).
    #[error("qty {qty} below minimum {min}")]
    BelowMinQty {
        /// Rounded qty.
        qty: Decimal,
        /// Minimum.
        min: Decimal,
    },
    /// Quantity above the maximum (LOT_SIZE / MARKET_LOT_SIZE maxQty).
    #[error("qty {qty} above maximum {max}")]
    AboveMaxQty {
        /// Rounded qty.
        qty: Decimal,
        /// Maximum.
        max: Decimal,
    },
    /// Notional below the minimum (MIN_NOTIONAL / NOTIONAL / minOrderAmt).
    #[error("notional {notional} below minimum {min}")]
    BelowMinNotional {
        /// price × qty (or the quote amount).
        notional: Decimal,
        /// Minimum.
        min: Decimal,
    },
    /// Price outside [minPrice, maxPrice].
    #[error("price {price} outside [{min}, {max}]")]
    PriceOutOfRange {
        /// Rounded price.
        price: Decimal,
        /// Minimum (0 = none).
        min: Decimal,
        /// Maximum (0 = none).
        max: Decimal,
    },
    /// A limit order without a price.
    #[error("limit order needs a price")]
    MissingPrice,
    /// Arithmetic overflow in a notional.
    #[error("overflow computing {what}")]
    Overflow {
        /// What.
        what: &'static str,
    },
}

/// Largest multiple of `step` that is ≤ `value` (for non-negative values). A zero step means
/// "no rule" and returns the value unchanged.
pub fn round_to_step_down(value: Decimal, step: Decimal) -> Decimal {
    if step <= Decimal::ZERO {
        return value;
    }
    match value.checked_div(step) {
        Some(n) => {
            let units = n.round_dp_with_strategy(0, RoundingStrategy::ToZero);
            units.checked_mul(step).map_or(value, |v| v.normalize())
        }
        None => value,
    }
}

/// Smallest multiple of `step` that is ≥ `value`.
pub fn round_to_step_up(value: Decimal, step: Decimal) -> Decimal {
    if step <= Decimal::ZERO {
        return value;
    }
    match value.checked_div(step) {
        Some(n) => {
            let units = n.round_dp_with_strategy(0, RoundingStrategy::AwayFromZero);
            // Rounding up can step past `Decimal::MAX` (a value no market has): keep the value.
            units.checked_mul(step).map_or(value, |v| v.normalize())
        }
        None => value,
    }
}

/// Rounds a limit price onto the tick toward the passive side: a buy never pays more than asked,
/// a sell never receives less.
pub fn round_price(price: Decimal, tick: Decimal, side: Side) -> Decimal {
    match side {
        Side::Buy => round_to_step_down(price, tick),
        Side::Sell => round_to_step_up(price, tick),
    }
}

fn check_qty(
    rules: &InstrumentRules,
    qty: Decimal,
    order_type: OrderType,
) -> Result<(), RulesError> {
    if rules.min_qty > Decimal::ZERO && qty < rules.min_qty {
        return Err(RulesError::BelowMinQty {
            qty,
            min: rules.min_qty,
        });
    }
    let max = match order_type {
        OrderType::Market if rules.max_market_qty > Decimal::ZERO => rules.max_market_qty,
        _ => rules.max_qty,
    };
    if max > Decimal::ZERO && qty > max {
        return Err(RulesError::AboveMaxQty { qty, max });
    }
    Ok(())
}

fn check_notional(rules: &InstrumentRules, notional: Decimal) -> Result<(), RulesError> {
    if rules.min_notional > Decimal::ZERO && notional < rules.min_notional {
        return Err(RulesError::BelowMinNotional {
            notional,
            min: rules.min_notional,
        });
    }
    Ok(())
}

/// Rounds and validates an order against the instrument's rules. `ref_price` is the price used
/// for market-order notional checks (last or mark price); limit orders use their own price.
/// Reduce-only orders (linear only) are exempt from the minimum notional, as on the exchanges.
///
/// # Errors
/// The first [`RulesError`] the rounded order breaks.
pub fn prepare_order(
    rules: &InstrumentRules,
    req: &OrderRequest,
    ref_price: Decimal,
) -> Result<OrderRequest, RulesError> {
    let mut out = req.clone();
    let price = match req.order_type {
        OrderType::Limit => {
            let raw = req.price.ok_or(RulesError::MissingPrice)?;
            if raw <= Decimal::ZERO {
                return Err(RulesError::NotPositive {
                    field: "price",
                    value: raw,
                });
            }
            let p = round_price(raw, rules.tick_size, req.side);
            let below = rules.min_price > Decimal::ZERO && p < rules.min_price;
            let above = rules.max_price > Decimal::ZERO && p > rules.max_price;
            if below || above || p <= Decimal::ZERO {
                return Err(RulesError::PriceOutOfRange {
                    price: p,
                    min: rules.min_price,
                    max: rules.max_price,
                });
            }
            out.price = Some(p);
            p
        }
        OrderType::Market => {
            out.price = None;
            ref_price
        }
    };
    match req.qty {
        OrderQty::Base(raw) => {
            if raw <= Decimal::ZERO {
                return Err(RulesError::NotPositive {
                    field: "qty",
                    value: raw,
                });
            }
            let qty = round_to_step_down(raw, rules.step_size);
            if qty <= Decimal::ZERO {
                return Err(RulesError::ZeroAfterRounding {
                    qty: raw,
                    step: rules.step_size,
                });
            }
            check_qty(rules, qty, req.order_type)?;
            let notional = qty
                .checked_mul(price)
                .ok_or(RulesError::Overflow { what: "notional" })?;
            // Market orders without a reference price cannot be checked for notional here;
            // the exchange remains the judge. A reduce-only order is exempt, as on both
            // exchanges' derivatives (Binance USD-M: "no smaller than 5 (unless you choose
            // reduce only)", -4164; Bybit: closing orders skip minNotionalValue but keep
            // minOrderQty): refusing it would leave a small position that nothing can close.
            if price > Decimal::ZERO && !req.reduce_only {
                check_notional(rules, notional)?;
            }
            out.qty = OrderQty::Base(qty);
        }
        OrderQty::Quote(amount) => {
            if amount <= Decimal::ZERO {
                return Err(RulesError::NotPositive {
                    field: "quote_qty",
                    value: amount,
                });
            }
            check_notional(rules, amount)?;
            if price > Decimal::ZERO {
                // The base qty the exchange will compute must itself pass LOT_SIZE.
                let implied = amount.checked_div(price).ok_or(RulesError::Overflow {
                    what: "implied qty",
                })?;
                check_qty(
                    rules,
                    round_to_step_down(implied, rules.step_size),
                    req.order_type,
                )?;
            }
        }
    }
    Ok(out)
}

/// The sellable part of a free balance: everything rounded down to the step, plus what is left
/// as dust (smaller than one step, unsellable on any order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseQty {
    /// Quantity to sell.
    pub qty: Decimal,
    /// Remainder below one step.
    pub dust: Decimal,
}

/// Quantity that closes a spot holding: the WHOLE free balance rounded down to the step (after a
/// buy whose fee was taken in base, the free balance is what is actually held, so selling it
/// leaves only sub-step dust), checked against min qty and, at `ref_price`, min notional.
///
/// # Errors
/// [`RulesError`] when even the whole balance is too small to sell.
pub fn close_qty(
    rules: &InstrumentRules,
    free: Decimal,
    ref_price: Decimal,
) -> Result<CloseQty, RulesError> {
    if free <= Decimal::ZERO {
        return Err(RulesError::NotPositive {
            field: "free_balance",
            value: free,
        });
    }
    let qty = round_to_step_down(free, rules.step_size);
    if qty <= Decimal::ZERO {
        return Err(RulesError::ZeroAfterRounding {
            qty: free,
            step: rules.step_size,
        });
    }
    check_qty(rules, qty, OrderType::Market)?;
    let notional = qty
        .checked_mul(ref_price)
        .ok_or(RulesError::Overflow { what: "notional" })?;
    check_notional(rules, notional)?;
    Ok(CloseQty {
        qty,
        dust: free - qty,
    })
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
