//! Bybit V5 adapter for `category=spot` and `category=linear` (unified trading account).
//!
//! Files: `urls` (paths), `enums` (wire spellings), `models` (wire structs), `query` (builders +
//! signing), `parse` (envelope + wire → domain), `error` (retCode/HTTP → [`VenueError`], headers).
//!
//! Bybit acknowledges creates and cancels asynchronously: their replies carry
//! [`OrderStatus::Acknowledged`](crate::venue::OrderStatus::Acknowledged) and the real state comes from a query or the
//! executions list. A lookup by `orderLinkId` searches the realtime view first and, when that is
//! empty (finished orders vanish from it after a Bybit restart), asks for
//! [`VenueOp::QueryOrderHistory`] through [`VenueReply::FollowUp`].

pub mod enums;
pub mod error;
pub mod exits;
pub mod klines;
pub mod models;
pub mod parse;
pub mod query;
pub mod stream;
pub mod urls;

use crate::model::{Exchange, Market};
use crate::venue::error::VenueError;
use crate::venue::http::HttpResponse;
use crate::venue::limiter::OpCost;
use crate::venue::op::{VenueOp, VenueReply};
use crate::venue::{BuildCtx, Observation, Planned, Venue};
use models::ByHead;

/// The Bybit adapter for one category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bybit {
    market: Market,
    recv_window_ms: i64,
}

impl Bybit {
    /// An adapter; `recv_window_ms` must be positive (default 5000).
    pub fn new(market: Market, recv_window_ms: i64) -> Self {
        Self {
            market,
            recv_window_ms: recv_window_ms.max(1),
        }
    }
}

impl Venue for Bybit {
    fn exchange(&self) -> Exchange {
        Exchange::Bybit
    }

    fn market(&self) -> Market {
        self.market
    }

    fn cost(&self, op: &VenueOp) -> OpCost {
        OpCost {
            weight: 1,
            orders: u32::from(matches!(
                op,
                VenueOp::PlaceOrder(_) | VenueOp::PlaceProtectedOrder { .. }
            )),
            endpoint: query::path_for(op).to_string(),
            exit: !op.is_entry() && op.is_mutation(),
        }
    }

    fn build(&mut self, op: &VenueOp, ctx: &BuildCtx<'_>) -> Result<Planned, VenueError> {
        query::build_request(self.market, self.recv_window_ms, op, ctx).map(Planned::Http)
    }

    fn parse(&self, op: &VenueOp, resp: &HttpResponse) -> Result<VenueReply, VenueError> {
        if !resp.is_success() {
            return Err(error::map_http(resp));
        }
        Ok(match op {
            VenueOp::ServerTime => VenueReply::ServerTime(parse::parse_time(resp)?),
            VenueOp::InstrumentRules { symbol } => {
                let mut rules = parse::parse_rules(resp)?;
                if let Some(s) = symbol {
                    rules.retain(|r| &r.symbol == s);
                }
                VenueReply::Rules(rules)
            }
            VenueOp::Ticker { .. } => VenueReply::Ticker(parse::parse_ticker(self.market, resp)?),
            VenueOp::Klines { .. } => VenueReply::Klines(klines::parse(resp)?),
            VenueOp::PlaceOrder(req) | VenueOp::PlaceProtectedOrder { order: req, .. } => {
                VenueReply::Order(parse::parse_create(req, resp)?)
            }
            VenueOp::PlaceExitTrigger(t) => VenueReply::Order(exits::parse_tpsl_ack(t, resp)?),
            VenueOp::PlaceOcoExit(_) => {
                return Err(VenueError::Unsupported {
                    op: op.name(),
                    reason: "Bybit takes stop-loss/take-profit on the entry order".into(),
                })
            }
            VenueOp::CancelOrder { symbol, .. } => {
                VenueReply::Order(parse::parse_cancel(symbol, resp)?)
            }
            VenueOp::CancelExit(x) => VenueReply::Trigger(exits::parse_cancel(x, resp)?),
            VenueOp::CancelAll { symbol } => {
                VenueReply::Orders(parse::parse_cancel_all(symbol, resp)?)
            }
            VenueOp::QueryOrder {
                symbol,
                client_order_id,
            } => {
                let found = parse::parse_orders(resp)?
                    .into_iter()
                    .find(|o| o.client_order_id.as_ref() == Some(client_order_id));
                match found {
                    Some(order) => VenueReply::Order(order),
                    None => VenueReply::FollowUp(Box::new(VenueOp::QueryOrderHistory {
                        symbol: symbol.clone(),
                        client_order_id: client_order_id.clone(),
                    })),
                }
            }
            VenueOp::QueryOrderHistory {
                client_order_id, ..
            } => parse::parse_orders(resp)?
                .into_iter()
                .find(|o| o.client_order_id.as_ref() == Some(client_order_id))
                .map(VenueReply::Order)
                .ok_or_else(|| VenueError::UnknownOrder {
                    msg: format!("no order with orderLinkId {client_order_id}"),
                })?,
            VenueOp::OpenOrders { .. } => VenueReply::Orders(
                parse::parse_orders(resp)?
                    .into_iter()
                    .filter(|o| !o.status.is_final())
                    .collect(),
            ),
            VenueOp::Balances => VenueReply::Balances(parse::parse_balances(resp)?),
            VenueOp::Positions { .. } => VenueReply::Positions(parse::parse_positions(resp)?),
            VenueOp::Trades { cursor, .. } => {
                VenueReply::Trades(parse::parse_trades(resp, cursor)?)
            }
            VenueOp::Funding { cursor, .. } => {
                VenueReply::Funding(parse::parse_funding(resp, cursor)?)
            }
            VenueOp::ExitFills { .. } => VenueReply::ExitFills(exits::parse_exit_fills(resp)?),
            VenueOp::QueryExitTrigger { .. } => {
                return Err(VenueError::Unsupported {
                    op: op.name(),
                    reason: "Bybit TP/SL have no client id to look up".into(),
                })
            }
        })
    }

    fn observe(&self, op: &VenueOp, resp: &HttpResponse) -> Observation {
        let server_time_ms = match op {
            VenueOp::ServerTime if resp.is_success() => parse::parse_time(resp).ok(),
            _ => serde_json::from_str::<ByHead>(&resp.body)
                .ok()
                .and_then(|h| h.time),
        };
        Observation {
            server_time_ms,
            usage: error::usage(resp, query::path_for(op)),
        }
    }
}

#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod protection_tests;
#[cfg(test)]
mod tests;
