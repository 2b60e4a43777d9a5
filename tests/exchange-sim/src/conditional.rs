//! Exchange-side conditional exits (stop-loss / take-profit): stored when an order carries them,
//! fired when the admin or random-walk price crosses the trigger. They live on the simulated
//! exchange, so a bot that is down still gets stopped out, which is what the tests check.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::accounts::pos_key;
use crate::config::Venue;
use crate::matching::{floor_to, NewOrder};
use crate::model::{OrdType, Side, Tif};
use crate::state::State;

/// First exchange id given to a stored trigger.
pub const FIRST_TRIGGER_ID: u64 = 3_000_001;

/// Which exit a trigger is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ExitKind {
    /// Closes at a loss: fires when the price moves against the position.
    StopLoss,
    /// Closes at a profit: fires when the price moves in favour of the position.
    TakeProfit,
}

/// Lifecycle of a trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TriggerStatus {
    /// Watching the price.
    Untriggered,
    /// Fired; `order_id` is the market order it sent.
    Triggered,
    /// Cancelled because its sibling fired or the position is gone.
    Deactivated,
}

/// One stored trigger.
#[derive(Clone, Debug, Serialize)]
pub struct Conditional {
    /// Exchange id of the trigger (Binance `algoId`); assigned when stored.
    pub id: u64,
    /// Market.
    pub venue: Venue,
    /// Account index.
    pub account: usize,
    /// Symbol.
    pub symbol: String,
    /// Stop-loss or take-profit.
    pub kind: ExitKind,
    /// Trigger price.
    pub trigger: Decimal,
    /// Side of the closing order (opposite of the entry).
    pub close_side: Side,
    /// Exchange id of the entry order it protects.
    pub parent_id: u64,
    /// Client id of the trigger itself (empty when the exchange makes one, as Bybit TP/SL).
    pub client_id: String,
    /// State.
    pub status: TriggerStatus,
    /// Market order sent when it fired.
    pub order_id: Option<u64>,
    /// Quantity it closes when set (an OCO leg); zero: the whole position / the entry's fill.
    pub qty: Decimal,
    /// The other leg of an OCO list (a resting limit-maker): expired when this one fires, and
    /// this one deactivated as soon as that one fills.
    pub sibling: Option<u64>,
    /// Base quantity held for it from placement (a Bybit spot TP/SL order), released when it
    /// fires or is deactivated.
    pub locked: Decimal,
    /// Creation time, ms.
    pub time: i64,
}

impl Conditional {
    /// Whether `price` crosses the trigger: a long's stop fires at or below it, its target at or
    /// above; a short the reverse.
    pub fn crossed(&self, price: Decimal) -> bool {
        match (self.kind, self.close_side) {
            (ExitKind::StopLoss, Side::Sell) | (ExitKind::TakeProfit, Side::Buy) => {
                price <= self.trigger
            }
            (ExitKind::StopLoss, Side::Buy) | (ExitKind::TakeProfit, Side::Sell) => {
                price >= self.trigger
            }
        }
    }
}

/// Checks a trigger against the reference price for an entry on `entry_side`: a long's stop must
/// be below and its target above, a short's the reverse, and both on the tick.
///
/// # Errors
/// A short reason naming the field.
pub fn validate(
    kind: ExitKind,
    trigger: Decimal,
    entry_side: Side,
    reference: Decimal,
    tick: Decimal,
) -> Result<(), String> {
    let name = match kind {
        ExitKind::StopLoss => "stopLoss",
        ExitKind::TakeProfit => "takeProfit",
    };
    if trigger <= Decimal::ZERO || (!tick.is_zero() && !(trigger % tick).is_zero()) {
        return Err(format!("{name} price invalid"));
    }
    let below = matches!(
        (kind, entry_side),
        (ExitKind::StopLoss, Side::Buy) | (ExitKind::TakeProfit, Side::Sell)
    );
    if below && trigger >= reference {
        return Err(format!(
            "{name}:{trigger} set for {entry_side:?} position should lower than base_price:{reference}"
        ));
    }
    if !below && trigger <= reference {
        return Err(format!(
            "{name}:{trigger} set for {entry_side:?} position should higher than base_price:{reference}"
        ));
    }
    Ok(())
}

impl State {
    /// Stores a trigger and returns its exchange id.
    pub fn add_conditional(&mut self, mut c: Conditional) -> u64 {
        c.id = FIRST_TRIGGER_ID + self.conditionals.len() as u64;
        let id = c.id;
        self.conditionals.push(c);
        id
    }

    /// Fires every untriggered exit on `(venue, symbol)` that the current price crosses: sends a
    /// market close (reduce-only on futures) for the protected size, and deactivates the
    /// siblings protecting the same entry (on futures: every trigger of the account on the
    /// symbol, the position being closed). A trigger with nothing left to close is deactivated.
    pub fn fire_conditionals(&mut self, venue: Venue, symbol: &str, now: i64) {
        let Some(price) = self.instrument(venue, symbol).map(|i| i.price) else {
            return;
        };
        // One cancels the other: an OCO stop whose limit leg has (partly) filled is done.
        let filled: Vec<usize> = self
            .conditionals
            .iter()
            .enumerate()
            .filter(|(_, c)| c.status == TriggerStatus::Untriggered)
            .filter(|(_, c)| {
                c.sibling
                    .and_then(|s| self.order(s))
                    .is_some_and(|o| o.executed_qty > Decimal::ZERO)
            })
            .map(|(i, _)| i)
            .collect();
        for i in filled {
            if let Some(c) = self.conditionals.get_mut(i) {
                c.status = TriggerStatus::Deactivated;
            }
        }
        let due: Vec<usize> = self
            .conditionals
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.venue == venue
                    && c.symbol == symbol
                    && c.status == TriggerStatus::Untriggered
                    && c.crossed(price)
            })
            .map(|(i, _)| i)
            .collect();
        for i in due {
            let Some(c) = self.conditionals.get(i).cloned() else {
                continue;
            };
            if c.status != TriggerStatus::Untriggered {
                continue; // a sibling fired first in this pass
            }
            if let Some(s) = c.sibling {
                // The OCO's limit leg expires first, releasing the quantity it held.
                if self.order(s).is_some_and(|o| o.status.is_open()) {
                    self.finish(s, crate::model::Status::Expired, now);
                }
            }
            if c.locked > Decimal::ZERO {
                self.release(&c);
            }
            let qty = self.protected_qty(&c);
            let order_id = if qty > Decimal::ZERO {
                self.place(NewOrder {
                    venue,
                    account: c.account,
                    symbol: symbol.to_string(),
                    side: c.close_side,
                    kind: OrdType::Market,
                    tif: Tif::Ioc,
                    limit_maker: false,
                    qty,
                    quote_qty: None,
                    price: None,
                    client_id: c.client_id.clone(),
                    reduce_only: venue.is_futures(),
                    now,
                })
                .ok()
            } else {
                None
            };
            for s in self.conditionals.iter_mut().filter(|s| {
                s.account == c.account
                    && s.venue == venue
                    && s.symbol == symbol
                    && (venue.is_futures()
                        || s.id == c.id
                        || (c.parent_id != 0 && s.parent_id == c.parent_id))
                    && s.status == TriggerStatus::Untriggered
            }) {
                s.status = TriggerStatus::Deactivated;
            }
            if let Some(me) = self.conditionals.get_mut(i) {
                if order_id.is_some() {
                    me.status = TriggerStatus::Triggered;
                }
                me.order_id = order_id;
            }
        }
    }

    /// Moves the price continuously to `to`: it stops at every untriggered trigger price and
    /// every resting limit price on the way (in the order met), so what it crosses fills at its
    /// own price, as on an exchange whose price passes through it; then lands on `to`.
    pub fn walk_to(&mut self, venue: Venue, symbol: &str, to: Decimal, now: i64) {
        let Some(from) = self.instrument(venue, symbol).map(|i| i.price) else {
            return;
        };
        let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
        let triggers = self
            .conditionals
            .iter()
            .filter(|c| {
                c.venue == venue && c.symbol == symbol && c.status == TriggerStatus::Untriggered
            })
            .map(|c| c.trigger);
        let limits = self
            .orders
            .iter()
            .filter(|o| {
                o.venue == venue
                    && o.symbol == symbol
                    && o.status.is_open()
                    && o.kind == OrdType::Limit
            })
            .map(|o| o.price);
        let mut stops: Vec<Decimal> = triggers
            .chain(limits)
            .filter(|p| *p > lo && *p < hi)
            .collect();
        stops.sort();
        stops.dedup();
        if from > to {
            stops.reverse();
        }
        stops.push(to);
        for p in stops {
            self.set_price(venue, symbol, p, now);
        }
    }

    /// Moves the price through one bar as Keel's backtester and paper venue see it: a jump to
    /// the open (a trigger the open crosses fills there), then a walk to the extreme that hurts
    /// the protected position first (the low when the exits protect a long, the high for a
    /// short), the other extreme and the close. When one bar crosses both a stop and a target,
    /// the stop fires.
    #[allow(clippy::too_many_arguments)] // the bar's four prices, named
    pub fn walk_bar(
        &mut self,
        venue: Venue,
        symbol: &str,
        open: Decimal,
        high: Decimal,
        low: Decimal,
        close: Decimal,
        now: i64,
    ) {
        self.set_price(venue, symbol, open, now);
        let protects_short = self.conditionals.iter().any(|c| {
            c.venue == venue
                && c.symbol == symbol
                && c.status == TriggerStatus::Untriggered
                && c.close_side == Side::Buy
        });
        let path = if protects_short {
            [high, low, close]
        } else {
            [low, high, close]
        };
        for p in path {
            self.walk_to(venue, symbol, p, now);
        }
    }

    /// Releases the base quantity a spot TP/SL order held.
    fn release(&mut self, c: &Conditional) {
        let base = self
            .instrument(c.venue, &c.symbol)
            .map(|i| i.cfg.base.clone());
        if let (Some(base), Some(acc)) = (base, self.accounts.get_mut(c.account)) {
            acc.spot.unlock(&base, c.locked);
        }
        if let Some(me) = self.conditionals.iter_mut().find(|x| x.id == c.id) {
            me.locked = Decimal::ZERO;
        }
    }

    /// Size a trigger closes: the whole position in the protected direction on futures, the
    /// filled size of the entry (rounded to the step) on spot.
    fn protected_qty(&self, c: &Conditional) -> Decimal {
        if c.qty > Decimal::ZERO {
            return c.qty;
        }
        if c.venue.is_futures() {
            let amt = self
                .accounts
                .get(c.account)
                .and_then(|a| a.positions.get(&pos_key(c.venue, &c.symbol)))
                .map_or(Decimal::ZERO, |p| p.amt);
            let long = amt > Decimal::ZERO;
            let protects_long = c.close_side == Side::Sell;
            return if !amt.is_zero() && long == protects_long {
                amt.abs()
            } else {
                Decimal::ZERO
            };
        }
        let step = self
            .instrument(c.venue, &c.symbol)
            .map_or(Decimal::ZERO, |i| i.cfg.step_size);
        let filled = self
            .order(c.parent_id)
            .map_or(Decimal::ZERO, |o| o.executed_qty);
        floor_to(filled, step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn crossing_direction_follows_the_position() {
        let mk = |kind, close_side, trigger: &str| Conditional {
            id: 0,
            venue: Venue::BybitLinear,
            account: 0,
            symbol: "BTCUSDT".into(),
            kind,
            trigger: dec(trigger),
            close_side,
            parent_id: 1,
            client_id: String::new(),
            status: TriggerStatus::Untriggered,
            order_id: None,
            qty: Decimal::ZERO,
            sibling: None,
            locked: Decimal::ZERO,
            time: 0,
        };
        let cases = [
            (ExitKind::StopLoss, Side::Sell, "100", "99.9", true),
            (ExitKind::StopLoss, Side::Sell, "100", "100.1", false),
            (ExitKind::TakeProfit, Side::Sell, "100", "100", true),
            (ExitKind::TakeProfit, Side::Sell, "100", "99", false),
            (ExitKind::StopLoss, Side::Buy, "100", "101", true),
            (ExitKind::TakeProfit, Side::Buy, "100", "101", false),
        ];
        for (kind, side, trig, price, want) in cases {
            assert_eq!(
                mk(kind, side, trig).crossed(dec(price)),
                want,
                "{kind:?} {side:?} {price}"
            );
        }
    }

    #[test]
    fn validation_checks_side_and_tick() {
        let t = dec("0.1");
        assert!(validate(ExitKind::StopLoss, dec("90"), Side::Buy, dec("100"), t).is_ok());
        assert!(validate(ExitKind::StopLoss, dec("110"), Side::Buy, dec("100"), t).is_err());
        assert!(validate(ExitKind::TakeProfit, dec("110"), Side::Buy, dec("100"), t).is_ok());
        assert!(validate(ExitKind::TakeProfit, dec("90"), Side::Sell, dec("100"), t).is_ok());
        assert!(validate(ExitKind::StopLoss, dec("90.05"), Side::Buy, dec("100"), t).is_err());
    }
}
