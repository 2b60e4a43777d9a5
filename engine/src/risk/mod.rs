//! The pre-trade risk engine: a pure function from (bot config, a snapshot of the bot's state,
//! a proposed order) to a typed verdict.
//!
//! Why typed: order submission accepts only [`Approved<T>`], which only this module can build, so
//! "no order leaves the bot unless the whitelist and every risk rule passed" (docs/design.md invariant 4)
//! holds by construction rather than by convention. A refusal is a [`Refusal`] naming the rule, its
//! limit and the observed value, which is what the webhook answers (`422`, or `423` when paused or
//! halted) and what the audit records.
//!
//! Every rule is evaluated, in the order of [`RiskRule::ALL`], so the audit trail shows each
//! check with its observed value; the verdict is the first refusal in that order. The order is:
//! stops first (halted, paused: they answer 423 whatever else is wrong), then data sanity (a market
//! price), then *which* symbol (whitelist), then the order's own shape (reduce-only claim, stop
//! loss, slippage), then its size (order, position, open positions, leverage), then the account's
//! state (daily loss, drawdown), then frequency (trades per day, cooldown).
//!
//! An order that only reduces the bot's position in its symbol (same or smaller magnitude, never
//! crossing zero) is exempt from every rule but market price and the reduce-only claim:
//! you can always reduce risk, also when paused, halted, past the daily loss limit or after the
//! symbol left the whitelist.

#[cfg(test)]
mod golden_tests;
mod rules;
#[cfg(test)]
mod tests;
mod text;

pub use text::CheckText;

use crate::config::BotConfig;
use crate::ids::Symbol;
use crate::model::OrderRequest;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// Every rule, in evaluation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskRule {
    /// The platform kill switch is on.
    PlatformHalted,
    /// The bot is paused.
    BotPaused,
    /// A positive market price is known for the symbol.
    MarketPrice,
    /// The symbol is in `instruments`.
    Whitelist,
    /// An order flagged reduce-only really reduces the position.
    ReduceOnly,
    /// `risk.require_stop_loss`.
    RequireStopLoss,
    /// `risk.max_slippage_bps`: alert/limit price vs market price.
    MaxSlippageBps,
    /// `risk.max_order_notional`.
    MaxOrderNotional,
    /// `risk.max_position_notional`: the symbol's position after the order.
    MaxPositionNotional,
    /// `risk.max_open_positions`.
    MaxOpenPositions,
    /// `risk.max_leverage`: exchange setting and gross exposure / equity after the order.
    MaxLeverage,
    /// `risk.max_daily_loss`: realized + unrealized since 00:00 UTC.
    MaxDailyLoss,
    /// `risk.max_drawdown_pct`: from the equity peak.
    MaxDrawdownPct,
    /// `risk.max_trades_per_day`.
    MaxTradesPerDay,
    /// `risk.cooldown_secs`: since the last trade in the symbol.
    CooldownSecs,
}

impl RiskRule {
    /// Every rule in evaluation order.
    pub const ALL: [RiskRule; 15] = [
        RiskRule::PlatformHalted,
        RiskRule::BotPaused,
        RiskRule::MarketPrice,
        RiskRule::Whitelist,
        RiskRule::ReduceOnly,
        RiskRule::RequireStopLoss,
        RiskRule::MaxSlippageBps,
        RiskRule::MaxOrderNotional,
        RiskRule::MaxPositionNotional,
        RiskRule::MaxOpenPositions,
        RiskRule::MaxLeverage,
        RiskRule::MaxDailyLoss,
        RiskRule::MaxDrawdownPct,
        RiskRule::MaxTradesPerDay,
        RiskRule::CooldownSecs,
    ];

    /// The rule's name as it appears in answers and audit events (config field names for limits).
    pub fn as_str(self) -> &'static str {
        match self {
            RiskRule::PlatformHalted => "platform_halted",
            RiskRule::BotPaused => "bot_paused",
            RiskRule::MarketPrice => "market_price",
            RiskRule::Whitelist => "whitelist",
            RiskRule::ReduceOnly => "reduce_only",
            RiskRule::RequireStopLoss => "require_stop_loss",
            RiskRule::MaxSlippageBps => "max_slippage_bps",
            RiskRule::MaxOrderNotional => "max_order_notional",
            RiskRule::MaxPositionNotional => "max_position_notional",
            RiskRule::MaxOpenPositions => "max_open_positions",
            RiskRule::MaxLeverage => "max_leverage",
            RiskRule::MaxDailyLoss => "max_daily_loss",
            RiskRule::MaxDrawdownPct => "max_drawdown_pct",
            RiskRule::MaxTradesPerDay => "max_trades_per_day",
            RiskRule::CooldownSecs => "cooldown_secs",
        }
    }

    /// True for the stop rules, answered `423 Locked` rather than `422`.
    pub fn is_stop(self) -> bool {
        matches!(self, RiskRule::PlatformHalted | RiskRule::BotPaused)
    }
}

/// One of the bot's positions, as the position book sees it (the bot's own fills only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PositionSnapshot {
    /// Signed base quantity (spot: the bot's holding, never negative).
    pub qty: Decimal,
    /// `|qty| x mark price`, in quote.
    pub notional: Decimal,
}

/// Everything the rules read about the bot at decision time; the Durable Object fills it from its
/// state. Plain data, so tests and the backtester build it directly.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RiskContext {
    /// Decision time, ms since the epoch (UTC).
    pub now_ms: i64,
    /// The bot's positions by symbol; a zero `qty` counts as flat.
    pub positions: BTreeMap<Symbol, PositionSnapshot>,
    /// Current equity in quote (balance + unrealized).
    pub equity: Decimal,
    /// Highest equity seen (for drawdown).
    pub peak_equity: Decimal,
    /// Realized + unrealized P&L since 00:00 UTC (negative = loss).
    pub pnl_today: Decimal,
    /// Orders opened since 00:00 UTC.
    pub trades_today: u32,
    /// Time of the last trade per symbol, ms.
    pub last_trade_ms: BTreeMap<Symbol, i64>,
    /// The bot is paused.
    pub bot_paused: bool,
    /// The platform kill switch is on.
    pub platform_halted: bool,
    /// Current price of the order's symbol (last or mark).
    pub market_price: Decimal,
    /// The exchange leverage setting for the symbol (1 on spot).
    pub leverage: Decimal,
}

/// An order the bot wants to send, with what the rules need beyond the request itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposedOrder {
    /// The exchange request (sized, rounded, with its deterministic client order id).
    pub request: OrderRequest,
    /// Stop-loss attached to the order, if any.
    pub stop_loss: Option<Decimal>,
    /// Take-profit attached to the order, if any.
    pub take_profit: Option<Decimal>,
    /// The alert's price (`{{close}}`) for market orders; limit orders use their limit price.
    pub signal_price: Option<Decimal>,
}

/// A value that passed the risk engine. Only this module can construct one (the field is
/// private and there is no `Deserialize`), so a function taking `Approved<T>` cannot be handed
/// an unchecked order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approved<T> {
    inner: T,
}

impl<T> Approved<T> {
    fn new(inner: T) -> Self {
        Self { inner }
    }

    /// The approved value.
    pub fn get(&self) -> &T {
        &self.inner
    }

    /// Consumes the approval, for the venue adapter that sends it.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

/// Cancels never add risk and pass even when paused or halted (docs/design.md invariant 4).
pub fn approve_cancel<C>(cancel: C) -> Approved<C> {
    Approved::new(cancel)
}

/// How one rule judged the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// Within the limit.
    Passed,
    /// Over the limit.
    Refused,
    /// Not evaluated: no limit configured, or the order only reduces risk.
    Skipped,
}

/// One rule's result, for the audit trail (`(:Decision {rule, outcome})`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskCheck {
    /// The rule.
    pub rule: RiskRule,
    /// Its outcome.
    pub outcome: CheckOutcome,
    /// The configured limit, as text (decimals exact).
    pub limit: Option<CheckText>,
    /// What was observed, as text.
    pub observed: Option<CheckText>,
    /// A human sentence.
    pub message: CheckText,
}

impl RiskCheck {
    /// The limit as the audit and the answers print it (empty when the rule has none).
    pub fn limit_text(&self) -> String {
        self.limit
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The observed value as printed (empty when none was observed).
    pub fn observed_text(&self) -> String {
        self.observed
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}

/// Why an order was refused: the first refused rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}: {message}", rule.as_str())]
pub struct Refusal {
    /// The rule.
    pub rule: RiskRule,
    /// The configured limit.
    pub limit: String,
    /// What was observed.
    pub observed: String,
    /// A human sentence.
    pub message: String,
}

/// The engine's answer: the verdict and every check in evaluation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskReport<T> {
    /// Approved, or the first refusal.
    pub verdict: Result<Approved<T>, Refusal>,
    /// Every rule's check, in [`RiskRule::ALL`] order.
    pub checks: Vec<RiskCheck>,
}

/// Milliseconds since the epoch of 00:00 UTC of the day containing `now_ms`: where
/// `pnl_today` and `trades_today` start counting (the daily loss and trade-count windows).
pub fn utc_day_start_ms(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(86_400_000)
}

/// Evaluates every rule for `order` and returns the verdict with all checks.
pub fn evaluate(
    config: &BotConfig,
    ctx: &RiskContext,
    order: ProposedOrder,
) -> RiskReport<ProposedOrder> {
    let facts = rules::Facts::derive(ctx, &order);
    let checks: Vec<RiskCheck> = RiskRule::ALL
        .iter()
        .map(|rule| rules::check_rule(*rule, config, ctx, &order, &facts))
        .collect();
    let refusal = checks
        .iter()
        .find(|c| c.outcome == CheckOutcome::Refused)
        .map(|c| Refusal {
            rule: c.rule,
            limit: c.limit_text(),
            observed: c.observed_text(),
            message: c.message.to_string(),
        });
    let verdict = match refusal {
        Some(r) => Err(r),
        None => Ok(Approved::new(order)),
    };
    RiskReport { verdict, checks }
}
