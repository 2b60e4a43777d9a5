//! One function per rule. Each returns a [`RiskCheck`] with the limit and the observed value, so
//! the audit trail shows why an order passed as well as why one was refused.

use super::{CheckOutcome, CheckText, ProposedOrder, RiskCheck, RiskContext, RiskRule};
use crate::config::BotConfig;
use crate::model::{OrderQty, OrderType};
use rust_decimal::Decimal;

/// Quantities every rule reads, computed once. `None` where the arithmetic is impossible (no
/// market price, overflow): the rules needing it then refuse rather than guess.
#[derive(Debug)]
pub(super) struct Facts {
    /// Price used for notional: the limit price of a limit order, else the market price.
    price: Option<Decimal>,
    /// Order notional in quote.
    order_notional: Option<Decimal>,
    /// Signed position in the symbol before the order.
    position: Decimal,
    /// Signed position after a full fill.
    new_position: Option<Decimal>,
    /// The order only reduces the position (same sign or flat after, smaller magnitude).
    reducing: bool,
    /// Symbols with a non-zero position.
    open_positions: usize,
}

impl Facts {
    pub(super) fn derive(ctx: &RiskContext, order: &ProposedOrder) -> Self {
        let req = &order.request;
        let market = (ctx.market_price > Decimal::ZERO).then_some(ctx.market_price);
        let price = match (req.order_type, req.price) {
            (OrderType::Limit, Some(p)) if p > Decimal::ZERO => Some(p),
            _ => market,
        };
        let (base_qty, order_notional) = match req.qty {
            OrderQty::Base(q) => (Some(q), price.and_then(|p| q.checked_mul(p))),
            OrderQty::Quote(a) => (price.and_then(|p| a.checked_div(p)), Some(a)),
        };
        let position = ctx
            .positions
            .get(&req.symbol)
            .map(|p| p.qty)
            .unwrap_or_default();
        let new_position =
            base_qty.and_then(|q| q.checked_mul(req.side.sign())?.checked_add(position));
        let reducing = match new_position {
            Some(after) => {
                !position.is_zero()
                    && after.abs() < position.abs()
                    && (after.is_zero() || after.is_sign_negative() == position.is_sign_negative())
            }
            None => false,
        };
        let open_positions = ctx.positions.values().filter(|p| !p.qty.is_zero()).count();
        Self {
            price,
            order_notional,
            position,
            new_position,
            reducing,
            open_positions,
        }
    }
}

fn check(
    rule: RiskRule,
    outcome: CheckOutcome,
    limit: Option<CheckText>,
    observed: Option<CheckText>,
    message: impl Into<CheckText>,
) -> RiskCheck {
    RiskCheck {
        rule,
        outcome,
        limit,
        observed,
        message: message.into(),
    }
}

fn skipped(rule: RiskRule, why: &'static str) -> RiskCheck {
    check(rule, CheckOutcome::Skipped, None, None, why)
}

const REDUCING: &str = "order only reduces the position";
const NO_LIMIT: &str = "no limit configured";

/// Compares `observed` with `limit`: refused when `refuse(observed, limit)`.
fn limit_check(
    rule: RiskRule,
    limit: Decimal,
    observed: Option<Decimal>,
    refuse: impl Fn(Decimal, Decimal) -> bool,
    what: &'static str,
) -> RiskCheck {
    let Some(observed) = observed else {
        return check(
            rule,
            CheckOutcome::Refused,
            Some(CheckText::Decimal(limit)),
            None,
            format!("{what} cannot be computed (no market price or overflow)"),
        );
    };
    let refused = refuse(observed, limit);
    let outcome = if refused {
        CheckOutcome::Refused
    } else {
        CheckOutcome::Passed
    };
    check(
        rule,
        outcome,
        Some(CheckText::Decimal(limit)),
        Some(CheckText::Normalized(observed)),
        CheckText::Limit {
            what,
            observed,
            refused,
            limit,
        },
    )
}

/// `what` is the state (`halted`), `not_what` its absence (`not halted`).
fn stop_check(
    rule: RiskRule,
    stopped: bool,
    reducing: bool,
    what: &'static str,
    not_what: &'static str,
) -> RiskCheck {
    let limit = Some(CheckText::Static("only cancels and reduce-only orders"));
    match (stopped, reducing) {
        (false, _) => check(rule, CheckOutcome::Passed, None, None, not_what),
        (true, true) => check(
            rule,
            CheckOutcome::Passed,
            limit,
            Some(CheckText::Static(what)),
            format!("{what}, but the order only reduces the position"),
        ),
        (true, false) => check(
            rule,
            CheckOutcome::Refused,
            limit,
            Some(CheckText::Static(what)),
            format!("{what}: only cancels and reduce-only orders pass"),
        ),
    }
}

/// Evaluates one rule.
pub(super) fn check_rule(
    rule: RiskRule,
    config: &BotConfig,
    ctx: &RiskContext,
    order: &ProposedOrder,
    f: &Facts,
) -> RiskCheck {
    let limits = &config.risk;
    let req = &order.request;
    let exempt = f.reducing;
    match rule {
        RiskRule::PlatformHalted => stop_check(
            rule,
            ctx.platform_halted,
            f.reducing,
            "halted",
            "not halted",
        ),
        RiskRule::BotPaused => stop_check(rule, ctx.bot_paused, f.reducing, "paused", "not paused"),
        RiskRule::MarketPrice => {
            let p = Some(CheckText::Decimal(ctx.market_price));
            if ctx.market_price > Decimal::ZERO {
                check(rule, CheckOutcome::Passed, None, p, "market price known")
            } else {
                let msg = format!("no market price for {}", req.symbol);
                check(rule, CheckOutcome::Refused, Some("> 0".into()), p, msg)
            }
        }
        RiskRule::Whitelist => {
            let allowed = config.allows_symbol(&req.symbol);
            let limit = Some(CheckText::Owned(whitelist_text(config)));
            let observed = Some(CheckText::Symbol(req.symbol.clone()));
            match (allowed, exempt) {
                (true, _) => check(rule, CheckOutcome::Passed, limit, observed, "whitelisted"),
                (false, true) => check(
                    rule,
                    CheckOutcome::Passed,
                    limit,
                    observed,
                    format!(
                        "{} is not whitelisted, but the order only reduces",
                        req.symbol
                    ),
                ),
                (false, false) => check(
                    rule,
                    CheckOutcome::Refused,
                    limit,
                    observed,
                    format!("{} is not in this bot's instruments", req.symbol),
                ),
            }
        }
        RiskRule::ReduceOnly => {
            if !req.reduce_only {
                return skipped(rule, "not a reduce-only order");
            }
            let observed = Some(CheckText::Position(f.position));
            if f.reducing {
                check(rule, CheckOutcome::Passed, None, observed, REDUCING)
            } else {
                let msg = format!(
                    "reduce-only {:?} does not reduce position {} in {}",
                    req.side, f.position, req.symbol
                );
                check(rule, CheckOutcome::Refused, None, observed, msg)
            }
        }
        RiskRule::RequireStopLoss => {
            if !limits.require_stop_loss {
                return skipped(rule, NO_LIMIT);
            }
            if exempt {
                return skipped(rule, REDUCING);
            }
            let limit = Some(CheckText::Static("stop_loss required"));
            match order.stop_loss {
                Some(sl) => {
                    let obs = Some(CheckText::Decimal(sl));
                    check(rule, CheckOutcome::Passed, limit, obs, "stop-loss attached")
                }
                None => check(
                    rule,
                    CheckOutcome::Refused,
                    limit,
                    Some("none".into()),
                    "this bot requires a stop_loss on every opening order",
                ),
            }
        }
        RiskRule::MaxSlippageBps => {
            let Some(max) = limits.max_slippage_bps else {
                return skipped(rule, NO_LIMIT);
            };
            if exempt {
                return skipped(rule, REDUCING);
            }
            let Some(reference) = req.price.or(order.signal_price) else {
                return skipped(rule, "the alert carried no price");
            };
            // Symmetric distance in bps of the market from the alert's price: a large gap either
            // way means the alert no longer describes the market (stale alert or fat finger).
            let bps = ctx
                .market_price
                .checked_sub(reference)
                .and_then(|d| d.abs().checked_mul(Decimal::from(10_000)))
                .and_then(|d| d.checked_div(reference))
                .map(|d| d.round_dp(2));
            let bps = bps.filter(|_| ctx.market_price > Decimal::ZERO);
            limit_check(
                rule,
                Decimal::from(max),
                bps,
                |o, l| o > l,
                "price gap (bps)",
            )
        }
        RiskRule::MaxOrderNotional => match limits.max_order_notional {
            None => skipped(rule, NO_LIMIT),
            Some(_) if exempt => skipped(rule, REDUCING),
            Some(max) => limit_check(rule, max, f.order_notional, |o, l| o > l, "order notional"),
        },
        RiskRule::MaxPositionNotional => match limits.max_position_notional {
            None => skipped(rule, NO_LIMIT),
            Some(_) if exempt => skipped(rule, REDUCING),
            Some(max) => {
                let after = f
                    .new_position
                    .zip(f.price)
                    .and_then(|(q, p)| q.abs().checked_mul(p));
                limit_check(
                    rule,
                    max,
                    after,
                    |o, l| o > l,
                    "position notional after order",
                )
            }
        },
        RiskRule::MaxOpenPositions => match limits.max_open_positions {
            None => skipped(rule, NO_LIMIT),
            Some(_) if exempt => skipped(rule, REDUCING),
            Some(max) => {
                let opens_new = f.position.is_zero();
                let after = f.open_positions + usize::from(opens_new);
                let after = Decimal::from(u64::try_from(after).unwrap_or(u64::MAX));
                let max = Decimal::from(max);
                limit_check(
                    rule,
                    max,
                    Some(after),
                    |o, l| o > l,
                    "open positions after order",
                )
            }
        },
        RiskRule::MaxLeverage => match limits.max_leverage {
            None => skipped(rule, NO_LIMIT),
            Some(_) if exempt => skipped(rule, REDUCING),
            Some(max) => {
                if ctx.leverage > max {
                    let msg = format!("exchange leverage setting {} exceeds {max}", ctx.leverage);
                    let obs = Some(CheckText::Decimal(ctx.leverage));
                    let limit = Some(CheckText::Decimal(max));
                    return check(rule, CheckOutcome::Refused, limit, obs, msg);
                }
                limit_check(
                    rule,
                    max,
                    exposure(ctx, order, f),
                    |o, l| o > l,
                    "gross leverage",
                )
            }
        },
        RiskRule::MaxDailyLoss => match limits.max_daily_loss {
            None => skipped(rule, NO_LIMIT),
            Some(_) if exempt => skipped(rule, REDUCING),
            Some(max) => {
                let loss = -ctx.pnl_today;
                limit_check(rule, max, Some(loss), |o, l| o >= l, "loss today")
            }
        },
        RiskRule::MaxDrawdownPct => match limits.max_drawdown_pct {
            None => skipped(rule, NO_LIMIT),
            Some(_) if exempt => skipped(rule, REDUCING),
            Some(max) => {
                let dd = if ctx.peak_equity > Decimal::ZERO {
                    ctx.peak_equity
                        .checked_sub(ctx.equity)
                        .and_then(|d| d.checked_mul(Decimal::ONE_HUNDRED))
                        .and_then(|d| d.checked_div(ctx.peak_equity))
                        .map(|d| d.max(Decimal::ZERO).round_dp(4))
                } else {
                    Some(Decimal::ZERO)
                };
                limit_check(rule, max, dd, |o, l| o >= l, "drawdown from peak (%)")
            }
        },
        RiskRule::MaxTradesPerDay => match limits.max_trades_per_day {
            None => skipped(rule, NO_LIMIT),
            Some(_) if exempt => skipped(rule, REDUCING),
            Some(max) => {
                let done = Decimal::from(ctx.trades_today);
                limit_check(
                    rule,
                    Decimal::from(max),
                    Some(done),
                    |o, l| o >= l,
                    "trades today",
                )
            }
        },
        RiskRule::CooldownSecs => match limits.cooldown_secs {
            None => skipped(rule, NO_LIMIT),
            Some(_) if exempt => skipped(rule, REDUCING),
            Some(cooldown) => match ctx.last_trade_ms.get(&req.symbol) {
                None => skipped(rule, "no earlier trade in this symbol"),
                Some(last) => {
                    let elapsed_ms = ctx.now_ms.saturating_sub(*last);
                    let elapsed = Decimal::new(elapsed_ms, 3);
                    let limit = Decimal::from(cooldown);
                    limit_check(
                        rule,
                        limit,
                        Some(elapsed),
                        |o, l| o < l,
                        "seconds since last trade",
                    )
                }
            },
        },
    }
}

/// The whitelist as the audit shows it (`BTCUSDT,*USDC`), written into one string.
fn whitelist_text(config: &BotConfig) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(16 * config.instruments.len());
    for (i, p) in config.instruments.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Writing into a String cannot fail.
        let _ = write!(out, "{p}");
    }
    out
}

/// Gross exposure after the order divided by equity: the bot's leverage in use.
fn exposure(ctx: &RiskContext, order: &ProposedOrder, f: &Facts) -> Option<Decimal> {
    if ctx.equity <= Decimal::ZERO {
        return None;
    }
    let gross_before = ctx
        .positions
        .values()
        .try_fold(Decimal::ZERO, |acc, p| acc.checked_add(p.notional.abs()))?;
    let this_before = ctx
        .positions
        .get(&order.request.symbol)
        .map(|p| p.notional.abs())
        .unwrap_or_default();
    let this_after = f.new_position?.abs().checked_mul(f.price?)?;
    let gross_after = gross_before
        .checked_sub(this_before)?
        .checked_add(this_after)?;
    gross_after.checked_div(ctx.equity).map(|d| d.round_dp(4))
}
