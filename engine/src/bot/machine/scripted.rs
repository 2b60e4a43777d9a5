//! The scripted venue of the harness: an exchange that fills, rejects, loses answers and fires
//! exits as a test tells it, answering each operation the machine sends.

use crate::ids::{ClientOrderId, Symbol};
use crate::model::{Fill, InstrumentRules, OrderQty, Side};
use crate::venue::CallFailure;
use crate::venue::{
    ExitTrigger, OrderReport, OrderStatus as VStatus, Ticker, TradeCursor, TradePage,
    TriggerReport, TriggerState, VenueError, VenueOp, VenueReply,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::{BTreeMap, VecDeque};

/// What the venue does with the next placement.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaceScript {
    /// Fills completely; the answer carries the fills.
    Fill,
    /// Fills this base quantity; the rest works.
    Partial(Decimal),
    /// Refuses the order.
    Reject(VenueError),
    /// Fills completely but the answer is lost (the order exists).
    LostAck,
    /// The answer is lost and the order never reached the book.
    LostNeverPlaced,
    /// Answers with an acknowledgement only (no fills); queries and trades tell the rest.
    AckOnly,
    /// Answers with a reply that is no order report.
    Malformed,
}

/// A placement's lost answer as a driver without a resolving call machine sees it: the exchange
/// could not be heard (the machine then asks for the order by its client id).
fn lost_answer() -> CallFailure {
    CallFailure::Venue(VenueError::Unavailable {
        status: 0,
        msg: "no answer in time".into(),
    })
}

/// One order in the venue's book.
#[derive(Debug, Clone)]
pub struct VenueOrder {
    /// Its report as a query answers it (fills listed separately).
    pub report: OrderReport,
    /// Its fills.
    pub fills: Vec<Fill>,
}

/// One exit resting at the venue.
#[derive(Debug, Clone)]
pub struct VenueExit {
    /// What was placed.
    pub trigger: ExitTrigger,
    /// Its state.
    pub state: TriggerState,
    /// The OCO list it belongs to.
    pub list: Option<ClientOrderId>,
    /// Exchange id of the order its firing sent.
    pub actual: Option<String>,
    /// Fills of that order.
    pub fills: Vec<Fill>,
}

/// A scripted exchange.
#[derive(Debug)]
pub struct ScriptedVenue {
    /// The instrument's rules.
    pub rules: InstrumentRules,
    /// The price every market order fills at.
    pub price: Decimal,
    /// Taker fee rate, charged in the quote asset.
    pub fee_rate: Decimal,
    /// What the next placements do (default: fill).
    pub placements: VecDeque<PlaceScript>,
    /// Failures injected for the next calls of an operation (by [`VenueOp::name`]).
    pub failures: BTreeMap<&'static str, VecDeque<CallFailure>>,
    /// The book, by client order id.
    pub orders: BTreeMap<ClientOrderId, VenueOrder>,
    /// Resting exits, by client order id.
    pub exits: BTreeMap<ClientOrderId, VenueExit>,
    /// Every operation received, in order.
    pub received: Vec<VenueOp>,
    /// Fees paid in a third asset at this quote price (e.g. BNB at 600), instead of the quote.
    pub fee_asset: Option<(String, Decimal)>,
    seq: u64,
}

impl ScriptedVenue {
    /// A venue trading BTCUSDT at `price`.
    pub fn new(price: Decimal) -> Self {
        Self {
            rules: rules(),
            price,
            fee_rate: dec!(0.001),
            placements: VecDeque::new(),
            failures: BTreeMap::new(),
            orders: BTreeMap::new(),
            exits: BTreeMap::new(),
            received: Vec::new(),
            fee_asset: None,
            seq: 0,
        }
    }

    /// Makes the next `op_name` call fail with `f`.
    pub fn fail_next(&mut self, op_name: &'static str, f: CallFailure) {
        self.failures.entry(op_name).or_default().push_back(f);
    }

    /// The fee of a trade of `qty` at `price`: in the quote asset, or in the third asset.
    fn fee(&self, qty: Decimal, price: Decimal) -> (Decimal, String) {
        let quote = qty * price * self.fee_rate;
        match &self.fee_asset {
            Some((asset, p)) => ((quote / p).round_dp(8), asset.clone()),
            None => (quote.round_dp(8), self.rules.quote_asset.clone()),
        }
    }

    fn next_id(&mut self) -> String {
        self.seq += 1;
        format!("{}", 1000 + self.seq)
    }

    fn fill(
        &mut self,
        order_id: &str,
        coid: &ClientOrderId,
        side: Side,
        qty: Decimal,
        now: i64,
    ) -> Fill {
        let trade = self.next_id();
        let (fee, fee_asset) = self.fee(qty, self.price);
        Fill {
            trade_id: format!("t{trade}"),
            order_id: order_id.to_string(),
            client_order_id: Some(coid.clone()),
            symbol: self.rules.symbol.clone(),
            side,
            price: self.price,
            qty,
            fee,
            fee_asset,
            time_ms: now,
            is_maker: false,
        }
    }

    fn base_qty(&self, q: OrderQty) -> Decimal {
        match q {
            OrderQty::Base(b) => b,
            OrderQty::Quote(quote) => {
                let raw = quote.checked_div(self.price).unwrap_or_default();
                crate::venue::round_to_step_down(raw, self.rules.step_size)
            }
        }
    }

    fn place(
        &mut self,
        req: &crate::model::OrderRequest,
        now: i64,
    ) -> Result<VenueReply, CallFailure> {
        let script = self.placements.pop_front().unwrap_or(PlaceScript::Fill);
        if let PlaceScript::Reject(e) = &script {
            return Err(CallFailure::Venue(e.clone()));
        }
        if script == PlaceScript::LostNeverPlaced {
            return Err(lost_answer());
        }
        let order_id = self.next_id();
        let qty = self.base_qty(req.qty);
        let traded = match script {
            PlaceScript::Partial(q) => q.min(qty),
            _ => qty,
        };
        let fills = if traded > Decimal::ZERO {
            vec![self.fill(&order_id, &req.client_order_id, req.side, traded, now)]
        } else {
            Vec::new()
        };
        let status = if traded >= qty {
            VStatus::Filled
        } else if traded > Decimal::ZERO {
            VStatus::PartiallyFilled
        } else {
            VStatus::New
        };
        let report = OrderReport {
            order_id: order_id.clone(),
            client_order_id: Some(req.client_order_id.clone()),
            symbol: req.symbol.clone(),
            side: Some(req.side),
            status,
            orig_qty: qty,
            executed_qty: traded,
            cum_quote: Some(traded * self.price),
            price: self.price,
            fills: Vec::new(),
            updated_ms: now,
        };
        self.orders.insert(
            req.client_order_id.clone(),
            VenueOrder {
                report: report.clone(),
                fills: fills.clone(),
            },
        );
        match script {
            PlaceScript::LostAck => Err(lost_answer()),
            PlaceScript::AckOnly => Ok(VenueReply::Order(OrderReport {
                status: VStatus::New,
                executed_qty: Decimal::ZERO,
                ..report
            })),
            PlaceScript::Malformed => Ok(VenueReply::Balances(Vec::new())),
            _ => Ok(VenueReply::Order(OrderReport { fills, ..report })),
        }
    }

    fn ack(&mut self, coid: &ClientOrderId, symbol: &Symbol, now: i64) -> OrderReport {
        OrderReport {
            order_id: self.next_id(),
            client_order_id: Some(coid.clone()),
            symbol: symbol.clone(),
            side: None,
            status: VStatus::New,
            orig_qty: Decimal::ZERO,
            executed_qty: Decimal::ZERO,
            cum_quote: None,
            price: Decimal::ZERO,
            fills: Vec::new(),
            updated_ms: now,
        }
    }

    /// A resting exit fires at its trigger price and closes `qty`: the exchange sends its own
    /// order (a new id; no client id of ours unless the exit is an order of ours with one, as
    /// an OCO leg or a Bybit spot TP/SL order). An OCO's other leg expires.
    pub fn fire(&mut self, kind: crate::venue::ExitKind, qty: Decimal, now: i64) {
        let Some(id) = self
            .exits
            .iter()
            .find(|(_, e)| e.trigger.kind == kind && e.state == TriggerState::Working)
            .map(|(id, _)| id.clone())
        else {
            panic!("no working {kind:?} exit to fire");
        };
        let actual = self.next_id();
        let trade = self.next_id();
        let Some(price) = self.exits.get(&id).map(|e| e.trigger.trigger_price) else {
            return;
        };
        let (fee, fee_asset) = self.fee(qty, price);
        let Some(e) = self.exits.get_mut(&id) else {
            return;
        };
        // Binance USDⓈ-M triggers and Bybit attached TP/SL send orders without our id.
        let own_id = e.list.is_some() || e.trigger.qty.is_some();
        let fill = Fill {
            trade_id: format!("t{trade}"),
            order_id: actual.clone(),
            client_order_id: own_id.then(|| id.clone()),
            symbol: e.trigger.symbol.clone(),
            side: e.trigger.close_side,
            price: e.trigger.trigger_price,
            qty,
            fee,
            fee_asset,
            time_ms: now,
            is_maker: false,
        };
        e.state = TriggerState::Fired;
        e.actual = Some(actual);
        e.fills.push(fill);
        let list = e.list.clone();
        if list.is_some() {
            for other in self.exits.values_mut() {
                if other.list == list && other.state == TriggerState::Working {
                    other.state = TriggerState::Expired;
                }
            }
        }
    }

    /// An OCO leg (or a spot TP/SL order) as an order query answers it.
    fn leg_report(&self, id: &ClientOrderId, now: i64) -> OrderReport {
        let e = &self.exits[id];
        let executed: Decimal = e.fills.iter().map(|f| f.qty).sum();
        OrderReport {
            order_id: e.actual.clone().unwrap_or_else(|| format!("leg-{id}")),
            client_order_id: Some(id.clone()),
            symbol: e.trigger.symbol.clone(),
            side: Some(e.trigger.close_side),
            status: match e.state {
                TriggerState::Working => VStatus::New,
                TriggerState::Fired => VStatus::Filled,
                TriggerState::Cancelled => VStatus::Cancelled,
                TriggerState::Expired | TriggerState::Rejected => VStatus::Expired,
            },
            orig_qty: e.trigger.qty.unwrap_or_default(),
            executed_qty: executed,
            cum_quote: None,
            price: e.trigger.trigger_price,
            fills: Vec::new(),
            updated_ms: now,
        }
    }

    /// The venue's answer to `op` at `now`.
    pub fn answer(&mut self, op: &VenueOp, now: i64) -> Result<VenueReply, CallFailure> {
        self.received.push(op.clone());
        if let Some(f) = self
            .failures
            .get_mut(op.name())
            .and_then(VecDeque::pop_front)
        {
            return Err(f);
        }
        match op {
            VenueOp::InstrumentRules { .. } => Ok(VenueReply::Rules(vec![self.rules.clone()])),
            VenueOp::Ticker { symbol } => Ok(VenueReply::Ticker(Ticker {
                symbol: symbol.clone(),
                price: match &self.fee_asset {
                    Some((_, p)) if *symbol != self.rules.symbol => *p,
                    _ => self.price,
                },
                mark_price: None,
            })),
            VenueOp::Klines {
                start_ms, limit, ..
            } => {
                let open = self
                    .fee_asset
                    .as_ref()
                    .map(|(_, p)| *p)
                    .unwrap_or(self.price);
                let start = start_ms.unwrap_or(now);
                Ok(VenueReply::Klines(
                    (0..i64::from(*limit))
                        .map(|i| crate::venue::Kline {
                            open_time_ms: start + i * 60_000,
                            open,
                            high: open,
                            low: open,
                            close: open,
                            volume: Decimal::ONE,
                        })
                        .collect(),
                ))
            }
            VenueOp::PlaceOrder(req) => self.place(req, now),
            VenueOp::PlaceProtectedOrder { order, protection } => {
                let close_side = match order.side {
                    Side::Buy => Side::Sell,
                    Side::Sell => Side::Buy,
                };
                for (kind, price) in [
                    (crate::venue::ExitKind::StopLoss, protection.stop_loss),
                    (crate::venue::ExitKind::TakeProfit, protection.take_profit),
                ] {
                    let Some(trigger_price) = price else { continue };
                    let id = ClientOrderId::new(format!("att-{}", self.seq))
                        .unwrap_or_else(|e| panic!("{e}"));
                    self.seq += 1;
                    self.exits.insert(
                        id.clone(),
                        VenueExit {
                            trigger: ExitTrigger {
                                client_order_id: id,
                                symbol: order.symbol.clone(),
                                close_side,
                                kind,
                                trigger_price,
                                qty: None,
                            },
                            state: TriggerState::Working,
                            list: None,
                            actual: None,
                            fills: Vec::new(),
                        },
                    );
                }
                self.place(order, now)
            }
            VenueOp::QueryOrder {
                client_order_id, ..
            } => match self.orders.get(client_order_id) {
                Some(o) => Ok(VenueReply::Order(o.report.clone())),
                None if self.exits.contains_key(client_order_id) => {
                    Ok(VenueReply::Order(self.leg_report(client_order_id, now)))
                }
                None => Err(CallFailure::Venue(VenueError::UnknownOrder {
                    msg: "Order does not exist.".into(),
                })),
            },
            VenueOp::Trades { symbol, cursor } => Ok(VenueReply::Trades(TradePage {
                fills: self
                    .orders
                    .values()
                    .flat_map(|o| o.fills.iter())
                    .filter(|f| &f.symbol == symbol && f.time_ms >= cursor.start_ms)
                    .cloned()
                    .collect(),
                next: TradeCursor::from_time(now),
                caught_up: true,
            })),
            VenueOp::CancelAll { .. } => {
                for o in self.orders.values_mut() {
                    if !o.report.status.is_final() {
                        o.report.status = VStatus::Cancelled;
                        o.report.updated_ms = now;
                    }
                }
                Ok(VenueReply::Orders(Vec::new()))
            }
            VenueOp::PlaceExitTrigger(t) => {
                self.exits.insert(
                    t.client_order_id.clone(),
                    VenueExit {
                        trigger: t.clone(),
                        state: TriggerState::Working,
                        list: None,
                        actual: None,
                        fills: Vec::new(),
                    },
                );
                Ok(VenueReply::Order(self.ack(
                    &t.client_order_id,
                    &t.symbol,
                    now,
                )))
            }
            VenueOp::PlaceOcoExit(o) => {
                let mut legs = Vec::new();
                for (kind, leg) in [
                    (crate::venue::ExitKind::StopLoss, &o.stop_loss),
                    (crate::venue::ExitKind::TakeProfit, &o.take_profit),
                ] {
                    self.exits.insert(
                        leg.client_order_id.clone(),
                        VenueExit {
                            trigger: ExitTrigger {
                                client_order_id: leg.client_order_id.clone(),
                                symbol: o.symbol.clone(),
                                close_side: o.close_side,
                                kind,
                                trigger_price: leg.price,
                                qty: Some(o.qty),
                            },
                            state: TriggerState::Working,
                            list: Some(o.list_client_order_id.clone()),
                            actual: None,
                            fills: Vec::new(),
                        },
                    );
                    legs.push(self.ack(&leg.client_order_id, &o.symbol, now));
                }
                Ok(VenueReply::Orders(legs))
            }
            VenueOp::CancelExit(x) => {
                let ids: Vec<ClientOrderId> = self
                    .exits
                    .iter()
                    .filter(|(id, e)| {
                        e.state == TriggerState::Working
                            && (**id == x.client_order_id
                                || (x.list_client_order_id.is_some()
                                    && e.list == x.list_client_order_id))
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                if ids.is_empty() {
                    return Err(CallFailure::Venue(VenueError::UnknownOrder {
                        msg: "Unknown order sent.".into(),
                    }));
                }
                for id in &ids {
                    if let Some(e) = self.exits.get_mut(id) {
                        e.state = TriggerState::Cancelled;
                    }
                }
                Ok(VenueReply::Trigger(TriggerReport {
                    trigger_id: self.next_id(),
                    client_order_id: Some(x.client_order_id.clone()),
                    state: TriggerState::Cancelled,
                    actual_order_id: None,
                    finished: true,
                    updated_ms: now,
                }))
            }
            VenueOp::QueryExitTrigger {
                client_order_id, ..
            } => match self.exits.get(client_order_id) {
                Some(e) => Ok(VenueReply::Trigger(TriggerReport {
                    trigger_id: format!("algo-{client_order_id}"),
                    client_order_id: Some(client_order_id.clone()),
                    state: e.state,
                    actual_order_id: e.actual.clone(),
                    finished: e.actual.is_some(),
                    updated_ms: now,
                })),
                None => Err(CallFailure::Venue(VenueError::UnknownOrder {
                    msg: "Unknown algo order".into(),
                })),
            },
            VenueOp::ExitFills {
                symbol,
                since_ms,
                order_id,
            } => Ok(VenueReply::ExitFills(
                self.exits
                    .values()
                    .filter(|e| order_id.is_none() || e.actual == *order_id)
                    .flat_map(|e| {
                        e.fills.iter().map(move |f| crate::venue::ExitFill {
                            kind: Some(e.trigger.kind),
                            fill: f.clone(),
                        })
                    })
                    .filter(|x| &x.fill.symbol == symbol && x.fill.time_ms >= *since_ms)
                    .collect(),
            )),
            other => Err(CallFailure::Venue(VenueError::Unsupported {
                op: other.name(),
                reason: "not scripted".into(),
            })),
        }
    }
}

/// BTCUSDT.
pub fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}"))
}

/// BTCUSDT's rules.
pub fn rules() -> InstrumentRules {
    InstrumentRules {
        symbol: btc(),
        base_asset: "BTC".into(),
        quote_asset: "USDT".into(),
        tick_size: dec!(0.01),
        step_size: dec!(0.00001),
        min_qty: dec!(0.00001),
        max_qty: dec!(9000),
        max_market_qty: dec!(0),
        min_notional: dec!(5),
        min_price: dec!(0.01),
        max_price: dec!(1000000),
    }
}
