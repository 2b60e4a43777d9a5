//! Bybit V5 request builders and signing. GET parameters go in the query string; POST bodies are
//! compact JSON with `Content-Type: application/json`. The signature is HMAC-SHA256 (lowercase
//! hex) over `timestamp + apiKey + recvWindow + (queryString | body)`, sent in `X-BAPI-SIGN` with
//! `X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP`, `X-BAPI-RECV-WINDOW` (docs/exchanges.md §3.2).

use super::enums::{bybit_category, bybit_order_type, bybit_side, bybit_tif};
use super::urls::{
    EXECUTION_LIST, EXEC_PAGE_LIMIT, EXEC_WINDOW_MS, INSTRUMENTS, ORDER_CANCEL, ORDER_CANCEL_ALL,
    ORDER_CREATE, ORDER_HISTORY, ORDER_REALTIME, POSITION_LIST, TICKERS, TIME, WALLET_BALANCE,
};
use crate::model::{Market, OrderQty, OrderRequest, OrderType};
use crate::venue::error::VenueError;
use crate::venue::http::{HttpRequest, Method, SignedWindow};
use crate::venue::op::{Protection, TradeCursor, VenueOp};
use crate::venue::sign::{hmac_sha256_hex, QueryString};
use crate::venue::wire::fmt_dec;
use crate::venue::BuildCtx;
use serde_json::{Map, Value};

/// Settle coin used to list linear orders/positions when no symbol is given.
const SETTLE_COIN: &str = "USDT";

/// The path an operation uses (also the per-endpoint rate-limit key).
pub fn path_for(op: &VenueOp) -> &'static str {
    match op {
        VenueOp::ServerTime => TIME,
        VenueOp::InstrumentRules { .. } => INSTRUMENTS,
        VenueOp::Ticker { .. } => TICKERS,
        VenueOp::Klines { .. } => super::klines::PATH,
        VenueOp::PlaceOrder(_)
        | VenueOp::PlaceProtectedOrder { .. }
        | VenueOp::PlaceExitTrigger(_)
        | VenueOp::PlaceOcoExit(_) => ORDER_CREATE,
        VenueOp::CancelOrder { .. } | VenueOp::CancelExit(_) => ORDER_CANCEL,
        VenueOp::CancelAll { .. } => ORDER_CANCEL_ALL,
        VenueOp::QueryOrder { .. } | VenueOp::OpenOrders { .. } => ORDER_REALTIME,
        VenueOp::QueryOrderHistory { .. } => ORDER_HISTORY,
        VenueOp::Balances => WALLET_BALANCE,
        VenueOp::Positions { .. } => POSITION_LIST,
        VenueOp::Trades { .. } | VenueOp::Funding { .. } | VenueOp::ExitFills { .. } => {
            EXECUTION_LIST
        }
        VenueOp::QueryExitTrigger { .. } => ORDER_REALTIME,
    }
}

/// A paged-walk token: `end_ms:max_seen_ms:page_cursor` (opaque to callers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecToken {
    /// Window end used for this walk.
    pub end_ms: i64,
    /// Latest execution time seen so far in this window.
    pub max_seen_ms: i64,
    /// Bybit `nextPageCursor`.
    pub page: String,
}

impl ExecToken {
    /// Encodes.
    pub fn encode(&self) -> String {
        format!("{}:{}:{}", self.end_ms, self.max_seen_ms, self.page)
    }

    /// Decodes; `None` for a foreign or damaged token (the walk restarts from `start_ms`).
    pub fn decode(token: &str) -> Option<Self> {
        let mut parts = token.splitn(3, ':');
        let end_ms = parts.next()?.parse().ok()?;
        let max_seen_ms = parts.next()?.parse().ok()?;
        let page = parts.next()?.to_string();
        Some(Self {
            end_ms,
            max_seen_ms,
            page,
        })
    }
}

/// Window end and page for a cursor.
pub fn exec_window(cursor: &TradeCursor) -> (i64, Option<ExecToken>) {
    match cursor.token.as_deref().and_then(ExecToken::decode) {
        Some(t) => (t.end_ms, Some(t)),
        None => (cursor.start_ms.saturating_add(EXEC_WINDOW_MS), None),
    }
}

enum Payload {
    Query(QueryString),
    Json(Map<String, Value>),
}

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
    let category = bybit_category(market);
    let mut q = QueryString::new();
    let payload = match op {
        VenueOp::ServerTime => Payload::Query(q),
        VenueOp::InstrumentRules { symbol } => {
            q.push("category", category);
            match symbol {
                Some(s) => q.push("symbol", s.as_str()),
                None => q.push("limit", "1000"),
            };
            Payload::Query(q)
        }
        VenueOp::Ticker { symbol } => {
            q.push("category", category).push("symbol", symbol.as_str());
            Payload::Query(q)
        }
        VenueOp::Klines {
            symbol,
            interval,
            start_ms,
            end_ms,
            limit,
        } => {
            super::klines::push_query(
                category,
                symbol.as_str(),
                *interval,
                *start_ms,
                *end_ms,
                *limit,
                &mut q,
            )?;
            Payload::Query(q)
        }
        VenueOp::PlaceOrder(req) => Payload::Json(order_body(market, req)?),
        VenueOp::PlaceProtectedOrder { order, protection } => {
            let mut m = order_body(market, order)?;
            protection_fields(market, order, protection, &mut m)?;
            Payload::Json(m)
        }
        VenueOp::PlaceExitTrigger(t) if market == Market::Spot => {
            Payload::Json(super::exits::tpsl_body(t)?)
        }
        VenueOp::CancelExit(x) => Payload::Json(super::exits::cancel_body(market, x)?),
        VenueOp::PlaceExitTrigger(_) | VenueOp::PlaceOcoExit(_) => {
            // Bybit linear holds TP/SL on the entry itself (`PlaceProtectedOrder`).
            return Err(VenueError::Unsupported {
                op: op.name(),
                reason: "Bybit takes stop-loss/take-profit on the entry order".into(),
            });
        }
        VenueOp::CancelOrder {
            symbol,
            client_order_id,
        } => {
            let mut m = Map::new();
            m.insert("category".into(), category.into());
            m.insert("symbol".into(), symbol.as_str().into());
            m.insert("orderLinkId".into(), client_order_id.as_str().into());
            Payload::Json(m)
        }
        VenueOp::CancelAll { symbol } => {
            let mut m = Map::new();
            m.insert("category".into(), category.into());
            m.insert("symbol".into(), symbol.as_str().into());
            Payload::Json(m)
        }
        VenueOp::QueryOrder {
            symbol,
            client_order_id,
        }
        | VenueOp::QueryOrderHistory {
            symbol,
            client_order_id,
        } => {
            q.push("category", category)
                .push("symbol", symbol.as_str())
                .push("orderLinkId", client_order_id.as_str());
            Payload::Query(q)
        }
        VenueOp::OpenOrders { symbol } => {
            q.push("category", category);
            match (symbol, market) {
                (Some(s), _) => q.push("symbol", s.as_str()),
                (None, Market::Linear) => q.push("settleCoin", SETTLE_COIN),
                (None, Market::Spot) => &mut q,
            };
            q.push("openOnly", "0").push("limit", "50");
            Payload::Query(q)
        }
        VenueOp::Balances => {
            q.push("accountType", "UNIFIED");
            Payload::Query(q)
        }
        VenueOp::Positions { symbol } => {
            if market == Market::Spot {
                return Err(VenueError::Unsupported {
                    op: op.name(),
                    reason: "spot has no positions".into(),
                });
            }
            q.push("category", category);
            match symbol {
                Some(s) => q.push("symbol", s.as_str()),
                None => q.push("settleCoin", SETTLE_COIN),
            };
            q.push("limit", "200");
            Payload::Query(q)
        }
        VenueOp::Trades { symbol, cursor } => {
            exec_query(&mut q, category, Some(symbol.as_str()), cursor);
            Payload::Query(q)
        }
        VenueOp::ExitFills {
            symbol,
            since_ms,
            order_id,
        } => {
            exec_query(
                &mut q,
                category,
                Some(symbol.as_str()),
                &TradeCursor::from_time(*since_ms),
            );
            q.push_opt("orderId", order_id.as_deref());
            Payload::Query(q)
        }
        VenueOp::QueryExitTrigger { .. } => {
            // TP/SL ride on the entry; their fills are found with `ExitFills`.
            return Err(VenueError::Unsupported {
                op: op.name(),
                reason: "Bybit TP/SL have no client id to look up".into(),
            });
        }
        VenueOp::Funding { symbol, cursor } => {
            if market == Market::Spot {
                return Err(VenueError::Unsupported {
                    op: op.name(),
                    reason: "spot has no funding".into(),
                });
            }
            exec_query(
                &mut q,
                category,
                symbol.as_ref().map(|s| s.as_str()),
                cursor,
            );
            Payload::Query(q)
        }
    };
    let path = path_for(op);
    let (method, path_and_query, body) = match payload {
        Payload::Query(q) => (Method::Get, q.append_to(path), String::new()),
        Payload::Json(m) => (Method::Post, path.to_string(), Value::Object(m).to_string()),
    };
    let mut headers = Vec::new();
    let mut signed = None;
    if op.is_signed() {
        let creds = ctx
            .creds
            .ok_or(VenueError::MissingCredentials { op: op.name() })?;
        let ts = ctx.clock.signed_timestamp(ctx.now_ms);
        let signed_part = match method {
            Method::Get | Method::Delete => path_and_query.split_once('?').map_or("", |(_, q)| q),
            Method::Post => body.as_str(),
        };
        let prehash = format!("{ts}{}{recv_window_ms}{signed_part}", creds.api_key);
        headers.push(("X-BAPI-API-KEY".to_string(), creds.api_key.clone()));
        headers.push(("X-BAPI-TIMESTAMP".to_string(), ts.to_string()));
        headers.push(("X-BAPI-RECV-WINDOW".to_string(), recv_window_ms.to_string()));
        headers.push((
            "X-BAPI-SIGN".to_string(),
            hmac_sha256_hex(&creds.api_secret, &prehash),
        ));
        signed = Some(SignedWindow {
            signed_at_ms: ts,
            recv_window_ms,
        });
    }
    if method == Method::Post {
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
    }
    Ok(HttpRequest {
        method,
        base_url: ctx.base_url.trim_end_matches('/').to_string(),
        path_and_query,
        headers,
        body,
        signed,
    })
}

fn exec_query(q: &mut QueryString, category: &str, symbol: Option<&str>, cursor: &TradeCursor) {
    let (end, token) = exec_window(cursor);
    q.push("category", category)
        .push_opt("symbol", symbol)
        .push("startTime", &cursor.start_ms.to_string())
        .push("endTime", &end.to_string())
        .push("limit", &EXEC_PAGE_LIMIT.to_string());
    if let Some(t) = token.filter(|t| !t.page.is_empty()) {
        q.push_encoded("cursor", &t.page);
    }
}

fn order_body(market: Market, req: &OrderRequest) -> Result<Map<String, Value>, VenueError> {
    let mut m = Map::new();
    m.insert("category".into(), bybit_category(market).into());
    m.insert("symbol".into(), req.symbol.as_str().into());
    m.insert("side".into(), bybit_side(req.side).into());
    m.insert("orderType".into(), bybit_order_type(req.order_type).into());
    match (req.qty, req.order_type, market) {
        (OrderQty::Base(qty), OrderType::Market, Market::Spot) => {
            // Spot market BUY qty is quote by default: say explicitly that this one is base.
            m.insert("qty".into(), fmt_dec(qty).into());
            m.insert("marketUnit".into(), "baseCoin".into());
        }
        (OrderQty::Base(qty), _, _) => {
            m.insert("qty".into(), fmt_dec(qty).into());
        }
        (OrderQty::Quote(amount), OrderType::Market, Market::Spot) => {
            m.insert("qty".into(), fmt_dec(amount).into());
            m.insert("marketUnit".into(), "quoteCoin".into());
        }
        (OrderQty::Quote(_), _, _) => {
            return Err(VenueError::Unsupported {
                op: "place_order",
                reason: "quote-quantity orders exist only as spot market orders".into(),
            })
        }
    }
    if let Some(price) = req.price {
        m.insert("price".into(), fmt_dec(price).into());
    }
    if req.order_type == OrderType::Limit {
        let tif = req.time_in_force.map_or("GTC", bybit_tif);
        m.insert("timeInForce".into(), tif.into());
    }
    if req.reduce_only {
        if market == Market::Spot {
            return Err(VenueError::Unsupported {
                op: "place_order",
                reason: "spot has no reduce-only".into(),
            });
        }
        m.insert("reduceOnly".into(), Value::Bool(true));
    }
    m.insert("orderLinkId".into(), req.client_order_id.as_str().into());
    Ok(m)
}

/// Adds `takeProfit` / `stopLoss` to a create body. Linear uses `tpslMode=Full` (the whole
/// position closes at market when a trigger fires) with mark-price triggers, so a wick on the
/// last price cannot stop us out; spot accepts TP/SL on create for limit orders only.
fn protection_fields(
    market: Market,
    req: &OrderRequest,
    protection: &Protection,
    m: &mut Map<String, Value>,
) -> Result<(), VenueError> {
    let unsupported = |reason: &str| VenueError::Unsupported {
        op: "place_protected_order",
        reason: reason.into(),
    };
    if protection.is_empty() {
        return Err(unsupported(
            "protection has neither stop_loss nor take_profit",
        ));
    }
    if req.reduce_only {
        return Err(unsupported("a reduce-only order cannot carry TP/SL"));
    }
    if market == Market::Spot && req.order_type != OrderType::Limit {
        return Err(unsupported(
            "Bybit spot takes TP/SL on create for limit orders only",
        ));
    }
    if let Some(tp) = protection.take_profit {
        m.insert("takeProfit".into(), fmt_dec(tp).into());
    }
    if let Some(sl) = protection.stop_loss {
        m.insert("stopLoss".into(), fmt_dec(sl).into());
    }
    if market == Market::Linear {
        m.insert("tpslMode".into(), "Full".into());
        if protection.take_profit.is_some() {
            m.insert("tpTriggerBy".into(), "MarkPrice".into());
        }
        if protection.stop_loss.is_some() {
            m.insert("slTriggerBy".into(), "MarkPrice".into());
        }
    }
    Ok(())
}
