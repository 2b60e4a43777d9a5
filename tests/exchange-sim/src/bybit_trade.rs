//! Bybit V5 trading endpoints for `category=spot|linear`: create, cancel, cancel-all, order
//! queries, executions (cursor pages) and closed P&L, with Bybit's validation codes.

use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::bybit::category;
use crate::conditional::{self, Conditional, ExitKind, TriggerStatus};
use crate::config::Venue;
use crate::filters::{self, FilterFail};
use crate::http::Params;
use crate::matching::{NewOrder, Reject};
use crate::model::{id_of_uuid, uuid_of, OrdType, Order, Side, Status, Tif, Trade};
use crate::state::State;

type R = Result<Value, (i64, String)>;

fn e(code: i64, msg: &str) -> (i64, String) {
    (code, msg.to_string())
}

fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

fn need<'a>(p: &'a Params, k: &str) -> Result<&'a str, (i64, String)> {
    p.get(k)
        .ok_or_else(|| (10001, format!("params error: {k} is required")))
}

fn bad_symbol(venue: Venue) -> (i64, String) {
    if venue == Venue::BybitSpot {
        e(170121, "Invalid symbol.")
    } else {
        e(10001, "params error: symbol invalid")
    }
}

fn filter_error(venue: Venue, f: FilterFail, min_notional: Decimal) -> (i64, String) {
    if venue == Venue::BybitSpot {
        return match f {
            FilterFail::PricePrecision | FilterFail::PriceTick => {
                e(170134, "Order price has too many decimals.")
            }
            FilterFail::PriceRange => e(170193, "Buy order price cannot be higher than 0USDT."),
            FilterFail::QtyPrecision | FilterFail::QtyStep => {
                e(170137, "Order quantity has too many decimals.")
            }
            FilterFail::QtyMin => e(170136, "Order quantity exceeded lower limit."),
            FilterFail::QtyMax | FilterFail::MarketQtyMax => {
                e(170135, "Order quantity exceeded upper limit.")
            }
            FilterFail::Notional => e(170140, "Order value exceeded lower limit."),
        };
    }
    match f {
        FilterFail::PricePrecision | FilterFail::PriceTick | FilterFail::PriceRange => {
            e(10001, "params error: price invalid")
        }
        FilterFail::QtyPrecision | FilterFail::QtyStep => e(10001, "Qty invalid"),
        FilterFail::QtyMin => e(
            10001,
            "The number of contracts exceeds minimum limit allowed",
        ),
        FilterFail::QtyMax | FilterFail::MarketQtyMax => e(
            10001,
            "The number of contracts exceeds maximum limit allowed",
        ),
        FilterFail::Notional => (
            110094,
            format!(
                "Order does not meet minimum order value {}USDT",
                s(min_notional)
            ),
        ),
    }
}

fn dec(p: &Params, k: &str) -> Result<Option<Decimal>, (i64, String)> {
    match p.get(k) {
        None => Ok(None),
        Some(v) => v
            .parse::<Decimal>()
            .map(Some)
            .map_err(|_| (10001, format!("params error: {k} invalid"))),
    }
}

/// `POST /v5/order/create`.
///
/// # Errors
/// Bybit `(retCode, retMsg)`.
pub fn create(st: &mut State, account: usize, p: &Params, now: i64) -> R {
    let venue = category(p)?;
    let symbol = need(p, "symbol")?.to_string();
    let inst = st
        .instrument(venue, &symbol)
        .ok_or_else(|| bad_symbol(venue))?
        .cfg
        .clone();
    let side = match need(p, "side")? {
        "Buy" => Side::Buy,
        "Sell" => Side::Sell,
        _ => return Err(e(10001, "params error: side invalid")),
    };
    let kind = match need(p, "orderType")? {
        "Market" => OrdType::Market,
        "Limit" => OrdType::Limit,
        _ => return Err(e(10001, "params error: orderType invalid")),
    };
    let qty_raw = dec(p, "qty")?.ok_or_else(|| e(10001, "params error: qty is required"))?;
    let price = if kind == OrdType::Limit {
        Some(
            dec(p, "price")?
                .ok_or_else(|| e(10001, "params error: price is required for Limit order"))?,
        )
    } else {
        None
    };
    let tif = match (kind, p.get("timeInForce").unwrap_or("GTC")) {
        (OrdType::Market, _) => Tif::Ioc,
        (_, "GTC") => Tif::Gtc,
        (_, "IOC") => Tif::Ioc,
        (_, "FOK") => Tif::Fok,
        (_, "PostOnly") => Tif::PostOnly,
        _ => return Err(e(10001, "params error: timeInForce invalid")),
    };
    let link = p.get("orderLinkId").unwrap_or_default().to_string();
    if link.len() > 36
        || !link
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(e(10001, "params error: orderLinkId invalid"));
    }
    if p.get("orderFilter") == Some("tpslOrder") {
        return spot_tpsl(
            st, account, venue, &symbol, side, kind, qty_raw, &link, p, now,
        );
    }
    let reduce_only = venue == Venue::BybitLinear && p.get("reduceOnly") == Some("true");
    if venue == Venue::BybitLinear && p.get("positionIdx").is_some_and(|x| x != "0") {
        return Err(e(
            10001,
            "params error: position idx not match position mode",
        ));
    }
    let quote_unit = venue == Venue::BybitSpot
        && kind == OrdType::Market
        && match p.get("marketUnit") {
            Some("baseCoin") => false,
            Some("quoteCoin") => true,
            Some(_) => return Err(e(10001, "params error: marketUnit invalid")),
            None => side == Side::Buy,
        };
    let (qty, quote_qty) = if quote_unit {
        (None, Some(qty_raw))
    } else {
        (Some(qty_raw), None)
    };
    if quote_unit && qty_raw.normalize().scale() > 8 {
        return Err(e(170148, "Market order amount decimals too long"));
    }
    if qty_raw.is_zero() {
        return Err(if venue == Venue::BybitSpot {
            e(170136, "Order quantity exceeded lower limit.")
        } else {
            e(110017, "orderQty will be truncated to zero.")
        });
    }
    let ref_price = st.taker_price(venue, &symbol, side).unwrap_or(inst.price);
    let mut check = filters::check(&inst, kind, price, qty, quote_qty, ref_price);
    if reduce_only && check == Err(FilterFail::Notional) {
        check = Ok(());
    }
    check.map_err(|f| filter_error(venue, f, inst.min_notional))?;
    let base_price = price.unwrap_or(inst_price(st, venue, &symbol));
    let exits = tpsl(
        p,
        venue,
        kind,
        reduce_only,
        side,
        base_price,
        inst.tick_size,
    )?;
    let client_id = if link.is_empty() && venue == Venue::BybitSpot {
        format!("{}{}", now, st.orders.len())
    } else {
        link
    };
    let req = NewOrder {
        venue,
        account,
        symbol,
        side,
        kind,
        tif,
        limit_maker: false,
        qty: qty.unwrap_or_default(),
        quote_qty,
        price,
        client_id,
        reduce_only,
        now,
    };
    let id = st.place(req).map_err(|r| match (r, venue) {
        (Reject::InsufficientBalance, Venue::BybitSpot) => e(170131, "Insufficient balance."),
        (Reject::InsufficientBalance, _) => e(110007, "ab not enough for new order"),
        (Reject::DuplicateClientId, Venue::BybitSpot) => e(170141, "Duplicate clientOrderId."),
        (Reject::DuplicateClientId, _) => e(110072, "OrderLinkedID is duplicate"),
        (Reject::ReduceOnly, _) => e(
            110017,
            "current position is zero, cannot fix reduce-only order qty",
        ),
        (Reject::ZeroQty, _) => e(170136, "Order quantity exceeded lower limit."),
        (_, v) => bad_symbol(v),
    })?;
    let link = st
        .order(id)
        .map(|o| o.client_id.clone())
        .unwrap_or_default();
    let close_side = if side == Side::Buy {
        Side::Sell
    } else {
        Side::Buy
    };
    for (kind, trigger) in exits {
        st.add_conditional(Conditional {
            id: 0,
            venue,
            account,
            symbol: symbol_of(st, id),
            kind,
            trigger,
            close_side,
            parent_id: id,
            client_id: String::new(),
            status: TriggerStatus::Untriggered,
            order_id: None,
            qty: Decimal::ZERO,
            sibling: None,
            locked: Decimal::ZERO,
            time: now,
        });
    }
    Ok(json!({"orderId": uuid_of("5f3c1a2b", id), "orderLinkId": link}))
}

/// A spot TP/SL order (`orderFilter=tpslOrder`): a market sell of `qty` once the last price
/// touches `triggerPrice` (a stop-loss below the price, a take-profit above), the quantity locked
/// from placement as Bybit does. The simulator models sells (exits of a holding) only.
#[allow(clippy::too_many_arguments)]
fn spot_tpsl(
    st: &mut State,
    account: usize,
    venue: Venue,
    symbol: &str,
    side: Side,
    kind: OrdType,
    qty: Decimal,
    link: &str,
    p: &Params,
    now: i64,
) -> R {
    if venue != Venue::BybitSpot {
        return Err(e(10001, "params error: orderFilter is valid for spot only"));
    }
    if side != Side::Sell || kind != OrdType::Market {
        return Err(e(
            10001,
            "params error: simulator supports spot TP/SL market sells only",
        ));
    }
    let trigger = dec(p, "triggerPrice")?
        .ok_or_else(|| e(10001, "params error: triggerPrice is required"))?;
    let Some((cfg, last)) = st
        .instrument(venue, symbol)
        .map(|i| (i.cfg.clone(), i.price))
    else {
        return Err(bad_symbol(venue));
    };
    if trigger <= Decimal::ZERO || !filters::is_multiple(trigger, cfg.tick_size) {
        return Err(e(170134, "Order price has too many decimals."));
    }
    let exit = if trigger < last {
        ExitKind::StopLoss
    } else if trigger > last {
        ExitKind::TakeProfit
    } else {
        return Err(e(
            170224,
            "TriggerPrice cannot be equal to the market price.",
        ));
    };
    filters::check(&cfg, OrdType::Market, None, Some(qty), None, trigger)
        .map_err(|f| filter_error(venue, f, cfg.min_notional))?;
    let taken = !link.is_empty()
        && (st.order_by_client_id(account, venue, link).is_some()
            || st
                .conditionals
                .iter()
                .any(|c| c.account == account && c.venue == venue && c.client_id == link));
    if taken {
        return Err(e(170141, "Duplicate clientOrderId."));
    }
    st.accounts
        .get_mut(account)
        .ok_or_else(|| e(170131, "Insufficient balance."))?
        .spot
        .lock(&cfg.base, qty)
        .map_err(|_| e(170131, "Insufficient balance."))?;
    let id = st.add_conditional(Conditional {
        id: 0,
        venue,
        account,
        symbol: symbol.to_string(),
        kind: exit,
        trigger,
        close_side: side,
        parent_id: 0,
        client_id: link.to_string(),
        status: TriggerStatus::Untriggered,
        order_id: None,
        qty,
        sibling: None,
        locked: qty,
        time: now,
    });
    Ok(json!({"orderId": uuid_of("5f3c1a2b", id), "orderLinkId": link}))
}

fn inst_price(st: &State, venue: Venue, symbol: &str) -> Decimal {
    st.instrument(venue, symbol)
        .map_or(Decimal::ZERO, |i| i.price)
}

fn symbol_of(st: &State, id: u64) -> String {
    st.order(id).map(|o| o.symbol.clone()).unwrap_or_default()
}

/// `takeProfit` / `stopLoss` on create, checked as Bybit does: linear in `tpslMode=Full` only
/// (the mode the simulator models), spot on limit orders only, never on reduce-only orders, each
/// on the tick and on the right side of the base price.
fn tpsl(
    p: &Params,
    venue: Venue,
    kind: OrdType,
    reduce_only: bool,
    side: Side,
    base_price: Decimal,
    tick: Decimal,
) -> Result<Vec<(ExitKind, Decimal)>, (i64, String)> {
    let mut exits = Vec::new();
    for (key, exit) in [
        ("takeProfit", ExitKind::TakeProfit),
        ("stopLoss", ExitKind::StopLoss),
    ] {
        if let Some(trigger) = dec(p, key)?.filter(|d| !d.is_zero()) {
            exits.push((exit, trigger));
        }
    }
    if exits.is_empty() {
        return Ok(exits);
    }
    if reduce_only {
        return Err(e(
            10001,
            "params error: TP/SL is not allowed on reduce-only orders",
        ));
    }
    if venue == Venue::BybitSpot && kind != OrdType::Limit {
        return Err(e(170130, "Spot TP/SL is supported on limit orders only."));
    }
    if venue == Venue::BybitLinear && p.get("tpslMode").is_some_and(|m| m != "Full") {
        return Err(e(
            10001,
            "params error: tpslMode invalid (simulator supports Full)",
        ));
    }
    for (exit, trigger) in &exits {
        conditional::validate(*exit, *trigger, side, base_price, tick).map_err(|m| (10001, m))?;
    }
    Ok(exits)
}

fn find(st: &State, venue: Venue, account: usize, p: &Params) -> Option<u64> {
    let sym = p.get("symbol");
    let hit =
        |o: &&Order| o.account == account && o.venue == venue && sym.is_none_or(|x| x == o.symbol);
    if let Some(oid) = p.get("orderId") {
        return id_of_uuid(oid)
            .and_then(|id| st.order(id))
            .filter(hit)
            .map(|o| o.id);
    }
    let link = p.get("orderLinkId")?;
    st.orders
        .iter()
        .rev()
        .filter(hit)
        .find(|o| o.client_id == link)
        .map(|o| o.id)
}

fn not_found(venue: Venue) -> (i64, String) {
    if venue == Venue::BybitSpot {
        e(170213, "Order does not exist.")
    } else {
        e(110001, "Order does not exist.")
    }
}

/// `POST /v5/order/cancel`.
///
/// # Errors
/// `110001` / `170213` when the order is unknown or no longer open.
pub fn cancel(st: &mut State, account: usize, p: &Params, now: i64) -> R {
    let venue = category(p)?;
    need(p, "symbol")?;
    if p.get("orderId").is_none() && p.get("orderLinkId").is_none() {
        return Err(e(10001, "params error: orderId or orderLinkId is required"));
    }
    if p.get("orderFilter") == Some("tpslOrder") {
        return crate::exit_cancel::cancel_tpsl(st, account, venue, p)
            .ok_or_else(|| not_found(venue));
    }
    let id = find(st, venue, account, p).ok_or_else(|| not_found(venue))?;
    if !st.cancel(id, now) {
        return Err(not_found(venue));
    }
    let link = st
        .order(id)
        .map(|o| o.client_id.clone())
        .unwrap_or_default();
    Ok(json!({"orderId": uuid_of("5f3c1a2b", id), "orderLinkId": link}))
}

/// `POST /v5/order/cancel-all`.
///
/// # Errors
/// `10001` when linear has no symbol/baseCoin/settleCoin.
pub fn cancel_all(st: &mut State, account: usize, p: &Params, now: i64) -> R {
    let venue = category(p)?;
    let sym = p.get("symbol");
    if venue == Venue::BybitLinear
        && sym.is_none()
        && p.get("settleCoin").is_none()
        && p.get("baseCoin").is_none()
    {
        return Err(e(
            10001,
            "params error: symbol, baseCoin or settleCoin is required",
        ));
    }
    let ids: Vec<u64> = st
        .orders
        .iter()
        .filter(|o| {
            o.account == account
                && o.venue == venue
                && o.status.is_open()
                && sym.is_none_or(|x| x == o.symbol)
        })
        .map(|o| o.id)
        .collect();
    let mut list = Vec::new();
    for id in ids {
        st.cancel(id, now);
        let link = st
            .order(id)
            .map(|o| o.client_id.clone())
            .unwrap_or_default();
        list.push(json!({"orderId": uuid_of("5f3c1a2b", id), "orderLinkId": link}));
    }
    Ok(json!({"list": list, "success": "1"}))
}

fn status_str(o: &Order) -> &'static str {
    match o.status {
        Status::New => "New",
        Status::PartiallyFilled => "PartiallyFilled",
        Status::Filled => "Filled",
        Status::Canceled | Status::Expired
            if o.venue == Venue::BybitSpot && !o.executed_qty.is_zero() =>
        {
            "PartiallyFilledCanceled"
        }
        Status::Canceled | Status::Expired => "Cancelled",
    }
}

/// An order row as `GET /v5/order/realtime` serves it (the `order` stream topic reuses it).
pub fn order_json(st: &State, o: &Order) -> Value {
    let quote_unit = !o.quote_qty.is_zero();
    let qty = if quote_unit { o.quote_qty } else { o.orig_qty };
    let leaves = if o.status.is_open() {
        o.remaining()
    } else {
        Decimal::ZERO
    };
    let fee_coin = if o.fee_asset.is_empty() {
        st.instrument(o.venue, &o.symbol)
            .map(|i| i.cfg.quote.clone())
            .unwrap_or_default()
    } else {
        o.fee_asset.clone()
    };
    let cancel_type = match o.status {
        Status::Canceled if !o.reject_reason.is_empty() => "CancelByUser",
        Status::Canceled => "CancelByUser",
        Status::Expired => "CancelByUser",
        _ => "UNKNOWN",
    };
    let tif = match o.tif {
        Tif::Gtc => "GTC",
        Tif::Ioc => "IOC",
        Tif::Fok => "FOK",
        Tif::PostOnly => "PostOnly",
    };
    json!({"orderId": uuid_of("5f3c1a2b", o.id), "orderLinkId": o.client_id, "blockTradeId": "", "symbol": o.symbol,
        "price": if o.kind == OrdType::Market { "0".to_string() } else { s(o.price) }, "qty": s(qty),
        "side": if o.side == Side::Buy { "Buy" } else { "Sell" }, "isLeverage": if o.venue == Venue::BybitSpot { "0" } else { "" },
        "positionIdx": 0, "orderStatus": status_str(o), "createType": "CreateByUser", "cancelType": cancel_type,
        "rejectReason": if o.reject_reason.is_empty() { "EC_NoError" } else { o.reject_reason.as_str() },
        "avgPrice": if o.executed_qty.is_zero() { String::new() } else { s(o.avg_price()) }, "leavesQty": s(leaves),
        "leavesValue": s(leaves * o.price), "cumExecQty": s(o.executed_qty), "cumExecValue": s(o.cum_quote), "cumExecFee": s(o.cum_fee),
        "cumFeeDetail": if o.cum_fee.is_zero() { json!({}) } else { json!({fee_coin: s(o.cum_fee)}) },
        "timeInForce": tif, "orderType": if o.kind == OrdType::Market { "Market" } else { "Limit" }, "stopOrderType": "",
        "orderIv": "", "marketUnit": if o.venue == Venue::BybitSpot && o.kind == OrdType::Market { if quote_unit { "quoteCoin" } else { "baseCoin" } } else { "" },
        "triggerPrice": "", "takeProfit": "", "stopLoss": "", "tpslMode": "", "ocoTriggerBy": "", "tpLimitPrice": "", "slLimitPrice": "",
        "tpTriggerBy": "", "slTriggerBy": "", "triggerDirection": 0, "triggerBy": "", "lastPriceOnCreated": "", "basePrice": "",
        "reduceOnly": o.reduce_only, "closeOnTrigger": false, "placeType": "", "smpType": "None", "smpGroup": 0, "smpOrderId": "",
        "createdTime": o.time.to_string(), "updatedTime": o.update_time.to_string()})
}

/// One page of `items` per Bybit `limit`/`cursor` (cursor `page_N`, empty when done).
///
/// # Errors
/// `10001` for a bad limit or cursor.
pub fn page<T: Clone>(
    items: Vec<T>,
    p: &Params,
    default: usize,
    max: usize,
) -> Result<(Vec<T>, String), (i64, String)> {
    let limit = match p.get("limit") {
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| e(10001, "params error: limit invalid"))?
            .clamp(1, max),
        None => default,
    };
    let start: usize = match p.get("cursor") {
        Some(c) => c
            .strip_prefix("page_")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| e(10001, "params error: cursor invalid"))?,
        None => 0,
    };
    let end = (start + limit).min(items.len());
    let out = items
        .get(start.min(items.len())..end)
        .map(<[T]>::to_vec)
        .unwrap_or_default();
    let next = if end < items.len() {
        format!("page_{end}")
    } else {
        String::new()
    };
    Ok((out, next))
}

/// `GET /v5/order/realtime` (`history=false`) and `GET /v5/order/history`.
///
/// # Errors
/// `10001` when linear has no symbol/baseCoin/settleCoin.
pub fn orders(st: &mut State, account: usize, p: &Params, history: bool) -> R {
    let venue = category(p)?;
    let sym = p.get("symbol");
    if !history
        && venue == Venue::BybitLinear
        && sym.is_none()
        && p.get("settleCoin").is_none()
        && p.get("baseCoin").is_none()
    {
        return Err(e(
            10001,
            "params error: symbol, baseCoin or settleCoin is required",
        ));
    }
    let by_id = p.get("orderId").is_some() || p.get("orderLinkId").is_some();
    let open_only = p.get("openOnly").unwrap_or("0") == "0";
    let list: Vec<&Order> = if by_id {
        find(st, venue, account, p)
            .and_then(|id| st.order(id))
            .into_iter()
            .collect()
    } else {
        st.orders
            .iter()
            .rev()
            .filter(|o| {
                o.account == account && o.venue == venue && sym.is_none_or(|x| x == o.symbol)
            })
            .filter(|o| history || o.status.is_open() == open_only)
            .collect()
    };
    let (list, next) = page(list, p, 20, 50)?;
    let list: Vec<Value> = list.into_iter().map(|o| order_json(st, o)).collect();
    Ok(json!({"category": p.get("category"), "list": list, "nextPageCursor": next}))
}

/// An execution row as `GET /v5/execution/list` serves it (the `execution` stream topic reuses it,
/// so a fill has the same `execId` on both).
pub fn execution_row(st: &State, venue: Venue, t: &Trade) -> Value {
    let o = st.order(t.order_id);
    let mark = st
        .instrument(venue, &t.symbol)
        .map(|i| i.price)
        .unwrap_or_default();
    // A close sent by a fired TP/SL says so, as Bybit's executions do.
    let (create_type, stop_type) = match st
        .conditionals
        .iter()
        .find(|c| c.venue == venue && c.order_id == Some(t.order_id))
        .map(|c| c.kind)
    {
        Some(ExitKind::StopLoss) => ("CreateByStopLoss", "StopLoss"),
        Some(ExitKind::TakeProfit) => ("CreateByTakeProfit", "TakeProfit"),
        None => ("CreateByUser", ""),
    };
    json!({"symbol": t.symbol, "orderId": uuid_of("5f3c1a2b", t.order_id), "orderLinkId": o.map(|o| o.client_id.clone()).unwrap_or_default(),
                "side": if t.side == Side::Buy { "Buy" } else { "Sell" }, "orderPrice": o.map(|o| s(o.price)).unwrap_or_default(),
                "orderQty": o.map(|o| s(o.orig_qty)).unwrap_or_default(), "leavesQty": o.map(|o| s(o.remaining())).unwrap_or_default(),
                "createType": create_type, "orderType": o.map(|o| if o.kind == OrdType::Market { "Market" } else { "Limit" }).unwrap_or_default(),
                "stopOrderType": stop_type, "execFee": s(t.commission), "execFeeV2": "", "execId": uuid_of("e0e0e0e0", t.id), "execPrice": s(t.price),
                "execQty": s(t.qty), "execType": "Trade", "execValue": s(t.quote_qty), "execTime": t.time.to_string(),
                "feeCurrency": t.commission_asset, "isMaker": t.is_maker, "feeRate": s(t.fee_rate), "tradeIv": "", "markIv": "",
                "markPrice": s(mark), "indexPrice": "", "underlyingPrice": "", "blockTradeId": "", "closedSize": s(t.closed_size),
                "seq": t.id, "extraFees": ""})
}

/// `GET /v5/execution/list`: newest first, 50 per page by default, `cursor` pages.
///
/// # Errors
/// `10001` for bad parameters.
pub fn executions(st: &mut State, account: usize, p: &Params, now: i64) -> R {
    let venue = category(p)?;
    let sym = p.get("symbol");
    let oid = p.get("orderId").map(|o| id_of_uuid(o).unwrap_or(u64::MAX));
    let link = p.get("orderLinkId");
    let num = |k: &str| {
        p.get(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| (10001, format!("params error: {k} invalid")))
            })
            .transpose()
    };
    let start = num("startTime")?;
    let end = num("endTime")?;
    let (from, to) = match (start, end) {
        (None, None) => (now - 7 * 86_400_000, i64::MAX),
        (Some(s), None) => (s, s + 7 * 86_400_000),
        (None, Some(e)) => (e - 7 * 86_400_000, e),
        (Some(s), Some(e)) => (s, e),
    };
    let list: Vec<_> = st
        .trades
        .iter()
        .rev()
        .filter(|t| t.account == account && t.venue == venue && sym.is_none_or(|x| x == t.symbol))
        .filter(|t| oid.is_none_or(|o| o == t.order_id))
        .filter(|t| link.is_none_or(|l| st.order(t.order_id).is_some_and(|o| o.client_id == l)))
        .filter(|t| t.time >= from && t.time <= to)
        .collect();
    let mut rows: Vec<(i64, Value)> = list
        .into_iter()
        .map(|t| (t.time, execution_row(st, venue, t)))
        .collect();
    // Funding settlements are executions too (`execType` `Funding`, `execFee` the fee paid),
    // as on Bybit; they belong to no order.
    if venue == Venue::BybitLinear && oid.is_none() && link.is_none() {
        rows.extend(
            st.income
                .iter()
                .rev()
                .filter(|i| i.account == account && i.venue == venue && i.kind == "SETTLEMENT")
                .filter(|i| sym.is_none_or(|x| x == i.symbol) && i.time >= from && i.time <= to)
                .map(|i| (i.time, funding_execution(i))),
        );
        // Newest first; both parts already are, and the sort is stable.
        rows.sort_by_key(|(time, _)| std::cmp::Reverse(*time));
    }
    let (list, next) = page(rows, p, 50, 100)?;
    let items: Vec<Value> = list.into_iter().map(|(_, v)| v).collect();
    Ok(json!({"category": p.get("category"), "list": items, "nextPageCursor": next}))
}

/// One funding settlement as Bybit lists it among executions: `execFee` is the fee paid
/// (negative when received), `execPrice` the mark price, `feeRate` the funding rate.
pub fn funding_execution(i: &crate::model::Income) -> Value {
    let (amt, mark, rate) = i.funding_basis.unwrap_or_default();
    json!({"symbol": i.symbol, "orderId": "", "orderLinkId": "", "side": if amt >= Decimal::ZERO { "Buy" } else { "Sell" },
        "orderPrice": "", "orderQty": "", "leavesQty": "", "createType": "", "orderType": "UNKNOWN", "stopOrderType": "",
        "execFee": s(-i.income), "execFeeV2": "", "execId": uuid_of("f0f0f0f0", i.tran_id), "execPrice": s(mark),
        "execQty": s(amt.abs()), "execType": "Funding", "execValue": s(amt.abs() * mark), "execTime": i.time.to_string(),
        "feeCurrency": i.asset, "isMaker": false, "feeRate": s(rate), "tradeIv": "", "markIv": "", "markPrice": s(mark),
        "indexPrice": "", "underlyingPrice": "", "blockTradeId": "", "closedSize": "0", "seq": i.tran_id, "extraFees": ""})
}

/// `GET /v5/position/closed-pnl`: one row per closing fill (linear).
///
/// # Errors
/// `10001` for a non-linear category.
pub fn closed_pnl(st: &mut State, account: usize, p: &Params, _: i64) -> R {
    if category(p)? != Venue::BybitLinear {
        return Err(e(
            10001,
            "params error: category only support linear, inverse",
        ));
    }
    let sym = p.get("symbol");
    let list: Vec<_> = st
        .trades
        .iter()
        .rev()
        .filter(|t| {
            t.account == account
                && t.venue == Venue::BybitLinear
                && sym.is_none_or(|x| x == t.symbol)
                && !t.closed_size.is_zero()
        })
        .collect();
    let (list, next) = page(list, p, 50, 100)?;
    let items: Vec<Value> = list
        .into_iter()
        .map(|t| {
            let dir = if t.side == Side::Sell { Decimal::ONE } else { -Decimal::ONE };
            let entry = t.price - t.realized_pnl / (t.closed_size * dir);
            let lev = st.accounts.get(account).map(|a| a.leverage_of(Venue::BybitLinear, &t.symbol)).unwrap_or(20);
            json!({"symbol": t.symbol, "orderType": st.order(t.order_id).map(|o| if o.kind == OrdType::Market { "Market" } else { "Limit" }).unwrap_or("Market"),
                "leverage": lev.to_string(), "updatedTime": t.time.to_string(), "side": if t.side == Side::Buy { "Buy" } else { "Sell" },
                "orderId": uuid_of("5f3c1a2b", t.order_id), "closedPnl": s(t.realized_pnl - t.commission), "avgEntryPrice": s(entry.round_dp(8)),
                "qty": s(t.closed_size), "cumEntryValue": s((entry * t.closed_size).round_dp(8)), "createdTime": t.time.to_string(),
                "orderPrice": s(t.price), "closedSize": s(t.closed_size), "avgExitPrice": s(t.price), "execType": "Trade", "fillCount": "1",
                "cumExitValue": s(t.price * t.closed_size), "openFee": "0", "closeFee": s(t.commission)})
        })
        .collect();
    Ok(json!({"category": "linear", "list": items, "nextPageCursor": next}))
}
