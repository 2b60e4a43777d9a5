//! Cancelling resting exits as the exchanges do: Binance spot `DELETE /api/v3/orderList` (the
//! whole OCO list: the waiting stop leg and the resting limit-maker, releasing the quantity),
//! Binance USDⓈ-M `DELETE /fapi/v1/algoOrder` (an Algo Service trigger; cancel-all-open-orders
//! leaves those alone), and Bybit `POST /v5/order/cancel` with `orderFilter=tpslOrder` (a spot
//! TP/SL order, releasing the holding it locked). An exit that already fired or ended is
//! unknown, as on the exchange.

use serde_json::{json, Value};

use crate::binance::{self, err, fixed, side_str};
use crate::binance_spot::order_json;
use crate::conditional::TriggerStatus;
use crate::config::Venue;
use crate::http::{Params, Resp};
use crate::model::uuid_of;
use crate::state::State;

impl State {
    /// Deactivates the waiting OCO stop leg whose limit leg is `order_id` (the list ends with
    /// either leg's cancel).
    pub fn end_oco_of(&mut self, order_id: u64) {
        for c in self
            .conditionals
            .iter_mut()
            .filter(|c| c.sibling == Some(order_id) && c.status == TriggerStatus::Untriggered)
        {
            c.status = TriggerStatus::Deactivated;
        }
    }

    /// Index of a waiting trigger of `venue` for `account`, by exchange id or client id.
    fn waiting(
        &self,
        venue: Venue,
        account: usize,
        id: Option<u64>,
        client: Option<&str>,
    ) -> Option<usize> {
        if id.is_none() && client.is_none_or(str::is_empty) {
            return None;
        }
        self.conditionals.iter().position(|c| {
            c.account == account
                && c.venue == venue
                && c.status == TriggerStatus::Untriggered
                && id.is_none_or(|i| c.id == i)
                && client.is_none_or(|k| c.client_id == k)
        })
    }
}

/// `DELETE /api/v3/orderList` by `orderListId` or `listClientOrderId`.
pub fn cancel_order_list(st: &mut State, account: usize, p: &Params, now: i64) -> Resp {
    let symbol = match binance::symbol(st, Venue::BinanceSpot, p) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let by_id = p.get("orderListId").and_then(|v| v.parse::<u64>().ok());
    let by_client = p.get("listClientOrderId");
    if by_id.is_none() && by_client.is_none() {
        return err(
            400,
            -1102,
            "Mandatory parameter 'orderListId' was not sent, was empty/null, or malformed.",
        );
    }
    let list = st.oco_lists.iter().find(|(a, k, id)| {
        *a == account && by_id.is_none_or(|i| *id == i) && by_client.is_none_or(|c| c == k)
    });
    let Some((_, list_client, list_id)) = list.cloned() else {
        return err(400, -2011, "Unknown order sent.");
    };
    let Some(i) = st
        .waiting(Venue::BinanceSpot, account, Some(list_id), None)
        .filter(|i| st.conditionals.get(*i).is_some_and(|c| c.symbol == symbol))
    else {
        return err(400, -2011, "Unknown order sent.");
    };
    let Some(c) = st.conditionals.get_mut(i) else {
        return err(400, -2011, "Unknown order sent.");
    };
    c.status = TriggerStatus::Deactivated;
    let c = c.clone();
    let mut reports: Vec<Value> = Vec::new();
    let mut orders = vec![json!({"symbol": symbol, "orderId": c.id, "clientOrderId": c.client_id})];
    reports.push(json!({"symbol": symbol, "orderId": c.id, "orderListId": list_id,
        "clientOrderId": c.client_id, "transactTime": now, "price": fixed(rust_decimal::Decimal::ZERO, 8),
        "origQty": fixed(c.qty, 8), "executedQty": fixed(rust_decimal::Decimal::ZERO, 8),
        "status": "CANCELED", "timeInForce": "GTC", "type": "STOP_LOSS",
        "side": side_str(c.close_side), "stopPrice": fixed(c.trigger, 8)}));
    if let Some(limit) = c.sibling {
        st.cancel(limit, now);
        if let Some(o) = st.order(limit) {
            let mut r = order_json(o);
            r["orderListId"] = json!(list_id);
            orders.push(json!({"symbol": symbol, "orderId": o.id, "clientOrderId": o.client_id}));
            reports.push(r);
        }
    }
    Resp::json(
        200,
        &json!({"orderListId": list_id, "contingencyType": "OCO", "listStatusType": "ALL_DONE",
                "listOrderStatus": "ALL_DONE", "listClientOrderId": list_client,
                "transactionTime": now, "symbol": symbol, "orders": orders,
                "orderReports": reports}),
    )
}

/// `DELETE /fapi/v1/algoOrder` by `algoId` or `clientAlgoId`.
pub fn cancel_algo(st: &mut State, account: usize, p: &Params, _now: i64) -> Resp {
    let by_id = p.get("algoId").and_then(|v| v.parse::<u64>().ok());
    let by_client = p.get("clientAlgoId");
    if by_id.is_none() && by_client.is_none() {
        return err(
            400,
            -1102,
            "Mandatory parameter 'algoId' was not sent, was empty/null, or malformed.",
        );
    }
    let Some(i) = st.waiting(Venue::BinanceFutures, account, by_id, by_client) else {
        return err(400, -2011, "Unknown order sent.");
    };
    let Some(c) = st.conditionals.get_mut(i) else {
        return err(400, -2011, "Unknown order sent.");
    };
    c.status = TriggerStatus::Deactivated;
    Resp::json(
        200,
        &json!({"algoId": c.id, "clientAlgoId": c.client_id, "code": "200", "msg": "success"}),
    )
}

/// `POST /v5/order/cancel` with `orderFilter=tpslOrder`: a waiting spot TP/SL order by
/// `orderLinkId` (or `orderId`); `None` when there is none (the caller answers "does not exist").
pub fn cancel_tpsl(st: &mut State, account: usize, venue: Venue, p: &Params) -> Option<Value> {
    if venue != Venue::BybitSpot {
        return None;
    }
    let by_id = p.get("orderId").and_then(crate::model::id_of_uuid);
    let i = st.waiting(venue, account, by_id, p.get("orderLinkId"))?;
    let c = st.conditionals.get(i)?.clone();
    if p.get("symbol").is_some_and(|s| s != c.symbol) {
        return None;
    }
    let base = st.instrument(venue, &c.symbol).map(|x| x.cfg.base.clone());
    if let (Some(base), Some(acc)) = (base, st.accounts.get_mut(account)) {
        acc.spot.unlock(&base, c.locked);
    }
    let me = st.conditionals.get_mut(i)?;
    me.status = TriggerStatus::Deactivated;
    me.locked = rust_decimal::Decimal::ZERO;
    Some(json!({"orderId": uuid_of("5f3c1a2b", c.id), "orderLinkId": c.client_id}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;
    use crate::model::Status;
    use rust_decimal::Decimal;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn code(r: &Resp) -> i64 {
        serde_json::from_str::<Value>(&r.body).unwrap()["code"]
            .as_i64()
            .unwrap_or(0)
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

    #[test]
    fn oco_list_cancel_ends_both_legs_and_releases_the_holding() {
        let mut st = State::new(SimConfig::default(), 42);
        st.set_price(Venue::BinanceSpot, "BTCUSDT", dec("65000"), 0);
        let before = btc(&st);
        let placed = crate::binance_oco::new_oco(
            &mut st,
            0,
            &Params::parse("symbol=BTCUSDT&listClientOrderId=k-oco&side=SELL&quantity=0.001&aboveType=LIMIT_MAKER&aboveClientOrderId=k-tp&abovePrice=67000&belowType=STOP_LOSS&belowClientOrderId=k-sl&belowStopPrice=64000"),
            1,
        );
        assert_eq!(placed.status, 200, "{}", placed.body);
        assert_ne!(btc(&st), before);
        let r = cancel_order_list(
            &mut st,
            0,
            &Params::parse("symbol=BTCUSDT&listClientOrderId=k-oco"),
            2,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["listOrderStatus"], "ALL_DONE");
        assert_eq!(v["listClientOrderId"], "k-oco");
        assert_eq!(btc(&st), before);
        assert!(st
            .conditionals
            .iter()
            .all(|c| c.status == TriggerStatus::Deactivated));
        let limit_id = st
            .order_by_client_id(0, Venue::BinanceSpot, "k-tp")
            .unwrap();
        assert_eq!(st.order(limit_id).unwrap().status, Status::Canceled);
        // Gone now: a second cancel is an unknown order, as on Binance.
        let again = cancel_order_list(
            &mut st,
            0,
            &Params::parse("symbol=BTCUSDT&listClientOrderId=k-oco"),
            3,
        );
        assert_eq!(code(&again), -2011);
    }

    #[test]
    fn algo_cancel_deactivates_only_a_waiting_trigger() {
        let mut st = State::new(SimConfig::default(), 42);
        st.set_price(Venue::BinanceFutures, "BTCUSDT", dec("65000"), 0);
        let placed = crate::binance_algo::new_algo(
            &mut st,
            0,
            &Params::parse("algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&triggerPrice=64000&workingType=MARK_PRICE&closePosition=true&clientAlgoId=k-sl"),
            1,
        );
        assert_eq!(placed.status, 200, "{}", placed.body);
        let cases = [
            ("clientAlgoId=k-sl", 200, 0),
            ("clientAlgoId=k-sl", 400, -2011),
            ("", 400, -1102),
        ];
        for (q, status, c) in cases {
            let r = cancel_algo(&mut st, 0, &Params::parse(q), 2);
            assert_eq!((r.status, code(&r)), (status, c), "{q}: {}", r.body);
        }
        assert_eq!(st.conditionals[0].status, TriggerStatus::Deactivated);
    }
}
