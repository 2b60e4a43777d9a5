//! The paper venue's book: resting orders, balances, linear positions, and the matching rules.
//! Deterministic: ids come from counters, times from the caller.

use crate::ids::{ClientOrderId, Symbol};
use crate::model::{
    Fill, InstrumentRules, Market, OrderQty, OrderRequest, OrderType, Side, TimeInForce,
};
use crate::venue::error::VenueError;
use crate::venue::op::{Balance, OrderReport, OrderStatus, PositionReport};
use crate::venue::rules::round_to_step_down;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One paper order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperOrder {
    /// The request as placed (qty resolved to base).
    pub req: OrderRequest,
    /// Base qty.
    pub qty: Decimal,
    /// Report kept up to date.
    pub report: OrderReport,
}

/// A linear position (one-way).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperPosition {
    /// Signed qty.
    pub qty: Decimal,
    /// Average entry price.
    pub entry: Decimal,
}

/// Asset holdings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// Free.
    pub free: Decimal,
    /// Locked by resting orders.
    pub locked: Decimal,
}

/// The whole book.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// Orders by client id (all, including finished: queries must find them).
    pub orders: BTreeMap<ClientOrderId, PaperOrder>,
    /// Every fill, in order.
    pub fills: Vec<Fill>,
    /// Balances per asset.
    pub holdings: BTreeMap<String, Holding>,
    /// Linear positions.
    pub positions: BTreeMap<Symbol, PaperPosition>,
    /// Next trade sequence number.
    pub next_trade: u64,
    /// Next order sequence number.
    pub next_order: u64,
    /// Client ids of resting (working) orders, so a price update touches only those: without
    /// it every price tick scanned every order ever placed (quadratic in a long backtest).
    #[serde(default)]
    pub resting: BTreeSet<ClientOrderId>,
}

fn rejected(code: i64, msg: &str) -> VenueError {
    VenueError::Rejected {
        code,
        msg: msg.to_string(),
    }
}

/// The refusal of an amount beyond `Decimal`'s exact range (a quantity or price no market has):
/// `Decimal`'s `+ - * /` panic on overflow, and a panic takes the whole Worker instance down.
fn out_of_range(what: &str) -> VenueError {
    VenueError::Filter {
        which: "PAPER_RANGE".into(),
        msg: format!("{what} is beyond the exact decimal range"),
    }
}

/// `Some(v)` or the typed refusal naming `what`.
fn checked(v: Option<Decimal>, what: &str) -> Result<Decimal, VenueError> {
    v.ok_or_else(|| out_of_range(what))
}

fn holding<'a>(h: &'a mut BTreeMap<String, Holding>, asset: &str) -> &'a mut Holding {
    h.entry(asset.to_string()).or_default()
}

/// Fee parameters.
#[derive(Debug, Clone, Copy)]
pub struct Fees {
    /// Taker rate.
    pub taker: Decimal,
    /// Maker rate.
    pub maker: Decimal,
}

impl Book {
    /// Balances, non-zero only.
    pub fn balances(&self) -> Vec<Balance> {
        self.holdings
            .iter()
            .filter(|(_, h)| !h.free.is_zero() || !h.locked.is_zero())
            .map(|(a, h)| Balance {
                asset: a.clone(),
                free: h.free,
                locked: h.locked,
            })
            .collect()
    }

    /// Non-zero positions at the given marks.
    pub fn position_reports(&self, marks: &BTreeMap<Symbol, Decimal>) -> Vec<PositionReport> {
        self.positions
            .iter()
            .filter(|(_, p)| !p.qty.is_zero())
            .map(|(s, p)| {
                let mark = marks.get(s).copied().unwrap_or(p.entry);
                PositionReport {
                    symbol: s.clone(),
                    qty: p.qty,
                    entry_price: p.entry,
                    mark_price: mark,
                    // A display figure: saturates rather than panics on absurd marks.
                    unrealized_pnl: mark.saturating_sub(p.entry).saturating_mul(p.qty),
                    leverage: None,
                }
            })
            .collect()
    }

    /// Places an order at market price `price`.
    ///
    /// # Errors
    /// Duplicate id, insufficient balance, reduce-only that would not reduce.
    pub fn place(
        &mut self,
        market: Market,
        rules: &InstrumentRules,
        req: &OrderRequest,
        price: Decimal,
        fees: Fees,
        now_ms: i64,
    ) -> Result<OrderReport, VenueError> {
        if self.orders.contains_key(&req.client_order_id) {
            return Err(VenueError::DuplicateClientOrderId {
                msg: "Duplicate order sent.".into(),
            });
        }
        let qty = match req.qty {
            OrderQty::Base(q) => q,
            OrderQty::Quote(amount) => amount
                .checked_div(price)
                .map(|q| round_to_step_down(q, rules.step_size))
                .unwrap_or(Decimal::ZERO),
        };
        if qty <= Decimal::ZERO {
            return Err(VenueError::Filter {
                which: "LOT_SIZE".into(),
                msg: format!("quantity {qty} is not positive"),
            });
        }
        let mut qty = qty;
        if req.reduce_only {
            let pos = self
                .positions
                .get(&req.symbol)
                .map_or(Decimal::ZERO, |p| p.qty);
            let reducible = match req.side {
                Side::Buy if pos < Decimal::ZERO => -pos,
                Side::Sell if pos > Decimal::ZERO => pos,
                _ => Decimal::ZERO,
            };
            if reducible.is_zero() {
                return Err(rejected(-2022, "ReduceOnly Order is rejected."));
            }
            qty = qty.min(reducible);
        }
        let limit = req.price.unwrap_or(price);
        let marketable = match (req.order_type, req.side) {
            (OrderType::Market, _) => true,
            (OrderType::Limit, Side::Buy) => limit >= price,
            (OrderType::Limit, Side::Sell) => limit <= price,
        };
        let tif = req.time_in_force.unwrap_or(TimeInForce::Gtc);
        let order_id = numbered("PO", self.next_order);
        self.next_order += 1;
        let mut report = OrderReport {
            order_id,
            client_order_id: Some(req.client_order_id.clone()),
            symbol: req.symbol.clone(),
            side: Some(req.side),
            status: OrderStatus::New,
            orig_qty: qty,
            executed_qty: Decimal::ZERO,
            cum_quote: Some(Decimal::ZERO),
            price: req.price.unwrap_or(Decimal::ZERO),
            fills: Vec::new(),
            updated_ms: now_ms,
        };
        if marketable && tif == TimeInForce::PostOnly {
            // A post-only order that would take is expired, never filled.
            report.status = OrderStatus::Expired;
        } else if marketable {
            // Takers fill at the market price, never worse than their limit.
            let px = match (req.order_type, req.side) {
                (OrderType::Market, _) => price,
                (OrderType::Limit, Side::Buy) => price.min(limit),
                (OrderType::Limit, Side::Sell) => price.max(limit),
            };
            self.check_funds(market, rules, req.side, qty, px)?;
            let cum_quote = checked(qty.checked_mul(px), "order notional")?;
            let fill = self.execute(
                market,
                rules,
                req,
                &report.order_id,
                qty,
                px,
                fees.taker,
                false,
                now_ms,
            )?;
            report.status = OrderStatus::Filled;
            report.executed_qty = qty;
            report.cum_quote = Some(cum_quote);
            report.fills.push(fill);
        } else if matches!(tif, TimeInForce::Ioc | TimeInForce::Fok) {
            report.status = OrderStatus::Expired;
        } else {
            self.check_funds(market, rules, req.side, qty, limit)?;
            self.lock(market, rules, req.side, qty, limit, true)?;
        }
        if report.status == OrderStatus::New {
            self.resting.insert(req.client_order_id.clone());
        }
        self.orders.insert(
            req.client_order_id.clone(),
            PaperOrder {
                req: req.clone(),
                qty,
                report: report.clone(),
            },
        );
        Ok(report)
    }

    /// Fills an exit's closing order completely at `px` (the fee at `rate`, maker or taker) and
    /// records it, filled, under its client id, as the exchange lists the order an exit sent.
    /// The caller has already sized `qty` to what the exit may close.
    ///
    /// # Errors
    /// [`VenueError::InsufficientBalance`] (spot, nothing to sell) or an out-of-range figure.
    #[allow(clippy::too_many_arguments)] // one call site; the arguments are the fill's facts
    pub(super) fn fill_exit(
        &mut self,
        market: Market,
        rules: &InstrumentRules,
        req: &OrderRequest,
        qty: Decimal,
        px: Decimal,
        rate: Decimal,
        is_maker: bool,
        now_ms: i64,
    ) -> Result<OrderReport, VenueError> {
        self.check_funds(market, rules, req.side, qty, px)?;
        let cum_quote = checked(qty.checked_mul(px), "order notional")?;
        let order_id = numbered("PO", self.next_order);
        let fill = self.execute(
            market, rules, req, &order_id, qty, px, rate, is_maker, now_ms,
        )?;
        self.next_order += 1;
        let report = OrderReport {
            order_id,
            client_order_id: Some(req.client_order_id.clone()),
            symbol: req.symbol.clone(),
            side: Some(req.side),
            status: OrderStatus::Filled,
            orig_qty: qty,
            executed_qty: qty,
            cum_quote: Some(cum_quote),
            price: req.price.unwrap_or(Decimal::ZERO),
            fills: vec![fill],
            updated_ms: now_ms,
        };
        self.orders.insert(
            req.client_order_id.clone(),
            PaperOrder {
                req: req.clone(),
                qty,
                report: report.clone(),
            },
        );
        Ok(report)
    }

    fn check_funds(
        &self,
        market: Market,
        r: &InstrumentRules,
        side: Side,
        qty: Decimal,
        px: Decimal,
    ) -> Result<(), VenueError> {
        if market == Market::Linear {
            return Ok(());
        }
        let (asset, need) = match side {
            Side::Buy => (
                &r.quote_asset,
                checked(qty.checked_mul(px), "order notional")?,
            ),
            Side::Sell => (&r.base_asset, qty),
        };
        let free = self.holdings.get(asset).map_or(Decimal::ZERO, |h| h.free);
        if free < need {
            return Err(VenueError::InsufficientBalance {
                msg: "Account has insufficient balance for requested action.".into(),
            });
        }
        Ok(())
    }

    pub(super) fn lock(
        &mut self,
        market: Market,
        r: &InstrumentRules,
        side: Side,
        qty: Decimal,
        px: Decimal,
        lock: bool,
    ) -> Result<(), VenueError> {
        if market == Market::Linear {
            return Ok(());
        }
        let (asset, amount) = match side {
            Side::Buy => (
                &r.quote_asset,
                checked(qty.checked_mul(px), "order notional")?,
            ),
            Side::Sell => (&r.base_asset, qty),
        };
        let h = holding(&mut self.holdings, asset);
        // Both sides computed before either is written: an overflow leaves the holding as it was.
        let (free, locked) = if lock {
            (h.free.checked_sub(amount), h.locked.checked_add(amount))
        } else {
            (h.free.checked_add(amount), h.locked.checked_sub(amount))
        };
        h.free = checked(free, "free balance")?;
        h.locked = checked(locked, "locked balance")?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)] // one private call site per fill path; a struct would only rename them
    fn execute(
        &mut self,
        market: Market,
        r: &InstrumentRules,
        req: &OrderRequest,
        order_id: &str,
        qty: Decimal,
        px: Decimal,
        rate: Decimal,
        is_maker: bool,
        now_ms: i64,
    ) -> Result<Fill, VenueError> {
        let notional = checked(qty.checked_mul(px), "fill notional")?;
        // Spot: fee in the asset received (Binance default without BNB); linear: in quote.
        let (fee, fee_asset) = match (market, req.side) {
            (Market::Spot, Side::Buy) => {
                (checked(qty.checked_mul(rate), "fee")?, r.base_asset.clone())
            }
            _ => (
                checked(notional.checked_mul(rate), "fee")?,
                r.quote_asset.clone(),
            ),
        };
        // Every new balance is computed before any is written, so an overflow changes nothing.
        let free = |h: &BTreeMap<String, Holding>, asset: &str| {
            h.get(asset).map_or(Decimal::ZERO, |x| x.free)
        };
        match market {
            Market::Spot => {
                let (base, quote) = (r.base_asset.clone(), r.quote_asset.clone());
                let (base_delta, quote_delta) = match req.side {
                    Side::Buy => (qty.checked_sub(fee), Some(-notional)),
                    Side::Sell => (Some(-qty), notional.checked_sub(fee)),
                };
                let new_base = checked(
                    base_delta.and_then(|d| free(&self.holdings, &base).checked_add(d)),
                    "base balance",
                )?;
                let new_quote = checked(
                    quote_delta.and_then(|d| free(&self.holdings, &quote).checked_add(d)),
                    "quote balance",
                )?;
                holding(&mut self.holdings, &base).free = new_base;
                holding(&mut self.holdings, &quote).free = new_quote;
            }
            Market::Linear => {
                let delta = checked(req.side.sign().checked_mul(qty), "fill quantity")?;
                let (position, pnl) = self.position_after(&req.symbol, delta, px)?;
                let new_quote = checked(
                    pnl.checked_sub(fee)
                        .and_then(|d| free(&self.holdings, &r.quote_asset).checked_add(d)),
                    "quote balance",
                )?;
                self.positions.insert(req.symbol.clone(), position);
                holding(&mut self.holdings, &r.quote_asset).free = new_quote;
            }
        }
        let fill = Fill {
            trade_id: numbered("P", self.next_trade),
            order_id: order_id.to_string(),
            client_order_id: Some(req.client_order_id.clone()),
            symbol: req.symbol.clone(),
            side: req.side,
            price: px,
            qty,
            fee,
            fee_asset,
            time_ms: now_ms,
            is_maker,
        };
        self.next_trade += 1;
        self.fills.push(fill.clone());
        Ok(fill)
    }

    /// The position after a signed trade (average-cost) and the realized P&L, computed without
    /// writing anything.
    ///
    /// # Errors
    /// [`VenueError::Filter`] when a figure leaves `Decimal`'s exact range.
    fn position_after(
        &self,
        symbol: &Symbol,
        delta: Decimal,
        px: Decimal,
    ) -> Result<(PaperPosition, Decimal), VenueError> {
        let mut p = self.positions.get(symbol).cloned().unwrap_or_default();
        let same_direction = p.qty.is_zero() || (p.qty > Decimal::ZERO) == (delta > Decimal::ZERO);
        let new_qty = checked(p.qty.checked_add(delta), "position quantity")?;
        if same_direction {
            let cost = checked(
                p.entry
                    .checked_mul(p.qty.abs())
                    .zip(px.checked_mul(delta.abs()))
                    .and_then(|(a, b)| a.checked_add(b)),
                "position cost",
            )?;
            p.entry = cost.checked_div(new_qty.abs()).unwrap_or(px);
            p.qty = new_qty;
            return Ok((p, Decimal::ZERO));
        }
        let closed = delta.abs().min(p.qty.abs());
        let sign = if p.qty > Decimal::ZERO {
            Decimal::ONE
        } else {
            Decimal::NEGATIVE_ONE
        };
        let realized = checked(
            px.checked_sub(p.entry)
                .and_then(|d| d.checked_mul(closed))
                .and_then(|d| d.checked_mul(sign)),
            "realized P&L",
        )?;
        if new_qty.is_zero() {
            p.entry = Decimal::ZERO;
        } else if (new_qty > Decimal::ZERO) != (p.qty > Decimal::ZERO) {
            p.entry = px; // flipped: the remainder opened at this price
        }
        p.qty = new_qty;
        Ok((p, realized))
    }

    /// Fills resting orders of `symbol` that `price` now crosses (maker fills at their limit).
    pub fn on_price(
        &mut self,
        market: Market,
        rules: &InstrumentRules,
        price: Decimal,
        fees: Fees,
        now_ms: i64,
    ) -> Vec<Fill> {
        let crossing: Vec<ClientOrderId> = self
            .resting
            .iter()
            .filter_map(|id| self.orders.get_key_value(id))
            .filter(|(_, o)| o.req.symbol == rules.symbol && o.report.status == OrderStatus::New)
            .filter(|(_, o)| {
                let limit = o.req.price.unwrap_or(Decimal::ZERO);
                match o.req.side {
                    Side::Buy => price <= limit,
                    Side::Sell => price >= limit,
                }
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut out = Vec::new();
        for id in crossing {
            let Some(o) = self.orders.get(&id).cloned() else {
                continue;
            };
            let limit = o.req.price.unwrap_or(price);
            let Ok(cum_quote) = checked(o.qty.checked_mul(limit), "order notional") else {
                continue;
            };
            if self
                .lock(market, rules, o.req.side, o.qty, limit, false)
                .is_err()
            {
                continue;
            }
            let fill = self.execute(
                market,
                rules,
                &o.req,
                &o.report.order_id,
                o.qty,
                limit,
                fees.maker,
                true,
                now_ms,
            );
            let Ok(fill) = fill else {
                // Out of range (never a real market): the order stays resting, locked again
                // (the exact inverse of the unlock that just succeeded).
                let _ = self.lock(market, rules, o.req.side, o.qty, limit, true);
                continue;
            };
            self.resting.remove(&id);
            if let Some(stored) = self.orders.get_mut(&id) {
                stored.report.status = OrderStatus::Filled;
                stored.report.executed_qty = o.qty;
                stored.report.cum_quote = Some(cum_quote);
                stored.report.updated_ms = now_ms;
            }
            out.push(fill);
        }
        out
    }

    /// Cancels a resting order.
    ///
    /// # Errors
    /// [`VenueError::UnknownOrder`] when it does not exist or is finished.
    pub fn cancel(
        &mut self,
        market: Market,
        rules: Option<&InstrumentRules>,
        id: &ClientOrderId,
        now_ms: i64,
    ) -> Result<OrderReport, VenueError> {
        let unknown = || VenueError::UnknownOrder {
            msg: "Unknown order sent.".into(),
        };
        let o = self.orders.get(id).cloned().ok_or_else(unknown)?;
        if o.report.status.is_final() {
            return Err(unknown());
        }
        if let Some(r) = rules {
            self.lock(
                market,
                r,
                o.req.side,
                o.qty,
                o.req.price.unwrap_or(Decimal::ZERO),
                false,
            )?;
        }
        self.resting.remove(id);
        let stored = self.orders.get_mut(id).ok_or_else(unknown)?;
        stored.report.status = OrderStatus::Cancelled;
        stored.report.updated_ms = now_ms;
        Ok(stored.report.clone())
    }
}

/// `prefix` followed by `n` in decimal (`P42`), written without the formatting machinery: the
/// paper venue numbers every order and trade this way.
fn numbered(prefix: &str, n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut rest = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(prefix.len() + digits.len() - i);
    out.push_str(prefix);
    out.extend(digits[i..].iter().map(|&d| char::from(d)));
    out
}

impl Book {
    /// Forgets finished orders beyond the newest `keep_orders` and fills beyond the newest
    /// `keep_fills`, so a long-running paper bot's stored book stays bounded. Working orders are
    /// always kept; the bot's own ledger and fills table hold the full history.
    pub fn prune(&mut self, keep_orders: usize, keep_fills: usize) {
        if self.fills.len() > keep_fills {
            let drop = self.fills.len() - keep_fills;
            self.fills.drain(..drop);
        }
        if keep_orders == 0 {
            // Every finished order goes: no need to sort them by age (a backtest prunes so
            // after each order).
            let resting = &self.resting;
            self.orders.retain(|id, _| resting.contains(id));
            return;
        }
        let mut finished: Vec<(i64, ClientOrderId)> = self
            .orders
            .iter()
            .filter(|(id, _)| !self.resting.contains(*id))
            .map(|(id, o)| (o.report.updated_ms, id.clone()))
            .collect();
        if finished.len() > keep_orders {
            finished.sort();
            let drop = finished.len() - keep_orders;
            for (_, id) in finished.into_iter().take(drop) {
                self.orders.remove(&id);
            }
        }
    }
}
