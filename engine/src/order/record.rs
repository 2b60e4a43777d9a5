//! One order's record: its request, status, and what has traded. Fills are applied idempotently by
//! trade id, so a fill seen in the order response, the user stream, a poll and reconciliation is
//! counted once.

use super::state::{InvalidTransition, OrderEvent, OrderStatus};
use crate::model::{Fill, OrderQty, OrderRequest};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Why an order update was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The status table refused the event.
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    /// A fill for another order (by symbol, side, client or exchange order id).
    #[error("fill {trade_id} does not belong to this order: field {field} differs")]
    ForeignFill {
        /// The trade id.
        trade_id: String,
        /// The field that differs.
        field: &'static str,
    },
    /// A fill with a non-positive quantity or price.
    #[error("fill {trade_id}: field {field} must be positive")]
    NonPositive {
        /// The trade id.
        trade_id: String,
        /// `qty` or `price`.
        field: &'static str,
    },
    /// Fills add up to more than the order's quantity (or quote amount).
    #[error(
        "fill {trade_id} overfills the order: {field} would be {would_be}, order is for {limit}"
    )]
    Overfill {
        /// The trade id.
        trade_id: String,
        /// `filled_qty` or `filled_quote`.
        field: &'static str,
        /// Cumulative value after the fill.
        would_be: Decimal,
        /// The order's size.
        limit: Decimal,
    },
    /// A decimal operation overflowed.
    #[error("arithmetic overflow computing {field}")]
    Overflow {
        /// The field being computed.
        field: &'static str,
    },
    /// The exchange order id changed.
    #[error("exchange order id {new} conflicts with recorded {recorded}")]
    ExchangeIdConflict {
        /// The id already on the order.
        recorded: String,
        /// The id just reported.
        new: String,
    },
}

/// Whether a fill changed the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillApplied {
    /// New trade: quantities, fees and (maybe) status changed.
    Applied,
    /// This trade id was already applied: nothing changed.
    Duplicate,
}

/// One order as the bot knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// What was decided.
    pub request: OrderRequest,
    /// Where it stands.
    pub status: OrderStatus,
    /// Exchange order id once known (ack, fill, or query).
    pub exchange_order_id: Option<String>,
    /// Cumulative traded quantity (base / contracts).
    pub filled_qty: Decimal,
    /// Cumulative traded notional, Σ price × qty, in quote.
    pub filled_quote: Decimal,
    /// Fees paid, by asset (negative for rebates).
    pub fees: BTreeMap<String, Decimal>,
    /// Trade ids already applied (idempotency).
    pub trade_ids: BTreeSet<String>,
    /// Last reason given by the exchange for a reject or cancel refusal.
    pub reason: Option<String>,
    /// Creation time (ms since epoch, UTC).
    pub created_ms: i64,
    /// Last change (ms since epoch, UTC).
    pub updated_ms: i64,
}

impl Order {
    /// A new order in [`OrderStatus::Intent`]: stored before anything is sent.
    pub fn new(request: OrderRequest, now_ms: i64) -> Self {
        Self {
            request,
            status: OrderStatus::Intent,
            exchange_order_id: None,
            filled_qty: Decimal::ZERO,
            filled_quote: Decimal::ZERO,
            fees: BTreeMap::new(),
            trade_ids: BTreeSet::new(),
            reason: None,
            created_ms: now_ms,
            updated_ms: now_ms,
        }
    }

    /// Volume-weighted average fill price; `None` before the first fill.
    pub fn avg_fill_price(&self) -> Option<Decimal> {
        if self.filled_qty.is_zero() {
            return None;
        }
        self.filled_quote.checked_div(self.filled_qty)
    }

    /// Quantity still to trade, when the order is sized in base (None for quote-sized orders).
    pub fn remaining_qty(&self) -> Option<Decimal> {
        match self.request.qty {
            OrderQty::Base(q) => Some(q - self.filled_qty),
            OrderQty::Quote(_) => None,
        }
    }

    /// Applies a status event (our action or an exchange status report).
    ///
    /// # Errors
    /// [`OrderError::Transition`] when the table refuses the pair; the order is unchanged.
    pub fn apply_event(
        &mut self,
        event: OrderEvent,
        now_ms: i64,
    ) -> Result<OrderStatus, OrderError> {
        let mut next = self.status.transition(event)?;
        // A refused cancel returns the order to "working"; whether that is Accepted or
        // PartiallyFilled depends on what has traded, which only the record knows.
        if next == OrderStatus::Accepted && !self.filled_qty.is_zero() {
            next = OrderStatus::PartiallyFilled;
        }
        self.status = next;
        self.updated_ms = now_ms;
        Ok(next)
    }

    /// Records the exchange order id (from the ack, a fill or a query).
    ///
    /// # Errors
    /// [`OrderError::ExchangeIdConflict`] when a different id was already recorded.
    pub fn set_exchange_order_id(&mut self, id: &str) -> Result<(), OrderError> {
        match &self.exchange_order_id {
            Some(recorded) if recorded != id => Err(OrderError::ExchangeIdConflict {
                recorded: recorded.clone(),
                new: id.to_string(),
            }),
            Some(_) => Ok(()),
            None => {
                self.exchange_order_id = Some(id.to_string());
                Ok(())
            }
        }
    }

    /// Applies one trade. The same trade id applied twice is a no-op returning
    /// [`FillApplied::Duplicate`]. The status moves to PartiallyFilled or Filled through the
    /// table (for quote-sized orders completion comes from the exchange's status report).
    ///
    /// # Errors
    /// [`OrderError`] when the fill belongs to another order, is malformed, overfills the order,
    /// or the status table refuses it (a fill on a rejected order). The order is unchanged then.
    pub fn apply_fill(&mut self, fill: &Fill) -> Result<FillApplied, OrderError> {
        if self.trade_ids.contains(&fill.trade_id) {
            return Ok(FillApplied::Duplicate);
        }
        self.check_belongs(fill)?;
        let qty = self
            .filled_qty
            .checked_add(fill.qty)
            .ok_or(OrderError::Overflow {
                field: "filled_qty",
            })?;
        let notional = fill
            .price
            .checked_mul(fill.qty)
            .ok_or(OrderError::Overflow {
                field: "filled_quote",
            })?;
        let quote = self
            .filled_quote
            .checked_add(notional)
            .ok_or(OrderError::Overflow {
                field: "filled_quote",
            })?;
        let event = match self.request.qty {
            OrderQty::Base(limit) if qty > limit => {
                return Err(overfill(fill, "filled_qty", qty, limit));
            }
            OrderQty::Base(limit) if qty == limit => OrderEvent::Filled,
            OrderQty::Quote(limit) if quote > limit => {
                return Err(overfill(fill, "filled_quote", quote, limit));
            }
            _ => OrderEvent::PartiallyFilled,
        };
        let next = self.status.transition(event)?;
        if self.exchange_order_id.is_none() {
            self.exchange_order_id = Some(fill.order_id.clone());
        }
        self.filled_qty = qty;
        self.filled_quote = quote;
        let fee = self
            .fees
            .entry(fill.fee_asset.clone())
            .or_insert(Decimal::ZERO);
        *fee = fee
            .checked_add(fill.fee)
            .ok_or(OrderError::Overflow { field: "fees" })?;
        self.trade_ids.insert(fill.trade_id.clone());
        self.status = next;
        self.updated_ms = self.updated_ms.max(fill.time_ms);
        Ok(FillApplied::Applied)
    }

    fn check_belongs(&self, fill: &Fill) -> Result<(), OrderError> {
        let foreign = |field| OrderError::ForeignFill {
            trade_id: fill.trade_id.clone(),
            field,
        };
        if fill.symbol != self.request.symbol {
            return Err(foreign("symbol"));
        }
        if fill.side != self.request.side {
            return Err(foreign("side"));
        }
        if let Some(coid) = &fill.client_order_id {
            if coid != &self.request.client_order_id {
                return Err(foreign("client_order_id"));
            }
        }
        if let Some(id) = &self.exchange_order_id {
            if id != &fill.order_id {
                return Err(foreign("order_id"));
            }
        }
        let bad = |field| OrderError::NonPositive {
            trade_id: fill.trade_id.clone(),
            field,
        };
        if fill.qty <= Decimal::ZERO {
            return Err(bad("qty"));
        }
        if fill.price <= Decimal::ZERO {
            return Err(bad("price"));
        }
        Ok(())
    }
}

fn overfill(fill: &Fill, field: &'static str, would_be: Decimal, limit: Decimal) -> OrderError {
    OrderError::Overfill {
        trade_id: fill.trade_id.clone(),
        field,
        would_be,
        limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClientOrderId, Symbol};
    use crate::model::{OrderType, Side};
    use rust_decimal_macros::dec;

    fn request(qty: OrderQty) -> OrderRequest {
        OrderRequest {
            client_order_id: ClientOrderId::new("bot-sig-0").unwrap(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            qty,
            price: Some(dec!(65000)),
            time_in_force: None,
            reduce_only: false,
        }
    }

    fn fill(trade_id: &str, qty: Decimal, price: Decimal) -> Fill {
        Fill {
            trade_id: trade_id.into(),
            order_id: "42".into(),
            client_order_id: None,
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side: Side::Buy,
            price,
            qty,
            fee: dec!(0.01),
            fee_asset: "USDT".into(),
            time_ms: 1_000,
            is_maker: true,
        }
    }

    #[test]
    fn partial_then_full_with_duplicate() {
        let mut o = Order::new(request(OrderQty::Base(dec!(0.003))), 0);
        o.apply_event(OrderEvent::Submitted, 1).unwrap();
        o.apply_event(OrderEvent::Accepted, 2).unwrap();
        assert_eq!(
            o.apply_fill(&fill("1", dec!(0.001), dec!(65000))),
            Ok(FillApplied::Applied)
        );
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        let before = o.clone();
        assert_eq!(
            o.apply_fill(&fill("1", dec!(0.001), dec!(65000))),
            Ok(FillApplied::Duplicate)
        );
        assert_eq!(o, before);
        o.apply_fill(&fill("2", dec!(0.002), dec!(64900))).unwrap();
        assert_eq!(o.status, OrderStatus::Filled);
        assert_eq!(o.filled_qty, dec!(0.003));
        // (65 + 129.8) / 0.003
        assert_eq!(
            o.avg_fill_price(),
            Some(dec!(64933.333333333333333333333333))
        );
        assert_eq!(o.fees.get("USDT"), Some(&dec!(0.02)));
        assert_eq!(o.exchange_order_id.as_deref(), Some("42"));
    }

    #[test]
    fn fill_before_ack_and_after_cancel() {
        let mut o = Order::new(request(OrderQty::Base(dec!(0.003))), 0);
        o.apply_event(OrderEvent::Submitted, 1).unwrap();
        o.apply_fill(&fill("1", dec!(0.001), dec!(65000))).unwrap();
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        o.apply_event(OrderEvent::Accepted, 2).unwrap();
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        o.apply_event(OrderEvent::CancelRequested, 3).unwrap();
        o.apply_fill(&fill("2", dec!(0.001), dec!(65000))).unwrap();
        assert_eq!(o.status, OrderStatus::CancelSent);
        // Cancel refused: back to working, and it has traded.
        o.apply_event(OrderEvent::CancelRejected, 4).unwrap();
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        o.apply_event(OrderEvent::Cancelled, 5).unwrap();
        // A trade from before the cancel, reported late, is still counted.
        o.apply_fill(&fill("3", dec!(0.0005), dec!(65000))).unwrap();
        assert_eq!(o.status, OrderStatus::Cancelled);
        assert_eq!(o.filled_qty, dec!(0.0025));
    }

    #[test]
    fn refusals_leave_order_unchanged() {
        struct Case {
            qty: OrderQty,
            fill: Fill,
            expected: OrderError,
        }
        let mut other = fill("9", dec!(0.001), dec!(1));
        other.side = Side::Sell;
        let cases = [
            Case {
                qty: OrderQty::Base(dec!(0.001)),
                fill: fill("1", dec!(0.002), dec!(65000)),
                expected: OrderError::Overfill {
                    trade_id: "1".into(),
                    field: "filled_qty",
                    would_be: dec!(0.002),
                    limit: dec!(0.001),
                },
            },
            Case {
                qty: OrderQty::Quote(dec!(100)),
                fill: fill("2", dec!(0.002), dec!(65000)),
                expected: OrderError::Overfill {
                    trade_id: "2".into(),
                    field: "filled_quote",
                    would_be: dec!(130),
                    limit: dec!(100),
                },
            },
            Case {
                qty: OrderQty::Base(dec!(1)),
                fill: other,
                expected: OrderError::ForeignFill {
                    trade_id: "9".into(),
                    field: "side",
                },
            },
            Case {
                qty: OrderQty::Base(dec!(1)),
                fill: fill("3", dec!(0), dec!(65000)),
                expected: OrderError::NonPositive {
                    trade_id: "3".into(),
                    field: "qty",
                },
            },
        ];
        for c in cases {
            let mut o = Order::new(request(c.qty), 0);
            o.apply_event(OrderEvent::Submitted, 1).unwrap();
            let before = o.clone();
            assert_eq!(o.apply_fill(&c.fill), Err(c.expected));
            assert_eq!(o, before);
        }
    }

    #[test]
    fn fill_on_rejected_or_intent_is_refused() {
        let mut o = Order::new(request(OrderQty::Base(dec!(1))), 0);
        assert!(matches!(
            o.apply_fill(&fill("1", dec!(0.1), dec!(1))),
            Err(OrderError::Transition(_))
        ));
        o.apply_event(OrderEvent::Submitted, 1).unwrap();
        o.apply_event(OrderEvent::TimedOut, 2).unwrap();
        assert_eq!(o.status, OrderStatus::Unknown);
        o.apply_event(OrderEvent::NotFound, 3).unwrap();
        assert_eq!(o.status, OrderStatus::Rejected);
        assert!(o.apply_fill(&fill("1", dec!(0.1), dec!(1))).is_err());
        assert!(o.trade_ids.is_empty());
    }

    #[test]
    fn quote_order_completes_by_status_report() {
        let mut o = Order::new(request(OrderQty::Quote(dec!(130))), 0);
        o.apply_event(OrderEvent::Submitted, 1).unwrap();
        o.apply_fill(&fill("1", dec!(0.002), dec!(64990))).unwrap();
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        assert_eq!(o.remaining_qty(), None);
        o.apply_event(OrderEvent::Filled, 2).unwrap();
        assert_eq!(o.status, OrderStatus::Filled);
    }

    #[test]
    fn exchange_id_conflict() {
        let mut o = Order::new(request(OrderQty::Base(dec!(1))), 0);
        o.set_exchange_order_id("1").unwrap();
        o.set_exchange_order_id("1").unwrap();
        assert!(o.set_exchange_order_id("2").is_err());
    }
}
