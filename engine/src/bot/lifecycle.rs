//! An order's life as the exchange reports it, applied to the [`Order`] record through the one
//! transition table of [`crate::order`]: the Durable Object never sets a status by hand.

use crate::order::{Order, OrderError, OrderEvent, OrderStatus};
use crate::venue::{OrderReport, OrderStatus as VenueStatus};

/// The event a venue status means for our record.
fn event_of(status: VenueStatus) -> OrderEvent {
    match status {
        VenueStatus::Acknowledged | VenueStatus::New => OrderEvent::Accepted,
        VenueStatus::PartiallyFilled => OrderEvent::PartiallyFilled,
        VenueStatus::Filled => OrderEvent::Filled,
        VenueStatus::Cancelled => OrderEvent::Cancelled,
        VenueStatus::Rejected => OrderEvent::Rejected,
        VenueStatus::Expired => OrderEvent::Expired,
    }
}

/// Applies an exchange report (the answer to a placement or a query): the exchange order id,
/// every fill (idempotent by trade id), then the status.
///
/// # Errors
/// [`OrderError`] on a foreign fill, an overfill or an impossible transition; the record may
/// then hold the fills applied before the error (the caller does not commit it).
pub fn apply_report(
    order: &mut Order,
    report: &OrderReport,
    now_ms: i64,
) -> Result<OrderStatus, OrderError> {
    order.set_exchange_order_id(&report.order_id)?;
    for fill in &report.fills {
        order.apply_fill(fill)?;
    }
    let event = event_of(report.status);
    if order.status == OrderStatus::Unknown && event == OrderEvent::Accepted {
        // A resolved ambiguity: the order exists and is working.
        return order.apply_event(OrderEvent::Accepted, now_ms);
    }
    order.apply_event(event, now_ms)
}

/// Applies a failed placement: `ambiguous` when the order may exist (timeout, 5xx, unresolved
/// query), otherwise a refusal.
///
/// # Errors
/// [`OrderError::Transition`] when the record is not in flight.
pub fn apply_failure(
    order: &mut Order,
    ambiguous: bool,
    reason: &str,
    now_ms: i64,
) -> Result<OrderStatus, OrderError> {
    order.reason = Some(reason.to_string());
    let event = if ambiguous {
        OrderEvent::TimedOut
    } else {
        OrderEvent::Rejected
    };
    order.apply_event(event, now_ms)
}

/// The status name used in storage and the API (`snake_case` of [`OrderStatus`]).
pub fn status_name(status: OrderStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{status:?}").to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClientOrderId, Symbol};
    use crate::model::{Fill, OrderQty, OrderRequest, OrderType, Side};
    use rust_decimal_macros::dec;

    fn order() -> Order {
        let mut o = Order::new(
            OrderRequest {
                client_order_id: ClientOrderId::new("k1").unwrap(),
                symbol: Symbol::new("BTCUSDT").unwrap(),
                side: Side::Buy,
                order_type: OrderType::Market,
                qty: OrderQty::Base(dec!(0.002)),
                price: None,
                time_in_force: None,
                reduce_only: false,
            },
            0,
        );
        o.apply_event(OrderEvent::Submitted, 1).unwrap();
        o
    }

    fn report(status: VenueStatus, fills: Vec<Fill>) -> OrderReport {
        OrderReport {
            order_id: "42".into(),
            client_order_id: ClientOrderId::new("k1").ok(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side: Some(Side::Buy),
            status,
            orig_qty: dec!(0.002),
            executed_qty: fills.iter().map(|f| f.qty).sum(),
            cum_quote: None,
            price: dec!(0),
            fills,
            updated_ms: 2,
        }
    }

    fn fill(id: &str, qty: rust_decimal::Decimal) -> Fill {
        Fill {
            trade_id: id.into(),
            order_id: "42".into(),
            client_order_id: ClientOrderId::new("k1").ok(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side: Side::Buy,
            price: dec!(65000),
            qty,
            fee: dec!(0),
            fee_asset: "USDT".into(),
            time_ms: 2,
            is_maker: false,
        }
    }

    #[test]
    fn into_fills_moves_what_fills_of_copies() {
        let one = report(
            VenueStatus::Filled,
            vec![fill("1", dec!(0.001)), fill("2", dec!(0.001))],
        );
        let two = report(VenueStatus::PartiallyFilled, vec![fill("3", dec!(0.0005))]);
        let replies = [
            crate::venue::VenueReply::Order(one.clone()),
            crate::venue::VenueReply::Orders(vec![one, two]),
            crate::venue::VenueReply::Balances(Vec::new()),
        ];
        for (reply, want) in replies.into_iter().zip([2usize, 3, 0]) {
            let copied = crate::bot::fills_of(&reply);
            assert_eq!(copied.len(), want);
            assert_eq!(crate::bot::into_fills(reply), copied);
        }
    }

    #[test]
    fn reports_drive_the_table() {
        let mut o = order();
        let s = apply_report(
            &mut o,
            &report(
                VenueStatus::Filled,
                vec![fill("t1", dec!(0.001)), fill("t2", dec!(0.001))],
            ),
            3,
        )
        .unwrap();
        assert_eq!(
            (s, o.filled_qty, o.exchange_order_id.as_deref()),
            (OrderStatus::Filled, dec!(0.002), Some("42"))
        );
        // Bybit answers a create with an ack only.
        let mut o = order();
        assert_eq!(
            apply_report(&mut o, &report(VenueStatus::Acknowledged, vec![]), 3).unwrap(),
            OrderStatus::Accepted
        );
        // A timeout leaves it unknown; the query that finds it working resolves it.
        let mut o = order();
        assert_eq!(
            apply_failure(&mut o, true, "no answer", 3).unwrap(),
            OrderStatus::Unknown
        );
        assert_eq!(
            apply_report(&mut o, &report(VenueStatus::New, vec![]), 4).unwrap(),
            OrderStatus::Accepted
        );
        let mut o = order();
        assert_eq!(
            apply_failure(&mut o, false, "-2010", 3).unwrap(),
            OrderStatus::Rejected
        );
        assert_eq!(
            status_name(OrderStatus::PartiallyFilled),
            "partially_filled"
        );
    }
}
