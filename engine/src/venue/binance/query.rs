//! Binance request builders and signing. Every parameter goes in the query string, in a fixed
//! order, percent-encoded; the signature is HMAC-SHA256 over exactly that string, appended as the
//! last parameter `signature`, with the key in `X-MBX-APIKEY` (docs/exchanges.md §1.3).

use super::enums::{binance_futures_type, binance_side, binance_spot_type};
use super::urls::{paths, trade_window_ms, PAGE_LIMIT};
use crate::model::{Market, OrderQty, OrderRequest};
use crate::venue::error::VenueError;
use crate::venue::http::{HttpRequest, Method, SignedWindow};
use crate::venue::op::VenueOp;
use crate::venue::sign::{hmac_sha256_hex, QueryString};
use crate::venue::wire::fmt_dec;
use crate::venue::BuildCtx;

/// Builds the request for `op`.
///
/// # Errors
/// [`VenueError::Unsupported`] for operations the market lacks; [`VenueError::MissingCredentials`].
pub fn build_request(
    market: Market,
    recv_window_ms: i64,
    op: &VenueOp,
    ctx: &BuildCtx<'_>,
) -> Result<HttpRequest, VenueError> {
    let p = paths(market);
    let mut q = QueryString::new();
    let (method, path) = match op {
        VenueOp::ServerTime => (Method::Get, p.time),
        VenueOp::InstrumentRules { symbol } => {
            // Futures exchangeInfo takes no symbol; the parser filters instead.
            if market == Market::Spot {
                q.push_opt("symbol", symbol.as_ref().map(|s| s.as_str()));
            }
            (Method::Get, p.exchange_info)
        }
        VenueOp::Ticker { symbol } => {
            q.push("symbol", symbol.as_str());
            (Method::Get, p.ticker)
        }
        VenueOp::Klines {
            symbol,
            interval,
            start_ms,
            end_ms,
            limit,
        } => {
            super::klines::push_query(
                market,
                symbol.as_str(),
                *interval,
                *start_ms,
                *end_ms,
                *limit,
                &mut q,
            )?;
            (
                Method::Get,
                match market {
                    Market::Spot => super::klines::SPOT_PATH,
                    Market::Linear => super::klines::FUTURES_PATH,
                },
            )
        }
        VenueOp::PlaceProtectedOrder { .. } => {
            // Binance takes no TP/SL on the entry order; protection is placed after the fill.
            return Err(VenueError::Unsupported {
                op: op.name(),
                reason: "Binance cannot attach stop-loss/take-profit to an entry order".into(),
            });
        }
        VenueOp::PlaceExitTrigger(t) => {
            require_linear(market, op)?;
            super::algo::push_algo(t, &mut q);
            (Method::Post, super::algo::ALGO_ORDER)
        }
        VenueOp::PlaceOcoExit(o) => {
            if market != Market::Spot {
                return Err(VenueError::Unsupported {
                    op: op.name(),
                    reason: "OCO order lists exist on Binance spot only".into(),
                });
            }
            super::oco::push_oco(o, &mut q);
            (Method::Post, super::oco::OCO_PATH)
        }
        VenueOp::CancelExit(x) => (
            Method::Delete,
            super::exit_cancel::push_cancel(market, x, &mut q)?,
        ),
        VenueOp::QueryExitTrigger {
            client_order_id, ..
        } => {
            require_linear(market, op)?;
            q.push("clientAlgoId", client_order_id.as_str());
            (Method::Get, super::algo::ALGO_ORDER)
        }
        VenueOp::ExitFills {
            symbol, order_id, ..
        } => {
            // The fired trigger's order is known by id (`actualOrderId`): its trades, exactly.
            let Some(order_id) = order_id else {
                return Err(VenueError::Unsupported {
                    op: op.name(),
                    reason: "Binance finds a stop-out's fills by the fired order's id".into(),
                });
            };
            q.push("symbol", symbol.as_str()).push("orderId", order_id);
            (Method::Get, p.trades)
        }
        VenueOp::PlaceOrder(req) => {
            push_order(market, req, &mut q)?;
            (Method::Post, p.order)
        }
        VenueOp::CancelOrder {
            symbol,
            client_order_id,
        } => {
            q.push("symbol", symbol.as_str())
                .push("origClientOrderId", client_order_id.as_str());
            (Method::Delete, p.order)
        }
        VenueOp::CancelAll { symbol } => {
            q.push("symbol", symbol.as_str());
            (Method::Delete, p.cancel_all)
        }
        VenueOp::QueryOrder {
            symbol,
            client_order_id,
        }
        | VenueOp::QueryOrderHistory {
            symbol,
            client_order_id,
        } => {
            q.push("symbol", symbol.as_str())
                .push("origClientOrderId", client_order_id.as_str());
            (Method::Get, p.order)
        }
        VenueOp::OpenOrders { symbol } => {
            q.push_opt("symbol", symbol.as_ref().map(|s| s.as_str()));
            (Method::Get, p.open_orders)
        }
        VenueOp::Balances => {
            if market == Market::Spot {
                q.push("omitZeroBalances", "true");
            }
            (Method::Get, p.balances)
        }
        VenueOp::Positions { symbol } => {
            require_linear(market, op)?;
            q.push_opt("symbol", symbol.as_ref().map(|s| s.as_str()));
            (Method::Get, p.positions)
        }
        VenueOp::Trades { symbol, cursor } => {
            q.push("symbol", symbol.as_str());
            match &cursor.token {
                Some(from_id) => {
                    q.push("fromId", from_id);
                }
                None => {
                    let end = cursor.start_ms.saturating_add(trade_window_ms(market));
                    q.push("startTime", &cursor.start_ms.to_string())
                        .push("endTime", &end.to_string());
                }
            }
            q.push("limit", &PAGE_LIMIT.to_string());
            (Method::Get, p.trades)
        }
        VenueOp::Funding { symbol, cursor } => {
            require_linear(market, op)?;
            q.push_opt("symbol", symbol.as_ref().map(|s| s.as_str()))
                .push("incomeType", "FUNDING_FEE")
                .push("startTime", &cursor.start_ms.to_string())
                .push("limit", &PAGE_LIMIT.to_string());
            (Method::Get, p.income)
        }
    };
    let mut headers = Vec::new();
    let mut signed = None;
    if op.is_signed() {
        let creds = ctx
            .creds
            .ok_or(VenueError::MissingCredentials { op: op.name() })?;
        let ts = ctx.clock.signed_timestamp(ctx.now_ms);
        q.push("recvWindow", &recv_window_ms.to_string())
            .push("timestamp", &ts.to_string());
        let signature = hmac_sha256_hex(&creds.api_secret, q.as_str());
        q.push("signature", &signature);
        headers.push(("X-MBX-APIKEY".to_string(), creds.api_key.clone()));
        signed = Some(SignedWindow {
            signed_at_ms: ts,
            recv_window_ms,
        });
    }
    Ok(HttpRequest {
        method,
        base_url: ctx.base_url.trim_end_matches('/').to_string(),
        path_and_query: q.append_to(path),
        headers,
        body: String::new(),
        signed,
    })
}

fn require_linear(market: Market, op: &VenueOp) -> Result<(), VenueError> {
    match market {
        Market::Linear => Ok(()),
        Market::Spot => Err(VenueError::Unsupported {
            op: op.name(),
            reason: "spot has no positions or funding".into(),
        }),
    }
}

fn push_order(market: Market, req: &OrderRequest, q: &mut QueryString) -> Result<(), VenueError> {
    let (order_type, tif) = match market {
        Market::Spot => binance_spot_type(req.order_type, req.time_in_force),
        Market::Linear => binance_futures_type(req.order_type, req.time_in_force),
    };
    q.push("symbol", req.symbol.as_str())
        .push("side", binance_side(req.side))
        .push("type", order_type)
        .push_opt("timeInForce", tif);
    match (req.qty, market) {
        (OrderQty::Base(qty), _) => {
            q.push("quantity", &fmt_dec(qty));
        }
        (OrderQty::Quote(amount), Market::Spot)
            if req.order_type == crate::model::OrderType::Market =>
        {
            q.push("quoteOrderQty", &fmt_dec(amount));
        }
        (OrderQty::Quote(_), _) => {
            return Err(VenueError::Unsupported {
                op: "place_order",
                reason: "quote-quantity orders exist only as spot market orders".into(),
            })
        }
    }
    if let Some(price) = req.price {
        q.push("price", &fmt_dec(price));
    }
    if req.reduce_only {
        if market == Market::Spot {
            return Err(VenueError::Unsupported {
                op: "place_order",
                reason: "spot has no reduce-only".into(),
            });
        }
        q.push("reduceOnly", "true");
    }
    q.push("newClientOrderId", req.client_order_id.as_str());
    q.push(
        "newOrderRespType",
        match market {
            Market::Spot => "FULL",
            Market::Linear => "RESULT",
        },
    );
    Ok(())
}
