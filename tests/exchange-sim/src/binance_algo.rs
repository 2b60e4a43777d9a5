//! Binance USDⓈ-M Algo Service `POST /fapi/v1/algoOrder`: conditional close-position exits
//! (`STOP_MARKET` / `TAKE_PROFIT_MARKET`, `closePosition=true`), validated as Binance does and
//! stored as exchange-side triggers that fire when the mark price crosses them.

use rust_decimal::Decimal;
use serde_json::json;

use crate::binance::{self, err, required, side_str};
use crate::conditional::{Conditional, ExitKind, TriggerStatus};
use crate::config::Venue;
use crate::http::{Params, Resp};
use crate::model::Side;
use crate::state::State;

const V: Venue = Venue::BinanceFutures;

/// `POST /fapi/v1/algoOrder` (close-position conditional orders only).
pub fn new_algo(st: &mut State, account: usize, p: &Params, now: i64) -> Resp {
    match place(st, account, p, now) {
        Ok(r) | Err(r) => r,
    }
}

fn place(st: &mut State, account: usize, p: &Params, now: i64) -> Result<Resp, Resp> {
    if required(p, "algoType")? != "CONDITIONAL" {
        return Err(err(400, -1116, "Invalid algoType."));
    }
    let symbol = binance::symbol(st, V, p)?;
    let side = match required(p, "side")? {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        _ => return Err(err(400, -1117, "Invalid side.")),
    };
    let kind = match required(p, "type")? {
        "STOP_MARKET" => ExitKind::StopLoss,
        "TAKE_PROFIT_MARKET" => ExitKind::TakeProfit,
        _ => return Err(err(400, -1116, "Invalid orderType.")),
    };
    if p.get("closePosition") != Some("true") {
        return Err(err(
            400,
            -1102,
            "Mandatory parameter 'closePosition' was not sent, was empty/null, or malformed.",
        ));
    }
    if p.get("quantity").is_some() || p.get("reduceOnly").is_some() {
        return Err(err(
            400,
            -1106,
            "Parameter 'quantity' sent when not required.",
        ));
    }
    let working = p.get("workingType").unwrap_or("CONTRACT_PRICE");
    if working != "MARK_PRICE" && working != "CONTRACT_PRICE" {
        return Err(err(400, -1116, "Invalid workingType."));
    }
    let trigger =
        binance::decimal(p, "triggerPrice")?.ok_or_else(|| binance::mandatory("triggerPrice"))?;
    let (tick, mark) = st
        .instrument(V, &symbol)
        .map(|i| (i.cfg.tick_size, i.price))
        .unwrap_or_default();
    if trigger <= Decimal::ZERO || (!tick.is_zero() && !(trigger % tick).is_zero()) {
        return Err(err(400, -4014, "Price not increased by tick size."));
    }
    // A stop/target already crossed would fire at once: Binance refuses it.
    let crossed = match (kind, side) {
        (ExitKind::StopLoss, Side::Sell) | (ExitKind::TakeProfit, Side::Buy) => mark <= trigger,
        (ExitKind::StopLoss, Side::Buy) | (ExitKind::TakeProfit, Side::Sell) => mark >= trigger,
    };
    if crossed {
        return Err(err(400, -2021, "Order would immediately trigger."));
    }
    let client_id = p.get("clientAlgoId").unwrap_or_default().to_string();
    if client_id.is_empty() || client_id.len() > 36 {
        return Err(err(400, -4015, "Client order id is not valid."));
    }
    if st
        .conditionals
        .iter()
        .any(|c| c.account == account && c.venue == V && c.client_id == client_id)
    {
        return Err(err(400, -4116, "ClientOrderId is duplicated."));
    }
    let id = st.add_conditional(Conditional {
        id: 0,
        venue: V,
        account,
        symbol: symbol.clone(),
        kind,
        trigger,
        close_side: side,
        parent_id: 0,
        client_id: client_id.clone(),
        status: TriggerStatus::Untriggered,
        order_id: None,
        qty: Decimal::ZERO,
        sibling: None,
        locked: Decimal::ZERO,
        time: now,
    });
    let order_type = match kind {
        ExitKind::StopLoss => "STOP_MARKET",
        ExitKind::TakeProfit => "TAKE_PROFIT_MARKET",
    };
    Ok(Resp::json(
        200,
        &json!({"algoId": id, "clientAlgoId": client_id, "algoType": "CONDITIONAL",
                "orderType": order_type, "symbol": symbol, "side": side_str(side),
                "positionSide": "BOTH", "timeInForce": "GTC", "quantity": "0", "algoStatus": "NEW",
                "triggerPrice": trigger.normalize().to_string(), "price": "0", "icebergQuantity": null,
                "selfTradePreventionMode": "EXPIRE_MAKER", "workingType": working,
                "priceMatch": "NONE", "closePosition": true, "priceProtect": false,
                "reduceOnly": true, "activatePrice": "", "callbackRate": "",
                "createTime": now, "updateTime": now, "triggerTime": 0, "goodTillDate": 0}),
    ))
}

/// `GET /fapi/v1/algoOrder` by `algoId` or `clientAlgoId`: the trigger's state and, once it has
/// fired, `actualOrderId` (the market order it sent, whose trades are the stop-out).
pub fn query_algo(st: &mut State, account: usize, p: &Params, _now: i64) -> Resp {
    let by_id = p.get("algoId").and_then(|v| v.parse::<u64>().ok());
    let by_client = p.get("clientAlgoId");
    if by_id.is_none() && by_client.is_none() {
        return err(
            400,
            -1102,
            "Mandatory parameter 'algoId' was not sent, was empty/null, or malformed.",
        );
    }
    let Some(c) = st.conditionals.iter().find(|c| {
        c.account == account
            && c.venue == V
            && by_id.is_none_or(|id| c.id == id)
            && by_client.is_none_or(|cid| c.client_id == cid)
    }) else {
        return err(400, -2013, "Order does not exist.");
    };
    let status = match c.status {
        TriggerStatus::Untriggered => "NEW",
        // The fired close is a market order: it has filled by the time anyone can ask.
        TriggerStatus::Triggered => "FINISHED",
        TriggerStatus::Deactivated => "CANCELED",
    };
    let actual = c.order_id.map(|o| o.to_string()).unwrap_or_default();
    let actual_price = c
        .order_id
        .and_then(|o| st.order(o))
        .filter(|o| o.executed_qty > Decimal::ZERO)
        .map(|o| (o.cum_quote / o.executed_qty).normalize().to_string())
        .unwrap_or_default();
    let order_type = match c.kind {
        ExitKind::StopLoss => "STOP_MARKET",
        ExitKind::TakeProfit => "TAKE_PROFIT_MARKET",
    };
    Resp::json(
        200,
        &json!({"algoId": c.id, "clientAlgoId": c.client_id, "algoType": "CONDITIONAL",
                "orderType": order_type, "symbol": c.symbol, "side": side_str(c.close_side),
                "positionSide": "BOTH", "timeInForce": "GTC", "quantity": "0", "algoStatus": status,
                "actualOrderId": actual, "actualPrice": actual_price,
                "triggerPrice": c.trigger.normalize().to_string(), "price": "0",
                "workingType": "MARK_PRICE", "closePosition": true, "reduceOnly": true,
                "createTime": c.time, "updateTime": c.time, "triggerTime": 0}),
    )
}
