//! Cancelling the bot's own resting exits on Binance before a close: on spot the whole OCO list
//! (`DELETE /api/v3/orderList` by `listClientOrderId`: its legs lock the holding a close must
//! sell), on USDⓈ-M the Algo Service trigger (`DELETE /fapi/v1/algoOrder` by `clientAlgoId`:
//! cancel-all-open-orders does not reach algo orders, so without this they outlive the position).

use super::algo::ALGO_ORDER;
use crate::ids::ClientOrderId;
use crate::model::Market;
use crate::venue::error::VenueError;
use crate::venue::op::{ExitRef, TriggerReport, TriggerState};
use crate::venue::sign::QueryString;
use crate::venue::wire::{client_id, json};
use serde::Deserialize;

/// Path of the spot order-list endpoint (cancel with `DELETE`).
pub const ORDER_LIST: &str = "/api/v3/orderList";

/// Adds the cancel parameters of one exit and returns the path they go to.
///
/// # Errors
/// [`VenueError::Unsupported`] for a spot exit that is not a leg of an OCO list (Keel places
/// spot exits on Binance only as OCO lists).
pub fn push_cancel(
    market: Market,
    x: &ExitRef,
    q: &mut QueryString,
) -> Result<&'static str, VenueError> {
    match market {
        Market::Spot => {
            let list = x
                .list_client_order_id
                .as_ref()
                .ok_or_else(|| VenueError::Unsupported {
                    op: "cancel_exit",
                    reason: "a Binance spot exit is cancelled as its OCO list".into(),
                })?;
            q.push("symbol", x.symbol.as_str())
                .push("listClientOrderId", list.as_str());
            Ok(ORDER_LIST)
        }
        Market::Linear => {
            q.push("clientAlgoId", x.client_order_id.as_str());
            Ok(ALGO_ORDER)
        }
    }
}

/// The parts of the spot list-cancel answer Keel reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListCancel {
    order_list_id: i64,
    list_client_order_id: String,
    list_order_status: String,
    #[serde(default)]
    transaction_time: i64,
}

/// The parts of the algo-cancel answer Keel reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlgoCancel {
    algo_id: i64,
    client_algo_id: String,
}

/// Parses the answer to a cancelled exit into its (now cancelled) trigger state.
///
/// # Errors
/// [`VenueError::Parse`] for a body of another shape, a list still executing, or an answer
/// naming another exit than the one cancelled.
pub fn parse_cancel(market: Market, x: &ExitRef, body: &str) -> Result<TriggerReport, VenueError> {
    let (trigger_id, answered, want, updated_ms): (String, Option<ClientOrderId>, _, i64) =
        match market {
            Market::Spot => {
                let l: ListCancel = json("order list cancel", body)?;
                if l.list_order_status != "ALL_DONE" {
                    return Err(VenueError::parse("listOrderStatus", l.list_order_status));
                }
                (
                    l.order_list_id.to_string(),
                    client_id(&l.list_client_order_id),
                    x.list_client_order_id.as_ref(),
                    l.transaction_time,
                )
            }
            Market::Linear => {
                let a: AlgoCancel = json("algo order cancel", body)?;
                (
                    a.algo_id.to_string(),
                    client_id(&a.client_algo_id),
                    Some(&x.client_order_id),
                    0,
                )
            }
        };
    if answered.as_ref() != want {
        return Err(VenueError::parse(
            "clientId",
            format!("{answered:?} answers a cancel of {}", x.client_order_id),
        ));
    }
    Ok(TriggerReport {
        trigger_id,
        client_order_id: Some(x.client_order_id.clone()),
        state: TriggerState::Cancelled,
        actual_order_id: None,
        finished: false,
        updated_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Symbol;
    use crate::venue::binance::Binance;
    use crate::venue::clock::{ServerClock, DEFAULT_LAG_MS};
    use crate::venue::http::{HttpResponse, Method};
    use crate::venue::op::{VenueOp, VenueReply};
    use crate::venue::sign::{hmac_sha256_hex, Credentials};
    use crate::venue::{BuildCtx, Planned, Venue};

    const TS: i64 = 1_700_000_000_000;

    fn exit(list: Option<&str>) -> ExitRef {
        ExitRef {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            client_order_id: ClientOrderId::new("k-sl").unwrap(),
            list_client_order_id: list.map(|l| ClientOrderId::new(l).unwrap()),
        }
    }

    fn build(market: Market, x: ExitRef) -> Result<crate::venue::HttpRequest, VenueError> {
        let creds = Credentials::new("KEY", "SECRET");
        let clock = ServerClock::new();
        let ctx = BuildCtx {
            creds: Some(&creds),
            clock: &clock,
            now_ms: TS + DEFAULT_LAG_MS,
            base_url: "https://api.binance.com",
        };
        match Binance::new(market, 5000).build(&VenueOp::CancelExit(x), &ctx)? {
            Planned::Http(r) => Ok(r),
            Planned::Immediate(r) => panic!("unexpected {r:?}"),
        }
    }

    #[test]
    fn cancel_goes_to_the_list_on_spot_and_the_algo_service_on_futures() {
        let cases = [
            (
                Market::Spot,
                Some("k-oco"),
                ORDER_LIST,
                "symbol=BTCUSDT&listClientOrderId=k-oco&recvWindow=5000&timestamp=",
            ),
            (
                Market::Linear,
                None,
                ALGO_ORDER,
                "clientAlgoId=k-sl&recvWindow=5000&timestamp=",
            ),
        ];
        for (market, list, path, params) in cases {
            let req = build(market, exit(list)).unwrap();
            assert_eq!(req.method, Method::Delete);
            let (p, query) = req.path_and_query.split_once('?').unwrap();
            assert_eq!(p, path);
            let (unsigned, sig) = query.rsplit_once("&signature=").unwrap();
            assert!(unsigned.starts_with(params), "{unsigned}");
            assert_eq!(sig, hmac_sha256_hex("SECRET", unsigned));
        }
        assert!(matches!(
            build(Market::Spot, exit(None)),
            Err(VenueError::Unsupported { .. })
        ));
    }

    #[test]
    fn answers_parse_to_a_cancelled_trigger_or_fail_loudly() {
        let list_ok = r#"{"orderListId":7,"contingencyType":"OCO","listStatusType":"ALL_DONE","listOrderStatus":"ALL_DONE","listClientOrderId":"k-oco","transactionTime":1700000000001,"symbol":"BTCUSDT","orders":[],"orderReports":[]}"#;
        let list_other = list_ok.replace("\"k-oco\"", "\"x-oco\"");
        let list_busy = list_ok.replace(
            "\"listOrderStatus\":\"ALL_DONE\"",
            "\"listOrderStatus\":\"EXECUTING\"",
        );
        let algo_ok = r#"{"algoId":3000001,"clientAlgoId":"k-sl","code":"200","msg":"success"}"#;
        let cases: [(Market, Option<&str>, &str, Option<&str>); 5] = [
            (Market::Spot, Some("k-oco"), list_ok, Some("7")),
            (Market::Spot, Some("k-oco"), &list_other, None),
            (Market::Spot, Some("k-oco"), &list_busy, None),
            (Market::Linear, None, algo_ok, Some("3000001")),
            (Market::Linear, None, r#"{"code":"200"}"#, None),
        ];
        for (market, list, body, want) in cases {
            let got = parse_cancel(market, &exit(list), body);
            match want {
                Some(id) => {
                    let r = got.unwrap();
                    assert_eq!(r.trigger_id, id);
                    assert_eq!(r.state, TriggerState::Cancelled);
                    assert_eq!(r.client_order_id, Some(ClientOrderId::new("k-sl").unwrap()));
                }
                None => assert!(got.is_err(), "{body}"),
            }
        }
    }

    #[test]
    fn an_exit_already_gone_is_an_unknown_order() {
        let resp = HttpResponse {
            status: 400,
            headers: Vec::new(),
            body: r#"{"code":-2011,"msg":"Unknown order sent."}"#.into(),
            received_ms: TS,
        };
        let r = Binance::new(Market::Linear, 5000).parse(&VenueOp::CancelExit(exit(None)), &resp);
        assert!(matches!(r, Err(VenueError::UnknownOrder { .. })), "{r:?}");
        let ok = HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: r#"{"algoId":1,"clientAlgoId":"k-sl","code":"200","msg":"success"}"#.into(),
            received_ms: TS,
        };
        let r = Binance::new(Market::Linear, 5000).parse(&VenueOp::CancelExit(exit(None)), &ok);
        assert!(matches!(r, Ok(VenueReply::Trigger(_))), "{r:?}");
    }
}
