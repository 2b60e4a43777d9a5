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
/// a reduce-only exit, Binance which protects after the fill). Paper bots get the plan of the
/// exchange they imitate: the paper venue holds every kind of exit.
pub fn entry_op(
    exchange: Exchange,
    market: Market,
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
    if req.reduce_only || protection.is_empty() || !on_create {
        return VenueOp::PlaceOrder(req.clone());
    }
    VenueOp::PlaceProtectedOrder {
        order: req.clone(),
        protection: protection.on_tick(tick, req.side),
    }
}

/// The close-position triggers to place once `entry` has filled, on venues that take no TP/SL on
/// the entry but hold conditional orders (Binance USDⓈ-M). Empty elsewhere, for reduce-only
/// exits and without triggers. Client ids derive from `(bot, signal, "sl"|"tp")`,
/// so a retry after a crash is a duplicate the exchange refuses, never a second trigger.
///
/// # Errors
/// [`IdError`] from the client-id derivation (not expected).
#[allow(clippy::too_many_arguments)]
pub fn exit_triggers(
    exchange: Exchange,
    market: Market,
    bot: &BotId,
    signal: &SignalId,
    entry: &OrderRequest,
    protection: &Protection,
    tick: Decimal,
) -> Result<Vec<ExitTrigger>, IdError> {
    if entry.reduce_only || exchange != Exchange::Binance || market != Market::Linear {
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
/// (another venue or market, a sell entry, not both triggers, nothing held).
///
/// # Errors
/// [`IdError`] from the client-id derivation (not expected).
#[allow(clippy::too_many_arguments)]
pub fn oco_exit(
    exchange: Exchange,
    market: Market,
    bot: &BotId,
    signal: &SignalId,
    entry: &OrderRequest,
    protection: &Protection,
    tick: Decimal,
    qty: Decimal,
) -> Result<Option<OcoExit>, IdError> {
    if exchange != Exchange::Binance
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
/// venues or markets, limit entries which carry TP/SL on create, sells, nothing held).
///
/// # Errors
/// [`IdError`] from the client-id derivation (not expected).
#[allow(clippy::too_many_arguments)]
pub fn spot_tpsl(
    exchange: Exchange,
    market: Market,
    bot: &BotId,
    signal: &SignalId,
    entry: &OrderRequest,
    protection: &Protection,
    tick: Decimal,
    qty: Decimal,
) -> Result<Option<ExitTrigger>, IdError> {
    if exchange != Exchange::Bybit
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

/// The stop-loss / take-profit `stop_loss_pct` / `take_profit_pct` percent away from `reference`
/// (the entry's price) for an entry on `entry_side`, on the tick without loosening
/// ([`Protection::on_tick`]): a long's stop below and target above, a short's the reverse. A
/// distance that leaves no positive price (or overflows) gives no trigger.
pub fn at_distance(
    reference: Decimal,
    entry_side: Side,
    stop_loss_pct: Option<Decimal>,
    take_profit_pct: Option<Decimal>,
    tick: Decimal,
) -> Protection {
    let hundred = Decimal::ONE_HUNDRED;
    let away = |pct: Option<Decimal>, up: bool| -> Option<Decimal> {
        let moved = reference.checked_mul(pct?.checked_div(hundred)?)?;
        let p = if up {
            reference.checked_add(moved)?
        } else {
            reference.checked_sub(moved)?
        };
        (p > Decimal::ZERO).then_some(p)
    };
    let long = entry_side == Side::Buy;
    Protection {
        stop_loss: away(stop_loss_pct, !long),
        take_profit: away(take_profit_pct, long),
    }
    .on_tick(tick, entry_side)
}

/// The protection a strategy bot's target trade asks for: exits at the configured distances
/// from `expected_fill` (the price the order is expected to fill at) when the trade from
/// `position` to `target` adds exposure (opens, grows or flips the position), none when it only
/// reduces. One rule for the backtester and the live strategy bot.
pub fn for_target(
    position: Decimal,
    target: Decimal,
    expected_fill: Decimal,
    stop_loss_pct: Option<Decimal>,
    take_profit_pct: Option<Decimal>,
    tick: Decimal,
) -> Protection {
    let flips = !target.is_zero()
        && !position.is_zero()
        && (target > Decimal::ZERO) != (position > Decimal::ZERO);
    if target.abs() <= position.abs() && !flips {
        return Protection {
            stop_loss: None,
            take_profit: None,
        };
    }
    let side = if target > position {
        Side::Buy
    } else {
        Side::Sell
    };
    at_distance(expected_fill, side, stop_loss_pct, take_profit_pct, tick)
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

/// Whether placing `req` against a `position` (signed base quantity; long > 0) must first
/// cancel the bot's resting exits on the symbol. Spot: any sell of a holding (the exits lock the
/// base asset it sells). Linear: an order that takes the position to flat or through it (a
/// close-position trigger left behind would close, or open, whatever comes next); a partial
/// reduce keeps them, they still protect the rest.
pub fn clears_exits(market: Market, position: Decimal, req: &OrderRequest) -> bool {
    let opposes = match req.side {
        Side::Sell => position > Decimal::ZERO,
        Side::Buy => position < Decimal::ZERO,
    };
    if !opposes {
        return false;
    }
    match (market, req.qty) {
        (Market::Spot, _) => true,
        (Market::Linear, crate::model::OrderQty::Base(q)) => q >= position.abs(),
        (Market::Linear, _) => req.reduce_only,
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
            (Bybit, Linear, Mkt, false, sl, true),
            (Bybit, Spot, Limit, false, sl, true),
            (Bybit, Spot, Mkt, false, sl, false),
            (Bybit, Linear, Mkt, true, sl, false),
            (Bybit, Linear, Mkt, false, None, false),
            (Binance, Linear, Mkt, false, sl, false),
        ];
        for (ex, market, ot, reduce, stop, protected) in cases {
            let op = entry_op(ex, market, &req(ot, reduce), stop, None, dec!(0.1));
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
            (Exchange::Binance, Market::Linear, &entry, &both, dec!(1)),
            (Exchange::Bybit, Market::Spot, &entry, &both, dec!(1)),
            (Exchange::Binance, Market::Spot, &sell, &both, dec!(1)),
            (Exchange::Binance, Market::Spot, &entry, &only_sl, dec!(1)),
            (Exchange::Binance, Market::Spot, &entry, &both, dec!(0)),
        ];
        for (ex, m, e, p, q) in none {
            let r = oco_exit(ex, m, &bot, &sig, e, p, dec!(0.01), q).unwrap();
            assert!(r.is_none(), "{ex:?} {m:?} {q}");
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
                &mkt,
                p(Some(dec!(64000.005)), Some(dec!(67000))),
                Some((ExitKind::StopLoss, "sl", dec!(64000.01))),
            ),
            (
                Exchange::Bybit,
                Market::Spot,
                &mkt,
                p(None, Some(dec!(67000.009))),
                Some((ExitKind::TakeProfit, "tp", dec!(67000.00))),
            ),
            (Exchange::Bybit, Market::Spot, &mkt, p(None, None), None),
            (
                Exchange::Bybit,
                Market::Spot,
                &lim,
                p(Some(dec!(64000)), None),
                None,
            ),
            (
                Exchange::Bybit,
                Market::Linear,
                &mkt,
                p(Some(dec!(64000)), None),
                None,
            ),
            (
                Exchange::Binance,
                Market::Spot,
                &mkt,
                p(Some(dec!(64000)), None),
                None,
            ),
        ];
        for (ex, m, entry, prot, want) in cases {
            let got =
                spot_tpsl(ex, m, &bot, &sig, entry, &prot, dec!(0.01), dec!(0.000999)).unwrap();
            let got = got.map(|t| {
                assert_eq!(t.qty, Some(dec!(0.000999)));
                assert_eq!(t.close_side, Side::Sell);
                (t.kind, t.client_order_id, t.trigger_price)
            });
            let want =
                want.map(|(k, leg, price)| (k, client_order_id(&bot, &sig, leg).unwrap(), price));
            assert_eq!(got, want, "{ex:?} {m:?}");
        }
    }

    #[test]
    fn distances_become_triggers_on_the_tick_never_looser() {
        let cases = [
            // Long at 100.03: stop 2 % below (98.0294 → up to 98.03), target 3 % above
            // (103.0309 → down to 103.03).
            (
                Side::Buy,
                Some(dec!(2)),
                Some(dec!(3)),
                Some(dec!(98.03)),
                Some(dec!(103.03)),
            ),
            // Short: stop above (102.0306 → down to 102.03), target below (97.0291 → up to 97.03).
            (
                Side::Sell,
                Some(dec!(2)),
                Some(dec!(3)),
                Some(dec!(102.03)),
                Some(dec!(97.03)),
            ),
            (Side::Buy, None, Some(dec!(1)), None, Some(dec!(101.03))),
            (Side::Sell, Some(dec!(1)), None, Some(dec!(101.03)), None),
            // A short's target 100 % below would be at zero: none.
            (Side::Sell, None, Some(dec!(100)), None, None),
        ];
        for (side, sl, tp, want_sl, want_tp) in cases {
            let p = at_distance(dec!(100.03), side, sl, tp, dec!(0.01));
            assert_eq!(
                (p.stop_loss, p.take_profit),
                (want_sl, want_tp),
                "{side:?} {sl:?} {tp:?}"
            );
        }
    }

    #[test]
    fn only_a_trade_adding_exposure_asks_for_exits() {
        let tp = Some(dec!(10));
        let cases = [
            (dec!(0), dec!(1), Some(dec!(110))),
            (dec!(1), dec!(2), Some(dec!(110))),
            (dec!(1), dec!(-1), Some(dec!(90))),
            (dec!(0), dec!(-1), Some(dec!(90))),
            (dec!(2), dec!(1), None),
            (dec!(1), dec!(0), None),
            (dec!(-1), dec!(-0.5), None),
            (dec!(1), dec!(1), None),
        ];
        for (pos, target, want) in cases {
            let p = for_target(pos, target, dec!(100), None, tp, dec!(0.01));
            assert_eq!(p.take_profit, want, "{pos} → {target}");
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
            (Exchange::Binance, Market::Spot, false),
            (Exchange::Bybit, Market::Linear, false),
            (Exchange::Binance, Market::Linear, true),
        ];
        for (ex, m, reduce) in none {
            let e = req(OrderType::Market, reduce);
            let t = exit_triggers(ex, m, &bot, &sig, &e, &p, dec!(0.1)).unwrap();
            assert!(t.is_empty(), "{ex:?} {m:?} {reduce}");
        }
    }

    #[test]
    fn exits_are_cleared_before_what_sells_the_holding_or_ends_the_position() {
        use crate::model::OrderQty;
        let order = |side: Side, qty: Decimal, reduce_only: bool| {
            let mut r = req(OrderType::Market, reduce_only);
            r.side = side;
            r.qty = OrderQty::Base(qty);
            r
        };
        let cases = [
            (
                Market::Spot,
                dec!(0.01),
                order(Side::Sell, dec!(0.01), false),
                true,
            ),
            (
                Market::Spot,
                dec!(0.01),
                order(Side::Sell, dec!(0.004), false),
                true,
            ),
            (
                Market::Spot,
                dec!(0.01),
                order(Side::Buy, dec!(0.01), false),
                false,
            ),
            (
                Market::Spot,
                dec!(0),
                order(Side::Sell, dec!(0.01), false),
                false,
            ),
            (
                Market::Linear,
                dec!(0.01),
                order(Side::Sell, dec!(0.01), true),
                true,
            ),
            (
                Market::Linear,
                dec!(0.01),
                order(Side::Sell, dec!(0.02), false),
                true,
            ),
            (
                Market::Linear,
                dec!(0.01),
                order(Side::Sell, dec!(0.004), true),
                false,
            ),
            (
                Market::Linear,
                dec!(-0.01),
                order(Side::Buy, dec!(0.01), true),
                true,
            ),
            (
                Market::Linear,
                dec!(-0.01),
                order(Side::Sell, dec!(0.01), false),
                false,
            ),
        ];
        for (market, position, r, want) in cases {
            assert_eq!(
                clears_exits(market, position, &r),
                want,
                "{market:?} {position} {:?} {:?}",
                r.side,
                r.qty
            );
        }
    }
}
