//! Which venue operation carries an entry's stop-loss / take-profit. Keeping the choice here (pure,
//! tested) means the Durable Object only asks for it: protection goes to the exchange wherever
//! the exchange can hold it on the entry itself, and an entry never fails because its protection
//! could not be attached.

use crate::model::{Exchange, Market, OrderRequest, OrderType};
use crate::venue::op::{Protection, VenueOp};
use rust_decimal::Decimal;

/// The operation placing `req` with its alert's protection: [`VenueOp::PlaceProtectedOrder`]
/// (triggers rounded to `tick` without loosening) where the venue takes TP/SL on create — Bybit
/// linear, Bybit spot limit orders — and a plain [`VenueOp::PlaceOrder`] otherwise (no trigger,
/// a reduce-only exit, paper trading, Binance which protects after the fill).
pub fn entry_op(
    exchange: Exchange,
    market: Market,
    paper: bool,
    req: &OrderRequest,
    stop_loss: Option<Decimal>,
    take_profit: Option<Decimal>,
    tick: Decimal,
) -> VenueOp {
    let protection = Protection {
        stop_loss,
        take_profit,
    };
    let on_create = exchange == Exchange::Bybit
        && (market == Market::Linear || req.order_type == OrderType::Limit);
    if paper || req.reduce_only || protection.is_empty() || !on_create {
        return VenueOp::PlaceOrder(req.clone());
    }
    VenueOp::PlaceProtectedOrder {
        order: req.clone(),
        protection: protection.on_tick(tick, req.side),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClientOrderId, Symbol};
    use crate::model::{OrderQty, Side};
    use rust_decimal_macros::dec;

    fn req(order_type: OrderType, reduce_only: bool) -> OrderRequest {
        OrderRequest {
            client_order_id: ClientOrderId::new("keel-1").unwrap(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side: Side::Buy,
            order_type,
            qty: OrderQty::Base(dec!(0.01)),
            price: (order_type == OrderType::Limit).then_some(dec!(65000)),
            time_in_force: None,
            reduce_only,
        }
    }

    #[test]
    fn protection_rides_on_the_entry_only_where_the_venue_holds_it() {
        use Exchange::{Binance, Bybit};
        use Market::{Linear, Spot};
        use OrderType::{Limit, Market as Mkt};
        let sl = Some(dec!(60000.07));
        let cases = [
            (Bybit, Linear, false, Mkt, false, sl, true),
            (Bybit, Spot, false, Limit, false, sl, true),
            (Bybit, Spot, false, Mkt, false, sl, false),
            (Bybit, Linear, true, Mkt, false, sl, false),
            (Bybit, Linear, false, Mkt, true, sl, false),
            (Bybit, Linear, false, Mkt, false, None, false),
            (Binance, Linear, false, Mkt, false, sl, false),
        ];
        for (ex, market, paper, ot, reduce, stop, protected) in cases {
            let op = entry_op(ex, market, paper, &req(ot, reduce), stop, None, dec!(0.1));
            match op {
                VenueOp::PlaceProtectedOrder { order, protection } => {
                    assert!(protected, "{ex:?} {market:?} {ot:?}");
                    assert_eq!(order, req(ot, reduce));
                    assert_eq!(protection.stop_loss, Some(dec!(60000.1)));
                }
                VenueOp::PlaceOrder(order) => {
                    assert!(!protected, "{ex:?} {market:?} {ot:?}");
                    assert_eq!(order, req(ot, reduce));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
