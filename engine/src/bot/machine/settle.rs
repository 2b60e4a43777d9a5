//! Finding out what a placement did (the DO's `Link::resolve` and `Link::settle_placement`):
//! - [`Resolve`]: an order whose answer was lost is looked up by its client order id, never
//!   sent again; "unknown order" is believed only after the request's receive window passed;
//! - [`Settle`]: an answer without fills (Binance USDⓈ-M `ACK`, Bybit's create) is completed by
//!   querying the order until final, then reading this order's trades since the placement.

use super::ctx::{Ctx, Event, Step};
use crate::ids::{ClientOrderId, Symbol};
use crate::model::OrderRequest;
use crate::venue::CallFailure;
use crate::venue::{
    AmbiguousOrder, OrderReport, Resolution, TradeCursor, VenueError, VenueOp, VenueReply,
};
use rust_decimal::Decimal;

/// Queries made to resolve an ambiguous placement.
pub const RESOLVE_QUERIES: u32 = 4;
/// Queries made to settle an order answered without fills (status, then trades).
pub const SETTLE_QUERIES: u32 = 4;
/// Pause between settle queries.
pub const SETTLE_PAUSE_MS: i64 = 150;
/// How far before the placement the trade read starts (clock error margin).
pub const SETTLE_LOOKBACK_MS: i64 = 5_000;
/// The receive window assumed when the driver did not say when an ambiguity settles.
pub const DEFAULT_WINDOW_MS: i64 = 5_000;

/// Resolves an ambiguous placement by querying its client order id.
#[derive(Debug)]
pub struct Resolve {
    ambiguous: AmbiguousOrder,
    queries: u32,
}

impl Resolve {
    /// The ambiguity of `coid` on `symbol`, settled after `settles_at_ms` (local).
    pub fn new(symbol: Symbol, coid: ClientOrderId, settles_at_ms: i64) -> Self {
        Self {
            ambiguous: AmbiguousOrder {
                symbol,
                client_order_id: coid,
                settles_at_server_ms: settles_at_ms,
            },
            queries: 0,
        }
    }

    fn query(&mut self, cx: &mut Ctx<'_>) {
        self.queries += 1;
        cx.io.send(VenueOp::QueryOrder {
            symbol: self.ambiguous.symbol.clone(),
            client_order_id: self.ambiguous.client_order_id.clone(),
        });
    }

    fn unknown(&self, reason: String) -> Step<Result<OrderReport, CallFailure>> {
        Step::Done(Err(CallFailure::Unknown {
            client_order_id: self.ambiguous.client_order_id.clone(),
            reason,
        }))
    }

    /// Advances the resolution: the report when the order exists, a refusal when it provably
    /// never reached the book, [`CallFailure::Unknown`] when the exchange cannot tell.
    pub fn step(&mut self, cx: &mut Ctx<'_>, ev: Event) -> Step<Result<OrderReport, CallFailure>> {
        match ev {
            Event::Start | Event::Woke => {
                self.query(cx);
                Step::Pending
            }
            Event::Consulted(_) => Step::Pending,
            Event::Reply(reply) => {
                let result = match reply.result {
                    Ok(VenueReply::Order(report)) => Ok(report),
                    // Anything else leaves the order's existence open: it stays unknown (the
                    // DO marked it rejected here, see the machine's notes).
                    Ok(other) => return self.unknown(format!("query answered {}", kind(&other))),
                    Err(CallFailure::Venue(e)) => Err(e),
                    Err(other) => return self.unknown(other.to_string()),
                };
                match self.ambiguous.resolve(result, cx.now) {
                    Ok(Resolution::Placed(report)) => Step::Done(Ok(report)),
                    Ok(Resolution::NotPlaced) => Step::Done(Err(CallFailure::Venue(
                        VenueError::Rejected {
                            code: 0,
                            msg: "the order never reached the exchange (confirmed after its receive window)"
                                .into(),
                        },
                    ))),
                    Ok(Resolution::QueryAgainAt { server_ms }) => {
                        if self.queries >= RESOLVE_QUERIES {
                            return self.unknown("still unknown after repeated queries".into());
                        }
                        let wait = (server_ms - cx.now).clamp(50, 6_000);
                        cx.io.wait(cx.now + wait);
                        Step::Pending
                    }
                    Err(e) => self.unknown(e.to_string()),
                }
            }
        }
    }
}

/// Completes a placement answer that carries no fills.
#[derive(Debug)]
pub struct Settle {
    req: OrderRequest,
    placed_at_ms: i64,
    report: OrderReport,
    phase: Phase,
    attempt: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Status,
    Trades,
}

impl Settle {
    /// Settles `report`, the answer to placing `req` at `placed_at_ms`.
    pub fn new(req: OrderRequest, placed_at_ms: i64, report: OrderReport) -> Self {
        Self {
            req,
            placed_at_ms,
            report,
            phase: Phase::Status,
            attempt: 0,
        }
    }

    /// Whether a report needs settling at all (paper answers carry their fills).
    pub fn needed(paper: bool, report: &OrderReport) -> bool {
        !paper && report.fills.is_empty()
    }

    fn done(&mut self) -> Step<OrderReport> {
        Step::Done(self.report.clone())
    }

    fn status_query(&mut self, cx: &mut Ctx<'_>) -> Step<OrderReport> {
        if self.attempt >= SETTLE_QUERIES || self.report.status.is_final() {
            return self.trades_phase(cx);
        }
        if self.attempt > 0 {
            cx.io.wait(cx.now + SETTLE_PAUSE_MS);
            return Step::Pending;
        }
        self.send_status(cx)
    }

    fn send_status(&mut self, cx: &mut Ctx<'_>) -> Step<OrderReport> {
        self.attempt += 1;
        cx.io.send(VenueOp::QueryOrder {
            symbol: self.req.symbol.clone(),
            client_order_id: self.req.client_order_id.clone(),
        });
        Step::Pending
    }

    fn trades_phase(&mut self, cx: &mut Ctx<'_>) -> Step<OrderReport> {
        if self.report.executed_qty.is_zero() {
            return self.done();
        }
        self.phase = Phase::Trades;
        self.attempt = 0;
        self.send_trades(cx)
    }

    fn send_trades(&mut self, cx: &mut Ctx<'_>) -> Step<OrderReport> {
        self.attempt += 1;
        cx.io.send(VenueOp::Trades {
            symbol: self.req.symbol.clone(),
            cursor: TradeCursor::from_time(self.placed_at_ms - SETTLE_LOOKBACK_MS),
        });
        Step::Pending
    }

    /// Advances the settling; a failure keeps the answer as it is (the order itself succeeded;
    /// reconciliation books any fill still missing).
    pub fn step(&mut self, cx: &mut Ctx<'_>, ev: Event) -> Step<OrderReport> {
        match (self.phase, ev) {
            (_, Event::Consulted(_)) => Step::Pending,
            (Phase::Status, Event::Start) => self.status_query(cx),
            (Phase::Status, Event::Woke) => self.send_status(cx),
            (Phase::Status, Event::Reply(reply)) => match reply.result {
                Ok(VenueReply::Order(r)) => {
                    self.report = r;
                    self.status_query(cx)
                }
                _ => self.trades_phase(cx),
            },
            (Phase::Trades, Event::Start | Event::Woke) => self.send_trades(cx),
            (Phase::Trades, Event::Reply(reply)) => {
                let Ok(VenueReply::Trades(page)) = reply.result else {
                    return self.done();
                };
                let mine: Vec<_> = page
                    .fills
                    .into_iter()
                    .filter(|f| {
                        f.order_id == self.report.order_id
                            || f.client_order_id.as_ref() == Some(&self.req.client_order_id)
                    })
                    .collect();
                let qty: Decimal = mine.iter().map(|f| f.qty).sum();
                if qty >= self.report.executed_qty {
                    self.report.fills = mine;
                    return self.done();
                }
                if self.attempt >= SETTLE_QUERIES {
                    return self.done();
                }
                cx.io.wait(cx.now + SETTLE_PAUSE_MS);
                Step::Pending
            }
        }
    }
}

/// A short name of a reply's kind, for messages (never the whole payload).
pub fn kind(reply: &VenueReply) -> &'static str {
    match reply {
        VenueReply::Order(_) => "order",
        VenueReply::Orders(_) => "orders",
        VenueReply::Balances(_) => "balances",
        VenueReply::Positions(_) => "positions",
        VenueReply::Trades(_) => "trades",
        VenueReply::Funding(_) => "funding",
        VenueReply::Rules(_) => "rules",
        VenueReply::Ticker(_) => "ticker",
        VenueReply::ServerTime(_) => "server_time",
        VenueReply::Trigger(_) => "trigger",
        VenueReply::ExitFills(_) => "exit_fills",
        VenueReply::Klines(_) => "klines",
        VenueReply::FollowUp(_) => "follow_up",
    }
}
