//! Binance USDⓈ-M conditional exits through the Algo Service (`POST /fapi/v1/algoOrder`, since
//! 2025-12-09 the only endpoint taking `STOP_MARKET` / `TAKE_PROFIT_MARKET`; the classic
//! `/fapi/v1/order` answers -4120 for them). A trigger closes the whole position
//! (`closePosition=true`, no quantity) when the mark price crosses it, so it needs no resizing
//! when the position changes and survives our outage.

use super::enums::binance_side;
use crate::ids::ClientOrderId;
use crate::venue::error::VenueError;
use crate::venue::op::{
    ExitKind, ExitTrigger, OrderReport, OrderStatus, TriggerReport, TriggerState,
};
use crate::venue::sign::QueryString;
use crate::venue::wire::{client_id, fmt_dec, json};
use rust_decimal::Decimal;
use serde::Deserialize;

/// Path of the Algo Service order endpoint.
pub const ALGO_ORDER: &str = "/fapi/v1/algoOrder";

/// Adds the parameters of one close-position trigger.
pub fn push_algo(t: &ExitTrigger, q: &mut QueryString) {
    let order_type = match t.kind {
        ExitKind::StopLoss => "STOP_MARKET",
        ExitKind::TakeProfit => "TAKE_PROFIT_MARKET",
    };
    q.push("algoType", "CONDITIONAL")
        .push("symbol", t.symbol.as_str())
        .push("side", binance_side(t.close_side))
        .push("type", order_type)
        .push("triggerPrice", &fmt_dec(t.trigger_price))
        .push("workingType", "MARK_PRICE")
        .push("closePosition", "true")
        .push("clientAlgoId", t.client_order_id.as_str());
}

/// The parts of the Algo Service answer Keel reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlgoAck {
    algo_id: i64,
    client_algo_id: String,
    algo_status: String,
    #[serde(default)]
    update_time: i64,
}

/// Parses the answer to a placed trigger into an [`OrderReport`] (order id = `algoId`).
///
/// # Errors
/// [`VenueError::Parse`] for a body that is not an algo order, or whose client id differs.
pub fn parse_algo(t: &ExitTrigger, body: &str) -> Result<OrderReport, VenueError> {
    let ack: AlgoAck = json("algo order", body)?;
    let coid: Option<ClientOrderId> = client_id(&ack.client_algo_id);
    if coid.as_ref() != Some(&t.client_order_id) {
        return Err(VenueError::parse(
            "clientAlgoId",
            format!("{:?} answers {}", ack.client_algo_id, t.client_order_id),
        ));
    }
    let status = match ack.algo_status.as_str() {
        "NEW" | "TRIGGERING" | "TRIGGERED" => OrderStatus::New,
        "FINISHED" => OrderStatus::Filled,
        "CANCELED" => OrderStatus::Cancelled,
        "EXPIRED" => OrderStatus::Expired,
        "REJECTED" => OrderStatus::Rejected,
        other => return Err(VenueError::parse("algoStatus", other)),
    };
    Ok(OrderReport {
        order_id: ack.algo_id.to_string(),
        client_order_id: coid,
        symbol: t.symbol.clone(),
        side: Some(t.close_side),
        status,
        orig_qty: Decimal::ZERO,
        executed_qty: Decimal::ZERO,
        cum_quote: None,
        price: Decimal::ZERO,
        fills: Vec::new(),
        updated_ms: ack.update_time,
    })
}

/// The parts of the Algo Service's order lookup (`GET /fapi/v1/algoOrder`) Keel reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlgoQuery {
    algo_id: i64,
    #[serde(default)]
    client_algo_id: String,
    algo_status: String,
    /// Id of the order the trigger sent (string or number on the wire; empty before it fires).
    #[serde(default)]
    actual_order_id: Option<serde_json::Value>,
    #[serde(default)]
    update_time: i64,
}

/// An algo order's status (`algoStatus` on REST, `X` of a stream `ALGO_UPDATE`) as a trigger
/// state and whether the order it sent is done (`FINISHED`).
///
/// # Errors
/// [`VenueError::Parse`] for an unknown status.
pub(crate) fn algo_state(status: &str) -> Result<(TriggerState, bool), VenueError> {
    Ok(match status {
        "NEW" => (TriggerState::Working, false),
        "TRIGGERING" | "TRIGGERED" => (TriggerState::Fired, false),
        "FINISHED" => (TriggerState::Fired, true),
        "CANCELED" => (TriggerState::Cancelled, false),
        "EXPIRED" => (TriggerState::Expired, false),
        "REJECTED" => (TriggerState::Rejected, false),
        other => return Err(VenueError::parse("algoStatus", other)),
    })
}

/// Parses the lookup of one trigger: its state and, once fired, the order it sent
/// (`actualOrderId`), whose trades are the stop-out.
///
/// # Errors
/// [`VenueError::Parse`] for a body that is not an algo order or an unknown `algoStatus`.
pub fn parse_algo_query(body: &str) -> Result<TriggerReport, VenueError> {
    let q: AlgoQuery = json("algo order", body)?;
    let (state, finished) = algo_state(&q.algo_status)?;
    let actual_order_id = match q.actual_order_id {
        Some(serde_json::Value::String(s)) if !s.is_empty() && s != "0" => Some(s),
        Some(serde_json::Value::Number(n)) if n.as_i64().is_some_and(|v| v > 0) => {
            Some(n.to_string())
        }
        _ => None,
    };
    Ok(TriggerReport {
        trigger_id: q.algo_id.to_string(),
        client_order_id: client_id(&q.client_algo_id),
        state,
        actual_order_id,
        finished,
        updated_ms: q.update_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Symbol;
    use crate::model::{Market, Side};
    use crate::venue::binance::Binance;
    use crate::venue::clock::{ServerClock, DEFAULT_LAG_MS};
    use crate::venue::op::VenueOp;
    use crate::venue::sign::{hmac_sha256_hex, Credentials};
    use crate::venue::{BuildCtx, Planned, Venue};
    use rust_decimal_macros::dec;

    const TS: i64 = 1_700_000_000_000;

    fn trigger(kind: ExitKind) -> ExitTrigger {
        ExitTrigger {
            client_order_id: ClientOrderId::new("keel-1-sl").unwrap(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            close_side: Side::Sell,
            kind,
            trigger_price: dec!(60000.50),
            qty: None,
        }
    }

    fn build(market: Market, op: &VenueOp) -> Result<crate::venue::HttpRequest, VenueError> {
        let creds = Credentials::new("KEY", "SECRET");
        let clock = ServerClock::new();
        let ctx = BuildCtx {
            creds: Some(&creds),
            clock: &clock,
            now_ms: TS + DEFAULT_LAG_MS,
            base_url: "https://fapi.binance.com",
        };
        match Binance::new(market, 5000).build(op, &ctx)? {
            Planned::Http(r) => Ok(r),
            Planned::Immediate(r) => panic!("unexpected {r:?}"),
        }
    }

    #[test]
    fn trigger_request_is_a_signed_close_position_algo_order() {
        let cases = [
            (ExitKind::StopLoss, "STOP_MARKET"),
            (ExitKind::TakeProfit, "TAKE_PROFIT_MARKET"),
        ];
        for (kind, ty) in cases {
            let req = build(Market::Linear, &VenueOp::PlaceExitTrigger(trigger(kind))).unwrap();
            let (path, query) = req.path_and_query.split_once('?').unwrap();
            assert_eq!(path, ALGO_ORDER);
            let (unsigned, sig) = query.rsplit_once("&signature=").unwrap();
            let params = format!(
                "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type={ty}&triggerPrice=60000.5&workingType=MARK_PRICE&closePosition=true&clientAlgoId=keel-1-sl"
            );
            assert!(unsigned.starts_with(&params), "{unsigned}");
            assert_eq!(sig, hmac_sha256_hex("SECRET", unsigned));
        }
    }

    #[test]
    fn lookup_request_names_the_trigger_by_client_id() {
        let op = VenueOp::QueryExitTrigger {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            client_order_id: ClientOrderId::new("keel-1-sl").unwrap(),
        };
        let req = build(Market::Linear, &op).unwrap();
        assert_eq!(req.method, crate::venue::Method::Get);
        assert!(
            req.path_and_query
                .starts_with("/fapi/v1/algoOrder?clientAlgoId=keel-1-sl&recvWindow="),
            "{}",
            req.path_and_query
        );
        let fills = VenueOp::ExitFills {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            since_ms: TS,
            order_id: Some("42".into()),
        };
        let req = build(Market::Linear, &fills).unwrap();
        assert!(req
            .path_and_query
            .starts_with("/fapi/v1/userTrades?symbol=BTCUSDT&orderId=42&"));
        let without = VenueOp::ExitFills {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            since_ms: TS,
            order_id: None,
        };
        assert!(matches!(
            build(Market::Linear, &without),
            Err(VenueError::Unsupported { .. })
        ));
    }

    #[test]
    fn lookup_reports_state_and_the_order_a_fired_trigger_sent() {
        let body = |status: &str, actual: &str| {
            format!(
                r#"{{"algoId":3000001,"clientAlgoId":"keel-1-sl","algoType":"CONDITIONAL","orderType":"STOP_MARKET","symbol":"BTCUSDT","algoStatus":"{status}","actualOrderId":{actual},"updateTime":1750485492076}}"#
            )
        };
        let cases = [
            ("NEW", "\"\"", TriggerState::Working, None, false),
            (
                "TRIGGERED",
                "\"1000042\"",
                TriggerState::Fired,
                Some("1000042"),
                false,
            ),
            (
                "FINISHED",
                "1000042",
                TriggerState::Fired,
                Some("1000042"),
                true,
            ),
            ("CANCELED", "0", TriggerState::Cancelled, None, false),
            ("EXPIRED", "null", TriggerState::Expired, None, false),
            ("REJECTED", "\"\"", TriggerState::Rejected, None, false),
        ];
        for (status, actual, state, order, finished) in cases {
            let r = parse_algo_query(&body(status, actual)).unwrap();
            assert_eq!(r.state, state, "{status}");
            assert_eq!(r.actual_order_id.as_deref(), order, "{status}");
            assert_eq!(r.finished, finished, "{status}");
            assert_eq!(r.trigger_id, "3000001");
            assert_eq!(r.client_order_id.unwrap().as_str(), "keel-1-sl");
        }
        assert!(parse_algo_query(&body("ODD", "0")).is_err());
        assert!(!TriggerState::Working.is_final());
        assert!(TriggerState::Fired.is_final());
    }

    #[test]
    fn spot_refuses_triggers() {
        let err = build(
            Market::Spot,
            &VenueOp::PlaceExitTrigger(trigger(ExitKind::StopLoss)),
        );
        assert!(matches!(err, Err(VenueError::Unsupported { .. })));
    }

    #[test]
    fn ack_parses_and_checks_the_client_id() {
        let t = trigger(ExitKind::StopLoss);
        let ok = r#"{"algoId":2146760,"clientAlgoId":"keel-1-sl","algoType":"CONDITIONAL","orderType":"STOP_MARKET","symbol":"BTCUSDT","side":"SELL","algoStatus":"NEW","triggerPrice":"60000.5","closePosition":true,"updateTime":1750485492076}"#;
        let r = parse_algo(&t, ok).unwrap();
        assert_eq!(
            (r.order_id.as_str(), r.status, r.updated_ms),
            ("2146760", OrderStatus::New, 1_750_485_492_076)
        );
        let foreign = ok.replace("keel-1-sl", "other");
        assert!(parse_algo(&t, &foreign).is_err());
        let odd = ok.replace("\"NEW\"", "\"WHATEVER\"");
        assert!(parse_algo(&t, &odd).is_err());
    }
}
