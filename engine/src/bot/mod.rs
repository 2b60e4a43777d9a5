//! The synchronous decision core of one bot: from a raw webhook to approved orders, and from
//! exchange replies to booked fills. The Durable Object performs the I/O around these functions;
//! the backtester and tests drive them directly, so live and simulated trading share one path.
//!
//! Order of checks for a webhook (each refusal names its status and code):
//! 1. [`admit`]: size and schema (413/400/422), source IP (403), secret or signature (401),
//!    freshness (422). Dedupe happens in the object (it owns the remembered ids).
//! 2. [`decide`]: sizing with exchange filters (422), then the risk engine for every leg
//!    (423 for pause/halt, 422 for any other rule), yielding only `Approved` orders.
//! 3. [`book`]: fills from exchange replies into the ledger, with audit drafts.

pub mod auto_pause;
mod book;
pub mod lifecycle;
pub mod machine;
mod rejection;
#[cfg(test)]
mod tests;
mod whitelist;

pub use book::{book_fill, book_fills, fills_of, into_fills, Booking, FillLedgerBooking};
pub use rejection::Rejection;
pub use whitelist::whitelist_refusal;

use crate::audit::{Actor, AuditDraft, AuditEvent, DecisionOutcome};
use crate::config::{BotConfig, SizingMode};
use crate::ids::{BotId, Symbol};
use crate::ledger::Ledger;
use crate::model::{InstrumentRules, Market};
use crate::risk::{self, Approved, CheckOutcome, ProposedOrder, RiskCheck, RiskContext};
use crate::signal::intake::{accept_webhook, WebhookRejection, WebhookRequest};
use crate::signal::{Action, ParsedSignal};
use crate::sizing::{self, SizingContext};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// A webhook as the object received it.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    /// Raw body bytes.
    pub body: &'a [u8],
    /// `X-Keel-Signature` header, if sent.
    pub signature: Option<&'a str>,
    /// `CF-Connecting-IP`, if known.
    pub ip: Option<&'a str>,
    /// Receipt time (ms).
    pub received_ms: i64,
}

/// Authenticates and validates a webhook against the bot's config and secret (the check
/// sequence of [`accept_webhook`]), mapping a refusal to its status.
///
/// # Errors
/// A [`Rejection`] with the status of docs/trading.md.
pub fn admit(
    inbound: &Inbound<'_>,
    config: &BotConfig,
    secret: &str,
) -> Result<ParsedSignal, Rejection> {
    let request = WebhookRequest {
        body: inbound.body,
        signature: inbound.signature,
        client_ip: inbound.ip,
    };
    match accept_webhook(&request, config, secret.as_bytes(), inbound.received_ms) {
        Ok((parsed, _method)) => Ok(parsed),
        Err(WebhookRejection::Signal(e)) => Err(Rejection::from_signal(&e)),
        Err(WebhookRejection::Auth(e)) => {
            let status = if e.is_forbidden_source() { 403 } else { 401 };
            Err(Rejection::new(status, e.code(), e.to_string()))
        }
    }
}

/// Market facts the decision needs, fetched by the object just before deciding.
#[derive(Debug, Clone)]
pub struct MarketFacts {
    /// Last traded (or mark) price.
    pub price: Decimal,
    /// Instrument rules.
    pub rules: InstrumentRules,
    /// Free base balance (spot closes sell exactly this, rounded down to step).
    pub free_base: Option<Decimal>,
}

/// Operational state of the bot that risk needs besides the ledger.
#[derive(Debug, Clone, Default)]
pub struct BotState {
    /// Operator pause (or automatic).
    pub paused: bool,
    /// Platform halt.
    pub halted: bool,
    /// Last trade time per symbol (cooldown).
    pub last_trade_ms: BTreeMap<Symbol, i64>,
    /// Orders placed today (UTC) (trades-per-day rule).
    pub trades_today: u32,
}

/// An approved plan for one signal.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Orders in the order they must be sent (reduce before open).
    pub orders: Vec<Approved<ProposedOrder>>,
    /// Every risk check per order, for the audit trail.
    pub checks: Vec<Vec<RiskCheck>>,
}

/// Sizes the signal and runs the risk engine on every leg.
///
/// # Errors
/// A [`Rejection`] (422 sizing/risk, 423 paused/halted) with the checks made so far.
pub fn decide(
    bot_id: &BotId,
    config: &BotConfig,
    parsed: &ParsedSignal,
    market: &MarketFacts,
    ledger: &Ledger,
    state: &BotState,
    now_ms: i64,
) -> Result<Decision, Rejection> {
    let signal = &parsed.signal;
    let symbol = signal.symbol.clone().ok_or_else(|| {
        Rejection::new(422, "missing_symbol", "this action needs a symbol").with_field("symbol")
    })?;
    let snapshot = ledger
        .risk_snapshot(now_ms)
        .map_err(|e| Rejection::new(500, "ledger_error", e.to_string()))?;
    // Sizing sees the true holding, dust included (a target is reached from what is held); an
    // entry on dust opens a position.
    let held = snapshot.positions.get(&symbol);
    let position_qty = held.map(|p| p.qty).unwrap_or(Decimal::ZERO);
    let holds_position = held.is_some_and(|p| !p.qty.is_zero() && !p.dust);
    let needs_equity = matches!(
        config.sizing.mode,
        SizingMode::PctEquity | SizingMode::RiskPerTrade
    ) || config.risk.max_leverage.is_some()
        || config.risk.max_drawdown_pct.is_some();
    let opening = !matches!(signal.action, Action::Close) && !holds_position;
    if needs_equity && opening && snapshot.equity <= Decimal::ZERO {
        return Err(Rejection::new(
            422,
            "no_capital",
            format!(
                "the bot has no capital recorded (equity {}), which its sizing or limits need: \
                 POST /api/v1/bots/{bot_id}/capital {{\"amount\": \"...\"}}",
                snapshot.equity
            ),
        ));
    }
    let ctx = SizingContext {
        market: config.market,
        market_price: market.price,
        equity: snapshot.equity,
        position_qty,
        free_base_balance: market.free_base,
        rules: &market.rules,
    };
    let legs = sizing::plan_orders(signal, &config.sizing, &ctx)
        .map_err(|e| Rejection::new(422, e.code(), e.to_string()))?;
    let risk_ctx = RiskContext {
        now_ms,
        // Dust is no position to the rules (`max_open_positions`); its notional is under one lot.
        positions: snapshot
            .positions
            .into_iter()
            .filter(|(_, p)| !p.dust)
            .map(|(s, p)| {
                (
                    s,
                    risk::PositionSnapshot {
                        qty: p.qty,
                        notional: p.notional,
                    },
                )
            })
            .collect(),
        equity: snapshot.equity,
        peak_equity: snapshot.peak_equity,
        pnl_today: snapshot.daily_pnl,
        trades_today: state.trades_today,
        last_trade_ms: state.last_trade_ms.clone(),
        bot_paused: state.paused,
        platform_halted: state.halted,
        market_price: market.price,
        leverage: match config.market {
            Market::Spot => Decimal::ONE,
            Market::Linear => config.risk.max_leverage.unwrap_or(Decimal::ONE),
        },
    };
    let mut orders = Vec::new();
    let mut checks = Vec::new();
    for leg in &legs {
        let request = sizing::order_request(leg, &symbol, bot_id, &parsed.signal_id)
            .map_err(|e| Rejection::new(500, "client_order_id", e.to_string()))?;
        let proposed = ProposedOrder {
            request,
            stop_loss: signal.stop_loss,
            take_profit: signal.take_profit,
            signal_price: signal.price,
        };
        let report = risk::evaluate(config, &risk_ctx, proposed);
        checks.push(report.checks);
        match report.verdict {
            Ok(approved) => orders.push(approved),
            Err(refusal) => {
                let status = if refusal.rule.is_stop() { 423 } else { 422 };
                return Err(Rejection::new(status, &format!("risk_{}", refusal.rule.as_str()), refusal.message.clone())
                    .with_detail(serde_json::json!({
                        "rule": refusal.rule.as_str(), "limit": refusal.limit, "observed": refusal.observed
                    }))
                    .with_checks(checks));
            }
        }
    }
    Ok(Decision { orders, checks })
}

/// Audit drafts for the risk checks of a signal (every rule evaluated, with limit and value).
pub fn risk_drafts(
    checks: &[Vec<RiskCheck>],
    now_ms: i64,
    signal_id: &crate::ids::SignalId,
) -> Vec<AuditDraft> {
    checks
        .iter()
        .flatten()
        .filter(|c| c.outcome != CheckOutcome::Skipped)
        .map(|c| {
            AuditDraft::new(
                now_ms,
                Actor::Webhook,
                AuditEvent::RiskDecision {
                    rule: c.rule.as_str().to_string(),
                    limit: c.limit_text(),
                    observed: c.observed_text(),
                    outcome: if c.outcome == CheckOutcome::Passed {
                        DecisionOutcome::Pass
                    } else {
                        DecisionOutcome::Refuse
                    },
                },
            )
            .signal(signal_id.clone())
        })
        .collect()
}

/// Whether an action trades (cancel_all does not size an order).
pub fn places_orders(action: Action) -> bool {
    !matches!(action, Action::CancelAll)
}
