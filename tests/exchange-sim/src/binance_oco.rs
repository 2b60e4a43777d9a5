//! Binance spot `POST /api/v3/orderList/oco` (the `aboveType` / `belowType` form): an exit pair
//! for a holding. Supported here as Keel uses it and Binance validates it: a SELL list with a
//! `LIMIT_MAKER` above the last price and a `STOP_LOSS` below it (a BUY list mirrored), both
//! legs on PRICE_FILTER / LOT_SIZE / NOTIONAL, the quantity locked once (by the resting limit
//! leg), and one leg filling expires the other. The stop leg waits as a trigger and is
//! answered by order lookups as a `STOP_LOSS` order until it fires.

use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::binance::{self, err, fixed, required, side_str};
use crate::binance_spot::order_json;
use crate::conditional::{Conditional, ExitKind, TriggerStatus};
use crate::config::Venue;
use crate::filters::{self, FilterFail};
use crate::http::{Params, Resp};
use crate::matching::NewOrder;
use crate::model::{OrdType, Side, Tif};
use crate::state::State;

const V: Venue = Venue::BinanceSpot;

/// `POST /api/v3/orderList/oco`.
pub fn new_oco(st: &mut State, account: usize, p: &Params, now: i64) -> Resp {
    match place(st, account, p, now) {
        Ok(r) | Err(r) => r,
    }
}

/// The two legs, whichever side each is on.
struct Legs<'a> {
    limit_at: &'a str,
    stop_at: &'a str,
}

fn place(st: &mut State, account: usize, p: &Params, now: i64) -> Result<Resp, Resp> {
    let symbol = binance::symbol(st, V, p)?;
    let side = match required(p, "side")? {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        _ => return Err(err(400, -1117, "Invalid side.")),
    };
    let legs = match (required(p, "aboveType")?, required(p, "belowType")?) {
        ("LIMIT_MAKER", "STOP_LOSS") if side == Side::Sell => Legs {
            limit_at: "above",
            stop_at: "below",
        },
        ("STOP_LOSS", "LIMIT_MAKER") if side == Side::Buy => Legs {
            limit_at: "below",
            stop_at: "above",
        },
        _ => {
            return Err(err(
                400,
                -1167,
                "This OCO order list combination of types is not supported by the simulator.",
            ))
        }
    };
    let qty = binance::decimal(p, "quantity")?.ok_or_else(|| binance::mandatory("quantity"))?;
    let limit_price = binance::decimal(p, &format!("{}Price", legs.limit_at))?
        .ok_or_else(|| binance::mandatory(&format!("{}Price", legs.limit_at)))?;
    let stop_price = binance::decimal(p, &format!("{}StopPrice", legs.stop_at))?
        .ok_or_else(|| binance::mandatory(&format!("{}StopPrice", legs.stop_at)))?;
    let inst = st
        .instrument(V, &symbol)
        .map(|i| (i.cfg.clone(), i.price))
        .ok_or_else(|| err(400, -1121, "Invalid symbol."))?;
    let (cfg, last) = inst;
    // Both legs pass the filters (the stop is valued at its stop price).
    for price in [limit_price, stop_price] {
        filters::check(&cfg, OrdType::Limit, Some(price), Some(qty), None, price).map_err(
            |f: FilterFail| binance::filter_error(V, f, Some(qty), Some(price), cfg.min_notional),
        )?;
    }
    let ordered = match side {
        Side::Sell => limit_price > last && last > stop_price,
        Side::Buy => limit_price < last && last < stop_price,
    };
    if !ordered {
        return Err(err(
            400,
            -2010,
            "The relationship of the prices for the orders is not correct.",
        ));
    }
    let client = |k: &str| p.get(k).unwrap_or_default().to_string();
    let limit_client = client(&format!("{}ClientOrderId", legs.limit_at));
    let stop_client = client(&format!("{}ClientOrderId", legs.stop_at));
    let list_client = client("listClientOrderId");
    let taken = |c: &str| {
        !c.is_empty()
            && (st.order_by_client_id(account, V, c).is_some()
                || st
                    .conditionals
                    .iter()
                    .any(|x| x.account == account && x.venue == V && x.client_id == c))
    };
    if limit_client.is_empty() || stop_client.is_empty() || limit_client == stop_client {
        return Err(err(400, -1102, "Each leg needs its own client order id."));
    }
    if taken(&limit_client) || taken(&stop_client) {
        return Err(err(400, -2010, "Duplicate order sent."));
    }
    // The limit leg rests and locks the quantity; the stop leg shares that lock.
    let limit_id = st
        .place(NewOrder {
            venue: V,
            account,
            symbol: symbol.clone(),
            side,
            kind: OrdType::Limit,
            tif: Tif::PostOnly,
            limit_maker: true,
            qty,
            quote_qty: None,
            price: Some(limit_price),
            client_id: limit_client,
            reduce_only: false,
            now,
        })
        .map_err(|r| binance::reject_error(V, r))?;
    let stop_id = st.add_conditional(Conditional {
        id: 0,
        venue: V,
        account,
        symbol: symbol.clone(),
        kind: ExitKind::StopLoss,
        trigger: stop_price,
        close_side: side,
        parent_id: 0,
        client_id: stop_client.clone(),
        status: TriggerStatus::Untriggered,
        order_id: None,
        qty,
        sibling: Some(limit_id),
        locked: Decimal::ZERO,
        time: now,
    });
    let list_id = stop_id;
    if !list_client.is_empty() {
        st.oco_lists.push((account, list_client.clone(), list_id));
    }
    let limit = st.order(limit_id).map(order_json).unwrap_or(Value::Null);
    let stop = stop_json(st, stop_id).unwrap_or(Value::Null);
    let mut reports = vec![stop, limit];
    for r in &mut reports {
        r["orderListId"] = json!(list_id);
    }
    Ok(Resp::json(
        200,
        &json!({"orderListId": list_id, "contingencyType": "OCO", "listStatusType": "EXEC_STARTED",
                "listOrderStatus": "EXECUTING", "listClientOrderId": list_client, "transactionTime": now,
                "symbol": symbol,
                "orders": [{"symbol": symbol, "orderId": stop_id, "clientOrderId": stop_client},
                           {"symbol": symbol, "orderId": limit_id, "clientOrderId": reports[1]["clientOrderId"]}],
                "orderReports": reports}),
    ))
}

/// The order view of a waiting (or deactivated) OCO stop leg, for order lookups.
pub fn stop_json(st: &State, id: u64) -> Option<Value> {
    let c = st
        .conditionals
        .iter()
        .find(|c| c.id == id && c.venue == V)?;
    let status = match c.status {
        TriggerStatus::Untriggered => "NEW",
        TriggerStatus::Deactivated => "EXPIRED",
        TriggerStatus::Triggered => "FILLED",
    };
    Some(
        json!({"symbol": c.symbol, "orderId": c.id, "orderListId": c.id, "clientOrderId": c.client_id,
        "price": fixed(Decimal::ZERO, 8), "origQty": fixed(c.qty, 8), "executedQty": fixed(Decimal::ZERO, 8),
        "cummulativeQuoteQty": fixed(Decimal::ZERO, 8), "status": status, "timeInForce": "GTC",
        "type": "STOP_LOSS", "side": side_str(c.close_side), "stopPrice": fixed(c.trigger, 8),
        "icebergQty": fixed(Decimal::ZERO, 8), "time": c.time, "updateTime": c.time, "isWorking": false,
        "workingTime": -1, "origQuoteOrderQty": fixed(Decimal::ZERO, 8), "selfTradePreventionMode": "EXPIRE_MAKER"}),
    )
}

/// An OCO stop leg that has not fired, looked up by client id (orders answer for fired ones).
pub fn waiting_stop(st: &State, account: usize, symbol: &str, client_id: &str) -> Option<Value> {
    let c = st.conditionals.iter().find(|c| {
        c.account == account
            && c.venue == V
            && c.symbol == symbol
            && c.client_id == client_id
            && c.sibling.is_some()
            && c.status != TriggerStatus::Triggered
    })?;
    stop_json(st, c.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;
    use crate::model::Status;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn state() -> State {
        let mut st = State::new(SimConfig::default(), 42);
        st.set_price(V, "BTCUSDT", dec("65000"), 0);
        st
    }

    fn sell(qty: &str, above: &str, below: &str, tag: &str) -> Params {
        Params::parse(&format!(
            "symbol=BTCUSDT&listClientOrderId={tag}-l&side=SELL&quantity={qty}&aboveType=LIMIT_MAKER&aboveClientOrderId={tag}-tp&abovePrice={above}&belowType=STOP_LOSS&belowClientOrderId={tag}-sl&belowStopPrice={below}"
        ))
    }

    fn btc(st: &State) -> (Decimal, Decimal) {
        let b = st.accounts[0]
            .spot
            .assets
            .get("BTC")
            .cloned()
            .unwrap_or_default();
        (b.free, b.locked)
    }

    fn code(r: &Resp) -> i64 {
        serde_json::from_str::<Value>(&r.body).unwrap()["code"]
            .as_i64()
            .unwrap_or(0)
    }

    #[test]
    fn refuses_what_binance_refuses() {
        let cases = [
            ("0.001", "64000", "63000", -2010), // target below the last price
            ("0.001", "67000", "66000", -2010), // stop above the last price
            ("0.001", "67000.005", "64000", -1013), // off the 0.01 tick (PRICE_FILTER)
            ("0.0000001", "67000", "64000", -1013), // under LOT_SIZE precision / minimum
            ("0.00001", "67000", "64000", -1013), // under NOTIONAL (5 USDT)
            ("5", "67000", "64000", -2010),     // more BTC than the account holds
        ];
        for (qty, above, below, want) in cases {
            let mut st = state();
            let before = btc(&st);
            let r = new_oco(&mut st, 0, &sell(qty, above, below, "r"), 1);
            assert_eq!(code(&r), want, "{qty} {above} {below}");
            assert_eq!(btc(&st), before, "nothing locked on refusal");
            assert!(st.conditionals.is_empty());
        }
    }

    #[test]
    fn locks_once_and_one_leg_filling_ends_the_other() {
        // Target reached: the limit leg fills, the stop is deactivated, nothing stays locked.
        let mut st = state();
        let (free0, locked0) = btc(&st);
        let r = new_oco(&mut st, 0, &sell("0.001", "67000", "64000", "a"), 1);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(btc(&st), (free0 - dec("0.001"), locked0 + dec("0.001")));
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["orderReports"][0]["type"], "STOP_LOSS");
        assert_eq!(body["orderReports"][1]["type"], "LIMIT_MAKER");
        st.set_price(V, "BTCUSDT", dec("67000"), 2);
        assert_eq!(st.conditionals[0].status, TriggerStatus::Deactivated);
        let tp = st.order_by_client_id(0, V, "a-tp").unwrap();
        assert_eq!(st.order(tp).unwrap().status, Status::Filled);
        assert_eq!(btc(&st).1, locked0);
        st.set_price(V, "BTCUSDT", dec("63000"), 3);
        assert!(
            st.conditionals[0].order_id.is_none(),
            "a spent stop never fires"
        );

        // Stop touched: the target expires (its lock released), the holding sells at market.
        let mut st = state();
        let r = new_oco(&mut st, 0, &sell("0.001", "67000", "64000", "b"), 1);
        assert_eq!(r.status, 200);
        st.set_price(V, "BTCUSDT", dec("63900"), 2);
        let c = &st.conditionals[0];
        assert_eq!(c.status, TriggerStatus::Triggered);
        let sold = st.order(c.order_id.unwrap()).unwrap();
        assert_eq!(
            (sold.status, sold.executed_qty),
            (Status::Filled, dec("0.001"))
        );
        let tp = st.order_by_client_id(0, V, "b-tp").unwrap();
        assert_eq!(st.order(tp).unwrap().status, Status::Expired);
        assert_eq!(btc(&st), (free0 - dec("0.001"), locked0));
    }
    #[test]
    fn a_walked_bar_fires_the_stop_at_its_price_before_the_target_and_a_gap_at_the_open() {
        // (open, high, low, close) → (leg that fills, its price).
        let cases = [
            // Both crossed: the low comes first for the long the pair protects.
            (["65000", "68000", "63000", "66000"], ("c-sl", "64000")),
            // Opens below the stop: sold at the open.
            (["63500", "68000", "63000", "66000"], ("c-sl", "63500")),
            // Only the high: the limit leg at its price.
            (["65000", "68000", "64500", "66000"], ("c-tp", "67000")),
        ];
        for ([o, h, l, c], (leg, price)) in cases {
            let mut st = state();
            let r = new_oco(&mut st, 0, &sell("0.001", "67000", "64000", "c"), 1);
            assert_eq!(r.status, 200, "{}", r.body);
            st.walk_bar(V, "BTCUSDT", dec(o), dec(h), dec(l), dec(c), 2);
            let filled = if leg == "c-sl" {
                st.conditionals[0].order_id.and_then(|id| st.order(id))
            } else {
                st.order_by_client_id(0, V, leg).and_then(|id| st.order(id))
            }
            .unwrap();
            assert_eq!(filled.status, Status::Filled, "{o} {h} {l} {c}");
            assert_eq!(
                filled.cum_quote / filled.executed_qty,
                dec(price),
                "{o} {h} {l} {c}"
            );
            assert_eq!(st.instrument(V, "BTCUSDT").unwrap().price, dec(c));
        }
    }
}
