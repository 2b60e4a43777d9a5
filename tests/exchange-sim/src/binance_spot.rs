//! Binance Spot `/api/v3`: market data, orders (ACK/RESULT/FULL), cancels, queries, account and
//! trade history, with the documented weights and response shapes (all numbers as strings).

use serde_json::{json, Value};

use crate::binance::{self, arr, err, fixed, run, side_str, status_str, tif_str, Endpoint};
use crate::config::Venue;
use crate::http::{Params, Req, Resp};
use crate::model::{OrdType, Order};
use crate::state::State;
use crate::{lock, Sim};

const V: Venue = Venue::BinanceSpot;

fn ep(weight: u64, signed: bool) -> Endpoint {
    Endpoint {
        futures: false,
        weight,
        signed,
    }
}

/// Routes one `/api/v3/...` request.
pub fn handle(sim: &Sim, req: &Req) -> Resp {
    let has_symbol = Params::from_req(req).get("symbol").is_some();
    let has_order_id = Params::from_req(req).get("orderId").is_some();
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/api/v3/ping") => run(sim, req, ep(1, false), |_, _, _, _| {
            Resp::json(200, &json!({}))
        }),
        ("GET", "/api/v3/time") => run(sim, req, ep(1, false), |_, _, _, now| {
            Resp::json(200, &json!({"serverTime": now}))
        }),
        ("GET", "/api/v3/klines") => run(sim, req, ep(2, false), |st, _, p, now| {
            crate::klines::binance(st, V, p, now)
        }),
        ("GET", "/api/v3/exchangeInfo") => run(sim, req, ep(20, false), exchange_info),
        ("GET", "/api/v3/ticker/price") => {
            run(sim, req, ep(if has_symbol { 2 } else { 4 }, false), ticker)
        }
        ("POST", "/api/v3/order") => run(sim, req, ep(1, true), |st, a, p, now| {
            new_order(sim, st, a, p, now, false)
        }),
        ("POST", "/api/v3/order/test") => run(sim, req, ep(1, true), |st, a, p, now| {
            new_order(sim, st, a, p, now, true)
        }),
        ("POST", "/api/v3/orderList/oco") => {
            run(sim, req, ep(1, true), crate::binance_oco::new_oco)
        }
        ("DELETE", "/api/v3/order") => run(sim, req, ep(1, true), cancel),
        ("GET", "/api/v3/order") => run(sim, req, ep(4, true), query),
        ("GET", "/api/v3/openOrders") => run(
            sim,
            req,
            ep(if has_symbol { 6 } else { 80 }, true),
            open_orders,
        ),
        ("DELETE", "/api/v3/openOrders") => run(sim, req, ep(1, true), cancel_all),
        ("GET", "/api/v3/account") => run(sim, req, ep(20, true), account),
        ("GET", "/api/v3/myTrades") => run(
            sim,
            req,
            ep(if has_order_id { 5 } else { 20 }, true),
            my_trades,
        ),
        _ => err(404, -1, "Not found"),
    }
}

fn exchange_info(st: &mut State, _: usize, p: &Params, now: i64) -> Resp {
    let mut wanted: Option<Vec<String>> = p.get("symbol").map(|s| vec![s.to_string()]);
    if let Some(list) = p.get("symbols") {
        wanted = serde_json::from_str(list).ok();
    }
    let rl = &st.cfg.rate_limits;
    let symbols: Vec<Value> = st
        .instruments
        .values()
        .filter(|i| i.cfg.venue == V && wanted.as_ref().is_none_or(|w| w.contains(&i.cfg.symbol)))
        .map(|i| {
            let c = &i.cfg;
            json!({"symbol": c.symbol, "status": "TRADING", "baseAsset": c.base, "baseAssetPrecision": 8, "quoteAsset": c.quote,
                "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "icebergAllowed": false, "ocoAllowed": false, "otoAllowed": false,
                "quoteOrderQtyMarketAllowed": true, "allowTrailingStop": false, "cancelReplaceAllowed": false, "amendAllowed": false,
                "isSpotTradingAllowed": true, "isMarginTradingAllowed": false,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": fixed(c.min_price, 8), "maxPrice": fixed(c.max_price, 8), "tickSize": fixed(c.tick_size, 8)},
                    {"filterType": "LOT_SIZE", "minQty": fixed(c.min_qty, 8), "maxQty": fixed(c.max_qty, 8), "stepSize": fixed(c.step_size, 8)},
                    {"filterType": "MARKET_LOT_SIZE", "minQty": fixed(c.min_qty, 8), "maxQty": fixed(c.max_market_qty, 8), "stepSize": fixed(c.step_size, 8)},
                    {"filterType": "NOTIONAL", "minNotional": fixed(c.min_notional, 8), "applyMinToMarket": true, "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5},
                    {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200}
                ],
                "permissions": [], "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT"]})
        })
        .collect();
    if wanted.is_some() && symbols.is_empty() {
        return err(400, -1121, "Invalid symbol.");
    }
    Resp::json(
        200,
        &json!({"timezone": "UTC", "serverTime": now,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": rl.binance_spot_weight_1m},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": rl.binance_spot_orders_10s},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": rl.binance_spot_orders_1d},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000}],
        "exchangeFilters": [], "symbols": symbols}),
    )
}

fn ticker(st: &mut State, _: usize, p: &Params, _: i64) -> Resp {
    let one = |s: &str| {
        st.instrument(V, s)
            .map(|i| json!({"symbol": s, "price": fixed(i.price, 8)}))
    };
    if let Some(s) = p.get("symbol") {
        return one(s).map_or_else(
            || err(400, -1121, "Invalid symbol."),
            |v| Resp::json(200, &v),
        );
    }
    let list: Vec<String> = match p.get("symbols") {
        Some(l) => serde_json::from_str(l).unwrap_or_default(),
        None => st
            .instruments
            .keys()
            .filter(|(v, _)| *v == V)
            .map(|(_, s)| s.clone())
            .collect(),
    };
    let out: Option<Vec<Value>> = list.iter().map(|s| one(s)).collect();
    out.map_or_else(
        || err(400, -1121, "Invalid symbol."),
        |v| Resp::json(200, &arr(v)),
    )
}

/// Order object as GET /api/v3/order returns it.
pub fn order_json(o: &Order) -> Value {
    json!({"symbol": o.symbol, "orderId": o.id, "orderListId": -1, "clientOrderId": o.client_id,
        "price": fixed(o.price, 8), "origQty": fixed(o.orig_qty, 8), "executedQty": fixed(o.executed_qty, 8),
        "cummulativeQuoteQty": fixed(o.cum_quote, 8), "status": status_str(o.status), "timeInForce": tif_str(if o.limit_maker || o.kind == OrdType::Market { crate::model::Tif::Gtc } else { o.tif }),
        "type": type_str(o), "side": side_str(o.side), "stopPrice": "0.00000000", "icebergQty": "0.00000000",
        "time": o.time, "updateTime": o.update_time, "isWorking": true, "workingTime": o.time,
        "origQuoteOrderQty": fixed(o.quote_qty, 8), "selfTradePreventionMode": "EXPIRE_MAKER"})
}

fn type_str(o: &Order) -> &'static str {
    match (o.kind, o.limit_maker) {
        (OrdType::Market, _) => "MARKET",
        (OrdType::Limit, true) => "LIMIT_MAKER",
        (OrdType::Limit, false) => "LIMIT",
    }
}

fn new_order(sim: &Sim, st: &mut State, account: usize, p: &Params, now: i64, test: bool) -> Resp {
    if !test {
        if let Some((code, msg)) = lock(&sim.faults).take_reject("POST", "/api/v3/order") {
            return err(
                400,
                code,
                msg.unwrap_or_else(|| "Order rejected by fault injection.".to_string()),
            );
        }
    }
    let req = match binance::parse_new_order(st, V, account, p, now) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if test {
        return Resp::json(200, &json!({}));
    }
    let resp_type = p
        .get("newOrderRespType")
        .unwrap_or(if req.limit_maker { "ACK" } else { "FULL" })
        .to_string();
    let (count_headers, limited) = lock(&sim.limits).binance_order(account, false, now);
    if let Some(l) = limited {
        let mut r = err(429, l.code, l.msg).with_header("Retry-After", l.retry_after);
        r.headers.extend(count_headers);
        return r;
    }
    let id = match st.place(req) {
        Ok(id) => id,
        Err(r) => return binance::reject_error(V, r),
    };
    let Some(o) = st.order(id).cloned() else {
        return err(
            500,
            -1000,
            "An unknown error occurred while processing the request.",
        );
    };
    let mut body = json!({"symbol": o.symbol, "orderId": o.id, "orderListId": -1, "clientOrderId": o.client_id, "transactTime": now});
    if resp_type != "ACK" {
        let full = order_json(&o);
        for k in [
            "price",
            "origQty",
            "executedQty",
            "origQuoteOrderQty",
            "cummulativeQuoteQty",
            "status",
            "timeInForce",
            "type",
            "side",
            "workingTime",
            "selfTradePreventionMode",
        ] {
            body[k] = full[k].clone();
        }
    }
    if resp_type == "FULL" {
        let fills: Vec<Value> = st
            .trades
            .iter()
            .filter(|t| t.order_id == id)
            .map(|t| json!({"price": fixed(t.price, 8), "qty": fixed(t.qty, 8), "commission": fixed(t.commission, 8), "commissionAsset": t.commission_asset, "tradeId": t.id}))
            .collect();
        body["fills"] = arr(fills);
    }
    let mut r = Resp::json(200, &body);
    r.headers.extend(count_headers);
    r
}

fn no_order() -> Resp {
    err(400, -2013, "Order does not exist.")
}

fn unknown_cancel() -> Resp {
    err(400, -2011, "Unknown order sent.")
}

fn cancel_json(o: &Order, cancel_id: &str, now: i64) -> Value {
    let mut v = order_json(o);
    v["origClientOrderId"] = json!(o.client_id);
    v["clientOrderId"] = json!(cancel_id);
    v["transactTime"] = json!(now);
    for k in [
        "stopPrice",
        "icebergQty",
        "time",
        "updateTime",
        "isWorking",
        "workingTime",
        "origQuoteOrderQty",
    ] {
        if let Some(m) = v.as_object_mut() {
            m.remove(k);
        }
    }
    v
}

fn cancel(st: &mut State, account: usize, p: &Params, now: i64) -> Resp {
    let sym = match binance::symbol(st, V, p) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let id = match binance::find_order(st, V, account, &sym, p, unknown_cancel) {
        Ok(id) => id,
        Err(e) => return e,
    };
    if !st.cancel(id, now) {
        return unknown_cancel();
    }
    let cancel_id = p
        .get("newClientOrderId")
        .map(str::to_string)
        .unwrap_or_else(|| binance::auto_client_id(st));
    st.order(id).map_or_else(unknown_cancel, |o| {
        Resp::json(200, &cancel_json(o, &cancel_id, now))
    })
}

fn cancel_all(st: &mut State, account: usize, p: &Params, now: i64) -> Resp {
    let sym = match binance::symbol(st, V, p) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let ids: Vec<u64> = st
        .orders
        .iter()
        .filter(|o| o.account == account && o.venue == V && o.symbol == sym && o.status.is_open())
        .map(|o| o.id)
        .collect();
    if ids.is_empty() {
        return unknown_cancel();
    }
    let mut out = Vec::new();
    for id in ids {
        st.cancel(id, now);
        let cid = binance::auto_client_id(st);
        if let Some(o) = st.order(id) {
            out.push(cancel_json(o, &cid, now));
        }
    }
    Resp::json(200, &arr(out))
}

fn query(st: &mut State, account: usize, p: &Params, _: i64) -> Resp {
    let sym = match binance::symbol(st, V, p) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match binance::find_order(st, V, account, &sym, p, no_order) {
        Ok(id) => st
            .order(id)
            .map_or_else(no_order, |o| Resp::json(200, &order_json(o))),
        // An OCO stop leg that has not fired is an order too (type STOP_LOSS).
        Err(e) => p
            .get("origClientOrderId")
            .and_then(|c| crate::binance_oco::waiting_stop(st, account, &sym, c))
            .map_or(e, |v| Resp::json(200, &v)),
    }
}

fn open_orders(st: &mut State, account: usize, p: &Params, _: i64) -> Resp {
    let sym = p.get("symbol");
    if sym.is_some_and(|s| st.instrument(V, s).is_none()) {
        return err(400, -1121, "Invalid symbol.");
    }
    let v: Vec<Value> = st
        .orders
        .iter()
        .filter(|o| {
            o.account == account
                && o.venue == V
                && o.status.is_open()
                && sym.is_none_or(|s| s == o.symbol)
        })
        .map(order_json)
        .collect();
    Resp::json(200, &arr(v))
}

fn account(st: &mut State, account: usize, p: &Params, now: i64) -> Resp {
    let Some(acc) = st.accounts.get(account) else {
        return err(
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        );
    };
    let omit = p.get("omitZeroBalances") == Some("true");
    let balances: Vec<Value> = acc
        .spot
        .assets
        .iter()
        .filter(|(_, b)| !omit || !(b.free + b.locked).is_zero())
        .map(|(a, b)| json!({"asset": a, "free": fixed(b.free, 8), "locked": fixed(b.locked, 8)}))
        .collect();
    let fee = st.cfg.fees.get(&V).copied();
    let (m, t) = fee.map(|f| (f.maker, f.taker)).unwrap_or_default();
    let bps = |d: rust_decimal::Decimal| {
        (d * rust_decimal::Decimal::from(10_000))
            .round()
            .to_string()
            .parse::<i64>()
            .unwrap_or_default()
    };
    Resp::json(
        200,
        &json!({"makerCommission": bps(m), "takerCommission": bps(t), "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": fixed(m, 8), "taker": fixed(t, 8), "buyer": "0.00000000", "seller": "0.00000000"},
        "canTrade": true, "canWithdraw": true, "canDeposit": true, "brokered": false, "requireSelfTradePrevention": false,
        "preventSor": false, "updateTime": now, "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 354_937_868 + account as i64}),
    )
}

fn my_trades(st: &mut State, account: usize, p: &Params, _: i64) -> Resp {
    let sym = match binance::symbol(st, V, p) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let (order_id, from_id) = match (
        binance::integer(p, "orderId"),
        binance::integer(p, "fromId"),
    ) {
        (Ok(o), Ok(f)) => (o, f),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let mut list: Vec<_> = st
        .trades
        .iter()
        .filter(|t| t.account == account && t.venue == V && t.symbol == sym)
        .filter(|t| order_id.is_none_or(|o| t.order_id == o as u64))
        .cloned()
        .collect();
    if let Some(f) = from_id {
        list.retain(|t| t.id >= f as u64);
        let limit = binance::integer(p, "limit")
            .ok()
            .flatten()
            .map(|l| l.clamp(1, 1000) as usize)
            .unwrap_or(500);
        list.truncate(limit);
    } else {
        list = match binance::window(list, |t| t.time, p, 500, 1000) {
            Ok(l) => l,
            Err(e) => return e,
        };
    }
    let v: Vec<Value> = list
        .iter()
        .map(|t| {
            json!({"symbol": t.symbol, "id": t.id, "orderId": t.order_id, "orderListId": -1, "price": fixed(t.price, 8),
                "qty": fixed(t.qty, 8), "quoteQty": fixed(t.quote_qty, 8), "commission": fixed(t.commission, 8),
                "commissionAsset": t.commission_asset, "time": t.time, "isBuyer": t.side == crate::model::Side::Buy,
                "isMaker": t.is_maker, "isBestMatch": true})
        })
        .collect();
    Resp::json(200, &arr(v))
}
