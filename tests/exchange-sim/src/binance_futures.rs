//! Binance USDⓈ-M futures `/fapi`: market data with mark price, one-way orders (reduce-only,
//! `positionSide=BOTH`), positions, trades with realised P&L, income, leverage and balances.

use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::accounts::pos_key;
use crate::binance::{
    self, arr, by_step, err, fixed, run, side_str, status_str, tif_str, Endpoint,
};
use crate::config::Venue;
use crate::http::{Params, Req, Resp};
use crate::model::{OrdType, Order, Side};
use crate::state::State;
use crate::{lock, Sim};

const V: Venue = Venue::BinanceFutures;

fn ep(weight: u64, signed: bool) -> Endpoint {
    Endpoint {
        futures: true,
        weight,
        signed,
    }
}

/// Routes one `/fapi/...` request.
pub fn handle(sim: &Sim, req: &Req) -> Resp {
    let has_symbol = Params::from_req(req).get("symbol").is_some();
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/fapi/v1/ping") => run(sim, req, ep(1, false), |_, _, _, _| {
            Resp::json(200, &json!({}))
        }),
        ("GET", "/fapi/v1/time") => run(sim, req, ep(1, false), |_, _, _, now| {
            Resp::json(200, &json!({"serverTime": now}))
        }),
        ("GET", "/fapi/v1/klines") => run(
            sim,
            req,
            ep(crate::klines::futures_weight(&Params::from_req(req)), false),
            |st, _, p, now| crate::klines::binance(st, V, p, now),
        ),
        ("GET", "/fapi/v1/exchangeInfo") => run(sim, req, ep(1, false), exchange_info),
        ("GET", "/fapi/v1/ticker/price") | ("GET", "/fapi/v2/ticker/price") => {
            run(sim, req, ep(if has_symbol { 1 } else { 2 }, false), ticker)
        }
        ("GET", "/fapi/v1/premiumIndex") => run(
            sim,
            req,
            ep(if has_symbol { 1 } else { 10 }, false),
            premium_index,
        ),
        ("POST", "/fapi/v1/order") => run(sim, req, ep(0, true), |st, a, p, now| {
            new_order(sim, st, a, p, now)
        }),
        ("POST", "/fapi/v1/algoOrder") => run(sim, req, ep(0, true), crate::binance_algo::new_algo),
        ("DELETE", "/fapi/v1/algoOrder") => {
            run(sim, req, ep(1, true), crate::exit_cancel::cancel_algo)
        }
        ("GET", "/fapi/v1/algoOrder") => {
            run(sim, req, ep(1, true), crate::binance_algo::query_algo)
        }
        ("DELETE", "/fapi/v1/order") => run(sim, req, ep(1, true), cancel),
        ("GET", "/fapi/v1/order") => run(sim, req, ep(1, true), query),
        ("GET", "/fapi/v1/openOrders") => run(
            sim,
            req,
            ep(if has_symbol { 1 } else { 40 }, true),
            open_orders,
        ),
        ("DELETE", "/fapi/v1/allOpenOrders") => run(sim, req, ep(1, true), cancel_all),
        ("GET", "/fapi/v2/account") | ("GET", "/fapi/v3/account") => {
            run(sim, req, ep(5, true), account)
        }
        ("GET", "/fapi/v2/balance") | ("GET", "/fapi/v3/balance") => {
            run(sim, req, ep(5, true), balance)
        }
        ("GET", "/fapi/v2/positionRisk") => run(sim, req, ep(5, true), |st, a, p, now| {
            position_risk(st, a, p, now, false)
        }),
        ("GET", "/fapi/v3/positionRisk") => run(sim, req, ep(5, true), |st, a, p, now| {
            position_risk(st, a, p, now, true)
        }),
        ("POST" | "PUT" | "DELETE", "/fapi/v1/listenKey") => crate::stream::listen_key(sim, req),
        ("GET", "/fapi/v1/userTrades") => run(sim, req, ep(5, true), user_trades),
        ("GET", "/fapi/v1/income") => run(sim, req, ep(30, true), income),
        ("POST", "/fapi/v1/leverage") => run(sim, req, ep(1, true), leverage),
        ("GET", "/fapi/v1/leverageBracket") => run(
            sim,
            req,
            ep(if has_symbol { 1 } else { 40 }, true),
            brackets,
        ),
        _ => err(404, -1, "Not found"),
    }
}

fn exchange_info(st: &mut State, _: usize, _: &Params, now: i64) -> Resp {
    let rl = &st.cfg.rate_limits;
    let symbols: Vec<Value> = st
        .instruments
        .values()
        .filter(|i| i.cfg.venue == V)
        .map(|i| {
            let c = &i.cfg;
            json!({"symbol": c.symbol, "pair": c.symbol, "contractType": "PERPETUAL", "deliveryDate": 4_133_404_800_000i64,
                "onboardDate": 1_569_398_400_000i64, "status": "TRADING", "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
                "baseAsset": c.base, "quoteAsset": c.quote, "marginAsset": c.quote, "pricePrecision": c.tick_size.scale(),
                "quantityPrecision": c.step_size.scale(), "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN",
                "underlyingSubType": [], "settlePlan": 0, "triggerProtect": "0.0500", "liquidationFee": "0.012500", "marketTakeBound": "0.05",
                "maxMoveOrderLimit": 10000,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": c.min_price.to_string(), "maxPrice": c.max_price.to_string(), "tickSize": c.tick_size.to_string()},
                    {"filterType": "LOT_SIZE", "minQty": c.min_qty.to_string(), "maxQty": c.max_qty.to_string(), "stepSize": c.step_size.to_string()},
                    {"filterType": "MARKET_LOT_SIZE", "minQty": c.min_qty.to_string(), "maxQty": c.max_market_qty.to_string(), "stepSize": c.step_size.to_string()},
                    {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                    {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                    {"filterType": "MIN_NOTIONAL", "notional": c.min_notional.to_string()},
                    {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500", "multiplierDecimal": "4"}
                ],
                "orderTypes": ["LIMIT", "MARKET"], "timeInForce": ["GTC", "IOC", "FOK", "GTX"]})
        })
        .collect();
    Resp::json(
        200,
        &json!({"timezone": "UTC", "serverTime": now, "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": rl.binance_futures_weight_1m},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": rl.binance_futures_orders_1m},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": rl.binance_futures_orders_10s}],
        "exchangeFilters": [], "assets": [{"asset": "USDT", "marginAvailable": true, "autoAssetExchange": "-10000"}],
        "symbols": symbols}),
    )
}

fn each_symbol(st: &State, p: &Params, f: impl Fn(&crate::state::Instrument) -> Value) -> Resp {
    if let Some(s) = p.get("symbol") {
        return st.instrument(V, s).map_or_else(
            || err(400, -1121, "Invalid symbol."),
            |i| Resp::json(200, &f(i)),
        );
    }
    Resp::json(
        200,
        &arr(st
            .instruments
            .values()
            .filter(|i| i.cfg.venue == V)
            .map(f)
            .collect()),
    )
}

fn ticker(st: &mut State, _: usize, p: &Params, now: i64) -> Resp {
    each_symbol(
        st,
        p,
        |i| json!({"symbol": i.cfg.symbol, "price": by_step(i.price, i.cfg.tick_size), "time": now}),
    )
}

fn premium_index(st: &mut State, _: usize, p: &Params, now: i64) -> Resp {
    let next = (now / 28_800_000 + 1) * 28_800_000;
    each_symbol(st, p, |i| {
        json!({"symbol": i.cfg.symbol, "markPrice": fixed(i.price, 8), "indexPrice": fixed(i.price, 8),
            "estimatedSettlePrice": fixed(i.price, 8), "lastFundingRate": fixed(i.funding_rate, 8), "interestRate": "0.00010000",
            "nextFundingTime": next, "time": now})
    })
}

/// Order object as the futures endpoints return it; `ack` hides fills (RESP_TYPE=ACK is async).
pub fn order_json(st: &State, o: &Order, ack: bool) -> Value {
    let (tick, step) = st
        .instrument(V, &o.symbol)
        .map(|i| (i.cfg.tick_size, i.cfg.step_size))
        .unwrap_or_default();
    let (status, executed, cum_quote, avg) = if ack {
        ("NEW", Decimal::ZERO, Decimal::ZERO, Decimal::ZERO)
    } else {
        (
            status_str(o.status),
            o.executed_qty,
            o.cum_quote,
            o.avg_price(),
        )
    };
    let typ = if o.kind == OrdType::Market {
        "MARKET"
    } else {
        "LIMIT"
    };
    json!({"orderId": o.id, "symbol": o.symbol, "status": status, "clientOrderId": o.client_id,
        "price": if o.kind == OrdType::Market { "0".to_string() } else { by_step(o.price, tick) },
        "avgPrice": fixed(avg, 5), "origQty": by_step(o.orig_qty, step), "executedQty": by_step(executed, step),
        "cumQty": by_step(executed, step), "cumQuote": fixed(cum_quote, 5), "timeInForce": tif_str(o.tif), "type": typ,
        "reduceOnly": o.reduce_only, "closePosition": false, "side": side_str(o.side), "positionSide": "BOTH",
        "stopPrice": "0", "workingType": "CONTRACT_PRICE", "priceProtect": false, "origType": typ, "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0, "time": o.time, "updateTime": o.update_time})
}

fn new_order(sim: &Sim, st: &mut State, account: usize, p: &Params, now: i64) -> Resp {
    if let Some((code, msg)) = lock(&sim.faults).take_reject("POST", "/fapi/v1/order") {
        return err(
            400,
            code,
            msg.unwrap_or_else(|| "Order rejected by fault injection.".to_string()),
        );
    }
    let req = match binance::parse_new_order(st, V, account, p, now) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let ack = p.get("newOrderRespType") != Some("RESULT");
    let (count_headers, limited) = lock(&sim.limits).binance_order(account, true, now);
    let mut r = match limited {
        Some(l) => err(429, l.code, l.msg).with_header("Retry-After", l.retry_after),
        None => match st.place(req) {
            Ok(id) => match st.order(id) {
                Some(o) => Resp::json(200, &order_json(st, o, ack)),
                None => err(
                    500,
                    -1000,
                    "An unknown error occurred while processing the request.",
                ),
            },
            Err(e) => binance::reject_error(V, e),
        },
    };
    r.headers.extend(count_headers);
    r
}

fn no_order() -> Resp {
    err(400, -2013, "Order does not exist.")
}

fn unknown_cancel() -> Resp {
    err(400, -2011, "Unknown order sent.")
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
    st.order(id).map_or_else(unknown_cancel, |o| {
        Resp::json(200, &order_json(st, o, false))
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
    for id in ids {
        st.cancel(id, now);
    }
    Resp::json(
        200,
        &json!({"code": 200, "msg": "The operation of cancel all open order is done."}),
    )
}

fn query(st: &mut State, account: usize, p: &Params, _: i64) -> Resp {
    let sym = match binance::symbol(st, V, p) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match binance::find_order(st, V, account, &sym, p, no_order) {
        Ok(id) => st
            .order(id)
            .map_or_else(no_order, |o| Resp::json(200, &order_json(st, o, false))),
        Err(e) => e,
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
        .map(|o| order_json(st, o, false))
        .collect();
    Resp::json(200, &arr(v))
}

struct Margin {
    wallet: Decimal,
    upnl: Decimal,
    position_im: Decimal,
    order_im: Decimal,
}

fn margin(st: &State, account: usize) -> Margin {
    let mut m = Margin {
        wallet: Decimal::ZERO,
        upnl: Decimal::ZERO,
        position_im: Decimal::ZERO,
        order_im: Decimal::ZERO,
    };
    let Some(acc) = st.accounts.get(account) else {
        return m;
    };
    m.wallet = acc.futures.free("USDT");
    for i in st.instruments.values().filter(|i| i.cfg.venue == V) {
        let pos = acc.position(V, &i.cfg.symbol);
        let lev = Decimal::from(acc.leverage_of(V, &i.cfg.symbol));
        m.upnl += pos.amt * (i.price - pos.entry_price);
        m.position_im += pos.amt.abs() * i.price / lev;
    }
    for o in st
        .orders
        .iter()
        .filter(|o| o.account == account && o.venue == V && o.status.is_open() && !o.reduce_only)
    {
        m.order_im += o.remaining() * o.price / Decimal::from(acc.leverage_of(V, &o.symbol));
    }
    m
}

fn account(st: &mut State, account: usize, _: &Params, now: i64) -> Resp {
    let m = margin(st, account);
    let avail = m.wallet + m.upnl - m.position_im - m.order_im;
    let f = |d: Decimal| fixed(d, 8);
    let positions: Vec<Value> = st
        .instruments
        .values()
        .filter(|i| i.cfg.venue == V)
        .filter_map(|i| {
            let acc = st.accounts.get(account)?;
            let pos = acc.position(V, &i.cfg.symbol);
            let lev = acc.leverage_of(V, &i.cfg.symbol);
            let im = pos.amt.abs() * i.price / Decimal::from(lev);
            Some(json!({"symbol": i.cfg.symbol, "initialMargin": f(im), "maintMargin": f(im / Decimal::from(10)),
                "unrealizedProfit": f(pos.amt * (i.price - pos.entry_price)), "positionInitialMargin": f(im), "openOrderInitialMargin": "0",
                "leverage": lev.to_string(), "isolated": false, "entryPrice": pos.entry_price.normalize().to_string(), "maxNotional": "1000000",
                "positionSide": "BOTH", "positionAmt": pos.amt.normalize().to_string(), "updateTime": pos.update_time}))
        })
        .collect();
    Resp::json(
        200,
        &json!({"feeTier": 0, "canTrade": true, "canDeposit": true, "canWithdraw": true, "updateTime": 0,
        "multiAssetsMargin": false, "tradeGroupId": -1, "totalInitialMargin": f(m.position_im + m.order_im),
        "totalMaintMargin": f(m.position_im / Decimal::from(10)), "totalWalletBalance": f(m.wallet), "totalUnrealizedProfit": f(m.upnl),
        "totalMarginBalance": f(m.wallet + m.upnl), "totalPositionInitialMargin": f(m.position_im), "totalOpenOrderInitialMargin": f(m.order_im),
        "totalCrossWalletBalance": f(m.wallet), "totalCrossUnPnl": f(m.upnl), "availableBalance": f(avail), "maxWithdrawAmount": f(avail.min(m.wallet)),
        "assets": [{"asset": "USDT", "walletBalance": f(m.wallet), "unrealizedProfit": f(m.upnl), "marginBalance": f(m.wallet + m.upnl),
            "maintMargin": f(m.position_im / Decimal::from(10)), "initialMargin": f(m.position_im + m.order_im), "positionInitialMargin": f(m.position_im),
            "openOrderInitialMargin": f(m.order_im), "crossWalletBalance": f(m.wallet), "crossUnPnl": f(m.upnl), "availableBalance": f(avail),
            "maxWithdrawAmount": f(avail.min(m.wallet)), "marginAvailable": true, "updateTime": now}],
        "positions": positions}),
    )
}

fn balance(st: &mut State, account: usize, _: &Params, now: i64) -> Resp {
    let m = margin(st, account);
    let avail = m.wallet + m.upnl - m.position_im - m.order_im;
    Resp::json(
        200,
        &arr(vec![
            json!({"accountAlias": "SgsR", "asset": "USDT", "balance": fixed(m.wallet, 8),
        "crossWalletBalance": fixed(m.wallet, 8), "crossUnPnl": fixed(m.upnl, 8), "availableBalance": fixed(avail, 8),
        "maxWithdrawAmount": fixed(avail.min(m.wallet), 8), "marginAvailable": true, "updateTime": now}),
        ]),
    )
}

fn position_risk(st: &mut State, account: usize, p: &Params, _: i64, v3: bool) -> Resp {
    let sym = p.get("symbol");
    if sym.is_some_and(|s| st.instrument(V, s).is_none()) {
        return err(400, -1121, "Invalid symbol.");
    }
    let Some(acc) = st.accounts.get(account) else {
        return err(
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        );
    };
    let f = |d: Decimal| fixed(d, 8);
    let v: Vec<Value> = st
        .instruments
        .values()
        .filter(|i| i.cfg.venue == V && sym.is_none_or(|s| s == i.cfg.symbol))
        .filter(|i| {
            let has_orders = st.orders.iter().any(|o| o.account == account && o.venue == V && o.symbol == i.cfg.symbol && o.status.is_open());
            !v3 || !acc.position(V, &i.cfg.symbol).amt.is_zero() || has_orders
        })
        .map(|i| {
            let pos = acc.position(V, &i.cfg.symbol);
            let lev = acc.leverage_of(V, &i.cfg.symbol);
            let notional = pos.amt * i.price;
            let im = notional.abs() / Decimal::from(lev);
            let upnl = pos.amt * (i.price - pos.entry_price);
            let mut o = json!({"symbol": i.cfg.symbol, "positionSide": "BOTH", "positionAmt": by_step(pos.amt, i.cfg.step_size),
                "entryPrice": pos.entry_price.normalize().to_string(), "breakEvenPrice": pos.entry_price.normalize().to_string(),
                "markPrice": f(i.price), "unRealizedProfit": f(upnl), "liquidationPrice": "0", "notional": f(notional),
                "isolatedWallet": "0", "updateTime": pos.update_time});
            if v3 {
                for (k, val) in [("isolatedMargin", "0".to_string()), ("marginAsset", "USDT".to_string()), ("initialMargin", f(im)),
                    ("maintMargin", f(im / Decimal::from(10))), ("positionInitialMargin", f(im)), ("openOrderInitialMargin", "0".to_string()),
                    ("adl", "0".to_string()), ("bidNotional", "0".to_string()), ("askNotional", "0".to_string())] {
                    o[k] = json!(val);
                }
                o["adl"] = json!(0);
            } else {
                for (k, val) in [("leverage", lev.to_string()), ("maxNotionalValue", "1000000".to_string()), ("marginType", "cross".to_string()),
                    ("isolatedMargin", "0.00000000".to_string()), ("isAutoAddMargin", "false".to_string())] {
                    o[k] = json!(val);
                }
            }
            o
        })
        .collect();
    Resp::json(200, &arr(v))
}

fn user_trades(st: &mut State, account: usize, p: &Params, _: i64) -> Resp {
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
        .filter(|t| {
            t.account == account
                && t.venue == V
                && t.symbol == sym
                && order_id.is_none_or(|o| t.order_id == o as u64)
        })
        .cloned()
        .collect();
    if let Some(f) = from_id {
        list.retain(|t| t.id >= f as u64);
        list.truncate(
            binance::integer(p, "limit")
                .ok()
                .flatten()
                .map(|l| l.clamp(1, 1000) as usize)
                .unwrap_or(500),
        );
    } else {
        list = match binance::window(list, |t| t.time, p, 500, 1000) {
            Ok(l) => l,
            Err(e) => return e,
        };
    }
    let (tick, step) = st
        .instrument(V, &sym)
        .map(|i| (i.cfg.tick_size, i.cfg.step_size))
        .unwrap_or_default();
    let v: Vec<Value> = list
        .iter()
        .map(|t| {
            json!({"buyer": t.side == Side::Buy, "commission": fixed(t.commission, 8), "commissionAsset": t.commission_asset,
                "id": t.id, "maker": t.is_maker, "orderId": t.order_id, "price": by_step(t.price, tick), "qty": by_step(t.qty, step),
                "quoteQty": fixed(t.quote_qty, 8), "realizedPnl": fixed(t.realized_pnl, 8), "side": side_str(t.side),
                "positionSide": "BOTH", "symbol": t.symbol, "time": t.time})
        })
        .collect();
    Resp::json(200, &arr(v))
}

fn income(st: &mut State, account: usize, p: &Params, now: i64) -> Resp {
    let sym = p.get("symbol");
    let kind = p.get("incomeType");
    let list: Vec<_> = st
        .income
        .iter()
        .filter(|i| {
            i.account == account
                && i.venue == V
                && sym.is_none_or(|s| s == i.symbol)
                && kind.is_none_or(|k| k == i.kind)
        })
        .filter(|i| p.get("startTime").is_some() || i.time >= now - 7 * 86_400_000)
        .cloned()
        .collect();
    let list = match binance::window(list, |i| i.time, p, 100, 1000) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let v: Vec<Value> = list
        .iter()
        .map(|i| {
            json!({"symbol": i.symbol, "incomeType": i.kind, "income": fixed(i.income, 8), "asset": i.asset, "info": i.kind,
                "time": i.time, "tranId": i.tran_id, "tradeId": i.trade_id.map(|t| t.to_string()).unwrap_or_default()})
        })
        .collect();
    Resp::json(200, &arr(v))
}

fn leverage(st: &mut State, account: usize, p: &Params, _: i64) -> Resp {
    let sym = match binance::symbol(st, V, p) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let lev = match binance::integer(p, "leverage") {
        Ok(Some(l)) if (1..=125).contains(&l) => l as u32,
        Ok(Some(l)) => return err(400, -4028, format!("Leverage {l} is not valid")),
        Ok(None) => return binance::mandatory("leverage"),
        Err(e) => return e,
    };
    if let Some(acc) = st.accounts.get_mut(account) {
        acc.leverage.insert(pos_key(V, &sym), lev);
    }
    Resp::json(
        200,
        &json!({"leverage": lev, "maxNotionalValue": "1000000", "symbol": sym}),
    )
}

fn brackets(st: &mut State, _: usize, p: &Params, _: i64) -> Resp {
    let sym = p.get("symbol");
    if sym.is_some_and(|s| st.instrument(V, s).is_none()) {
        return err(400, -1121, "Invalid symbol.");
    }
    let v: Vec<Value> = st
        .instruments
        .values()
        .filter(|i| i.cfg.venue == V && sym.is_none_or(|s| s == i.cfg.symbol))
        .map(|i| {
            json!({"symbol": i.cfg.symbol, "brackets": [
                {"bracket": 1, "initialLeverage": 125, "notionalCap": 50000, "notionalFloor": 0, "maintMarginRatio": 0.004, "cum": 0.0},
                {"bracket": 2, "initialLeverage": 100, "notionalCap": 600000, "notionalFloor": 50000, "maintMarginRatio": 0.005, "cum": 50.0},
                {"bracket": 3, "initialLeverage": 20, "notionalCap": 1000000000, "notionalFloor": 600000, "maintMarginRatio": 0.025, "cum": 12050.0}]})
        })
        .collect();
    if sym.is_some() {
        return Resp::json(200, &v.into_iter().next().unwrap_or(Value::Null));
    }
    Resp::json(200, &arr(v))
}
