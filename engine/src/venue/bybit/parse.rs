//! Bybit V5 response parsers: envelope check, then wire structs into Keel's reply types.

use super::enums::{parse_bybit_side, parse_bybit_status};
use super::error::map_code;
use super::models::{
    ByCoin, ByEnvelope, ByExecution, ByInstrument, ByList, ByOrder, ByOrderAck, ByPosition,
    ByTicker, ByTime, ByWallet,
};
use super::query::{exec_window, ExecToken};
use crate::ids::Symbol;
use crate::model::{Fill, InstrumentRules, Market, OrderRequest, Side};
use crate::venue::error::VenueError;
use crate::venue::http::HttpResponse;
use crate::venue::op::{
    Balance, FundingEvent, FundingPage, OrderReport, OrderStatus, PositionReport, Ticker,
    TradeCursor, TradePage,
};
use crate::venue::wire::{client_id, dec, int, json, symbol};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;

/// Checks the envelope and returns the payload.
///
/// # Errors
/// The mapped `retCode`, or [`VenueError::Parse`].
pub fn payload<T: DeserializeOwned>(what: &str, resp: &HttpResponse) -> Result<T, VenueError> {
    let env: ByEnvelope<serde_json::Value> = json(what, &resp.body)?;
    if env.ret_code != 0 {
        return Err(map_code(env.ret_code, env.ret_msg, resp));
    }
    let result = env
        .result
        .ok_or_else(|| VenueError::parse(what, "missing result"))?;
    serde_json::from_value(result).map_err(|e| VenueError::parse(what, e))
}

/// Server time in ms: `timeNano / 1e6`, else `timeSecond * 1000`.
///
/// # Errors
/// [`VenueError::Parse`].
pub fn parse_time(resp: &HttpResponse) -> Result<i64, VenueError> {
    let t: ByTime = payload("time", resp)?;
    if !t.time_nano.is_empty() {
        return Ok(int("timeNano", &t.time_nano)? / 1_000_000);
    }
    Ok(int("timeSecond", &t.time_second)?.saturating_mul(1_000))
}

/// Create acknowledgement: accepted, state to be queried.
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_create(req: &OrderRequest, resp: &HttpResponse) -> Result<OrderReport, VenueError> {
    let ack: ByOrderAck = payload("order/create", resp)?;
    Ok(OrderReport {
        order_id: ack.order_id,
        client_order_id: Some(req.client_order_id.clone()),
        symbol: req.symbol.clone(),
        side: Some(req.side),
        status: OrderStatus::Acknowledged,
        orig_qty: Decimal::ZERO,
        executed_qty: Decimal::ZERO,
        cum_quote: None,
        price: req.price.unwrap_or(Decimal::ZERO),
        fills: Vec::new(),
        updated_ms: 0,
    })
}

/// Cancel acknowledgement.
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_cancel(symbol: &Symbol, resp: &HttpResponse) -> Result<OrderReport, VenueError> {
    let ack: ByOrderAck = payload("order/cancel", resp)?;
    Ok(ack_report(symbol, ack))
}

fn ack_report(symbol: &Symbol, ack: ByOrderAck) -> OrderReport {
    OrderReport {
        order_id: ack.order_id,
        client_order_id: client_id(&ack.order_link_id),
        symbol: symbol.clone(),
        side: None,
        status: OrderStatus::Acknowledged,
        orig_qty: Decimal::ZERO,
        executed_qty: Decimal::ZERO,
        cum_quote: None,
        price: Decimal::ZERO,
        fills: Vec::new(),
        updated_ms: 0,
    }
}

/// Cancel-all acknowledgement list.
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_cancel_all(
    symbol: &Symbol,
    resp: &HttpResponse,
) -> Result<Vec<OrderReport>, VenueError> {
    let list: ByList<ByOrderAck> = payload("order/cancel-all", resp)?;
    Ok(list
        .list
        .into_iter()
        .map(|a| ack_report(symbol, a))
        .collect())
}

/// One order row (REST lists and the private stream's `order` topic share the fields).
pub(crate) fn parse_order(o: ByOrder) -> Result<OrderReport, VenueError> {
    let updated_ms = if o.updated_time.is_empty() {
        0
    } else {
        int("updatedTime", &o.updated_time)?
    };
    let value = dec("cumExecValue", &o.cum_exec_value)?;
    Ok(OrderReport {
        client_order_id: client_id(&o.order_link_id),
        symbol: symbol(&o.symbol)?,
        side: parse_bybit_side(&o.side)?,
        status: parse_bybit_status(&o.order_status)?,
        orig_qty: dec("qty", &o.qty)?,
        executed_qty: dec("cumExecQty", &o.cum_exec_qty)?,
        cum_quote: Some(value),
        price: dec("price", &o.price)?,
        fills: Vec::new(),
        updated_ms,
        order_id: o.order_id,
    })
}

/// Order list (realtime / history).
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_orders(resp: &HttpResponse) -> Result<Vec<OrderReport>, VenueError> {
    let list: ByList<ByOrder> = payload("orders", resp)?;
    list.list.into_iter().map(parse_order).collect()
}

fn exec_next(
    cursor: &TradeCursor,
    next_page: Option<&str>,
    newest: Option<i64>,
    received_ms: i64,
) -> (TradeCursor, bool) {
    let (end_ms, token) = exec_window(cursor);
    let seen = token
        .map_or(i64::MIN, |t| t.max_seen_ms)
        .max(newest.unwrap_or(i64::MIN));
    match next_page.filter(|p| !p.is_empty()) {
        Some(page) => {
            let t = ExecToken {
                end_ms,
                max_seen_ms: seen,
                page: page.to_string(),
            };
            (
                TradeCursor {
                    start_ms: cursor.start_ms,
                    token: Some(t.encode()),
                },
                false,
            )
        }
        // Window exhausted and entirely in the past: next window.
        None if end_ms < received_ms => (TradeCursor::from_time(end_ms.saturating_add(1)), false),
        // Window reaches the present: resume at the newest time seen (inclusive; dedupe on id).
        None => (
            TradeCursor::from_time(if seen == i64::MIN {
                cursor.start_ms
            } else {
                seen
            }),
            true,
        ),
    }
}

/// One trade execution as a fill (REST `execution/list` and the private stream's `execution`
/// topic share the fields).
///
/// # Errors
/// [`VenueError::Parse`] for a field that does not parse.
pub(crate) fn fill_of(e: &ByExecution) -> Result<Fill, VenueError> {
    let side: Side =
        parse_bybit_side(&e.side)?.ok_or_else(|| VenueError::parse("side", "empty"))?;
    Ok(Fill {
        trade_id: e.exec_id.clone(),
        order_id: e.order_id.clone(),
        client_order_id: client_id(&e.order_link_id),
        symbol: symbol(&e.symbol)?,
        side,
        price: dec("execPrice", &e.exec_price)?,
        qty: dec("execQty", &e.exec_qty)?,
        fee: dec("execFee", &e.exec_fee)?,
        fee_asset: e.fee_currency.clone(),
        time_ms: int("execTime", &e.exec_time)?,
        is_maker: e.is_maker,
    })
}

/// Trades page: executions of type Trade / AdlTrade / BustTrade (liquidations move the position
/// too), oldest first.
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_trades(resp: &HttpResponse, cursor: &TradeCursor) -> Result<TradePage, VenueError> {
    let list: ByList<ByExecution> = payload("execution/list", resp)?;
    let newest = list
        .list
        .iter()
        .filter_map(|e| e.exec_time.parse::<i64>().ok())
        .max();
    let mut fills = Vec::new();
    for e in &list.list {
        // An absent execType is a plain trade (older spot rows); funding and settlement rows are not.
        if !matches!(
            e.exec_type.as_str(),
            "Trade" | "AdlTrade" | "BustTrade" | ""
        ) {
            continue;
        }
        fills.push(fill_of(e)?);
    }
    fills.sort_by(|a, b| (a.time_ms, &a.trade_id).cmp(&(b.time_ms, &b.trade_id)));
    let (next, caught_up) = exec_next(
        cursor,
        list.next_page_cursor.as_deref(),
        newest,
        resp.received_ms,
    );
    Ok(TradePage {
        fills,
        next,
        caught_up,
    })
}

/// Funding page: executions of type Funding; `execFee` positive = paid, so amount = −execFee.
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_funding(resp: &HttpResponse, cursor: &TradeCursor) -> Result<FundingPage, VenueError> {
    let list: ByList<ByExecution> = payload("execution/list", resp)?;
    let newest = list
        .list
        .iter()
        .filter_map(|e| e.exec_time.parse::<i64>().ok())
        .max();
    let mut events = Vec::new();
    for e in list.list.iter().filter(|e| e.exec_type == "Funding") {
        events.push(FundingEvent {
            id: e.exec_id.clone(),
            symbol: symbol(&e.symbol)?,
            amount: -dec("execFee", &e.exec_fee)?,
            asset: e.fee_currency.clone(),
            time_ms: int("execTime", &e.exec_time)?,
        });
    }
    events.sort_by(|a, b| (a.time_ms, &a.id).cmp(&(b.time_ms, &b.id)));
    let (next, caught_up) = exec_next(
        cursor,
        list.next_page_cursor.as_deref(),
        newest,
        resp.received_ms,
    );
    Ok(FundingPage {
        events,
        next,
        caught_up,
    })
}

/// Unified wallet balances: free = walletBalance − locked.
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_balances(resp: &HttpResponse) -> Result<Vec<Balance>, VenueError> {
    let list: ByList<ByWallet> = payload("wallet-balance", resp)?;
    let coins: Vec<&ByCoin> = list.list.iter().flat_map(|w| w.coin.iter()).collect();
    coins
        .into_iter()
        .map(|c| {
            let total = dec("walletBalance", &c.wallet_balance)?;
            let locked = dec("locked", &c.locked)?;
            // Checked: `Decimal`'s `-` panics on overflow, and these are the exchange's figures.
            let free = total
                .checked_sub(locked)
                .ok_or_else(|| VenueError::parse("walletBalance", "out of range"))?;
            Ok(Balance {
                asset: c.coin.clone(),
                free: free.max(Decimal::ZERO),
                locked,
            })
        })
        .collect()
}

/// Non-zero positions, signed by side.
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_positions(resp: &HttpResponse) -> Result<Vec<PositionReport>, VenueError> {
    let list: ByList<ByPosition> = payload("position/list", resp)?;
    let mut out = Vec::new();
    for p in list.list {
        let size = dec("size", &p.size)?;
        let Some(side) = parse_bybit_side(&p.side)? else {
            continue;
        };
        if size.is_zero() {
            continue;
        }
        out.push(PositionReport {
            symbol: symbol(&p.symbol)?,
            qty: size * side.sign(),
            entry_price: dec("avgPrice", &p.avg_price)?,
            mark_price: dec("markPrice", &p.mark_price)?,
            unrealized_pnl: dec("unrealisedPnl", &p.unrealised_pnl)?,
            leverage: if p.leverage.is_empty() {
                None
            } else {
                Some(dec("leverage", &p.leverage)?)
            },
        });
    }
    Ok(out)
}

/// Reference price: last on spot, mark on linear.
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_ticker(market: Market, resp: &HttpResponse) -> Result<Ticker, VenueError> {
    let list: ByList<ByTicker> = payload("tickers", resp)?;
    let t = list
        .list
        .into_iter()
        .next()
        .ok_or_else(|| VenueError::parse("tickers", "empty list"))?;
    let mark = t
        .mark_price
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| dec("markPrice", m))
        .transpose()?;
    let price = match (market, mark) {
        (Market::Linear, Some(m)) => m,
        _ => dec("lastPrice", &t.last_price)?,
    };
    Ok(Ticker {
        symbol: symbol(&t.symbol)?,
        price,
        mark_price: mark,
    })
}

/// Instrument rules (spot: step = basePrecision, min notional = minOrderAmt; linear: qtyStep,
/// minNotionalValue, maxMktOrderQty).
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_rules(resp: &HttpResponse) -> Result<Vec<InstrumentRules>, VenueError> {
    let list: ByList<ByInstrument> = payload("instruments-info", resp)?;
    list.list.iter().map(instrument_rules).collect()
}

fn instrument_rules(i: &ByInstrument) -> Result<InstrumentRules, VenueError> {
    let l = &i.lot_size_filter;
    let step = if l.qty_step.is_empty() {
        &l.base_precision
    } else {
        &l.qty_step
    };
    let max_qty = if l.max_limit_order_qty.is_empty() {
        &l.max_order_qty
    } else {
        &l.max_limit_order_qty
    };
    let max_mkt = if l.max_mkt_order_qty.is_empty() {
        &l.max_market_order_qty
    } else {
        &l.max_mkt_order_qty
    };
    let min_notional = if l.min_notional_value.is_empty() {
        &l.min_order_amt
    } else {
        &l.min_notional_value
    };
    Ok(InstrumentRules {
        symbol: symbol(&i.symbol)?,
        base_asset: i.base_coin.clone(),
        quote_asset: i.quote_coin.clone(),
        tick_size: dec("tickSize", &i.price_filter.tick_size)?,
        step_size: dec("qtyStep", step)?,
        min_qty: dec("minOrderQty", &l.min_order_qty)?,
        max_qty: dec("maxOrderQty", max_qty)?,
        max_market_qty: dec("maxMktOrderQty", max_mkt)?,
        min_notional: dec("minNotionalValue", min_notional)?,
        min_price: dec("minPrice", &i.price_filter.min_price)?,
        max_price: dec("maxPrice", &i.price_filter.max_price)?,
    })
}
