//! From an alert to exchange-ready quantities: how much to trade (the alert's sizing or the bot's
//! default, `target` as the difference to the wanted position, `close` as the whole position),
//! rounded down to the instrument's step, and refused with a reason when the result is below
//! the exchange's minimums instead of being sent to fail there.
//!
//! Quantities are base units (contracts on linear). All arithmetic is `Decimal` with checked
//! operations; rounding is explicit and always towards trading less.

mod coid;
mod round;
#[cfg(test)]
mod tests;

pub use coid::{client_order_id, is_keel_client_order_id, order_request};
pub use round::{check_filters, round_down_to_step, round_price};

use crate::config::{SizingConfig, SizingMode};
use crate::ids::Symbol;
use crate::model::{InstrumentRules, Market, OrderType, Side};
use crate::signal::{Action, Signal, SignalSizing};
use rust_decimal::Decimal;
use serde::Serialize;

/// What a leg does, also its label in the client order id (`(bot_id, signal_id, leg)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegKind {
    /// A buy/sell sized by the alert or the bot's default.
    Entry,
    /// The part of a target/flip that brings the position towards zero.
    Reduce,
    /// The part of a target that opens or increases a position.
    Open,
    /// A close of the whole position.
    Close,
}

impl LegKind {
    /// The label hashed into the client order id.
    pub fn as_str(self) -> &'static str {
        match self {
            LegKind::Entry => "entry",
            LegKind::Reduce => "reduce",
            LegKind::Open => "open",
            LegKind::Close => "close",
        }
    }
}

/// One order to send, sized and rounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leg {
    /// Its role.
    pub kind: LegKind,
    /// Side.
    pub side: Side,
    /// Base quantity, rounded down to the step and within the instrument's limits.
    pub qty: Decimal,
    /// Send as reduce-only (linear reduce/close legs; spot has no such flag).
    pub reduce_only: bool,
    /// Limit price rounded to the tick (limit orders only).
    pub price: Option<Decimal>,
}

/// The bot's state that sizing reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizingContext<'a> {
    /// Spot or linear.
    pub market: Market,
    /// Current price of the symbol.
    pub market_price: Decimal,
    /// The bot's equity in quote (for percent and risk-per-trade sizing).
    pub equity: Decimal,
    /// The bot's signed position in the symbol (spot: its holding).
    pub position_qty: Decimal,
    /// Spot only: the account's free base balance; spot sells never exceed it.
    pub free_base_balance: Option<Decimal>,
    /// The instrument's exchange filters.
    pub rules: &'a InstrumentRules,
}

/// Why no order could be sized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizingError {
    /// The action places no order (`cancel_all`).
    #[error("action {action} places no order")]
    NotSizable {
        /// The action.
        action: &'static str,
    },
    /// The signal has no symbol.
    #[error("the signal has no symbol")]
    NoSymbol,
    /// No positive market price.
    #[error("no market price for the symbol")]
    NoMarketPrice,
    /// Percent sizing needs positive equity.
    #[error("equity is {equity}; percent sizing needs positive equity")]
    NoEquity {
        /// Equity seen.
        equity: Decimal,
    },
    /// `risk_per_trade` sizing needs the alert's stop-loss.
    #[error("sizing mode risk_per_trade needs a stop_loss in the alert")]
    MissingStopLoss,
    /// The stop is on the wrong side of the entry price.
    #[error("stop_loss {stop} is on the wrong side of entry {price} for a {side:?}")]
    StopOnWrongSide {
        /// Stop.
        stop: Decimal,
        /// Entry price.
        price: Decimal,
        /// Side.
        side: Side,
    },
    /// Spot cannot hold a negative position.
    #[error("target_position {target} is negative; spot cannot be short")]
    NegativeSpotTarget {
        /// Target.
        target: Decimal,
    },
    /// A spot sell with nothing held.
    #[error("nothing to sell: the bot holds no {symbol}")]
    NothingToSell {
        /// Symbol.
        symbol: Symbol,
    },
    /// Below the minimum quantity after rounding.
    #[error("quantity {qty} is below the minimum {min_qty} after rounding to the step")]
    BelowMinQty {
        /// Rounded quantity.
        qty: Decimal,
        /// Minimum.
        min_qty: Decimal,
    },
    /// Below the minimum notional after rounding.
    #[error("notional {notional} is below the minimum {min_notional}")]
    BelowMinNotional {
        /// Notional of the rounded order.
        notional: Decimal,
        /// Minimum.
        min_notional: Decimal,
    },
    /// Above the maximum quantity.
    #[error("quantity {qty} is above the maximum {max_qty}")]
    AboveMaxQty {
        /// Quantity.
        qty: Decimal,
        /// Maximum.
        max_qty: Decimal,
    },
    /// A limit price outside the instrument's range.
    #[error("price {price} is outside [{min}, {max}]")]
    PriceOutOfRange {
        /// Rounded price.
        price: Decimal,
        /// Minimum (0 = none).
        min: Decimal,
        /// Maximum (0 = none).
        max: Decimal,
    },
    /// Arithmetic overflow.
    #[error("arithmetic overflow computing {what}")]
    Overflow {
        /// What was computed.
        what: &'static str,
    },
}

impl SizingError {
    /// A stable machine-readable code for the `422` answer and the audit.
    pub fn code(&self) -> &'static str {
        match self {
            SizingError::NotSizable { .. } => "not_sizable",
            SizingError::NoSymbol => "no_symbol",
            SizingError::NoMarketPrice => "no_market_price",
            SizingError::NoEquity { .. } => "no_equity",
            SizingError::MissingStopLoss => "missing_stop_loss",
            SizingError::StopOnWrongSide { .. } => "stop_on_wrong_side",
            SizingError::NegativeSpotTarget { .. } => "negative_spot_target",
            SizingError::NothingToSell { .. } => "nothing_to_sell",
            SizingError::BelowMinQty { .. } => "below_min_qty",
            SizingError::BelowMinNotional { .. } => "below_min_notional",
            SizingError::AboveMaxQty { .. } => "above_max_qty",
            SizingError::PriceOutOfRange { .. } => "price_out_of_range",
            SizingError::Overflow { .. } => "overflow",
        }
    }
}

fn overflow(what: &'static str) -> SizingError {
    SizingError::Overflow { what }
}

/// Plans the legs for a signal. An empty plan means there is nothing to do (already at the
/// target, or closing a flat position): a healed duplicate, not an error.
///
/// # Errors
/// [`SizingError`] when the order cannot be sized or rounds below the exchange minimums.
pub fn plan_orders(
    signal: &Signal,
    sizing: &SizingConfig,
    ctx: &SizingContext<'_>,
) -> Result<Vec<Leg>, SizingError> {
    let symbol = signal.symbol.clone().ok_or(SizingError::NoSymbol)?;
    if ctx.market_price <= Decimal::ZERO {
        return Err(SizingError::NoMarketPrice);
    }
    let position = match ctx.market {
        // A spot "position" can never be short; clamp a bad input rather than sell what is not held.
        Market::Spot => ctx.position_qty.max(Decimal::ZERO),
        Market::Linear => ctx.position_qty,
    };
    match signal.action {
        Action::CancelAll => Err(SizingError::NotSizable {
            action: Action::CancelAll.as_str(),
        }),
        Action::Buy | Action::Sell => {
            let side = if signal.action == Action::Buy {
                Side::Buy
            } else {
                Side::Sell
            };
            let price = limit_price(signal, side, ctx)?;
            let reference = price.unwrap_or(ctx.market_price);
            let mut qty = entry_qty(signal, sizing, ctx, side, reference)?;
            if ctx.market == Market::Spot && side == Side::Sell {
                let held = spot_sellable(position, ctx);
                if held <= Decimal::ZERO {
                    return Err(SizingError::NothingToSell { symbol });
                }
                qty = qty.min(held);
            }
            let leg = finish(LegKind::Entry, side, qty, false, price, ctx)?;
            Ok(vec![leg])
        }
        Action::Close => {
            let qty = match ctx.market {
                Market::Linear => position.abs(),
                Market::Spot => spot_sellable(position, ctx),
            };
            let side = if position.is_sign_negative() {
                Side::Buy
            } else {
                Side::Sell
            };
            if round_down_to_step(qty, ctx.rules.step_size)?.is_zero() {
                return Ok(Vec::new());
            }
            let price = limit_price(signal, side, ctx)?;
            let reduce_only = ctx.market == Market::Linear;
            Ok(vec![finish(
                LegKind::Close,
                side,
                qty,
                reduce_only,
                price,
                ctx,
            )?])
        }
        Action::Target => {
            let target = signal.target_position.unwrap_or_default();
            plan_target(signal, position, target, ctx)
        }
    }
}

/// Spot: what the bot may sell: its own holding, never more than the account's free balance.
fn spot_sellable(position: Decimal, ctx: &SizingContext<'_>) -> Decimal {
    match ctx.free_base_balance {
        Some(free) => position.min(free).max(Decimal::ZERO),
        None => position,
    }
}

fn limit_price(
    signal: &Signal,
    side: Side,
    ctx: &SizingContext<'_>,
) -> Result<Option<Decimal>, SizingError> {
    match (signal.order_type, signal.price) {
        (OrderType::Limit, Some(p)) => round_price(p, side, ctx.rules).map(Some),
        _ => Ok(None),
    }
}

fn pct_of_equity(equity: Decimal, pct: Decimal) -> Result<Decimal, SizingError> {
    if equity <= Decimal::ZERO {
        return Err(SizingError::NoEquity { equity });
    }
    equity
        .checked_mul(pct)
        .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
        .ok_or_else(|| overflow("equity x pct"))
}

fn entry_qty(
    signal: &Signal,
    sizing: &SizingConfig,
    ctx: &SizingContext<'_>,
    side: Side,
    price: Decimal,
) -> Result<Decimal, SizingError> {
    let per_price = |quote: Decimal| {
        quote
            .checked_div(price)
            .ok_or_else(|| overflow("quote / price"))
    };
    match signal.sizing {
        Some(SignalSizing::Qty(q)) => Ok(q),
        Some(SignalSizing::QuoteQty(a)) => per_price(a),
        Some(SignalSizing::SizePct(p)) => per_price(pct_of_equity(ctx.equity, p)?),
        None => match sizing.mode {
            SizingMode::FixedQty => Ok(sizing.value),
            SizingMode::FixedQuote => per_price(sizing.value),
            SizingMode::PctEquity => per_price(pct_of_equity(ctx.equity, sizing.value)?),
            SizingMode::RiskPerTrade => {
                let stop = signal.stop_loss.ok_or(SizingError::MissingStopLoss)?;
                let distance = match side {
                    Side::Buy => price - stop,
                    Side::Sell => stop - price,
                };
                if distance <= Decimal::ZERO {
                    return Err(SizingError::StopOnWrongSide { stop, price, side });
                }
                pct_of_equity(ctx.equity, sizing.value)?
                    .checked_div(distance)
                    .ok_or_else(|| overflow("risk / stop distance"))
            }
        },
    }
}

/// Rounds a leg's quantity down and checks the filters against the price it would trade at.
fn finish(
    kind: LegKind,
    side: Side,
    qty: Decimal,
    reduce_only: bool,
    price: Option<Decimal>,
    ctx: &SizingContext<'_>,
) -> Result<Leg, SizingError> {
    let qty = round_down_to_step(qty, ctx.rules.step_size)?;
    let trade_price = price.unwrap_or(ctx.market_price);
    check_filters(qty, trade_price, ctx.rules, price.is_none(), reduce_only)?;
    Ok(Leg {
        kind,
        side,
        qty,
        reduce_only,
        price,
    })
}

/// `target`: trade the difference between the wanted and the real position. Crossing zero is
/// split into a reduce leg (to flat, reduce-only) and an open leg, so a failed open never leaves
/// the reduce undone and each leg has its own client order id.
fn plan_target(
    signal: &Signal,
    position: Decimal,
    target: Decimal,
    ctx: &SizingContext<'_>,
) -> Result<Vec<Leg>, SizingError> {
    if ctx.market == Market::Spot && target.is_sign_negative() && !target.is_zero() {
        return Err(SizingError::NegativeSpotTarget { target });
    }
    let step = ctx.rules.step_size;
    let linear = ctx.market == Market::Linear;
    let crosses = !position.is_zero()
        && !target.is_zero()
        && position.is_sign_negative() != target.is_sign_negative();
    let mut legs = Vec::new();
    let (reduce_qty, open_qty) = if crosses {
        (position.abs(), target.abs())
    } else if target.abs() < position.abs() {
        (position.abs() - target.abs(), Decimal::ZERO)
    } else {
        (Decimal::ZERO, target.abs() - position.abs())
    };
    let reduce_qty = if linear {
        reduce_qty
    } else {
        reduce_qty.min(spot_sellable(position, ctx))
    };
    if !round_down_to_step(reduce_qty, step)?.is_zero() {
        let side = if position.is_sign_negative() {
            Side::Buy
        } else {
            Side::Sell
        };
        let price = limit_price(signal, side, ctx)?;
        legs.push(finish(
            LegKind::Reduce,
            side,
            reduce_qty,
            linear,
            price,
            ctx,
        )?);
    }
    if !round_down_to_step(open_qty, step)?.is_zero() {
        let side = if target.is_sign_negative() {
            Side::Sell
        } else {
            Side::Buy
        };
        let price = limit_price(signal, side, ctx)?;
        legs.push(finish(LegKind::Open, side, open_qty, false, price, ctx)?);
    }
    Ok(legs)
}

/// Invariant 7: compares the strategy's own position (`{{strategy.position_size}}`, sent as
/// `target_position`) with the bot's real position after acting. Returns `strategy - bot` when
/// they differ by at least one step (smaller gaps are rounding, not a missed alert).
pub fn position_drift(
    strategy_position: Decimal,
    bot_position: Decimal,
    step: Decimal,
) -> Option<Decimal> {
    let diff = strategy_position.checked_sub(bot_position)?;
    let significant = if step > Decimal::ZERO {
        diff.abs() >= step
    } else {
        !diff.is_zero()
    };
    significant.then_some(diff)
}
