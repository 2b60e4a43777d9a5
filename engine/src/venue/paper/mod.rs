//! Paper venue: fills in-process at the market price the caller feeds in, with a configured fee
//! rate and deterministic ids (`PO<n>` orders, `P<n>` trades), so a paper bot and its backtest
//! produce identical books. It answers every [`VenueOp`] with [`Planned::Immediate`]; it has no
//! wire format, hence no `urls`/`models`/`query`/`parse` files like the live adapters.
//!
//! Behaviour, chosen to match the exchanges where it matters:
//! - market orders fill completely at the current price; marketable limits fill at the better of
//!   price and limit (taker fee); others rest and fill at their limit when [`PaperVenue::set_price`]
//!   crosses them (maker fee); IOC/FOK that cannot fill expire; post-only that would take expires;
//! - spot checks and locks balances ([`PaperVenue::deposit`] funds them) and charges the fee in the
//!   asset received (Binance's default); linear keeps average-cost positions, books realized P&L
//!   and fees to the quote balance, and has no margin check;
//! - orders must already satisfy the instrument rules (like the exchange, nothing is rounded);
//! - funding is applied explicitly with [`PaperVenue::apply_funding`];
//! - exits (stop-loss / take-profit on an entry, close-position triggers, spot OCO pairs and
//!   spot TP/SL orders: every kind [`crate::venue::protect`] plans for a real venue) rest on the
//!   venue and fire from the prices it observes, by the one rule stated in [`exits`]: a tick
//!   ([`PaperVenue::set_price`]) or a whole bar ([`PaperVenue::observe_bar`]). Their fills are
//!   found as on the exchange, through [`VenueOp::QueryExitTrigger`], [`VenueOp::QueryOrder`] and
//!   [`VenueOp::ExitFills`].
//!
//! The whole venue is `Serialize`, so the Durable Object persists it between requests.

pub mod book;
pub mod exits;

use crate::ids::{ClientOrderId, Symbol};
use crate::model::{
    Exchange, Fill, InstrumentRules, Market, OrderQty, OrderRequest, OrderType, Side,
};
use crate::venue::error::VenueError;
use crate::venue::http::HttpResponse;
use crate::venue::limiter::OpCost;
use crate::venue::op::{
    ExitFill, ExitKind, ExitRef, FundingEvent, FundingPage, OrderReport, OrderStatus, Protection,
    Ticker, TradeCursor, TradePage, TriggerState, VenueOp, VenueReply,
};
use crate::venue::rules::{prepare_order, round_to_step_down};
use crate::venue::{BuildCtx, Observation, Planned, Venue};
use book::{Book, Fees};
use exits::{BarPrices, PaperExit};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the paper venue imitates and charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperConfig {
    /// Exchange imitated (reported by [`Venue::exchange`]).
    pub exchange: Exchange,
    /// Market imitated.
    pub market: Market,
    /// Taker fee rate (e.g. 0.001).
    pub taker_fee_rate: Decimal,
    /// Maker fee rate.
    pub maker_fee_rate: Decimal,
    /// Market orders fill this many basis points worse than the price fed in (buys above,
    /// sells below, rounded to the tick against the trader): a paper bot should not look better
    /// than the live book would have let it. Zero for callers modelling slippage themselves.
    #[serde(default)]
    pub slippage_bps: Decimal,
}

/// The paper venue's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperVenue {
    config: PaperConfig,
    prices: BTreeMap<Symbol, Decimal>,
    rules: BTreeMap<Symbol, InstrumentRules>,
    book: Book,
    funding: Vec<FundingEvent>,
    /// Exits placed on the venue (working and finished; finished ones are pruned).
    #[serde(default)]
    exits: Vec<PaperExit>,
    /// Next exit sequence number (`PX<n>`).
    #[serde(default)]
    next_exit: u64,
}

/// What one price observation did: fills of resting orders and fills of exits it fired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Fills of resting (limit) orders the price crossed.
    pub fills: Vec<Fill>,
    /// Fills of exits the price fired, with which exit each was.
    pub exits: Vec<ExitFill>,
}

impl Observed {
    fn extend(&mut self, other: Observed) {
        self.fills.extend(other.fills);
        self.exits.extend(other.exits);
    }
}

fn seq_of(id: &str, prefix: &str) -> u64 {
    id.strip_prefix(prefix)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl PaperVenue {
    /// An empty paper account.
    pub fn new(config: PaperConfig) -> Self {
        Self {
            config,
            prices: BTreeMap::new(),
            rules: BTreeMap::new(),
            book: Book::default(),
            funding: Vec::new(),
            exits: Vec::new(),
            next_exit: 0,
        }
    }

    fn fees(&self) -> Fees {
        Fees {
            taker: self.config.taker_fee_rate,
            maker: self.config.maker_fee_rate,
        }
    }

    /// The price a market order fills at after [`PaperConfig::slippage_bps`].
    fn with_slippage(
        &self,
        rules: &InstrumentRules,
        req: &crate::model::OrderRequest,
        price: Decimal,
    ) -> Decimal {
        if req.order_type != crate::model::OrderType::Market {
            return price;
        }
        slipped_price(price, req.side, self.config.slippage_bps, rules.tick_size)
    }

    /// Bounds the stored book (see [`Book::prune`]) and the finished exits (the newest
    /// `keep_orders` are kept; working exits always).
    pub fn prune(&mut self, keep_orders: usize, keep_fills: usize) {
        self.book.prune(keep_orders, keep_fills);
        let finished = self
            .exits
            .iter()
            .filter(|e| e.state != TriggerState::Working)
            .count();
        if finished > keep_orders {
            let mut drop = finished - keep_orders;
            // Oldest first: the vector is in placement order.
            self.exits.retain(|e| {
                if drop > 0 && e.state != TriggerState::Working {
                    drop -= 1;
                    return false;
                }
                true
            });
        }
    }

    /// The exits still working on `symbol` (for views and tests).
    pub fn working_exits(&self, symbol: &Symbol) -> Vec<&PaperExit> {
        self.exits
            .iter()
            .filter(|e| &e.symbol == symbol && e.state == TriggerState::Working)
            .collect()
    }

    /// The rules registered for `symbol`.
    pub fn rules_of(&self, symbol: &Symbol) -> Option<&InstrumentRules> {
        self.rules.get(symbol)
    }

    /// Registers an instrument's rules (usually copied from the real exchange).
    pub fn set_rules(&mut self, rules: InstrumentRules) {
        self.rules.insert(rules.symbol.clone(), rules);
    }

    /// Credits an asset (starting balance).
    pub fn deposit(&mut self, asset: &str, amount: Decimal) {
        let h = self.book.holdings.entry(asset.to_string()).or_default();
        h.free = h.free.saturating_add(amount);
    }

    /// Sets the market price (a tick: a jump, see [`exits`]), fills any resting order it
    /// crosses and fires the exits it touches; returns the resting orders' fills. Exit fills
    /// stay on the venue, found as on an exchange ([`VenueOp::ExitFills`]).
    pub fn set_price(&mut self, symbol: &Symbol, price: Decimal, now_ms: i64) -> Vec<Fill> {
        self.observe_jump(symbol, price, now_ms).fills
    }

    /// A jump to `price` (a tick, or a bar's open): resting orders it crosses fill at their
    /// limit, then every exit it touches fires at `price` (limit legs at their own price).
    pub fn observe_jump(&mut self, symbol: &Symbol, price: Decimal, now_ms: i64) -> Observed {
        self.prices.insert(symbol.clone(), price);
        let fees = self.fees();
        let fills = match self.rules.get(symbol) {
            Some(rules) => self
                .book
                .on_price(self.config.market, rules, price, fees, now_ms),
            None => Vec::new(),
        };
        let exits = self.fire(symbol, price, now_ms);
        Observed { fills, exits }
    }

    /// A walk from the current price to `to`: the price passes through every exit price on the
    /// way (each fires at its own price) and ends at `to`. Without a current price, a jump.
    pub fn observe_walk(&mut self, symbol: &Symbol, to: Decimal, now_ms: i64) -> Observed {
        let Some(from) = self.prices.get(symbol).copied() else {
            return self.observe_jump(symbol, to, now_ms);
        };
        let on_way = self
            .exits
            .iter()
            .filter(|e| &e.symbol == symbol && e.state == TriggerState::Working)
            .map(|e| e.price);
        let mut out = Observed::default();
        for p in exits::stops(from, to, on_way) {
            out.extend(self.observe_jump(symbol, p, now_ms));
        }
        out
    }

    /// A whole bar, by the rule of [`exits`]: the jump to its open, then the walk to the
    /// extreme that hurts the protected position first, the other extreme and the close. The
    /// position protected is the one held at the open (long or a spot holding: the low first).
    pub fn observe_bar(&mut self, symbol: &Symbol, bar: BarPrices, now_ms: i64) -> Observed {
        let mut out = self.observe_jump(symbol, bar.open, now_ms);
        let long = match self.config.market {
            Market::Linear => self
                .book
                .positions
                .get(symbol)
                .is_none_or(|p| p.qty >= Decimal::ZERO),
            Market::Spot => true,
        };
        for p in bar.walk(long) {
            out.extend(self.observe_walk(symbol, p, now_ms));
        }
        out
    }

    /// What an exit may close now: its own quantity (linear: no more than the position in its
    /// direction) or the whole position (linear) / the free holding on the step (spot).
    fn exit_qty(&self, e: &PaperExit, rules: &InstrumentRules) -> Decimal {
        match self.config.market {
            Market::Linear => {
                let pos = self
                    .book
                    .positions
                    .get(&e.symbol)
                    .map_or(Decimal::ZERO, |p| p.qty);
                let held = match e.close_side {
                    Side::Sell => pos.max(Decimal::ZERO),
                    Side::Buy => (-pos).max(Decimal::ZERO),
                };
                e.qty.map_or(held, |q| q.min(held))
            }
            Market::Spot => e.qty.unwrap_or_else(|| {
                let free = self
                    .book
                    .holdings
                    .get(&rules.base_asset)
                    .map_or(Decimal::ZERO, |h| h.free);
                round_to_step_down(free, rules.step_size)
            }),
        }
    }

    /// Ends exit `i` (cancelled, rejected…), releasing what it held.
    fn end_exit(&mut self, i: usize, state: TriggerState, now_ms: i64) {
        if let Some(e) = self.exits.get_mut(i) {
            e.state = state;
            e.updated_ms = now_ms;
        }
        self.release(i);
    }

    /// Releases the base quantity exit `i` held from placement (spot).
    fn release(&mut self, i: usize) {
        let Some(e) = self.exits.get_mut(i) else {
            return;
        };
        let locked = std::mem::take(&mut e.locked);
        if locked <= Decimal::ZERO {
            return;
        }
        if let Some(rules) = self.rules.get(&e.symbol) {
            // The exact inverse of the lock taken at placement.
            let _ = self.book.lock(
                self.config.market,
                rules,
                Side::Sell,
                locked,
                Decimal::ZERO,
                false,
            );
        }
    }

    /// Ends every working sibling of exit `i` (same OCO list or entry; on linear every exit of
    /// the symbol, the position being closed), releasing what they held.
    fn end_siblings(&mut self, i: usize, state: TriggerState, now_ms: i64) {
        let Some(me) = self.exits.get(i).cloned() else {
            return;
        };
        let linear = self.config.market == Market::Linear;
        let siblings: Vec<usize> = self
            .exits
            .iter()
            .enumerate()
            .filter(|(j, s)| {
                *j != i
                    && s.symbol == me.symbol
                    && s.state == TriggerState::Working
                    && (linear || (me.group.is_some() && s.group == me.group))
            })
            .map(|(j, _)| j)
            .collect();
        for j in siblings {
            self.end_exit(j, state, now_ms);
        }
    }

    /// Fires every working exit of `symbol` that `price` touches (stop-losses first: the worst
    /// case), each filling completely as the rule of [`exits`] says.
    fn fire(&mut self, symbol: &Symbol, price: Decimal, now_ms: i64) -> Vec<ExitFill> {
        if self.exits.is_empty() {
            return Vec::new();
        }
        let Some(rules) = self.rules.get(symbol).cloned() else {
            return Vec::new();
        };
        let mut due: Vec<usize> = self
            .exits
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                &e.symbol == symbol && e.state == TriggerState::Working && e.touched(price)
            })
            .map(|(i, _)| i)
            .collect();
        due.sort_by_key(|i| {
            (
                self.exits.get(*i).map(|e| e.kind) != Some(ExitKind::StopLoss),
                *i,
            )
        });
        let market = self.config.market;
        let fees = self.fees();
        let mut out = Vec::new();
        for i in due {
            let Some(e) = self.exits.get(i).cloned() else {
                continue;
            };
            if e.state != TriggerState::Working {
                continue; // a sibling filled first at this price
            }
            // What the exit (and its list) held is released first: the close sells it.
            let holders: Vec<usize> = self
                .exits
                .iter()
                .enumerate()
                .filter(|(j, s)| *j == i || (e.group.is_some() && s.group == e.group))
                .map(|(j, _)| j)
                .collect();
            for j in holders {
                self.release(j);
            }
            let qty = self.exit_qty(&e, &rules);
            if qty <= Decimal::ZERO {
                self.end_exit(i, TriggerState::Cancelled, now_ms);
                continue;
            }
            let (px, rate, maker) = if e.limit {
                (e.price, fees.maker, true)
            } else {
                (
                    slipped_price(
                        price,
                        e.close_side,
                        self.config.slippage_bps,
                        rules.tick_size,
                    ),
                    fees.taker,
                    false,
                )
            };
            let key = match &e.client_order_id {
                Some(c) => c.clone(),
                None => match ClientOrderId::new(e.id.clone()) {
                    Ok(c) => c,
                    Err(_) => continue,
                },
            };
            let req = OrderRequest {
                client_order_id: key.clone(),
                symbol: symbol.clone(),
                side: e.close_side,
                order_type: if e.limit {
                    OrderType::Limit
                } else {
                    OrderType::Market
                },
                qty: OrderQty::Base(qty),
                price: e.limit.then_some(e.price),
                time_in_force: None,
                reduce_only: market == Market::Linear,
            };
            match self
                .book
                .fill_exit(market, &rules, &req, qty, px, rate, maker, now_ms)
            {
                Ok(report) => {
                    if let Some(x) = self.exits.get_mut(i) {
                        x.state = TriggerState::Fired;
                        x.order_key = Some(key);
                        x.actual_order_id = Some(report.order_id.clone());
                        x.updated_ms = now_ms;
                    }
                    for mut fill in report.fills {
                        fill.client_order_id = e.client_order_id.clone();
                        out.push(ExitFill {
                            kind: Some(e.kind),
                            fill,
                        });
                    }
                    self.end_siblings(i, TriggerState::Cancelled, now_ms);
                }
                Err(_) => self.end_exit(i, TriggerState::Rejected, now_ms),
            }
        }
        self.end_attached_if_flat(symbol, now_ms);
        out
    }

    /// Protection riding on a linear position (Bybit TP/SL on create) ends with the position.
    fn end_attached_if_flat(&mut self, symbol: &Symbol, now_ms: i64) {
        if self.config.market != Market::Linear {
            return;
        }
        let flat = self
            .book
            .positions
            .get(symbol)
            .is_none_or(|p| p.qty.is_zero());
        if !flat {
            return;
        }
        let attached: Vec<usize> = self
            .exits
            .iter()
            .enumerate()
            .filter(|(_, e)| &e.symbol == symbol && e.attached && e.state == TriggerState::Working)
            .map(|(i, _)| i)
            .collect();
        for i in attached {
            self.end_exit(i, TriggerState::Cancelled, now_ms);
        }
    }

    /// Refuses an exit the current price already touches, as the exchanges do (Binance
    /// `-2021`), so no exit fires at placement.
    fn check_trigger(
        &self,
        symbol: &Symbol,
        kind: ExitKind,
        close_side: Side,
        price: Decimal,
    ) -> Result<(), VenueError> {
        let now = self.price_for(symbol)?;
        if price <= Decimal::ZERO || exits::touched(kind, close_side, price, now) {
            return Err(VenueError::Rejected {
                code: -2021,
                msg: format!("Order would immediately trigger ({kind:?} at {price}, price {now})."),
            });
        }
        Ok(())
    }

    /// Records a new working exit and returns its index.
    #[allow(clippy::too_many_arguments)] // the exit's facts, one private call site per kind
    fn add_exit(
        &mut self,
        client_order_id: Option<ClientOrderId>,
        symbol: &Symbol,
        close_side: Side,
        kind: ExitKind,
        price: Decimal,
        limit: bool,
        qty: Option<Decimal>,
        group: Option<ClientOrderId>,
        attached: bool,
        now_ms: i64,
    ) -> usize {
        let id = format!("PX{}", self.next_exit);
        self.next_exit += 1;
        self.exits.push(PaperExit {
            id,
            client_order_id,
            symbol: symbol.clone(),
            close_side,
            kind,
            price,
            limit,
            qty,
            group,
            attached,
            locked: Decimal::ZERO,
            state: TriggerState::Working,
            order_key: None,
            actual_order_id: None,
            placed_ms: now_ms,
            updated_ms: now_ms,
        });
        self.exits.len() - 1
    }

    /// Holds `qty` of the base asset for a spot exit from placement (the exchange locks it).
    fn lock_base(&mut self, symbol: &Symbol, qty: Decimal) -> Result<(), VenueError> {
        if self.config.market != Market::Spot {
            return Ok(());
        }
        let rules = self
            .rules
            .get(symbol)
            .ok_or_else(|| unknown_symbol(symbol))?;
        let free = self
            .book
            .holdings
            .get(&rules.base_asset)
            .map_or(Decimal::ZERO, |h| h.free);
        if free < qty {
            return Err(VenueError::InsufficientBalance {
                msg: "Account has insufficient balance for requested action.".into(),
            });
        }
        self.book
            .lock(Market::Spot, rules, Side::Sell, qty, Decimal::ZERO, true)
    }

    /// The report of an exit as an order (a working OCO leg is an order on Binance spot).
    fn exit_as_order(e: &PaperExit) -> OrderReport {
        OrderReport {
            order_id: e.id.clone(),
            client_order_id: e.client_order_id.clone(),
            symbol: e.symbol.clone(),
            side: Some(e.close_side),
            status: match e.state {
                TriggerState::Working => OrderStatus::New,
                TriggerState::Fired => OrderStatus::Filled,
                TriggerState::Cancelled => OrderStatus::Cancelled,
                TriggerState::Expired => OrderStatus::Expired,
                TriggerState::Rejected => OrderStatus::Rejected,
            },
            orig_qty: e.qty.unwrap_or(Decimal::ZERO),
            executed_qty: Decimal::ZERO,
            cum_quote: Some(Decimal::ZERO),
            price: e.price,
            fills: Vec::new(),
            updated_ms: e.updated_ms,
        }
    }

    /// Places an ordinary order (the checks of [`VenueOp::PlaceOrder`]).
    fn place_order(&mut self, req: &OrderRequest, now_ms: i64) -> Result<OrderReport, VenueError> {
        let market = self.config.market;
        let name = "place_order";
        if req.reduce_only && market == Market::Spot {
            return Err(VenueError::Unsupported {
                op: name,
                reason: "spot has no reduce-only".into(),
            });
        }
        if matches!(req.qty, OrderQty::Quote(_)) && market == Market::Linear {
            return Err(VenueError::Unsupported {
                op: name,
                reason: "no quote-quantity orders on linear".into(),
            });
        }
        let price = self.price_for(&req.symbol)?;
        let fees = self.fees();
        // Borrowed from its own field, so the book can change below without a copy.
        let rules = self
            .rules
            .get(&req.symbol)
            .ok_or_else(|| unknown_symbol(&req.symbol))?;
        let prepared = prepare_order(rules, req, price)?;
        if prepared.qty != req.qty || prepared.price != req.price {
            return Err(VenueError::Filter {
                which: "LOT_SIZE/PRICE_FILTER".into(),
                msg: "quantity or price not on the instrument's step/tick".into(),
            });
        }
        let price = self.with_slippage(rules, req, price);
        let report = self.book.place(market, rules, req, price, fees, now_ms)?;
        self.end_attached_if_flat(&req.symbol, now_ms);
        Ok(report)
    }

    /// The exits of `protection` riding on `entry` (Bybit TP/SL on create).
    fn attach(&mut self, entry: &OrderRequest, protection: &Protection, now_ms: i64) {
        let close_side = opposite(entry.side);
        for (kind, price) in [
            (ExitKind::StopLoss, protection.stop_loss),
            (ExitKind::TakeProfit, protection.take_profit),
        ] {
            if let Some(p) = price {
                self.add_exit(
                    None,
                    &entry.symbol,
                    close_side,
                    kind,
                    p,
                    false,
                    None,
                    Some(entry.client_order_id.clone()),
                    true,
                    now_ms,
                );
            }
        }
    }

    /// Indexes of the working exits `x` names (the whole list for an OCO leg).
    fn named(&self, x: &ExitRef) -> Vec<usize> {
        self.exits
            .iter()
            .enumerate()
            .filter(|(_, e)| e.symbol == x.symbol && e.state == TriggerState::Working)
            .filter(|(_, e)| match &x.list_client_order_id {
                Some(l) => e.group.as_ref() == Some(l),
                None => e.client_order_id.as_ref() == Some(&x.client_order_id),
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Books one funding payment on a linear position: `amount = −qty × mark × rate` (longs pay a
    /// positive rate). Returns the event, or `None` without a position or price.
    pub fn apply_funding(
        &mut self,
        symbol: &Symbol,
        rate: Decimal,
        now_ms: i64,
    ) -> Option<FundingEvent> {
        let qty = self
            .book
            .positions
            .get(symbol)
            .map(|p| p.qty)
            .filter(|q| !q.is_zero())?;
        let mark = *self.prices.get(symbol)?;
        let asset = self.rules.get(symbol)?.quote_asset.clone();
        // Checked: the mark comes from an exchange answer (no funding beyond the exact range).
        let amount = -qty.checked_mul(mark)?.checked_mul(rate)?;
        let held = self.book.holdings.entry(asset.clone()).or_default();
        held.free = held.free.checked_add(amount)?;
        let event = FundingEvent {
            id: format!("F{}", self.funding.len()),
            symbol: symbol.clone(),
            amount,
            asset,
            time_ms: now_ms,
        };
        self.funding.push(event.clone());
        Some(event)
    }

    fn price_for(&self, symbol: &Symbol) -> Result<Decimal, VenueError> {
        self.prices
            .get(symbol)
            .copied()
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| VenueError::Rejected {
                code: -1,
                msg: format!("paper venue has no price for {symbol}"),
            })
    }

    fn answer(&mut self, op: &VenueOp, now_ms: i64) -> Result<VenueReply, VenueError> {
        let market = self.config.market;
        Ok(match op {
            VenueOp::ServerTime => VenueReply::ServerTime(now_ms),
            VenueOp::Klines { .. } => {
                // Paper keeps no history: candles come from the real exchange's public endpoint.
                return Err(VenueError::Unsupported {
                    op: op.name(),
                    reason: "paper trading reads candles from the exchange".into(),
                });
            }
            VenueOp::PlaceProtectedOrder { order, protection } => {
                let close_side = opposite(order.side);
                for (kind, p) in [
                    (ExitKind::StopLoss, protection.stop_loss),
                    (ExitKind::TakeProfit, protection.take_profit),
                ] {
                    if let Some(p) = p {
                        self.check_trigger(&order.symbol, kind, close_side, p)?;
                    }
                }
                let report = self.place_order(order, now_ms)?;
                if !order.reduce_only && !protection.is_empty() {
                    self.attach(order, protection, now_ms);
                }
                VenueReply::Order(report)
            }
            VenueOp::PlaceExitTrigger(t) => {
                if self
                    .exits
                    .iter()
                    .any(|e| e.client_order_id.as_ref() == Some(&t.client_order_id))
                {
                    return Err(VenueError::DuplicateClientOrderId {
                        msg: "Duplicate clientOrderId.".into(),
                    });
                }
                self.check_trigger(&t.symbol, t.kind, t.close_side, t.trigger_price)?;
                let locked = match (market, t.qty) {
                    (Market::Spot, Some(q)) => {
                        self.lock_base(&t.symbol, q)?;
                        q
                    }
                    _ => Decimal::ZERO,
                };
                let i = self.add_exit(
                    Some(t.client_order_id.clone()),
                    &t.symbol,
                    t.close_side,
                    t.kind,
                    t.trigger_price,
                    false,
                    t.qty,
                    None,
                    false,
                    now_ms,
                );
                if let Some(e) = self.exits.get_mut(i) {
                    e.locked = locked;
                }
                VenueReply::Order(Self::exit_as_order(&self.exits[i]))
            }
            VenueOp::PlaceOcoExit(oco) => {
                if market != Market::Spot {
                    return Err(VenueError::Unsupported {
                        op: op.name(),
                        reason: "one-cancels-the-other lists are spot orders".into(),
                    });
                }
                if self
                    .exits
                    .iter()
                    .any(|e| e.group.as_ref() == Some(&oco.list_client_order_id))
                {
                    return Err(VenueError::DuplicateClientOrderId {
                        msg: "Duplicate listClientOrderId.".into(),
                    });
                }
                self.check_trigger(
                    &oco.symbol,
                    ExitKind::StopLoss,
                    oco.close_side,
                    oco.stop_loss.price,
                )?;
                self.check_trigger(
                    &oco.symbol,
                    ExitKind::TakeProfit,
                    oco.close_side,
                    oco.take_profit.price,
                )?;
                self.lock_base(&oco.symbol, oco.qty)?;
                let group = Some(oco.list_client_order_id.clone());
                let sl = self.add_exit(
                    Some(oco.stop_loss.client_order_id.clone()),
                    &oco.symbol,
                    oco.close_side,
                    ExitKind::StopLoss,
                    oco.stop_loss.price,
                    false,
                    Some(oco.qty),
                    group.clone(),
                    false,
                    now_ms,
                );
                let tp = self.add_exit(
                    Some(oco.take_profit.client_order_id.clone()),
                    &oco.symbol,
                    oco.close_side,
                    ExitKind::TakeProfit,
                    oco.take_profit.price,
                    true,
                    Some(oco.qty),
                    group,
                    false,
                    now_ms,
                );
                if let Some(e) = self.exits.get_mut(sl) {
                    e.locked = oco.qty;
                }
                VenueReply::Orders(vec![
                    Self::exit_as_order(&self.exits[sl]),
                    Self::exit_as_order(&self.exits[tp]),
                ])
            }
            VenueOp::CancelExit(x) => {
                let named = self.named(x);
                let first = *named.first().ok_or_else(|| VenueError::UnknownOrder {
                    msg: "Unknown order sent.".into(),
                })?;
                for i in named {
                    self.end_exit(i, TriggerState::Cancelled, now_ms);
                }
                VenueReply::Trigger(self.exits[first].report())
            }
            VenueOp::QueryExitTrigger {
                symbol,
                client_order_id,
            } => {
                let e = self
                    .exits
                    .iter()
                    .rev()
                    .find(|e| {
                        &e.symbol == symbol && e.client_order_id.as_ref() == Some(client_order_id)
                    })
                    .ok_or_else(|| VenueError::UnknownOrder {
                        msg: "Order does not exist.".into(),
                    })?;
                VenueReply::Trigger(e.report())
            }
            VenueOp::ExitFills {
                symbol,
                since_ms,
                order_id,
            } => {
                let fired: BTreeMap<&str, &PaperExit> = self
                    .exits
                    .iter()
                    .filter(|e| &e.symbol == symbol)
                    .filter_map(|e| Some((e.actual_order_id.as_deref()?, e)))
                    .filter(|(id, _)| order_id.as_deref().is_none_or(|o| o == *id))
                    .collect();
                VenueReply::ExitFills(
                    self.book
                        .fills
                        .iter()
                        .filter(|f| f.time_ms >= *since_ms)
                        .filter_map(|f| {
                            let e = fired.get(f.order_id.as_str())?;
                            let mut fill = f.clone();
                            fill.client_order_id = e.client_order_id.clone();
                            Some(ExitFill {
                                kind: Some(e.kind),
                                fill,
                            })
                        })
                        .collect(),
                )
            }
            VenueOp::Ticker { symbol } => {
                let price = self.price_for(symbol)?;
                let mark = (market == Market::Linear).then_some(price);
                VenueReply::Ticker(Ticker {
                    symbol: symbol.clone(),
                    price,
                    mark_price: mark,
                })
            }
            VenueOp::InstrumentRules { symbol } => VenueReply::Rules(
                self.rules
                    .values()
                    .filter(|r| symbol.as_ref().is_none_or(|s| *s == r.symbol))
                    .cloned()
                    .collect(),
            ),
            VenueOp::PlaceOrder(req) => VenueReply::Order(self.place_order(req, now_ms)?),
            VenueOp::CancelOrder {
                symbol,
                client_order_id,
            } => {
                let rules = self.rules.get(symbol).cloned();
                VenueReply::Order(self.book.cancel(
                    market,
                    rules.as_ref(),
                    client_order_id,
                    now_ms,
                )?)
            }
            VenueOp::CancelAll { symbol } => {
                let rules = self.rules.get(symbol).cloned();
                let open: Vec<_> = self
                    .book
                    .orders
                    .iter()
                    .filter(|(_, o)| &o.req.symbol == symbol && !o.report.status.is_final())
                    .map(|(id, _)| id.clone())
                    .collect();
                let mut out = Vec::new();
                for id in open {
                    out.push(self.book.cancel(market, rules.as_ref(), &id, now_ms)?);
                }
                VenueReply::Orders(out)
            }
            VenueOp::QueryOrder {
                client_order_id, ..
            }
            | VenueOp::QueryOrderHistory {
                client_order_id, ..
            } => {
                if let Some(o) = self.book.orders.get(client_order_id) {
                    return Ok(VenueReply::Order(o.report.clone()));
                }
                // A working or ended exit leg answers as the order it is on the exchange.
                let e = self
                    .exits
                    .iter()
                    .rev()
                    .find(|e| e.client_order_id.as_ref() == Some(client_order_id))
                    .ok_or_else(|| VenueError::UnknownOrder {
                        msg: "Order does not exist.".into(),
                    })?;
                VenueReply::Order(Self::exit_as_order(e))
            }
            VenueOp::OpenOrders { symbol } => VenueReply::Orders(
                self.book
                    .orders
                    .values()
                    .filter(|o| !o.report.status.is_final())
                    .filter(|o| symbol.as_ref().is_none_or(|s| *s == o.req.symbol))
                    .map(|o| o.report.clone())
                    .collect(),
            ),
            VenueOp::Balances => VenueReply::Balances(self.book.balances()),
            VenueOp::Positions { symbol } => {
                if market == Market::Spot {
                    return Err(VenueError::Unsupported {
                        op: op.name(),
                        reason: "spot has no positions".into(),
                    });
                }
                let mut all = self.book.position_reports(&self.prices);
                all.retain(|p| symbol.as_ref().is_none_or(|s| *s == p.symbol));
                VenueReply::Positions(all)
            }
            VenueOp::Trades { symbol, cursor } => {
                let from = cursor.token.as_deref().map_or(0, |t| seq_of(t, ""));
                let fills: Vec<_> = self
                    .book
                    .fills
                    .iter()
                    .filter(|f| {
                        &f.symbol == symbol
                            && f.time_ms >= cursor.start_ms
                            && seq_of(&f.trade_id, "P") >= from
                    })
                    .cloned()
                    .collect();
                let next = fills.last().map_or_else(
                    || cursor.clone(),
                    |f| TradeCursor {
                        start_ms: f.time_ms,
                        token: Some((seq_of(&f.trade_id, "P") + 1).to_string()),
                    },
                );
                VenueReply::Trades(TradePage {
                    fills,
                    next,
                    caught_up: true,
                })
            }
            VenueOp::Funding { symbol, cursor } => {
                let from = cursor.token.as_deref().map_or(0, |t| seq_of(t, ""));
                let events: Vec<_> = self
                    .funding
                    .iter()
                    .filter(|e| symbol.as_ref().is_none_or(|s| *s == e.symbol))
                    .filter(|e| e.time_ms >= cursor.start_ms && seq_of(&e.id, "F") >= from)
                    .cloned()
                    .collect();
                let next = events.last().map_or_else(
                    || cursor.clone(),
                    |e| TradeCursor {
                        start_ms: e.time_ms,
                        token: Some((seq_of(&e.id, "F") + 1).to_string()),
                    },
                );
                VenueReply::Funding(FundingPage {
                    events,
                    next,
                    caught_up: true,
                })
            }
        })
    }
}

impl Venue for PaperVenue {
    fn exchange(&self) -> Exchange {
        self.config.exchange
    }

    fn market(&self) -> Market {
        self.config.market
    }

    /// Paper calls cost the real account nothing.
    fn cost(&self, _op: &VenueOp) -> OpCost {
        OpCost {
            weight: 0,
            orders: 0,
            endpoint: "paper".into(),
            exit: true,
        }
    }

    fn needs_clock(&self, _op: &VenueOp) -> bool {
        false
    }

    fn build(&mut self, op: &VenueOp, ctx: &BuildCtx<'_>) -> Result<Planned, VenueError> {
        self.answer(op, ctx.now_ms).map(Planned::Immediate)
    }

    fn parse(&self, op: &VenueOp, _resp: &HttpResponse) -> Result<VenueReply, VenueError> {
        Err(VenueError::Unsupported {
            op: op.name(),
            reason: "the paper venue answers in build()".into(),
        })
    }

    fn observe(&self, _op: &VenueOp, _resp: &HttpResponse) -> Observation {
        Observation::default()
    }
}

/// The price a market order pays after `slippage_bps`: moved against the order (up for a buy,
/// down for a sell), then put on the `tick` rounding against the trader, as a real book would.
/// One function for the paper venue, the live strategy bot's sizing and the backtester, so all
/// three agree on every fill price to the tick.
pub fn slipped_price(
    price: Decimal,
    side: crate::model::Side,
    slippage_bps: Decimal,
    tick: Decimal,
) -> Decimal {
    if slippage_bps.is_zero() {
        return price;
    }
    // Checked throughout: the price and tick come from an exchange answer, and `Decimal`'s
    // operators panic on overflow. A figure beyond the exact range (no real market) keeps the
    // last representable step: the unrounded slipped price, else the reference price.
    let factor = slippage_bps
        .checked_div(Decimal::from(10_000))
        .unwrap_or(Decimal::ZERO);
    let moved = price.checked_mul(factor).unwrap_or(Decimal::ZERO);
    let (raw, up) = match side {
        crate::model::Side::Buy => (price.checked_add(moved), true),
        crate::model::Side::Sell => (price.checked_sub(moved), false),
    };
    let Some(raw) = raw else {
        return price;
    };
    if tick.is_zero() {
        return raw;
    }
    raw.checked_div(tick)
        .map(|steps| if up { steps.ceil() } else { steps.floor() })
        .and_then(|steps| steps.checked_mul(tick))
        .unwrap_or(raw)
}

/// The side that closes a position opened on `side`.
fn opposite(side: Side) -> Side {
    match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

/// The exchange's answer for a symbol it does not list (Binance `-1121`).
fn unknown_symbol(symbol: &Symbol) -> VenueError {
    VenueError::Rejected {
        code: -1121,
        msg: format!("Invalid symbol {symbol}."),
    }
}

#[cfg(test)]
mod tests;
