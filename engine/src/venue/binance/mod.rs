//! Binance adapter: Spot (`/api/v3`) and USDⓈ-M futures (`/fapi`), one type parameterised by
//! market because both share signing, error codes and most wire shapes.
//!
//! Files: `urls` (paths, weights' page limits), `enums` (wire spellings), `models` (wire structs),
//! `query` (builders + signing), `parse` (wire → domain), `error` (codes → [`VenueError`], headers).

pub mod algo;
pub mod enums;
pub mod error;
pub mod exit_cancel;
pub mod klines;
pub mod models;
pub mod oco;
pub mod parse;
pub mod query;
pub mod stream;
pub mod urls;

use crate::model::{Exchange, Market};
use crate::venue::error::VenueError;
use crate::venue::http::HttpResponse;
use crate::venue::limiter::OpCost;
use crate::venue::op::{VenueOp, VenueReply};
use crate::venue::wire::json;
use crate::venue::{BuildCtx, Observation, Planned, Venue};

/// The Binance adapter for one market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binance {
    market: Market,
    recv_window_ms: i64,
}

impl Binance {
    /// An adapter; `recv_window_ms` is clamped to Binance's 1..=60000.
    pub fn new(market: Market, recv_window_ms: i64) -> Self {
        Self {
            market,
            recv_window_ms: recv_window_ms.clamp(1, 60_000),
        }
    }
}

impl Venue for Binance {
    fn exchange(&self) -> Exchange {
        Exchange::Binance
    }

    fn market(&self) -> Market {
        self.market
    }

    fn cost(&self, op: &VenueOp) -> OpCost {
        let spot = self.market == Market::Spot;
        let (weight, orders) = match op {
            VenueOp::ServerTime => (1, 0),
            VenueOp::InstrumentRules { .. } => (if spot { 20 } else { 1 }, 0),
            VenueOp::Ticker { .. } => (if spot { 2 } else { 1 }, 0),
            VenueOp::Klines { limit, .. } => (klines::weight(self.market, *limit), 0),
            // Futures order entry counts on the order limits only.
            VenueOp::PlaceOrder(_) | VenueOp::PlaceProtectedOrder { .. } => {
                (if spot { 1 } else { 0 }, 1)
            }
            VenueOp::PlaceExitTrigger(_) => (0, 1),
            VenueOp::PlaceOcoExit(_) => (1, 2),
            VenueOp::QueryExitTrigger { .. } | VenueOp::CancelExit(_) => (1, 0),
            VenueOp::ExitFills { .. } => (5, 0),
            VenueOp::CancelOrder { .. } | VenueOp::CancelAll { .. } => (1, 0),
            VenueOp::QueryOrder { .. } | VenueOp::QueryOrderHistory { .. } => {
                (if spot { 4 } else { 1 }, 0)
            }
            VenueOp::OpenOrders { symbol: Some(_) } => (if spot { 6 } else { 1 }, 0),
            VenueOp::OpenOrders { symbol: None } => (if spot { 80 } else { 40 }, 0),
            VenueOp::Balances => (if spot { 20 } else { 5 }, 0),
            VenueOp::Positions { .. } => (5, 0),
            VenueOp::Trades { .. } => (if spot { 20 } else { 5 }, 0),
            VenueOp::Funding { .. } => (30, 0),
        };
        OpCost {
            weight,
            orders,
            endpoint: op.name().to_string(),
            exit: !op.is_entry() && op.is_mutation(),
        }
    }

    fn build(&mut self, op: &VenueOp, ctx: &BuildCtx<'_>) -> Result<Planned, VenueError> {
        query::build_request(self.market, self.recv_window_ms, op, ctx).map(Planned::Http)
    }

    fn parse(&self, op: &VenueOp, resp: &HttpResponse) -> Result<VenueReply, VenueError> {
        if !resp.is_success() {
            let err = error::map_error(resp);
            // Cancel-all on a symbol with nothing open answers "Unknown order": nothing to cancel.
            if matches!(op, VenueOp::CancelAll { .. })
                && matches!(err, VenueError::UnknownOrder { .. })
            {
                return Ok(VenueReply::Orders(Vec::new()));
            }
            return Err(err);
        }
        let body = resp.body.as_str();
        Ok(match op {
            VenueOp::ServerTime => VenueReply::ServerTime(parse::parse_time(body)?),
            VenueOp::InstrumentRules { symbol } => {
                VenueReply::Rules(parse::parse_rules(body, symbol.as_ref())?)
            }
            VenueOp::Ticker { .. } => VenueReply::Ticker(parse::parse_ticker(self.market, body)?),
            VenueOp::Klines { .. } => VenueReply::Klines(klines::parse(body)?),
            VenueOp::PlaceExitTrigger(t) => VenueReply::Order(algo::parse_algo(t, body)?),
            VenueOp::PlaceOcoExit(_) => VenueReply::Orders(oco::parse_oco(body)?),
            VenueOp::QueryExitTrigger { .. } => VenueReply::Trigger(algo::parse_algo_query(body)?),
            VenueOp::CancelExit(x) => {
                VenueReply::Trigger(exit_cancel::parse_cancel(self.market, x, body)?)
            }
            VenueOp::ExitFills { since_ms, .. } => VenueReply::ExitFills(
                parse::parse_trades(
                    self.market,
                    body,
                    &crate::venue::TradeCursor::from_time(*since_ms),
                    resp.received_ms,
                )?
                .fills
                .into_iter()
                .map(|fill| crate::venue::ExitFill { kind: None, fill })
                .collect(),
            ),
            VenueOp::PlaceOrder(_)
            | VenueOp::PlaceProtectedOrder { .. }
            | VenueOp::CancelOrder { .. }
            | VenueOp::QueryOrder { .. }
            | VenueOp::QueryOrderHistory { .. } => {
                VenueReply::Order(parse::parse_order(json("order", body)?)?)
            }
            VenueOp::CancelAll { .. } => match self.market {
                Market::Spot => VenueReply::Orders(parse::parse_orders(body)?),
                // Futures answers `{"code":200,"msg":"..."}` without the orders.
                Market::Linear => VenueReply::Orders(Vec::new()),
            },
            VenueOp::OpenOrders { .. } => VenueReply::Orders(parse::parse_orders(body)?),
            VenueOp::Balances => VenueReply::Balances(match self.market {
                Market::Spot => parse::parse_spot_balances(body)?,
                Market::Linear => parse::parse_futures_balances(body)?,
            }),
            VenueOp::Positions { .. } => VenueReply::Positions(parse::parse_positions(body)?),
            VenueOp::Trades { cursor, .. } => VenueReply::Trades(parse::parse_trades(
                self.market,
                body,
                cursor,
                resp.received_ms,
            )?),
            VenueOp::Funding { cursor, .. } => {
                VenueReply::Funding(parse::parse_funding(body, cursor)?)
            }
        })
    }

    fn observe(&self, op: &VenueOp, resp: &HttpResponse) -> Observation {
        let server_time_ms = match op {
            VenueOp::ServerTime if resp.is_success() => parse::parse_time(&resp.body).ok(),
            _ => None,
        };
        Observation {
            server_time_ms,
            usage: error::usage(resp),
        }
    }
}

#[cfg(test)]
mod tests;
