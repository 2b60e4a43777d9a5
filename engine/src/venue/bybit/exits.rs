//! Fills of the orders Bybit creates by itself when a stop-loss / take-profit attached to an entry
//! fires. Such an order has a new `orderId` and an empty `orderLinkId`, so only its origin
//! (`createType` / `stopOrderType` on the execution) tells it apart from someone else's trade;
//! the bot claims these for the protection it placed (`durable_objects` `protection`).

use super::enums::bybit_side;
use super::models::{ByExecution, ByList, ByOrderAck};
use super::parse::payload;
use crate::model::Market;
use crate::venue::error::VenueError;
use crate::venue::http::HttpResponse;
use crate::venue::op::{
    ExitFill, ExitKind, ExitRef, ExitTrigger, OrderReport, OrderStatus, TriggerReport, TriggerState,
};
use crate::venue::wire::{client_id, fmt_dec};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// The create body of a spot TP/SL order (`orderFilter=tpslOrder`): a market sell of the
/// holding once the last price touches `triggerPrice`. Bybit locks the quantity from placement.
///
/// # Errors
/// [`VenueError::Unsupported`] for a trigger without a quantity (spot has no close-position).
pub fn tpsl_body(t: &ExitTrigger) -> Result<Map<String, Value>, VenueError> {
    let qty = t.qty.ok_or_else(|| VenueError::Unsupported {
        op: "place_exit_trigger",
        reason: "a spot TP/SL order needs the quantity it sells".into(),
    })?;
    let mut m = Map::new();
    m.insert("category".into(), "spot".into());
    m.insert("symbol".into(), t.symbol.as_str().into());
    m.insert("side".into(), bybit_side(t.close_side).into());
    m.insert("orderType".into(), "Market".into());
    m.insert("qty".into(), fmt_dec(qty).into());
    m.insert("marketUnit".into(), "baseCoin".into());
    m.insert("triggerPrice".into(), fmt_dec(t.trigger_price).into());
    m.insert("orderFilter".into(), "tpslOrder".into());
    m.insert("orderLinkId".into(), t.client_order_id.as_str().into());
    Ok(m)
}

/// The create acknowledgement of a spot TP/SL order (Bybit answers asynchronously).
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_tpsl_ack(t: &ExitTrigger, resp: &HttpResponse) -> Result<OrderReport, VenueError> {
    let ack: ByOrderAck = payload("order/create", resp)?;
    Ok(OrderReport {
        order_id: ack.order_id,
        client_order_id: Some(t.client_order_id.clone()),
        symbol: t.symbol.clone(),
        side: Some(t.close_side),
        status: OrderStatus::Acknowledged,
        orig_qty: t.qty.unwrap_or(Decimal::ZERO),
        executed_qty: Decimal::ZERO,
        cum_quote: None,
        price: Decimal::ZERO,
        fills: Vec::new(),
        updated_ms: 0,
    })
}

/// The cancel body of a spot TP/SL order (`POST /v5/order/cancel` with `orderFilter=tpslOrder`:
/// without the filter Bybit looks among ordinary orders and answers "order does not exist").
/// Cancelling it releases the holding it locks, which a spot close must sell.
///
/// # Errors
/// [`VenueError::Unsupported`] on linear: TP/SL there ride on the position and go with it.
pub fn cancel_body(market: Market, x: &ExitRef) -> Result<Map<String, Value>, VenueError> {
    if market != Market::Spot {
        return Err(VenueError::Unsupported {
            op: "cancel_exit",
            reason: "Bybit linear TP/SL belong to the position and end with it".into(),
        });
    }
    let mut m = Map::new();
    m.insert("category".into(), "spot".into());
    m.insert("symbol".into(), x.symbol.as_str().into());
    m.insert("orderLinkId".into(), x.client_order_id.as_str().into());
    m.insert("orderFilter".into(), "tpslOrder".into());
    Ok(m)
}

/// The acknowledgement of a cancelled spot TP/SL order, as the cancelled trigger's state.
///
/// # Errors
/// [`VenueError::Parse`] for another shape or an answer naming another order; the mapped
/// `retCode` otherwise (an order already gone is [`VenueError::UnknownOrder`]).
pub fn parse_cancel(x: &ExitRef, resp: &HttpResponse) -> Result<TriggerReport, VenueError> {
    let ack: ByOrderAck = payload("order/cancel", resp)?;
    if client_id(&ack.order_link_id).as_ref() != Some(&x.client_order_id) {
        return Err(VenueError::parse(
            "orderLinkId",
            format!(
                "{:?} answers a cancel of {}",
                ack.order_link_id, x.client_order_id
            ),
        ));
    }
    Ok(TriggerReport {
        trigger_id: ack.order_id,
        client_order_id: Some(x.client_order_id.clone()),
        state: TriggerState::Cancelled,
        actual_order_id: None,
        finished: false,
        updated_ms: 0,
    })
}

/// Which exit created the execution's order: `Some(Some(kind))` for a stop-loss or take-profit,
/// `Some(None)` for a TP/SL-created order of unstated kind (spot `tpslOrder`, `OcoOrder`),
/// `None` for an ordinary order.
pub fn exit_origin(create_type: &str, stop_order_type: &str) -> Option<Option<ExitKind>> {
    match (create_type, stop_order_type) {
        ("CreateByStopLoss" | "CreateByPartialStopLoss", _)
        | (_, "StopLoss" | "PartialStopLoss") => Some(Some(ExitKind::StopLoss)),
        ("CreateByTakeProfit" | "CreateByPartialTakeProfit", _)
        | (_, "TakeProfit" | "PartialTakeProfit") => Some(Some(ExitKind::TakeProfit)),
        (_, "tpslOrder" | "OcoOrder") => Some(None),
        _ => None,
    }
}

/// Parses an execution list, keeping the trades of TP/SL-created orders, oldest first.
///
/// # Errors
/// [`VenueError::Parse`] or the mapped `retCode`.
pub fn parse_exit_fills(resp: &HttpResponse) -> Result<Vec<ExitFill>, VenueError> {
    let list: ByList<ByExecution> = payload("execution/list", resp)?;
    let mut out = Vec::new();
    for e in &list.list {
        if !matches!(e.exec_type.as_str(), "Trade" | "") {
            continue;
        }
        let Some(kind) = exit_origin(&e.create_type, &e.stop_order_type) else {
            continue;
        };
        out.push(ExitFill {
            kind,
            fill: crate::venue::bybit::parse::fill_of(e)?,
        });
    }
    out.sort_by(|a, b| (a.fill.time_ms, &a.fill.trade_id).cmp(&(b.fill.time_ms, &b.fill.trade_id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Symbol;
    use crate::model::{Market, Side};
    use crate::venue::bybit::Bybit;
    use crate::venue::clock::{ServerClock, DEFAULT_LAG_MS};
    use crate::venue::op::{VenueOp, VenueReply};
    use crate::venue::sign::Credentials;
    use crate::venue::testing::ok_fixture;
    use crate::venue::{BuildCtx, Planned, Venue};
    use rust_decimal_macros::dec;

    #[test]
    fn spot_tpsl_order_is_a_signed_market_sell_of_the_holding() {
        let creds = Credentials::new("KEY", "SECRET");
        let clock = ServerClock::new();
        let ctx = BuildCtx {
            creds: Some(&creds),
            clock: &clock,
            now_ms: 1_700_000_000_000 + DEFAULT_LAG_MS,
            base_url: "https://api.bybit.com",
        };
        let t = ExitTrigger {
            client_order_id: crate::ids::ClientOrderId::new("k-sl").unwrap(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            close_side: Side::Sell,
            kind: ExitKind::StopLoss,
            trigger_price: dec!(64000.010),
            qty: Some(dec!(0.000999)),
        };
        let op = VenueOp::PlaceExitTrigger(t.clone());
        let Ok(Planned::Http(req)) = Bybit::new(Market::Spot, 5000).build(&op, &ctx) else {
            panic!("request")
        };
        let body: Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"category": "spot", "symbol": "BTCUSDT", "side": "Sell",
                "orderType": "Market", "qty": "0.000999", "marketUnit": "baseCoin",
                "triggerPrice": "64000.01", "orderFilter": "tpslOrder", "orderLinkId": "k-sl"})
        );
        assert!(req.signed.is_some());
        assert!(Bybit::new(Market::Linear, 5000).build(&op, &ctx).is_err());
        let mut no_qty = t.clone();
        no_qty.qty = None;
        assert!(tpsl_body(&no_qty).is_err());
        let ack = crate::venue::testing::response(
            200,
            &[],
            r#"{"retCode":0,"retMsg":"OK","result":{"orderId":"1850","orderLinkId":"k-sl"},"time":1700000000000}"#,
        );
        let r = parse_tpsl_ack(&t, &ack).unwrap();
        assert_eq!(
            (r.order_id.as_str(), r.status, r.orig_qty),
            ("1850", OrderStatus::Acknowledged, dec!(0.000999))
        );
    }

    #[test]
    fn origin_follows_create_and_stop_order_type() {
        let cases = [
            ("CreateByStopLoss", "", Some(Some(ExitKind::StopLoss))),
            ("", "PartialStopLoss", Some(Some(ExitKind::StopLoss))),
            (
                "CreateByTakeProfit",
                "TakeProfit",
                Some(Some(ExitKind::TakeProfit)),
            ),
            ("CreateByUser", "tpslOrder", Some(None)),
            ("CreateByUser", "", None),
            ("CreateByClosing", "UNKNOWN", None),
        ];
        for (create, stop, want) in cases {
            assert_eq!(exit_origin(create, stop), want, "{create} {stop}");
        }
    }

    #[test]
    fn keeps_only_tpsl_trades_oldest_first() {
        let op = VenueOp::ExitFills {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            since_ms: 1_750_485_000_000,
            order_id: None,
        };
        let venue = Bybit::new(Market::Linear, 5000);
        let Ok(VenueReply::ExitFills(fills)) =
            venue.parse(&op, &ok_fixture("bybit/execution_list_tpsl.json"))
        else {
            panic!("exit fills")
        };
        let got: Vec<_> = fills
            .iter()
            .map(|f| (f.kind, f.fill.side, f.fill.price, f.fill.qty, f.fill.fee))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Some(ExitKind::StopLoss),
                    Side::Sell,
                    dec!(63900),
                    dec!(0.002),
                    dec!(0.0703)
                ),
                (
                    Some(ExitKind::TakeProfit),
                    Side::Sell,
                    dec!(67000),
                    dec!(0.001),
                    dec!(0.03)
                ),
            ]
        );
        assert!(fills.iter().all(|f| f.fill.client_order_id.is_none()));
        assert_eq!(
            fills[0].fill.order_id,
            "5f3c1a2b-0000-0000-0000-000001000043"
        );
    }

    #[test]
    fn request_reads_the_symbols_executions_since_the_protection() {
        let creds = Credentials::new("KEY", "SECRET");
        let clock = ServerClock::new();
        let ctx = BuildCtx {
            creds: Some(&creds),
            clock: &clock,
            now_ms: 1_700_000_000_000 + DEFAULT_LAG_MS,
            base_url: "https://api.bybit.com",
        };
        let op = VenueOp::ExitFills {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            since_ms: 1_700_000_000_000,
            order_id: Some("abc".into()),
        };
        let Ok(Planned::Http(req)) = Bybit::new(Market::Linear, 5000).build(&op, &ctx) else {
            panic!("request")
        };
        assert!(
            req.path_and_query.starts_with(
                "/v5/execution/list?category=linear&symbol=BTCUSDT&startTime=1700000000000&"
            ),
            "{}",
            req.path_and_query
        );
        assert!(req.path_and_query.ends_with("&orderId=abc"));
        let q = VenueOp::QueryExitTrigger {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            client_order_id: crate::ids::ClientOrderId::new("k-sl").unwrap(),
        };
        assert!(Bybit::new(Market::Linear, 5000).build(&q, &ctx).is_err());
    }

    #[test]
    fn spot_tpsl_cancel_names_the_filter_and_parses_the_ack() {
        use crate::ids::{ClientOrderId, Symbol};
        use crate::venue::op::{ExitRef, VenueOp, VenueReply};
        let x = ExitRef {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            client_order_id: ClientOrderId::new("k-sl").unwrap(),
            list_client_order_id: None,
        };
        let creds = Credentials::new("KEY", "SECRET");
        let clock = ServerClock::new();
        let ctx = BuildCtx {
            creds: Some(&creds),
            clock: &clock,
            now_ms: 1_700_000_000_000 + DEFAULT_LAG_MS,
            base_url: "https://api.bybit.com",
        };
        let op = VenueOp::CancelExit(x.clone());
        let Ok(Planned::Http(req)) = Bybit::new(Market::Spot, 5000).build(&op, &ctx) else {
            panic!("request")
        };
        assert_eq!(req.path_and_query, "/v5/order/cancel");
        let body: Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"category":"spot","symbol":"BTCUSDT","orderLinkId":"k-sl","orderFilter":"tpslOrder"})
        );
        assert!(Bybit::new(Market::Linear, 5000).build(&op, &ctx).is_err());
        let resp = |body: &str| HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
            received_ms: 0,
        };
        let cases = [
            (
                r#"{"retCode":0,"retMsg":"OK","result":{"orderId":"abc","orderLinkId":"k-sl"},"time":1}"#,
                Some("abc"),
                false,
            ),
            (
                r#"{"retCode":0,"retMsg":"OK","result":{"orderId":"abc","orderLinkId":"k-tp"},"time":1}"#,
                None,
                false,
            ),
            (
                r#"{"retCode":170213,"retMsg":"Order does not exist.","result":{},"time":1}"#,
                None,
                true,
            ),
        ];
        for (body, want, unknown) in cases {
            let got = Bybit::new(Market::Spot, 5000).parse(&op, &resp(body));
            match (want, got) {
                (Some(id), Ok(VenueReply::Trigger(t))) => {
                    assert_eq!(t.trigger_id, id);
                    assert_eq!(t.state, TriggerState::Cancelled);
                }
                (None, Err(VenueError::UnknownOrder { .. })) => assert!(unknown, "{body}"),
                (None, Err(VenueError::Parse { .. })) => assert!(!unknown, "{body}"),
                (w, g) => panic!("{body}: want {w:?} got {g:?}"),
            }
        }
    }
}
