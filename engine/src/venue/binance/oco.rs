//! Binance spot OCO exits (`POST /api/v3/orderList/oco`, the order-list endpoint with the
//! `aboveType` / `belowType` parameters that replaced the deprecated `/api/v3/order/oco`).
//! Closing a long (a SELL list): the take-profit is the `above` leg, a `LIMIT_MAKER` resting at
//! its price; the stop-loss is the `below` leg, a `STOP_LOSS` (market once the last price
//! touches its stop). Binance checks `abovePrice > last price > belowStopPrice` for a SELL list,
//! locks the quantity once for both legs, and expires one leg when the other fills.

use super::enums::binance_side;
use super::models::BnOrder;
use super::parse::parse_order;
use crate::model::Side;
use crate::venue::error::VenueError;
use crate::venue::op::{OcoExit, OrderReport};
use crate::venue::sign::QueryString;
use crate::venue::wire::{fmt_dec, json};
use serde::Deserialize;

/// Path of the order-list OCO endpoint.
pub const OCO_PATH: &str = "/api/v3/orderList/oco";

/// Adds the parameters of one OCO exit pair.
pub fn push_oco(o: &OcoExit, q: &mut QueryString) {
    q.push("symbol", o.symbol.as_str())
        .push("listClientOrderId", o.list_client_order_id.as_str())
        .push("side", binance_side(o.close_side))
        .push("quantity", &fmt_dec(o.qty));
    let tp = |q: &mut QueryString, at: &str| {
        q.push(&format!("{at}Type"), "LIMIT_MAKER")
            .push(
                &format!("{at}ClientOrderId"),
                o.take_profit.client_order_id.as_str(),
            )
            .push(&format!("{at}Price"), &fmt_dec(o.take_profit.price));
    };
    let sl = |q: &mut QueryString, at: &str| {
        q.push(&format!("{at}Type"), "STOP_LOSS")
            .push(
                &format!("{at}ClientOrderId"),
                o.stop_loss.client_order_id.as_str(),
            )
            .push(&format!("{at}StopPrice"), &fmt_dec(o.stop_loss.price));
    };
    // Selling out of a long: profit above, stop below; buying back a short: the reverse.
    match o.close_side {
        Side::Sell => {
            tp(q, "above");
            sl(q, "below");
        }
        Side::Buy => {
            sl(q, "above");
            tp(q, "below");
        }
    }
    q.push("newOrderRespType", "FULL");
}

/// The parts of the order-list answer Keel reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderList {
    #[serde(default)]
    order_reports: Vec<BnOrder>,
}

/// Parses the answer to a placed OCO into one report per leg (status `NEW` while both wait).
///
/// # Errors
/// [`VenueError::Parse`] for a body that is not an order list with two leg reports.
pub fn parse_oco(body: &str) -> Result<Vec<OrderReport>, VenueError> {
    let list: OrderList = json("order list", body)?;
    if list.order_reports.len() != 2 {
        return Err(VenueError::parse(
            "orderReports",
            format!("{} legs, expected 2", list.order_reports.len()),
        ));
    }
    list.order_reports.into_iter().map(parse_order).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClientOrderId, Symbol};
    use crate::model::Market;
    use crate::venue::binance::Binance;
    use crate::venue::clock::{ServerClock, DEFAULT_LAG_MS};
    use crate::venue::op::{OcoLeg, OrderStatus, VenueOp};
    use crate::venue::sign::{hmac_sha256_hex, Credentials};
    use crate::venue::{BuildCtx, Planned, Venue};
    use rust_decimal_macros::dec;

    const TS: i64 = 1_700_000_000_000;

    fn oco(close_side: Side) -> OcoExit {
        OcoExit {
            list_client_order_id: ClientOrderId::new("k-oco").unwrap(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            close_side,
            qty: dec!(0.00099),
            take_profit: OcoLeg {
                client_order_id: ClientOrderId::new("k-tp").unwrap(),
                price: dec!(67000.00),
            },
            stop_loss: OcoLeg {
                client_order_id: ClientOrderId::new("k-sl").unwrap(),
                price: dec!(64000.50),
            },
        }
    }

    fn build(market: Market, op: &VenueOp) -> Result<crate::venue::HttpRequest, VenueError> {
        let creds = Credentials::new("KEY", "SECRET");
        let clock = ServerClock::new();
        let ctx = BuildCtx {
            creds: Some(&creds),
            clock: &clock,
            now_ms: TS + DEFAULT_LAG_MS,
            base_url: "https://api.binance.com",
        };
        match Binance::new(market, 5000).build(op, &ctx)? {
            Planned::Http(r) => Ok(r),
            Planned::Immediate(r) => panic!("unexpected {r:?}"),
        }
    }

    #[test]
    fn sell_list_puts_profit_above_and_stop_below_signed() {
        let cases = [
            (
                Side::Sell,
                "aboveType=LIMIT_MAKER&aboveClientOrderId=k-tp&abovePrice=67000&belowType=STOP_LOSS&belowClientOrderId=k-sl&belowStopPrice=64000.5",
            ),
            (
                Side::Buy,
                "aboveType=STOP_LOSS&aboveClientOrderId=k-sl&aboveStopPrice=64000.5&belowType=LIMIT_MAKER&belowClientOrderId=k-tp&belowPrice=67000",
            ),
        ];
        for (side, legs) in cases {
            let req = build(Market::Spot, &VenueOp::PlaceOcoExit(oco(side))).unwrap();
            assert_eq!(req.method, crate::venue::Method::Post);
            let (path, query) = req.path_and_query.split_once('?').unwrap();
            assert_eq!(path, OCO_PATH);
            let (unsigned, sig) = query.rsplit_once("&signature=").unwrap();
            let side_s = if side == Side::Sell { "SELL" } else { "BUY" };
            let want = format!(
                "symbol=BTCUSDT&listClientOrderId=k-oco&side={side_s}&quantity=0.00099&{legs}&newOrderRespType=FULL&recvWindow=5000&timestamp="
            );
            assert!(unsigned.starts_with(&want), "{unsigned}");
            assert_eq!(sig, hmac_sha256_hex("SECRET", unsigned));
        }
        let futures = build(Market::Linear, &VenueOp::PlaceOcoExit(oco(Side::Sell)));
        assert!(matches!(futures, Err(VenueError::Unsupported { .. })));
    }

    #[test]
    fn answer_gives_one_report_per_leg() {
        let body = r#"{"orderListId":1,"contingencyType":"OCO","listStatusType":"EXEC_STARTED","listOrderStatus":"EXECUTING","listClientOrderId":"k-oco","transactionTime":1700000000001,"symbol":"BTCUSDT",
          "orders":[{"symbol":"BTCUSDT","orderId":11,"clientOrderId":"k-sl"},{"symbol":"BTCUSDT","orderId":12,"clientOrderId":"k-tp"}],
          "orderReports":[
            {"symbol":"BTCUSDT","orderId":11,"orderListId":1,"clientOrderId":"k-sl","transactTime":1700000000001,"price":"0.00000000","origQty":"0.00099000","executedQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"NEW","timeInForce":"GTC","type":"STOP_LOSS","side":"SELL","stopPrice":"64000.50000000"},
            {"symbol":"BTCUSDT","orderId":12,"orderListId":1,"clientOrderId":"k-tp","transactTime":1700000000001,"price":"67000.00000000","origQty":"0.00099000","executedQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"NEW","timeInForce":"GTC","type":"LIMIT_MAKER","side":"SELL"}]}"#;
        let legs = parse_oco(body).unwrap();
        let got: Vec<_> = legs
            .iter()
            .map(|r| {
                (
                    r.order_id.as_str(),
                    r.client_order_id.as_ref().map(|c| c.as_str().to_string()),
                    r.status,
                    r.orig_qty,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("11", Some("k-sl".into()), OrderStatus::New, dec!(0.00099)),
                ("12", Some("k-tp".into()), OrderStatus::New, dec!(0.00099)),
            ]
        );
        assert!(parse_oco(r#"{"orderReports":[]}"#).is_err());
    }
}
