//! Matching engine: places, fills and cancels orders against the simulated price, moving
//! balances, positions, fees and ledger rows the way the exchanges do.
//!
//! Market orders and marketable limit orders fill at the current price (± the configured spread)
//! as takers; resting limit orders fill at their limit price as makers when the price crosses.
//! Per-symbol liquidity caps how much fills per price tick, giving partial fills.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::accounts::pos_key;
use crate::config::{Exchange, Venue};
use crate::model::{Income, OrdType, Order, Side, Status, Tif, Trade, FIRST_ORDER_ID};
use crate::positions::apply_to_position;
use crate::state::State;

/// A validated order request (filters already checked by the protocol layer).
#[derive(Clone, Debug)]
pub struct NewOrder {
    /// Market.
    pub venue: Venue,
    /// Account index.
    pub account: usize,
    /// Symbol.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub kind: OrdType,
    /// Time in force.
    pub tif: Tif,
    /// Binance `LIMIT_MAKER`.
    pub limit_maker: bool,
    /// Base quantity (zero when `quote_qty` is set).
    pub qty: Decimal,
    /// Quote amount for quote-quantity market orders.
    pub quote_qty: Option<Decimal>,
    /// Limit price.
    pub price: Option<Decimal>,
    /// Client order id.
    pub client_id: String,
    /// Futures reduce-only.
    pub reduce_only: bool,
    /// Time, ms.
    pub now: i64,
}

/// Why the engine refused an order; each protocol maps it to its own code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    /// Not enough free balance or margin.
    #[error("insufficient balance")]
    InsufficientBalance,
    /// Client order id already in use.
    #[error("duplicate client order id")]
    DuplicateClientId,
    /// Post-only order would take liquidity (Binance rejects it).
    #[error("post-only order would take")]
    WouldTake,
    /// Reduce-only order would not reduce a position.
    #[error("reduce-only rejected")]
    ReduceOnly,
    /// Symbol unknown on this venue.
    #[error("unknown symbol")]
    UnknownSymbol,
    /// Quote-quantity order too small to buy one step.
    #[error("quantity rounds to zero")]
    ZeroQty,
}

/// Rounds `v` down to a multiple of `step`.
pub fn floor_to(v: Decimal, step: Decimal) -> Decimal {
    if step.is_zero() {
        return v;
    }
    ((v / step).floor() * step).normalize()
}

fn round_to(v: Decimal, step: Decimal, up: bool) -> Decimal {
    if step.is_zero() {
        return v;
    }
    let q = v / step;
    let q = if up { q.ceil() } else { q.floor() };
    (q * step).normalize()
}

/// Rounds a fee or payment to 8 decimals (exchanges keep 8).
pub fn fee_round(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(8, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

impl State {
    /// Price a taker fills at: market price moved by the half-spread, rounded to tick.
    pub fn taker_price(&self, venue: Venue, symbol: &str, side: Side) -> Option<Decimal> {
        let inst = self.instrument(venue, symbol)?;
        let s = self.cfg.spread;
        let tick = inst.cfg.tick_size;
        Some(match side {
            Side::Buy => round_to(inst.price * (Decimal::ONE + s), tick, true),
            Side::Sell => round_to(inst.price * (Decimal::ONE - s), tick, false),
        })
    }

    fn used_margin(&self, account: usize, venue: Venue) -> Decimal {
        let Some(acc) = self.accounts.get(account) else {
            return Decimal::ZERO;
        };
        let mut used = Decimal::ZERO;
        for (key, p) in &acc.positions {
            if key.starts_with(&format!("{venue:?}:")) {
                let sym = key.split(':').nth(1).unwrap_or_default();
                used += p.amt.abs() * p.entry_price / Decimal::from(acc.leverage_of(venue, sym));
            }
        }
        for o in self.orders.iter().filter(|o| {
            o.account == account && o.venue == venue && o.status.is_open() && !o.reduce_only
        }) {
            used += o.remaining() * o.price / Decimal::from(acc.leverage_of(venue, &o.symbol));
        }
        used
    }

    /// Places an order; returns its id. The order may already be filled or expired.
    ///
    /// # Errors
    /// A [`Reject`] saying why the engine refused it (no order is created).
    pub fn place(&mut self, req: NewOrder) -> Result<u64, Reject> {
        let inst = self
            .instrument(req.venue, &req.symbol)
            .ok_or(Reject::UnknownSymbol)?
            .cfg
            .clone();
        let exchange = req.venue.exchange();
        let dup = !req.client_id.is_empty()
            && self.orders.iter().any(|o| {
                o.account == req.account
                    && o.venue == req.venue
                    && o.client_id == req.client_id
                    && (exchange == Exchange::Bybit || o.status.is_open())
            });
        if dup {
            return Err(Reject::DuplicateClientId);
        }
        let taker = self
            .taker_price(req.venue, &req.symbol, req.side)
            .ok_or(Reject::UnknownSymbol)?;
        let mut qty = req.qty;
        if let Some(quote) = req.quote_qty {
            qty = floor_to(quote / taker, inst.step_size);
            if qty.is_zero() {
                return Err(Reject::ZeroQty);
            }
        }
        if req.reduce_only {
            let pos = self
                .accounts
                .get(req.account)
                .map(|a| a.position(req.venue, &req.symbol))
                .unwrap_or_default();
            let reduces = (pos.amt > Decimal::ZERO && req.side == Side::Sell)
                || (pos.amt < Decimal::ZERO && req.side == Side::Buy);
            if !reduces {
                return Err(Reject::ReduceOnly);
            }
            qty = qty.min(pos.amt.abs());
        }
        let limit = req.price.unwrap_or(taker);
        let crosses = req.kind == OrdType::Market
            || (req.side == Side::Buy && limit >= taker)
            || (req.side == Side::Sell && limit <= taker);
        let ref_price = if req.kind == OrdType::Market {
            taker
        } else {
            limit
        };
        let mut status = Status::New;
        let mut reject_reason = String::new();
        if crosses && req.tif == Tif::PostOnly && req.kind == OrdType::Limit {
            if exchange == Exchange::Binance {
                return Err(Reject::WouldTake);
            }
            status = Status::Canceled;
            reject_reason = "EC_PostOnlyWillTakeLiquidity".to_string();
        }
        let (mut locked, mut lock_asset) = (Decimal::ZERO, String::new());
        if status == Status::New {
            if req.venue.is_futures() {
                if !req.reduce_only {
                    let acc = self
                        .accounts
                        .get(req.account)
                        .ok_or(Reject::InsufficientBalance)?;
                    let pos = acc.position(req.venue, &req.symbol);
                    let opposite = (pos.amt > Decimal::ZERO && req.side == Side::Sell)
                        || (pos.amt < Decimal::ZERO && req.side == Side::Buy);
                    let opening = if opposite {
                        (qty - pos.amt.abs()).max(Decimal::ZERO)
                    } else {
                        qty
                    };
                    let lev = Decimal::from(acc.leverage_of(req.venue, &req.symbol));
                    let need = opening * ref_price / lev;
                    let free = acc.wallet(req.venue).free(&inst.quote)
                        - self.used_margin(req.account, req.venue);
                    if need > free {
                        return Err(Reject::InsufficientBalance);
                    }
                }
            } else {
                (locked, lock_asset) = match (req.side, req.quote_qty) {
                    (Side::Buy, Some(q)) => (q, inst.quote.clone()),
                    (Side::Buy, None) => (qty * ref_price, inst.quote.clone()),
                    (Side::Sell, _) => (qty, inst.base.clone()),
                };
                let acc = self
                    .accounts
                    .get_mut(req.account)
                    .ok_or(Reject::InsufficientBalance)?;
                acc.spot
                    .lock(&lock_asset, locked)
                    .map_err(|_| Reject::InsufficientBalance)?;
            }
        }
        let id = FIRST_ORDER_ID + self.orders.len() as u64;
        self.orders.push(Order {
            id,
            venue: req.venue,
            account: req.account,
            symbol: req.symbol.clone(),
            client_id: req.client_id,
            side: req.side,
            kind: req.kind,
            tif: req.tif,
            limit_maker: req.limit_maker,
            price: if req.kind == OrdType::Limit {
                limit
            } else {
                Decimal::ZERO
            },
            orig_qty: qty,
            quote_qty: req.quote_qty.unwrap_or_default(),
            executed_qty: Decimal::ZERO,
            cum_quote: Decimal::ZERO,
            cum_fee: Decimal::ZERO,
            fee_asset: String::new(),
            status,
            reduce_only: req.reduce_only,
            reject_reason,
            time: req.now,
            update_time: req.now,
            locked,
            lock_asset,
        });
        self.record_change(id, None);
        if status == Status::New && crosses {
            self.take(id, taker, req.now);
        }
        Ok(id)
    }

    /// Fills a marketable order as taker within the tick's liquidity, then ends IOC/FOK/market
    /// remainders.
    fn take(&mut self, id: u64, price: Decimal, now: i64) {
        let Some(o) = self.order(id).cloned() else {
            return;
        };
        let avail = self
            .instrument(o.venue, &o.symbol)
            .and_then(|i| i.liquidity_left);
        let want = o.remaining();
        let fill = avail.map_or(want, |a| a.min(want));
        let fok_short = o.tif == Tif::Fok && fill < want;
        if !fok_short && fill > Decimal::ZERO {
            self.apply_fill(id, price, fill, false, now);
        }
        let ends = o.kind == OrdType::Market || matches!(o.tif, Tif::Ioc | Tif::Fok);
        if ends && self.order(id).is_some_and(|o| o.status.is_open()) {
            self.finish(id, Status::Expired, now);
        }
    }

    /// Ends an open order: releases held funds and sets the final status.
    pub fn finish(&mut self, id: u64, status: Status, now: i64) {
        let Some(idx) = id.checked_sub(FIRST_ORDER_ID).map(|i| i as usize) else {
            return;
        };
        let Some(o) = self.orders.get_mut(idx) else {
            return;
        };
        let (account, asset, locked) = (o.account, o.lock_asset.clone(), o.locked);
        o.status = status;
        o.update_time = now;
        o.locked = Decimal::ZERO;
        if locked > Decimal::ZERO {
            if let Some(acc) = self.accounts.get_mut(account) {
                acc.spot.unlock(&asset, locked);
            }
        }
        // A fill that completes the order was already pushed with its trade.
        if status != Status::Filled {
            self.record_change(id, None);
        }
    }

    /// Cancels an open order; false when it is not open (filled, cancelled, expired).
    pub fn cancel(&mut self, id: u64, now: i64) -> bool {
        match self.order(id) {
            Some(o) if o.status.is_open() => {
                self.finish(id, Status::Canceled, now);
                true
            }
            _ => false,
        }
    }

    /// Commission asset and amount for a spot fill.
    fn spot_fee(
        &self,
        o: &Order,
        qty: Decimal,
        quote: Decimal,
        rate: Decimal,
    ) -> (String, Decimal) {
        let Some(inst) = self.instrument(o.venue, &o.symbol) else {
            return (String::new(), Decimal::ZERO);
        };
        let acc = self.accounts.get(o.account);
        if o.venue == Venue::BinanceSpot && acc.is_some_and(|a| a.cfg.bnb_fee_discount) {
            let bnb_price = self
                .instrument(Venue::BinanceSpot, "BNBUSDT")
                .map(|i| i.price)
                .unwrap_or_default();
            if bnb_price > Decimal::ZERO {
                let bnb = fee_round(quote * rate * Decimal::new(75, 2) / bnb_price);
                if acc.is_some_and(|a| a.spot.free("BNB") >= bnb) {
                    return ("BNB".to_string(), bnb);
                }
            }
        }
        match o.side {
            Side::Buy => (inst.cfg.base.clone(), fee_round(qty * rate)),
            Side::Sell => (inst.cfg.quote.clone(), fee_round(quote * rate)),
        }
    }

    /// Applies one fill: balances or position, fee, ledger, trade record, order progress.
    fn apply_fill(&mut self, id: u64, price: Decimal, qty: Decimal, maker: bool, now: i64) {
        let Some(o) = self.order(id).cloned() else {
            return;
        };
        let Some(inst) = self.instruments.get_mut(&(o.venue, o.symbol.clone())) else {
            return;
        };
        let (base, quote_asset) = (inst.cfg.base.clone(), inst.cfg.quote.clone());
        let trade_id = inst.next_trade_id;
        inst.next_trade_id += 1;
        if let Some(left) = inst.liquidity_left.as_mut() {
            *left = (*left - qty).max(Decimal::ZERO);
        }
        let rates = self.cfg.fees.get(&o.venue).copied();
        let rate = rates
            .map(|r| if maker { r.maker } else { r.taker })
            .unwrap_or_default();
        let quote = (price * qty).normalize();
        let (mut realized, mut closed, mut position_after) =
            (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        let (fee_asset, fee);
        let mut locked_left = o.locked;
        if o.venue.is_futures() {
            fee_asset = quote_asset.clone();
            fee = fee_round(quote * rate);
            let Some(acc) = self.accounts.get_mut(o.account) else {
                return;
            };
            let pos = acc
                .positions
                .entry(pos_key(o.venue, &o.symbol))
                .or_default();
            (realized, closed) = apply_to_position(pos, o.side, qty, price, now);
            position_after = pos.amt;
            acc.wallet_mut(o.venue).credit(&quote_asset, realized - fee);
            if o.venue == Venue::BinanceFutures {
                if !realized.is_zero() {
                    self.push_income(
                        &o,
                        "REALIZED_PNL",
                        realized,
                        &quote_asset,
                        now,
                        Some(trade_id),
                    );
                }
                self.push_income(&o, "COMMISSION", -fee, &quote_asset, now, Some(trade_id));
            } else {
                self.push_income(
                    &o,
                    "TRADE",
                    realized - fee,
                    &quote_asset,
                    now,
                    Some(trade_id),
                );
            }
        } else {
            (fee_asset, fee) = self.spot_fee(&o, qty, quote, rate);
            let Some(acc) = self.accounts.get_mut(o.account) else {
                return;
            };
            let w = &mut acc.spot;
            match o.side {
                Side::Buy => {
                    w.spend_locked(&quote_asset, quote);
                    locked_left -= quote;
                    w.credit(&base, qty);
                }
                Side::Sell => {
                    w.spend_locked(&base, qty);
                    locked_left -= qty;
                    w.credit(&quote_asset, quote);
                }
            }
            w.credit(&fee_asset, -fee);
        }
        let remaining_after = o.remaining() - qty;
        if o.side == Side::Buy && o.kind == OrdType::Limit && !o.venue.is_futures() {
            let excess = locked_left - remaining_after * o.price;
            if excess > Decimal::ZERO {
                if let Some(acc) = self.accounts.get_mut(o.account) {
                    acc.spot.unlock(&quote_asset, excess);
                }
                locked_left -= excess;
            }
        }
        let trade = Trade {
            id: trade_id,
            venue: o.venue,
            account: o.account,
            symbol: o.symbol.clone(),
            order_id: id,
            side: o.side,
            price,
            qty,
            quote_qty: quote,
            commission: fee,
            commission_asset: fee_asset.clone(),
            fee_rate: rate,
            realized_pnl: realized,
            closed_size: closed,
            position_after,
            time: now,
            is_maker: maker,
        };
        self.trades.push(trade.clone());
        let idx = (id - FIRST_ORDER_ID) as usize;
        if let Some(m) = self.orders.get_mut(idx) {
            m.executed_qty += qty;
            m.cum_quote += quote;
            m.cum_fee += fee;
            m.fee_asset = fee_asset;
            m.update_time = now;
            m.locked = locked_left.max(Decimal::ZERO);
            m.status = if m.remaining().is_zero() {
                Status::Filled
            } else {
                Status::PartiallyFilled
            };
        }
        self.record_change(id, Some(trade));
        if remaining_after.is_zero() {
            self.finish(id, Status::Filled, now);
        }
    }

    fn push_income(
        &mut self,
        o: &Order,
        kind: &'static str,
        amount: Decimal,
        asset: &str,
        now: i64,
        trade: Option<u64>,
    ) {
        self.push_ledger(
            o.venue, o.account, &o.symbol, kind, amount, asset, now, trade,
        );
    }

    /// Appends a ledger row, recording the wallet balance it leaves.
    #[allow(clippy::too_many_arguments)] // one flat row; a builder would only rename the fields
    pub fn push_ledger(
        &mut self,
        venue: Venue,
        account: usize,
        symbol: &str,
        kind: &'static str,
        amount: Decimal,
        asset: &str,
        now: i64,
        trade_id: Option<u64>,
    ) {
        let tran_id = self.next_tran_id;
        self.next_tran_id += 1;
        let balance_after = self
            .accounts
            .get(account)
            .and_then(|a| a.wallet(venue).assets.get(asset))
            .map(|b| b.free + b.locked)
            .unwrap_or_default();
        self.income.push(Income {
            tran_id,
            venue,
            account,
            symbol: symbol.to_string(),
            kind,
            income: amount.normalize(),
            asset: asset.to_string(),
            time: now,
            trade_id,
            balance_after,
            funding_basis: None,
        });
    }

    /// Sets a symbol's price, opens a new liquidity tick and fills resting orders it crosses.
    pub fn set_price(&mut self, venue: Venue, symbol: &str, price: Decimal, now: i64) {
        let Some(inst) = self.instruments.get_mut(&(venue, symbol.to_string())) else {
            return;
        };
        let before = inst.price;
        inst.price = round_to(price, inst.cfg.tick_size, false).max(inst.cfg.tick_size);
        inst.liquidity_left = inst.liquidity;
        let mkt = inst.price;
        self.tapes
            .entry((venue, symbol.to_string()))
            .or_insert_with(|| crate::klines::Tape::new(before))
            .record(now, mkt);
        let resting: Vec<u64> = self
            .orders
            .iter()
            .filter(|o| {
                o.venue == venue
                    && o.symbol == symbol
                    && o.status.is_open()
                    && o.kind == OrdType::Limit
            })
            .filter(|o| {
                (o.side == Side::Buy && mkt <= o.price) || (o.side == Side::Sell && mkt >= o.price)
            })
            .map(|o| o.id)
            .collect();
        for id in resting {
            let Some(o) = self.order(id) else { continue };
            let (price, want) = (o.price, o.remaining());
            let left = self
                .instrument(venue, symbol)
                .and_then(|i| i.liquidity_left);
            let fill = left.map_or(want, |l| l.min(want));
            if fill > Decimal::ZERO {
                self.apply_fill(id, price, fill, true, now);
            }
        }
        self.fire_conditionals(venue, symbol, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn rounding_helpers() {
        assert_eq!(floor_to(dec("0.123456"), dec("0.001")), dec("0.123"));
        assert_eq!(round_to(dec("100.051"), dec("0.1"), true), dec("100.1"));
        assert_eq!(fee_round(dec("0.000000015")), dec("0.00000002"));
    }
}
