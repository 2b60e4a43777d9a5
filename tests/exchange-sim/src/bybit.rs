//! Bybit V5: envelope, private-request pipeline (`X-BAPI-*` signature, recv window, per-endpoint
//! rate limit headers), market data, positions, leverage and the unified wallet. Order endpoints
//! live in [`crate::bybit_trade`].

use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::accounts::pos_key;
use crate::bybit_trade;
use crate::config::Venue;
use crate::http::{Params, Req, Resp};
use crate::state::State;
use crate::{auth, lock, Sim};

/// Success envelope.
pub fn ok(result: Value, now: i64) -> Resp {
    Resp::json(
        200,
        &json!({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now}),
    )
}

/// Error envelope (Bybit answers business errors with HTTP 200).
pub fn fail(code: i64, msg: impl Into<String>, now: i64) -> Resp {
    Resp::json(
        200,
        &json!({"retCode": code, "retMsg": msg.into(), "result": {}, "retExtInfo": {}, "time": now}),
    )
}

/// Request parameters: the query string for GET, the JSON object body for POST.
///
/// # Errors
/// `10001` when a POST body is not a JSON object.
pub fn params(req: &Req) -> Result<Params, (i64, String)> {
    if req.method == "GET" {
        return Ok(Params::parse(&req.query));
    }
    let v: Value = serde_json::from_str(if req.body.trim().is_empty() {
        "{}"
    } else {
        &req.body
    })
    .map_err(|_| {
        (
            10001,
            "params error: request body is not valid json".to_string(),
        )
    })?;
    let obj = v.as_object().ok_or((
        10001,
        "params error: request body is not a json object".to_string(),
    ))?;
    Ok(Params(
        obj.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    match v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    },
                )
            })
            .collect(),
    ))
}

/// Category parameter → venue.
///
/// # Errors
/// `10001` for a missing or unsupported category.
pub fn category(p: &Params) -> Result<Venue, (i64, String)> {
    match p.get("category") {
        Some("spot") => Ok(Venue::BybitSpot),
        Some("linear") => Ok(Venue::BybitLinear),
        Some(_) => Err((
            10001,
            "params error: category is invalid or not supported".to_string(),
        )),
        None => Err((10001, "params error: category is required".to_string())),
    }
}

/// Runs a private endpoint: signature and recv window, rate-limit headers, then `f`.
pub fn private(
    sim: &Sim,
    req: &Req,
    order_endpoint: bool,
    f: impl FnOnce(&mut State, usize, &Params, i64) -> Result<Value, (i64, String)>,
) -> Resp {
    let now = sim.now_ms();
    let p = match params(req) {
        Ok(p) => p,
        Err((c, m)) => return fail(c, m, now),
    };
    let mut st = lock(&sim.state);
    let account = match auth::bybit(&st, req, now) {
        Ok(a) => a,
        Err((c, m)) => {
            let mut r = fail(c, m, now);
            // A wrong or missing key is refused at the HTTP level (401); bad signatures and
            // timestamps come back as retCode with HTTP 200.
            if c == 10003 {
                r.status = 401;
            }
            return r;
        }
    };
    let limit = {
        let rl = &st.cfg.rate_limits;
        match (order_endpoint, p.get("category")) {
            (true, Some("spot")) => rl.bybit_spot_orders_per_s,
            (true, _) => rl.bybit_linear_orders_per_s,
            (false, _) => rl.bybit_other_per_s,
        }
    };
    let bucket = format!("{}:{}", req.path, p.get("category").unwrap_or_default());
    let (headers, limited) = lock(&sim.limits).bybit(account, &bucket, limit, now);
    let mut resp = match limited {
        Some(l) => fail(l.code, l.msg, now),
        None => match f(&mut st, account, &p, now) {
            Ok(v) => ok(v, now),
            Err((c, m)) => fail(c, m, now),
        },
    };
    resp.headers.extend(headers);
    resp
}

fn public(
    sim: &Sim,
    req: &Req,
    f: impl FnOnce(&State, &Params, i64) -> Result<Value, (i64, String)>,
) -> Resp {
    let now = sim.now_ms();
    let st = lock(&sim.state);
    match f(&st, &Params::parse(&req.query), now) {
        Ok(v) => ok(v, now),
        Err((c, m)) => fail(c, m, now),
    }
}

/// Routes one `/v5/...` request.
pub fn handle(sim: &Sim, req: &Req) -> Resp {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/v5/market/time") => {
            let now = sim.now_ms();
            ok(
                json!({"timeSecond": (now / 1000).to_string(), "timeNano": format!("{}000000", now)}),
                now,
            )
        }
        ("GET", "/v5/market/instruments-info") => public(sim, req, instruments),
        ("GET", "/v5/market/tickers") => public(sim, req, tickers),
        ("GET", "/v5/market/kline") => public(sim, req, crate::klines::bybit),
        ("POST", "/v5/order/create") => private(sim, req, true, |st, a, p, now| {
            if let Some((code, msg)) = lock(&sim.faults).take_reject("POST", "/v5/order/create") {
                return Err((
                    code,
                    msg.unwrap_or_else(|| "Order rejected by fault injection.".to_string()),
                ));
            }
            bybit_trade::create(st, a, p, now)
        }),
        ("POST", "/v5/order/cancel") => private(sim, req, true, bybit_trade::cancel),
        ("POST", "/v5/order/cancel-all") => private(sim, req, true, bybit_trade::cancel_all),
        ("GET", "/v5/order/realtime") => private(sim, req, false, |st, a, p, _| {
            bybit_trade::orders(st, a, p, false)
        }),
        ("GET", "/v5/order/history") => private(sim, req, false, |st, a, p, _| {
            bybit_trade::orders(st, a, p, true)
        }),
        ("GET", "/v5/execution/list") => private(sim, req, false, bybit_trade::executions),
        ("GET", "/v5/position/closed-pnl") => private(sim, req, false, bybit_trade::closed_pnl),
        ("GET", "/v5/position/list") => private(sim, req, false, positions),
        ("POST", "/v5/position/set-leverage") => private(sim, req, false, set_leverage),
        ("GET", "/v5/account/wallet-balance") => private(sim, req, false, wallet_balance),
        ("GET", "/v5/account/transaction-log") => private(sim, req, false, transaction_log),
        _ => Resp::json(
            404,
            &json!({"retCode": 10017, "retMsg": "route not found", "result": {}, "retExtInfo": {}, "time": sim.now_ms()}),
        ),
    }
}

fn s(d: Decimal) -> String {
    d.normalize().to_string()
}

fn instruments(st: &State, p: &Params, _: i64) -> Result<Value, (i64, String)> {
    let venue = category(p)?;
    let sym = p.get("symbol");
    let list: Vec<Value> = st
        .instruments
        .values()
        .filter(|i| i.cfg.venue == venue && sym.is_none_or(|x| x == i.cfg.symbol))
        .map(|i| {
            let c = &i.cfg;
            if venue == Venue::BybitSpot {
                json!({"symbol": c.symbol, "baseCoin": c.base, "quoteCoin": c.quote, "innovation": "0", "status": "Trading",
                    "marginTrading": "none", "stTag": "0",
                    "lotSizeFilter": {"basePrecision": c.step_size.to_string(), "quotePrecision": "0.00000001", "minOrderQty": s(c.min_qty),
                        "maxOrderQty": s(c.max_qty), "minOrderAmt": s(c.min_notional), "maxOrderAmt": "4000000",
                        "maxLimitOrderQty": s(c.max_qty), "maxMarketOrderQty": s(c.max_market_qty)},
                    "priceFilter": {"tickSize": c.tick_size.to_string()},
                    "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"}})
            } else {
                json!({"symbol": c.symbol, "contractType": "LinearPerpetual", "status": "Trading", "baseCoin": c.base, "quoteCoin": c.quote,
                    "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "", "priceScale": c.tick_size.scale().to_string(),
                    "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
                    "priceFilter": {"minPrice": c.min_price.to_string(), "maxPrice": c.max_price.to_string(), "tickSize": c.tick_size.to_string()},
                    "lotSizeFilter": {"maxOrderQty": s(c.max_qty), "minOrderQty": c.min_qty.to_string(), "qtyStep": c.step_size.to_string(),
                        "postOnlyMaxOrderQty": s(c.max_qty), "maxMktOrderQty": s(c.max_market_qty), "minNotionalValue": s(c.min_notional)},
                    "unifiedMarginTrade": true, "fundingInterval": 480, "settleCoin": c.quote, "copyTrading": "both",
                    "upperFundingRate": "0.00375", "lowerFundingRate": "-0.00375", "isPreListing": false, "preListingInfo": null})
            }
        })
        .collect();
    Ok(json!({"category": p.get("category"), "list": list, "nextPageCursor": ""}))
}

fn tickers(st: &State, p: &Params, now: i64) -> Result<Value, (i64, String)> {
    let venue = category(p)?;
    let sym = p.get("symbol");
    if sym.is_some_and(|x| st.instrument(venue, x).is_none()) {
        return Err(if venue == Venue::BybitSpot {
            (170121, "Invalid symbol.".to_string())
        } else {
            (10001, "params error: symbol invalid".to_string())
        });
    }
    let next_funding = (now / 28_800_000 + 1) * 28_800_000;
    let list: Vec<Value> = st
        .instruments
        .values()
        .filter(|i| i.cfg.venue == venue && sym.is_none_or(|x| x == i.cfg.symbol))
        .map(|i| {
            let sym = &i.cfg.symbol;
            let bid = st.taker_price(venue, sym, crate::model::Side::Sell).unwrap_or(i.price);
            let ask = st.taker_price(venue, sym, crate::model::Side::Buy).unwrap_or(i.price);
            let mut v = json!({"symbol": sym, "bid1Price": s(bid), "bid1Size": "1", "ask1Price": s(ask), "ask1Size": "1",
                "lastPrice": s(i.price), "prevPrice24h": s(i.price), "price24hPcnt": "0", "highPrice24h": s(i.price),
                "lowPrice24h": s(i.price), "turnover24h": "0", "volume24h": "0"});
            if venue == Venue::BybitLinear {
                for (k, val) in [("indexPrice", s(i.price)), ("markPrice", s(i.price)), ("fundingRate", s(i.funding_rate)),
                    ("nextFundingTime", next_funding.to_string()), ("openInterest", "0".into()), ("openInterestValue", "0".into()),
                    ("prevPrice1h", s(i.price)), ("predictedDeliveryPrice", String::new()), ("basisRate", String::new()),
                    ("deliveryFeeRate", String::new()), ("deliveryTime", "0".into()), ("basis", String::new())] {
                    v[k] = json!(val);
                }
            } else {
                v["usdIndexPrice"] = json!(s(i.price));
            }
            v
        })
        .collect();
    Ok(json!({"category": p.get("category"), "list": list}))
}

fn positions(st: &mut State, account: usize, p: &Params, _: i64) -> Result<Value, (i64, String)> {
    if category(p)? != Venue::BybitLinear {
        return Err((
            10001,
            "params error: category only support linear, inverse or option".to_string(),
        ));
    }
    let sym = p.get("symbol");
    if sym.is_none() && p.get("settleCoin").is_none() {
        return Err((
            10001,
            "params error: symbol or settleCoin is required".to_string(),
        ));
    }
    let acc = st
        .accounts
        .get(account)
        .ok_or((10003, "API key is invalid.".to_string()))?;
    let list: Vec<Value> = st
        .instruments
        .values()
        .filter(|i| i.cfg.venue == Venue::BybitLinear && sym.is_none_or(|x| x == i.cfg.symbol))
        .filter(|i| sym.is_some() || !acc.position(Venue::BybitLinear, &i.cfg.symbol).amt.is_zero())
        .map(|i| {
            let pos = acc.position(Venue::BybitLinear, &i.cfg.symbol);
            let lev = acc.leverage_of(Venue::BybitLinear, &i.cfg.symbol);
            let side = if pos.amt > Decimal::ZERO { "Buy" } else if pos.amt < Decimal::ZERO { "Sell" } else { "" };
            let value = pos.amt.abs() * pos.entry_price;
            let im = pos.amt.abs() * i.price / Decimal::from(lev);
            json!({"positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": i.cfg.symbol, "side": side,
                "size": s(pos.amt.abs()), "avgPrice": s(pos.entry_price), "positionValue": s(value), "tradeMode": 0,
                "positionStatus": "Normal", "autoAddMargin": 0, "adlRankIndicator": if pos.amt.is_zero() { 0 } else { 2 },
                "leverage": lev.to_string(), "positionBalance": s(im.round_dp(8)), "markPrice": s(i.price), "liqPrice": "", "bustPrice": "",
                "positionMM": s((im / Decimal::from(10)).round_dp(8)), "positionIM": s(im.round_dp(8)), "tpslMode": "Full",
                "takeProfit": "0", "stopLoss": "0", "trailingStop": "0",
                "unrealisedPnl": s((pos.amt * (i.price - pos.entry_price)).round_dp(8)), "curRealisedPnl": s(pos.realized_pnl),
                "cumRealisedPnl": s(pos.realized_pnl), "seq": pos.update_time, "isReduceOnly": false,
                "createdTime": pos.update_time.to_string(), "updatedTime": pos.update_time.to_string()})
        })
        .collect();
    Ok(json!({"category": "linear", "list": list, "nextPageCursor": ""}))
}

fn set_leverage(
    st: &mut State,
    account: usize,
    p: &Params,
    _: i64,
) -> Result<Value, (i64, String)> {
    if category(p)? != Venue::BybitLinear {
        return Err((
            10001,
            "params error: category only support linear, inverse".to_string(),
        ));
    }
    let sym = p
        .get("symbol")
        .ok_or((10001, "params error: symbol is required".to_string()))?
        .to_string();
    if st.instrument(Venue::BybitLinear, &sym).is_none() {
        return Err((10001, "params error: symbol invalid".to_string()));
    }
    let parse = |k: &str| p.get(k).and_then(|v| v.parse::<Decimal>().ok());
    let (Some(buy), Some(sell)) = (parse("buyLeverage"), parse("sellLeverage")) else {
        return Err((
            10001,
            "params error: buyLeverage and sellLeverage are required".to_string(),
        ));
    };
    if buy != sell || buy < Decimal::ONE || buy > Decimal::from(100) || !buy.fract().is_zero() {
        return Err((
            10001,
            "params error: buy leverage must equal sell leverage in one-way mode, 1..100"
                .to_string(),
        ));
    }
    let lev = buy.trunc().to_string().parse::<u32>().unwrap_or(1);
    let acc = st
        .accounts
        .get_mut(account)
        .ok_or((10003, "API key is invalid.".to_string()))?;
    if acc.leverage_of(Venue::BybitLinear, &sym) == lev {
        return Err((110043, "Set leverage not modified".to_string()));
    }
    acc.leverage.insert(pos_key(Venue::BybitLinear, &sym), lev);
    Ok(json!({}))
}

fn wallet_balance(
    st: &mut State,
    account: usize,
    p: &Params,
    _: i64,
) -> Result<Value, (i64, String)> {
    match p.get("accountType") {
        Some("UNIFIED") => {}
        Some(_) => {
            return Err((
                10001,
                "params error: accountType only support UNIFIED".to_string(),
            ))
        }
        None => return Err((10001, "params error: accountType is required".to_string())),
    }
    let coins: Option<Vec<&str>> = p.get("coin").map(|c| c.split(',').collect());
    let acc = st
        .accounts
        .get(account)
        .ok_or((10003, "API key is invalid.".to_string()))?;
    let mut upl_total = Decimal::ZERO;
    let mut im_total = Decimal::ZERO;
    for i in st
        .instruments
        .values()
        .filter(|i| i.cfg.venue == Venue::BybitLinear)
    {
        let pos = acc.position(Venue::BybitLinear, &i.cfg.symbol);
        upl_total += pos.amt * (i.price - pos.entry_price);
        im_total += pos.amt.abs() * i.price
            / Decimal::from(acc.leverage_of(Venue::BybitLinear, &i.cfg.symbol));
    }
    let mut equity_total = Decimal::ZERO;
    let coin_list: Vec<Value> = acc
        .spot
        .assets
        .iter()
        .filter(|(c, _)| coins.as_ref().is_none_or(|l| l.contains(&c.as_str())))
        .map(|(c, b)| {
            let usd = if c == "USDT" { Decimal::ONE } else { st.instrument(Venue::BybitSpot, &format!("{c}USDT")).map(|i| i.price).unwrap_or_default() };
            let wallet = b.free + b.locked;
            let (upl, im) = if c == "USDT" { (upl_total, im_total) } else { (Decimal::ZERO, Decimal::ZERO) };
            let equity = wallet + upl;
            equity_total += equity * usd;
            json!({"coin": c, "equity": s(equity.round_dp(8)), "usdValue": s((equity * usd).round_dp(8)), "walletBalance": s(wallet),
                "free": "", "locked": s(b.locked), "spotHedgingQty": "0", "borrowAmount": "0", "accruedInterest": "0",
                "totalOrderIM": "0", "totalPositionIM": s(im.round_dp(8)), "totalPositionMM": s((im / Decimal::from(10)).round_dp(8)),
                "unrealisedPnl": s(upl.round_dp(8)), "cumRealisedPnl": "0", "bonus": "0", "marginCollateral": true,
                "collateralSwitch": true, "availableToWithdraw": "", "availableToBorrow": ""})
        })
        .collect();
    let total = s(equity_total.round_dp(8));
    Ok(
        json!({"list": [{"accountType": "UNIFIED", "accountIMRate": "0", "accountMMRate": "0", "totalEquity": total,
        "totalWalletBalance": total, "totalMarginBalance": total, "totalAvailableBalance": s((equity_total - im_total).round_dp(8)),
        "totalPerpUPL": s(upl_total.round_dp(8)), "totalInitialMargin": s(im_total.round_dp(8)),
        "totalMaintenanceMargin": s((im_total / Decimal::from(10)).round_dp(8)), "accountLTV": "0", "coin": coin_list}]}),
    )
}

/// `GET /v5/account/transaction-log`: linear `TRADE` rows (fee, realised cash flow) and funding
/// `SETTLEMENT` rows, newest first, with the USDT cash balance each one left.
fn transaction_log(
    st: &mut State,
    account: usize,
    p: &Params,
    now: i64,
) -> Result<Value, (i64, String)> {
    if category(p)? != Venue::BybitLinear {
        return Err((
            10001,
            "params error: only category=linear is simulated".to_string(),
        ));
    }
    if p.get("accountType").is_some_and(|t| t != "UNIFIED") {
        return Err((
            10001,
            "params error: accountType only support UNIFIED".to_string(),
        ));
    }
    let num = |k: &str| {
        p.get(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| (10001, format!("params error: {k} invalid")))
            })
            .transpose()
    };
    let (start, end) = (num("startTime")?, num("endTime")?);
    let from = start.unwrap_or_else(|| end.unwrap_or(now) - 7 * 86_400_000);
    let to = end.unwrap_or(i64::MAX);
    let currency = p.get("currency");
    let kind = p.get("type");
    let rows: Vec<_> = st
        .income
        .iter()
        .rev()
        .filter(|i| {
            i.account == account && i.venue == Venue::BybitLinear && i.time >= from && i.time <= to
        })
        .filter(|i| currency.is_none_or(|c| c == i.asset) && kind.is_none_or(|k| k == i.kind))
        .collect();
    let (rows, next) = bybit_trade::page(rows, p, 20, 50)?;
    let list: Vec<Value> = rows
        .into_iter()
        .map(|i| {
            let trade = i.trade_id.and_then(|t| st.trades.iter().rev().find(|x| x.id == t && x.symbol == i.symbol && x.venue == Venue::BybitLinear));
            let mut v = json!({"symbol": i.symbol, "category": "linear", "transactionTime": i.time.to_string(), "type": i.kind,
                "currency": i.asset, "change": s(i.income), "cashBalance": s(i.balance_after), "bonusChange": "", "extraFees": ""});
            match trade {
                Some(t) => {
                    let o = st.order(t.order_id);
                    for (k, val) in [("side", if t.side == crate::model::Side::Buy { "Buy" } else { "Sell" }.to_string()),
                        ("qty", s(t.qty)), ("size", s(t.position_after.abs())), ("tradePrice", s(t.price)), ("funding", String::new()),
                        ("fee", s(t.commission)), ("cashFlow", s(t.realized_pnl)), ("feeRate", s(t.fee_rate)),
                        ("tradeId", crate::model::uuid_of("e0e0e0e0", t.id)), ("orderId", crate::model::uuid_of("5f3c1a2b", t.order_id)),
                        ("orderLinkId", o.map(|o| o.client_id.clone()).unwrap_or_default())] {
                        v[k] = json!(val);
                    }
                }
                None => {
                    let (amt, mark, rate) = i.funding_basis.unwrap_or_default();
                    let side = if amt > Decimal::ZERO { "Buy" } else if amt < Decimal::ZERO { "Sell" } else { "None" };
                    for (k, val) in [
                        ("side", side.to_string()),
                        ("qty", s(amt.abs())),
                        ("size", s(amt.abs())),
                        ("tradePrice", s(mark)),
                        ("funding", s(i.income)),
                        ("fee", "0".to_string()),
                        ("cashFlow", "0".to_string()),
                        ("feeRate", s(rate)),
                        ("tradeId", String::new()),
                        ("orderId", String::new()),
                        ("orderLinkId", String::new()),
                    ] {
                        v[k] = json!(val);
                    }
                }
            }
            v
        })
        .collect();
    Ok(json!({"list": list, "nextPageCursor": next}))
}
