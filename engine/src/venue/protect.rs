//! Which venue operation carries an entry's stop-loss / take-profit. Keeping the choice here (pure,
//! tested) means the Durable Object only asks for it: protection goes to the exchange wherever
//! the exchange can hold it on the entry itself, and an entry never fails because its protection
//! could not be attached.

use crate::ids::{BotId, IdError, SignalId};
use crate::model::{Exchange, Market, OrderRequest, OrderType, Side};
use crate::sizing::client_order_id;
use crate::venue::op::{ExitKind, ExitTrigger, OcoExit, OcoLeg, Protection, VenueOp};
use crate::venue::rules::round_to_step_down;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

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

/// The close-position triggers to place once `entry` has filled, on venues that take no TP/SL on
/// the entry but hold conditional orders (Binance USDⓈ-M). Empty elsewhere, for paper, for
/// reduce-only exits and without triggers. Client ids derive from `(bot, signal, "sl"|"tp")`,
/// so a retry after a crash is a duplicate the exchange refuses, never a second trigger.
///
/// # Errors
/// [`IdError`] from the client-id derivation (not expected).
#[allow(clippy::too_many_arguments)]
pub fn exit_triggers(
    exchange: Exchange,
    market: Market,
    paper: bool,
    bot: &BotId,
    signal: &SignalId,
    entry: &OrderRequest,
    protection: &Protection,
    tick: Decimal,
) -> Result<Vec<ExitTrigger>, IdError> {
    if paper || entry.reduce_only || exchange != Exchange::Binance || market != Market::Linear {
        return Ok(Vec::new());
    }
    let p = protection.on_tick(tick, entry.side);
    let close_side = match entry.side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    };
    let mut out = Vec::new();
    for (kind, leg, price) in [
        (ExitKind::StopLoss, "sl", p.stop_loss),
        (ExitKind::TakeProfit, "tp", p.take_profit),
    ] {
        if let Some(trigger_price) = price {
            out.push(ExitTrigger {
                client_order_id: client_order_id(bot, signal, leg)?,
                symbol: entry.symbol.clone(),
                close_side,
                kind,
                trigger_price,
                qty: None,
            });
        }
    }
    Ok(out)
}

/// The exits an entry operation carries on the exchange (Bybit TP/SL on create), described as
/// [`ExitTrigger`]s with client ids from `(bot, signal, "sl"|"tp")`, so the bot can record them
/// and later claim the fills of the orders the exchange sends when one fires (those orders
/// carry no id of ours). Empty for an operation without attached protection.
///
/// # Errors
/// [`IdError`] from the client-id derivation (not expected).
pub fn attached_exits(
    bot: &BotId,
    signal: &SignalId,
    op: &VenueOp,
) -> Result<Vec<ExitTrigger>, IdError> {
    let VenueOp::PlaceProtectedOrder { order, protection } = op else {
        return Ok(Vec::new());
    };
    let close_side = match order.side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    };
    let mut out = Vec::new();
    for (kind, leg, price) in [
        (ExitKind::StopLoss, "sl", protection.stop_loss),
        (ExitKind::TakeProfit, "tp", protection.take_profit),
    ] {
        if let Some(trigger_price) = price {
            out.push(ExitTrigger {
                client_order_id: client_order_id(bot, signal, leg)?,
                symbol: order.symbol.clone(),
                close_side,
                kind,
                trigger_price,
                qty: None,
            });
        }
    }
    Ok(out)
}

/// The one-cancels-the-other exit pair to place once a spot long filled (Binance spot): the
/// take-profit limit-maker and the stop-loss for the `qty` held. `None` where it does not apply
/// (another venue or market, paper, a sell entry, not both triggers, nothing held).
///
/// # Errors
/// [`IdError`] from the client-id derivation (not expected).
#[allow(clippy::too_many_arguments)]
pub fn oco_exit(
    exchange: Exchange,
    market: Market,
    paper: bool,
    bot: &BotId,
    signal: &SignalId,
    entry: &OrderRequest,
    protection: &Protection,
    tick: Decimal,
    qty: Decimal,
) -> Result<Option<OcoExit>, IdError> {
    if paper
        || exchange != Exchange::Binance
        || market != Market::Spot
        || entry.side != Side::Buy
        || qty <= Decimal::ZERO
    {
        return Ok(None);
    }
    let p = protection.on_tick(tick, entry.side);
    let (Some(stop), Some(target)) = (p.stop_loss, p.take_profit) else {
        return Ok(None);
    };
    Ok(Some(OcoExit {
        list_client_order_id: client_order_id(bot, signal, "oco")?,
        symbol: entry.symbol.clone(),
        close_side: Side::Sell,
        qty,
        take_profit: OcoLeg {
            client_order_id: client_order_id(bot, signal, "tp")?,
            price: target,
        },
        stop_loss: OcoLeg {
            client_order_id: client_order_id(bot, signal, "sl")?,
            price: stop,
        },
    }))
}

/// The exchange-side exit for a Bybit spot long bought at market (spot market orders take no
/// TP/SL on create): one `tpslOrder` selling the holding `qty` at its trigger. Bybit locks the
/// quantity of a spot TP/SL order from placement, so one holding carries one of them: the
/// stop-loss when the alert has one, else the take-profit. Empty where it does not apply (other
/// venues or markets, paper, limit entries which carry TP/SL on create, sells, nothing held).
///
/// # Errors
/// [`IdError`] from the client-id derivation (not expected).
#[allow(clippy::too_many_arguments)]
pub fn spot_tpsl(
    exchange: Exchange,
    market: Market,
    paper: bool,
    bot: &BotId,
    signal: &SignalId,
    entry: &OrderRequest,
    protection: &Protection,
    tick: Decimal,
    qty: Decimal,
) -> Result<Option<ExitTrigger>, IdError> {
    if paper
        || exchange != Exchange::Bybit
        || market != Market::Spot
        || entry.order_type != OrderType::Market
        || entry.side != Side::Buy
        || qty <= Decimal::ZERO
    {
        return Ok(None);
    }
    let p = protection.on_tick(tick, entry.side);
    let (kind, leg, trigger_price) = match (p.stop_loss, p.take_profit) {
        (Some(sl), _) => (ExitKind::StopLoss, "sl", sl),
        (None, Some(tp)) => (ExitKind::TakeProfit, "tp", tp),
        (None, None) => return Ok(None),
    };
    Ok(Some(ExitTrigger {
        client_order_id: client_order_id(bot, signal, leg)?,
        symbol: entry.symbol.clone(),
        close_side: Side::Sell,
        kind,
        trigger_price,
        qty: Some(qty),
    }))
}

/// What a spot buy left to sell: its filled quantity less the fees charged in the base asset,
/// rounded down to the step (an exit for more than is held would be refused).
pub fn net_holding(
    filled: Decimal,
    fees: &BTreeMap<String, Decimal>,
    base_asset: &str,
    step: Decimal,
) -> Decimal {
    let held = filled - fees.get(base_asset).copied().unwrap_or(Decimal::ZERO);
    round_to_step_down(held.max(Decimal::ZERO), step)
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

    #[test]
    fn spot_long_on_binance_gets_an_oco_pair_for_what_it_holds() {
        let bot = BotId::new("b1").unwrap();
        let sig = SignalId::new("s1").unwrap();
        let both = Protection {
            stop_loss: Some(dec!(64000.005)),
            take_profit: Some(dec!(67000.009)),
        };
        let entry = req(OrderType::Market, false);
        let o = oco_exit(
            Exchange::Binance,
            Market::Spot,
            false,
            &bot,
            &sig,
            &entry,
            &both,
            dec!(0.01),
            dec!(0.00099),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (o.close_side, o.qty, o.stop_loss.price, o.take_profit.price),
            (Side::Sell, dec!(0.00099), dec!(64000.01), dec!(67000.00))
        );
        assert_eq!(
            o.stop_loss.client_order_id,
            client_order_id(&bot, &sig, "sl").unwrap()
        );
        assert_eq!(
            o.take_profit.client_order_id,
            client_order_id(&bot, &sig, "tp").unwrap()
        );
        assert_eq!(
            o.list_client_order_id,
            client_order_id(&bot, &sig, "oco").unwrap()
        );
        let only_sl = Protection {
            stop_loss: Some(dec!(64000)),
            take_profit: None,
        };
        let mut sell = entry.clone();
        sell.side = Side::Sell;
        let none = [
            (
                Exchange::Binance,
                Market::Linear,
                false,
                &entry,
                &both,
                dec!(1),
            ),
            (Exchange::Bybit, Market::Spot, false, &entry, &both, dec!(1)),
            (
                Exchange::Binance,
                Market::Spot,
                true,
                &entry,
                &both,
                dec!(1),
            ),
            (
                Exchange::Binance,
                Market::Spot,
                false,
                &sell,
                &both,
                dec!(1),
            ),
            (
                Exchange::Binance,
                Market::Spot,
                false,
                &entry,
                &only_sl,
                dec!(1),
            ),
            (
                Exchange::Binance,
                Market::Spot,
                false,
                &entry,
                &both,
                dec!(0),
            ),
        ];
        for (ex, m, paper, e, p, q) in none {
            let r = oco_exit(ex, m, paper, &bot, &sig, e, p, dec!(0.01), q).unwrap();
            assert!(r.is_none(), "{ex:?} {m:?} {paper} {q}");
        }
    }

    #[test]
    fn bybit_spot_market_long_gets_one_tpsl_order_for_its_holding() {
        let bot = BotId::new("b1").unwrap();
        let sig = SignalId::new("s1").unwrap();
        let p = |sl: Option<Decimal>, tp: Option<Decimal>| Protection {
            stop_loss: sl,
            take_profit: tp,
        };
        let mkt = req(OrderType::Market, false);
        let lim = req(OrderType::Limit, false);
        let cases = [
            (
                Exchange::Bybit,
                Market::Spot,
                false,
                &mkt,
                p(Some(dec!(64000.005)), Some(dec!(67000))),
                Some((ExitKind::StopLoss, "sl", dec!(64000.01))),
            ),
            (
                Exchange::Bybit,
                Market::Spot,
                false,
                &mkt,
                p(None, Some(dec!(67000.009))),
                Some((ExitKind::TakeProfit, "tp", dec!(67000.00))),
            ),
            (
                Exchange::Bybit,
                Market::Spot,
                false,
                &mkt,
                p(None, None),
                None,
            ),
            (
                Exchange::Bybit,
                Market::Spot,
                false,
                &lim,
                p(Some(dec!(64000)), None),
                None,
            ),
            (
                Exchange::Bybit,
                Market::Spot,
                true,
                &mkt,
                p(Some(dec!(64000)), None),
                None,
            ),
            (
                Exchange::Bybit,
                Market::Linear,
                false,
                &mkt,
                p(Some(dec!(64000)), None),
                None,
            ),
            (
                Exchange::Binance,
                Market::Spot,
                false,
                &mkt,
                p(Some(dec!(64000)), None),
                None,
            ),
        ];
        for (ex, m, paper, entry, prot, want) in cases {
            let got = spot_tpsl(
                ex,
                m,
                paper,
                &bot,
                &sig,
                entry,
                &prot,
                dec!(0.01),
                dec!(0.000999),
            )
            .unwrap();
            let got = got.map(|t| {
                assert_eq!(t.qty, Some(dec!(0.000999)));
                assert_eq!(t.close_side, Side::Sell);
                (t.kind, t.client_order_id, t.trigger_price)
            });
            let want =
                want.map(|(k, leg, price)| (k, client_order_id(&bot, &sig, leg).unwrap(), price));
            assert_eq!(got, want, "{ex:?} {m:?} {paper}");
        }
    }

    #[test]
    fn net_holding_subtracts_base_fees_and_rounds_down() {
        let fees = |v: &[(&str, Decimal)]| -> BTreeMap<String, Decimal> {
            v.iter().map(|(a, d)| (a.to_string(), *d)).collect()
        };
        let cases = [
            (dec!(0.001), fees(&[("BTC", dec!(0.000001))]), dec!(0.00099)),
            (dec!(0.001), fees(&[("USDT", dec!(0.065))]), dec!(0.001)),
            (
                dec!(0.001),
                fees(&[("BTC", dec!(0.0000006)), ("BNB", dec!(0.01))]),
                dec!(0.00099),
            ),
            (dec!(0), fees(&[]), dec!(0)),
        ];
        for (filled, f, want) in cases {
            assert_eq!(net_holding(filled, &f, "BTC", dec!(0.00001)), want);
        }
    }

    #[test]
    fn attached_protection_is_described_for_recording() {
        let bot = BotId::new("b1").unwrap();
        let sig = SignalId::new("s1").unwrap();
        let op = entry_op(
            Exchange::Bybit,
            Market::Linear,
            false,
            &req(OrderType::Market, false),
            Some(dec!(60000.07)),
            Some(dec!(70000.07)),
            dec!(0.1),
        );
        let t = attached_exits(&bot, &sig, &op).unwrap();
        let got: Vec<_> = t
            .iter()
            .map(|x| {
                (
                    x.kind,
                    x.close_side,
                    x.trigger_price,
                    x.client_order_id.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    ExitKind::StopLoss,
                    Side::Sell,
                    dec!(60000.1),
                    client_order_id(&bot, &sig, "sl").unwrap()
                ),
                (
                    ExitKind::TakeProfit,
                    Side::Sell,
                    dec!(70000.0),
                    client_order_id(&bot, &sig, "tp").unwrap()
                ),
            ]
        );
        let plain = VenueOp::PlaceOrder(req(OrderType::Market, false));
        assert!(attached_exits(&bot, &sig, &plain).unwrap().is_empty());
    }

    #[test]
    fn binance_futures_gets_close_position_triggers_after_the_fill() {
        let bot = BotId::new("b1").unwrap();
        let sig = SignalId::new("s1").unwrap();
        let p = Protection {
            stop_loss: Some(dec!(60000.07)),
            take_profit: Some(dec!(70000.07)),
        };
        let entry = req(OrderType::Market, false);
        let t = exit_triggers(
            Exchange::Binance,
            Market::Linear,
            false,
            &bot,
            &sig,
            &entry,
            &p,
            dec!(0.1),
        )
        .unwrap();
        let got: Vec<_> = t
            .iter()
            .map(|x| (x.kind, x.close_side, x.trigger_price))
            .collect();
        assert_eq!(
            got,
            vec![
                (ExitKind::StopLoss, Side::Sell, dec!(60000.1)),
                (ExitKind::TakeProfit, Side::Sell, dec!(70000.0)),
            ]
        );
        assert_eq!(
            t[0].client_order_id,
            client_order_id(&bot, &sig, "sl").unwrap()
        );
        assert_ne!(t[0].client_order_id, t[1].client_order_id);
        let none = [
            (Exchange::Binance, Market::Spot, false, false),
            (Exchange::Bybit, Market::Linear, false, false),
            (Exchange::Binance, Market::Linear, true, false),
            (Exchange::Binance, Market::Linear, false, true),
        ];
        for (ex, m, paper, reduce) in none {
            let e = req(OrderType::Market, reduce);
            let t = exit_triggers(ex, m, paper, &bot, &sig, &e, &p, dec!(0.1)).unwrap();
            assert!(t.is_empty(), "{ex:?} {m:?} {paper} {reduce}");
        }
    }
}
