//! Completing a placement answer that carries no fills, as a sans-IO machine. Binance USDⓈ-M
//! answers `ACK`/`RESULT` without trades and Bybit's `order/create` only acknowledges (the order
//! is matched asynchronously), so booking the answer as it is would lose the fills and leave the
//! bot believing it is flat. [`Settlement`] queries the order by its client id until it is final
//! (briefly), then reads the account's trades since a little before the placement and keeps this
//! order's, so the fills booked are exactly the exchange's. A failed query ends the settlement
//! with what is known: the order itself succeeded, and reconciliation books any fill still
//! missing.
//!
//! The driver performs each [`SettleStep::Call`] as a full [`crate::venue::ExchangeCall`] and
//! feeds the reply (or `None` for a failed call) to [`Settlement::on_result`].

use crate::model::OrderRequest;
use crate::venue::op::{OrderReport, TradeCursor, VenueOp, VenueReply};
use rust_decimal::Decimal;

/// Queries of each kind (order status, then trades) before settling with what is known.
pub const SETTLE_QUERIES: u32 = 4;
/// Pause between two queries of the same kind, ms.
pub const SETTLE_PAUSE_MS: i64 = 150;
/// How far before the placement (server time) the trade read starts: the clock's error margin.
pub const SETTLE_LOOKBACK_MS: i64 = 5_000;

/// The settlement's next instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleStep {
    /// Run this operation, then call [`Settlement::on_result`].
    Call(VenueOp),
    /// Sleep `ms`, then poll again.
    Pause {
        /// ms.
        ms: i64,
    },
    /// The report to book.
    Done(OrderReport),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Querying the order until it is final; `tries` queries made.
    Status {
        tries: u32,
        awaiting: bool,
    },
    /// Reading trades; `tries` reads made.
    Trades {
        tries: u32,
        awaiting: bool,
    },
    Done,
}

/// One placement answer being completed (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    request: OrderRequest,
    report: OrderReport,
    trades_from_server_ms: i64,
    stage: Stage,
    paused: bool,
}

impl Settlement {
    /// Settles `report`, the answer to placing `request`, which was sent at server time
    /// `placed_server_ms`. A report that already carries fills is final as it is.
    pub fn new(request: OrderRequest, report: OrderReport, placed_server_ms: i64) -> Self {
        let stage = if report.fills.is_empty() {
            Stage::Status {
                tries: 0,
                awaiting: false,
            }
        } else {
            Stage::Done
        };
        Self {
            request,
            report,
            trades_from_server_ms: placed_server_ms.saturating_sub(SETTLE_LOOKBACK_MS),
            stage,
            paused: false,
        }
    }

    /// The next instruction. Polled while a result is awaited, the settlement takes the call as
    /// failed and ends that stage.
    pub fn poll(&mut self) -> SettleStep {
        loop {
            match self.stage {
                Stage::Status { awaiting: true, .. } | Stage::Trades { awaiting: true, .. } => {
                    self.on_result(None);
                }
                Stage::Status { tries, .. }
                    if tries >= SETTLE_QUERIES || self.report.status.is_final() =>
                {
                    self.enter_trades();
                }
                Stage::Status { tries, .. } => {
                    if let Some(pause) = self.pause(tries) {
                        return pause;
                    }
                    self.stage = Stage::Status {
                        tries,
                        awaiting: true,
                    };
                    return SettleStep::Call(VenueOp::QueryOrder {
                        symbol: self.request.symbol.clone(),
                        client_order_id: self.request.client_order_id.clone(),
                    });
                }
                Stage::Trades { tries, .. } if tries >= SETTLE_QUERIES => self.stage = Stage::Done,
                Stage::Trades { tries, .. } => {
                    if let Some(pause) = self.pause(tries) {
                        return pause;
                    }
                    self.stage = Stage::Trades {
                        tries,
                        awaiting: true,
                    };
                    return SettleStep::Call(VenueOp::Trades {
                        symbol: self.request.symbol.clone(),
                        cursor: TradeCursor::from_time(self.trades_from_server_ms),
                    });
                }
                Stage::Done => return SettleStep::Done(self.report.clone()),
            }
        }
    }

    /// Feeds the reply to the last [`SettleStep::Call`], or `None` when that call failed (why
    /// does not matter: the settlement ends that stage with what it knows). A reply nobody
    /// awaits is ignored.
    pub fn on_result(&mut self, result: Option<VenueReply>) {
        self.paused = false;
        match (self.stage, result) {
            (
                Stage::Status {
                    tries,
                    awaiting: true,
                },
                Some(VenueReply::Order(report)),
            ) => {
                self.report = report;
                self.stage = Stage::Status {
                    tries: tries.saturating_add(1),
                    awaiting: false,
                };
            }
            (Stage::Status { awaiting: true, .. }, _) => self.enter_trades(),
            (
                Stage::Trades {
                    tries,
                    awaiting: true,
                },
                Some(VenueReply::Trades(page)),
            ) => {
                let mine: Vec<_> = page
                    .fills
                    .into_iter()
                    .filter(|f| {
                        f.order_id == self.report.order_id
                            || f.client_order_id.as_ref() == Some(&self.request.client_order_id)
                    })
                    .collect();
                let qty = mine
                    .iter()
                    .try_fold(Decimal::ZERO, |sum, f| sum.checked_add(f.qty));
                if qty.is_some_and(|q| q >= self.report.executed_qty) {
                    self.report.fills = mine;
                    self.stage = Stage::Done;
                } else {
                    self.stage = Stage::Trades {
                        tries: tries.saturating_add(1),
                        awaiting: false,
                    };
                }
            }
            (Stage::Trades { awaiting: true, .. }, _) => self.stage = Stage::Done,
            _ => {}
        }
    }

    /// After the status stage: nothing executed means nothing to read.
    fn enter_trades(&mut self) {
        self.stage = if self.report.executed_qty.is_zero() {
            Stage::Done
        } else {
            Stage::Trades {
                tries: 0,
                awaiting: false,
            }
        };
    }

    /// The pause due before query number `tries` (none before the first, one before each other).
    fn pause(&mut self, tries: u32) -> Option<SettleStep> {
        if tries == 0 || self.paused {
            return None;
        }
        self.paused = true;
        Some(SettleStep::Pause {
            ms: SETTLE_PAUSE_MS,
        })
    }
}

#[cfg(test)]
#[path = "settle_tests.rs"]
mod tests;
