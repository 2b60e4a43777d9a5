//! Finding out whether a resting exit fired, and booking the stop-out (the DO's
//! `protection::refresh`, run from the tick). A fired exit's closing order is the exchange's
//! own, so its fills are claimed for the exit that sent them and booked through the ordinary
//! ledger path; exits that can no longer fire are closed. Per venue, as today:
//! - Binance spot: an OCO leg is an order of ours: queried by client id, its trades read by
//!   its exchange id once it traded; a leg the exchange ended unfilled closes as cancelled;
//! - Binance USDⓈ-M: the Algo Service trigger is queried; once fired, the fills of the order
//!   it sent (`actualOrderId`) are read;
//! - Bybit: the symbol's TP/SL-created executions since the oldest live exit, each claimed by
//!   the live exit it answers; a fired exit's older siblings went with the position.

use super::book::{ExitRecord, ExitState};
use super::ctx::{Ctx, Event, Step};
use super::effect::Record;
use super::facts::Facts;
use super::fees::Fees;
use super::limits::check_limits;
use crate::bot::{book_fills, MarketFacts};
use crate::ids::{ClientOrderId, SignalId, Symbol};
use crate::ledger::FeePrices;
use crate::model::{Exchange, Fill, InstrumentRules, Market, Side};
use crate::venue::{ExitFill, TriggerState, VenueOp, VenueReply};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, VecDeque};

/// Exits looked at per run (oldest first); the next run continues.
pub const PER_RUN: usize = 20;
/// Slack before an exit's placement when reading executions (clock differences).
pub const SINCE_SLACK_MS: i64 = 60_000;

/// What one lookup is waiting for.
#[derive(Debug)]
enum Ask {
    /// Binance spot: the leg's order.
    Leg(ExitRecord),
    /// Binance spot: the fills of a leg that traded (`done`: its order is final).
    LegFills(ExitRecord, String, bool),
    /// Binance USDⓈ-M: the trigger.
    Trigger(ExitRecord),
    /// Binance USDⓈ-M: the fills of the order a fired trigger sent.
    TriggerFills(ExitRecord, String, bool),
    /// Bybit: the symbol's TP/SL executions.
    Executions(Symbol, Vec<ExitRecord>),
}

#[derive(Debug)]
enum Stage {
    Asking,
    Pricing(Symbol, Box<Facts>),
    Fees(Box<(Symbol, InstrumentRules, Fees)>),
}

/// One refresh run.
#[derive(Debug)]
pub struct Refresh {
    todo: VecDeque<Ask>,
    current: Option<Ask>,
    stage: Stage,
    fills: BTreeMap<Symbol, Vec<(Option<SignalId>, Fill)>>,
    priced: Vec<(Symbol, InstrumentRules, FeePrices)>,
    rows: Vec<ExitRecord>,
}

impl Refresh {
    /// A run over the bot's live exits (a paper bot's included: its paper venue holds exits as
    /// a real venue would); `None` when there is nothing to look at.
    pub fn new(cx: &Ctx<'_>) -> Option<Self> {
        let mut live: Vec<ExitRecord> = cx
            .book
            .exits
            .values()
            .filter(|e| e.state.is_live())
            .cloned()
            .collect();
        live.sort_by_key(|e| e.since_ms);
        live.truncate(PER_RUN);
        if live.is_empty() {
            return None;
        }
        let todo: VecDeque<Ask> = match (cx.config.exchange, cx.config.market) {
            (Exchange::Binance, Market::Spot) => live.into_iter().map(Ask::Leg).collect(),
            (Exchange::Binance, Market::Linear) => live.into_iter().map(Ask::Trigger).collect(),
            (Exchange::Bybit, _) => {
                let mut by_symbol: BTreeMap<Symbol, Vec<ExitRecord>> = BTreeMap::new();
                for e in live {
                    by_symbol.entry(e.symbol().clone()).or_default().push(e);
                }
                by_symbol
                    .into_iter()
                    .map(|(s, g)| Ask::Executions(s, g))
                    .collect()
            }
        };
        Some(Self {
            todo,
            current: None,
            stage: Stage::Asking,
            fills: BTreeMap::new(),
            priced: Vec::new(),
            rows: Vec::new(),
        })
    }

    fn claim(&mut self, e: &ExitRecord, fills: impl Iterator<Item = Fill>) {
        for mut f in fills {
            f.client_order_id = Some(e.id().clone());
            self.fills
                .entry(f.symbol.clone())
                .or_default()
                .push((e.signal_id.clone(), f));
        }
    }

    fn row(&mut self, e: &ExitRecord, state: ExitState, actual: Option<&str>) {
        let mut e = e.clone();
        e.state = state;
        if let Some(a) = actual {
            e.actual_order_id = Some(a.to_string());
        }
        self.rows.push(e);
    }

    fn exit_fills(e: &ExitRecord, order_id: Option<String>) -> VenueOp {
        VenueOp::ExitFills {
            symbol: e.symbol().clone(),
            since_ms: e.since_ms - SINCE_SLACK_MS,
            order_id,
        }
    }

    /// Handles the answer to the current lookup; may queue a follow-up lookup first.
    fn answered(&mut self, cx: &Ctx<'_>, ask: Ask, reply: Result<VenueReply, super::CallFailure>) {
        match (ask, reply) {
            (Ask::Leg(e), Ok(VenueReply::Order(r))) => {
                let done = r.status.is_final();
                if r.executed_qty.is_zero() {
                    if done {
                        self.row(&e, ExitState::Cancelled, None);
                    }
                } else {
                    self.todo.push_front(Ask::LegFills(e, r.order_id, done));
                }
            }
            (Ask::LegFills(e, order_id, done), Ok(VenueReply::ExitFills(f))) => {
                let state = if done {
                    ExitState::Filled
                } else {
                    ExitState::Fired
                };
                self.claim(&e, f.into_iter().map(|x| x.fill));
                self.row(&e, state, Some(&order_id));
            }
            (Ask::Trigger(e), Ok(VenueReply::Trigger(t))) => match t.state {
                TriggerState::Working => {}
                TriggerState::Cancelled => self.row(&e, ExitState::Cancelled, None),
                TriggerState::Expired => self.row(&e, ExitState::Expired, None),
                TriggerState::Rejected => self.row(&e, ExitState::Rejected, None),
                TriggerState::Fired => match t.actual_order_id {
                    None => self.row(&e, ExitState::Fired, None),
                    Some(actual) => self
                        .todo
                        .push_front(Ask::TriggerFills(e, actual, t.finished)),
                },
            },
            (Ask::TriggerFills(e, actual, finished), Ok(VenueReply::ExitFills(f))) => {
                let state = if finished && !f.is_empty() {
                    ExitState::Filled
                } else {
                    ExitState::Fired
                };
                self.claim(&e, f.into_iter().map(|x| x.fill));
                self.row(&e, state, Some(&actual));
            }
            (Ask::Executions(symbol, group), Ok(VenueReply::ExitFills(f))) => {
                self.bybit(cx, &symbol, &group, &f);
            }
            // A failed or unexpected answer leaves the exit as it was (the next run retries).
            _ => {}
        }
    }

    /// Bybit: claims each execution for the exit it answers, closes the siblings a fired exit
    /// took with it, and the exits that protect nothing any more.
    fn bybit(&mut self, cx: &Ctx<'_>, symbol: &Symbol, group: &[ExitRecord], fills: &[ExitFill]) {
        let mut done: Vec<ClientOrderId> = Vec::new();
        for (e, claimed) in assign(group, fills) {
            if done.contains(e.id()) {
                continue;
            }
            let last = claimed
                .iter()
                .map(|f| f.time_ms)
                .max()
                .unwrap_or(e.since_ms);
            let actual = claimed.first().map(|f| f.order_id.clone());
            self.claim(&e, claimed.into_iter());
            self.row(&e, ExitState::Filled, actual.as_deref());
            done.push(e.id().clone());
            // Linear TP/SL close the whole position (older siblings go with it); on spot only
            // the exits of the same entry do.
            let siblings: Vec<ExitRecord> = group
                .iter()
                .filter(|s| {
                    !done.contains(s.id())
                        && s.since_ms <= last
                        && s.close_side() == e.close_side()
                        && (cx.config.market == Market::Linear || s.entry == e.entry)
                })
                .cloned()
                .collect();
            for s in siblings {
                self.row(&s, ExitState::Cancelled, None);
                done.push(s.id().clone());
            }
        }
        let position = cx
            .book
            .ledger
            .position(symbol)
            .map(|p| p.qty)
            .unwrap_or(Decimal::ZERO);
        for e in group.iter().filter(|e| !done.contains(e.id())) {
            let protects_nothing = match e.close_side() {
                Side::Sell => position <= Decimal::ZERO,
                Side::Buy => position >= Decimal::ZERO,
            };
            // The entry is final when the machine no longer holds it as working.
            let entry_final = !cx.book.orders.contains_key(&e.entry);
            if protects_nothing && entry_final {
                self.row(e, ExitState::Cancelled, None);
            }
        }
    }

    fn next_ask(&mut self, cx: &mut Ctx<'_>) -> bool {
        let Some(ask) = self.todo.pop_front() else {
            return false;
        };
        let op = match &ask {
            Ask::Leg(e) => VenueOp::QueryOrder {
                symbol: e.symbol().clone(),
                client_order_id: e.id().clone(),
            },
            Ask::Trigger(e) => VenueOp::QueryExitTrigger {
                symbol: e.symbol().clone(),
                client_order_id: e.id().clone(),
            },
            Ask::LegFills(e, id, _) | Ask::TriggerFills(e, id, _) => {
                Self::exit_fills(e, Some(id.clone()))
            }
            Ask::Executions(symbol, group) => VenueOp::ExitFills {
                symbol: symbol.clone(),
                since_ms: group.iter().map(|e| e.since_ms).min().unwrap_or(0) - SINCE_SLACK_MS,
                order_id: None,
            },
        };
        self.current = Some(ask);
        cx.io.send(op);
        true
    }

    /// The next symbol whose fills need rules and fee prices.
    fn next_symbol(&mut self) -> Option<Symbol> {
        let done: Vec<&Symbol> = self.priced.iter().map(|(s, _, _)| s).collect();
        self.fills.keys().find(|s| !done.contains(s)).cloned()
    }

    /// Advances the run; ends with the number of exits whose state changed.
    pub fn step(&mut self, cx: &mut Ctx<'_>, mut ev: Event) -> Step<usize> {
        loop {
            let stage = std::mem::replace(&mut self.stage, Stage::Asking);
            self.stage = match stage {
                Stage::Asking => {
                    if let (Some(ask), Event::Reply(r)) = (self.current.take(), ev.take()) {
                        self.answered(cx, ask, r.result);
                    }
                    if self.next_ask(cx) {
                        return Step::Pending;
                    }
                    match self.next_symbol() {
                        Some(s) => Stage::Pricing(s.clone(), Box::new(Facts::new(s))),
                        None => return Step::Done(self.commit(cx)),
                    }
                }
                Stage::Pricing(symbol, mut f) => match f.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Pricing(symbol, f);
                        return Step::Pending;
                    }
                    Step::Done(Ok(MarketFacts { rules, .. })) => {
                        let plain: Vec<Fill> = self
                            .fills
                            .get(&symbol)
                            .map(|v| v.iter().map(|(_, f)| f.clone()).collect())
                            .unwrap_or_default();
                        let fees = Fees::new(&[], &plain, &rules);
                        Stage::Fees(Box::new((symbol, rules, fees)))
                    }
                    // Without rules nothing of the run is booked (the next run retries).
                    Step::Done(Err(_)) => return Step::Done(0),
                },
                Stage::Fees(mut b) => match b.2.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Fees(b);
                        return Step::Pending;
                    }
                    Step::Done(prices) => {
                        let (symbol, rules, _) = *b;
                        self.priced.push((symbol, rules, prices));
                        match self.next_symbol() {
                            Some(s) => Stage::Pricing(s.clone(), Box::new(Facts::new(s))),
                            None => return Step::Done(self.commit(cx)),
                        }
                    }
                },
            };
        }
    }

    /// Books the claimed fills and stages the exits' new states with the trail, in one batch;
    /// then the loss-limit check.
    fn commit(&mut self, cx: &mut Ctx<'_>) -> usize {
        cx.io.drain_trail(None, None);
        let booked_any = !self.priced.is_empty();
        let mut ledger = cx.book.ledger.clone();
        let attribution = crate::strategy::live::attribution(cx.config);
        for (symbol, rules, prices) in &self.priced {
            for (signal_id, fill) in self.fills.get(symbol).into_iter().flatten() {
                let Ok(booking) = book_fills(
                    &mut ledger,
                    std::slice::from_ref(fill),
                    rules,
                    prices,
                    cx.config.exchange,
                    cx.config.market,
                    cx.actor,
                    signal_id.as_ref(),
                    attribution.as_deref(),
                ) else {
                    // The DO fails the whole run here; the exits stay live for the next one.
                    return 0;
                };
                for d in booking.drafts {
                    cx.io.audit(d);
                }
                for e in booking.entries {
                    cx.io.record(Record::Ledger(Box::new(e)));
                }
                for b in booking.booked {
                    cx.io.record(Record::Fill {
                        booked: Box::new(b),
                        signal_id: signal_id.clone(),
                    });
                }
            }
        }
        if booked_any {
            if let Ok(snap) = ledger.risk_snapshot(cx.now) {
                cx.io.record(Record::Equity {
                    time_ms: cx.now,
                    equity: snap.equity,
                    drawdown: snap.drawdown,
                });
            }
        }
        let changed = self.rows.len();
        for e in std::mem::take(&mut self.rows) {
            cx.io.record(Record::Exit(Box::new(e.clone())));
            cx.book.track_exit(&e);
        }
        cx.book.ledger = ledger;
        cx.io.flush();
        if booked_any {
            check_limits(cx);
        }
        changed
    }
}

/// Pairs each TP/SL execution with the live exit it answers: by our client id when the order
/// carries one, else the newest placed before it with the same closing side and, when the venue
/// states it, the same kind. Executions of other orders are left alone.
fn assign(group: &[ExitRecord], fills: &[ExitFill]) -> Vec<(ExitRecord, Vec<Fill>)> {
    let mut out: Vec<(ExitRecord, Vec<Fill>)> = Vec::new();
    for f in fills {
        let owner = match &f.fill.client_order_id {
            Some(c) => group.iter().find(|e| e.id() == c),
            None => group
                .iter()
                .filter(|e| {
                    e.close_side() == f.fill.side
                        && e.since_ms - SINCE_SLACK_MS <= f.fill.time_ms
                        && (f.kind.is_none() || Some(e.kind()) == f.kind)
                })
                .max_by_key(|e| e.since_ms),
        };
        let Some(owner) = owner else { continue };
        match out.iter_mut().find(|(e, _)| e.id() == owner.id()) {
            Some((_, v)) => v.push(f.fill.clone()),
            None => out.push((owner.clone(), vec![f.fill.clone()])),
        }
    }
    out
}
