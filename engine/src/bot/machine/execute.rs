//! One signal's execution (the DO's `process` after dedupe, and `execute`): the claim and its
//! received/accepted events, the whitelist refusal before the bot's turn, then in its turn:
//! market facts → reconcile when stale → the platform's halt → decide → clear exits before a
//! close → place each order → the outcome, persisted before it is answered.

use super::book::Book;
use super::cancel::CancelAll;
use super::ctx::{Ctx, Event, Step};
use super::effect::{Answer, Cleared, Need, Placed, Record, SignalOutcome};
use super::exits::{must_clear, Clear};
use super::facts::Facts;
use super::input::{Consulted, FactsInput, SignalInput};
use super::place::Place;
use crate::audit::{Actor, AuditDraft, AuditEvent};
use crate::bot::{decide, risk_drafts, whitelist_refusal, MarketFacts, Rejection};
use crate::ids::{SignalId, Symbol};
use crate::model::{BotMode, Market};
use crate::risk::{Approved, ProposedOrder, RiskCheck};
use crate::signal::Action;
use serde_json::json;
use std::collections::VecDeque;

/// Reconciliation older than this runs again before a trade (after a long outage, or never).
pub const RECONCILE_STALE_AFTER_MS: i64 = 15 * 60_000;

/// Stages the claim of a signal with its received and accepted events, in a batch of its own
/// (persisted before any exchange call).
pub fn claim(cx: &mut Ctx<'_>, input: &SignalInput) {
    let id = &input.parsed.signal_id;
    cx.io.record(Record::SignalClaimed {
        signal_id: id.clone(),
        received_ms: input.received_ms,
    });
    let payload = serde_json::to_value(&input.parsed.signal).unwrap_or(serde_json::Value::Null);
    cx.io.audit(
        AuditDraft::new(
            input.received_ms,
            input.actor.clone(),
            AuditEvent::SignalReceived {
                payload,
                source: input.source.clone(),
            },
        )
        .signal(id.clone()),
    );
    cx.io.audit(
        AuditDraft::new(
            cx.now,
            input.actor.clone(),
            AuditEvent::SignalAccepted {
                action: input.parsed.signal.action.as_str().into(),
                symbol: input.parsed.signal.symbol.clone(),
            },
        )
        .signal(id.clone()),
    );
    cx.io.flush();
}

/// The refusal of a symbol outside the whitelist the bot does not hold, decided before the
/// signal waits for its turn.
pub fn early_refusal(
    book: &Book,
    cx_config: &crate::config::BotConfig,
    input: &SignalInput,
    now: i64,
) -> Option<Rejection> {
    let held = |symbol: &Symbol| {
        book.ledger
            .risk_snapshot(now)
            .ok()
            .and_then(|s| s.positions.get(symbol).map(|p| !p.qty.is_zero() && !p.dust))
            .unwrap_or(false)
    };
    whitelist_refusal(cx_config, &input.parsed.signal, held)
}

/// Records a refusal of the running execution (its request trail, the risk checks made,
/// `signal_rejected`, the outcome) and answers it.
pub fn reject(cx: &mut Ctx<'_>, signal_id: &SignalId, actor: &Actor, rej: Rejection) {
    cx.io.drain_trail(Some(signal_id), None);
    refuse(cx, signal_id, actor, rej);
}

/// Records and answers a refusal decided outside the bot's turn (the whitelist): the request
/// trail kept meanwhile belongs to the running execution and stays for it.
pub fn refuse(cx: &mut Ctx<'_>, signal_id: &SignalId, actor: &Actor, rej: Rejection) {
    for d in risk_drafts(&rej.checks, cx.now, signal_id) {
        cx.io.audit(d);
    }
    cx.io.audit(
        AuditDraft::new(
            cx.now,
            actor.clone(),
            AuditEvent::SignalRejected {
                status: rej.status,
                reason: format!("{}: {}", rej.code, rej.message),
                field: rej.field.clone(),
            },
        )
        .signal(signal_id.clone()),
    );
    record_outcome(cx, signal_id, SignalOutcome::Rejected(rej));
}

/// Persists the running execution's outcome (with its remaining request trail), then answers it.
pub fn finish(cx: &mut Ctx<'_>, signal_id: &SignalId, outcome: SignalOutcome) {
    cx.io.drain_trail(Some(signal_id), None);
    record_outcome(cx, signal_id, outcome);
}

/// Persists a signal's outcome, then answers it.
fn record_outcome(cx: &mut Ctx<'_>, signal_id: &SignalId, outcome: SignalOutcome) {
    cx.io.record(Record::SignalOutcome {
        signal_id: signal_id.clone(),
        outcome: Box::new(outcome.clone()),
    });
    cx.io.answer(Answer::Signal {
        signal_id: signal_id.clone(),
        outcome: Box::new(outcome),
    });
}

type Orders = VecDeque<(Approved<ProposedOrder>, Vec<RiskCheck>)>;

#[derive(Debug)]
enum Stage {
    Start,
    Cancel(Box<CancelAll>),
    Facts(Facts),
    Reconcile,
    Platform,
    Decide,
    Clearing(Clear, Orders),
    Placing(Box<Place>, Orders),
}

/// One signal in its turn.
#[derive(Debug)]
pub struct Execution {
    input: SignalInput,
    stage: Stage,
    facts: Option<MarketFacts>,
    halted: bool,
    cleared: Option<Cleared>,
    placed: Vec<Placed>,
}

impl Execution {
    /// The execution of an admitted, claimed signal.
    pub fn new(input: SignalInput) -> Self {
        Self {
            input,
            stage: Stage::Start,
            facts: None,
            halted: false,
            cleared: None,
            placed: Vec::new(),
        }
    }

    /// The signal being executed.
    pub fn signal_id(&self) -> &SignalId {
        &self.input.parsed.signal_id
    }

    /// The actor of its events.
    pub fn actor(&self) -> &Actor {
        &self.input.actor
    }

    /// Advances the execution; ends with its outcome (not yet persisted: [`finish`] does).
    pub fn step(&mut self, cx: &mut Ctx<'_>, mut ev: Event) -> Step<SignalOutcome> {
        loop {
            let stage = std::mem::replace(&mut self.stage, Stage::Decide);
            self.stage = match stage {
                Stage::Start => {
                    let signal = &self.input.parsed.signal;
                    if signal.action == Action::CancelAll {
                        Stage::Cancel(Box::new(CancelAll::new(
                            signal.symbol.clone(),
                            Some(self.input.parsed.signal_id.clone()),
                        )))
                    } else {
                        let Some(symbol) = signal.symbol.clone() else {
                            return Step::Done(SignalOutcome::Rejected(
                                Rejection::new(422, "missing_symbol", "this action needs a symbol")
                                    .with_field("symbol"),
                            ));
                        };
                        match &self.input.facts {
                            FactsInput::Known(f) => {
                                self.facts = Some(f.clone());
                                self.after_facts(cx)
                            }
                            FactsInput::Fetch { cached_rules } => {
                                if let Some(r) = cached_rules {
                                    cx.rules
                                        .entry(symbol.clone())
                                        .or_insert((cx.now, r.clone()));
                                }
                                Stage::Facts(Facts::new(symbol))
                            }
                        }
                    }
                }
                Stage::Cancel(mut c) => match c.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Cancel(c);
                        return Step::Pending;
                    }
                    Step::Done(report) => return Step::Done(SignalOutcome::CancelAll(report)),
                },
                Stage::Facts(mut f) => match f.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Facts(f);
                        return Step::Pending;
                    }
                    Step::Done(Ok(facts)) => {
                        self.facts = Some(facts);
                        self.after_facts(cx)
                    }
                    Step::Done(Err(e)) => {
                        return Step::Done(SignalOutcome::Rejected(e.rejection()))
                    }
                },
                Stage::Reconcile => match ev.take() {
                    Event::Consulted(Consulted::Reconciled {
                        ledger,
                        flags,
                        at_ms,
                    }) => {
                        cx.book.ledger = *ledger;
                        cx.book.flags = flags;
                        cx.book.last_reconcile_ms = Some(at_ms);
                        cx.io.consult(Need::PlatformHalt);
                        Stage::Platform
                    }
                    Event::Consulted(Consulted::Failed(rej)) => {
                        return Step::Done(SignalOutcome::Rejected(rej))
                    }
                    _ => {
                        self.stage = Stage::Reconcile;
                        return Step::Pending;
                    }
                },
                Stage::Platform => match ev.take() {
                    Event::Consulted(Consulted::Platform { halted }) => {
                        // For this decision only (the push keeps the stored flag).
                        self.halted = halted;
                        Stage::Decide
                    }
                    Event::Consulted(Consulted::Failed(rej)) => {
                        return Step::Done(SignalOutcome::Rejected(rej))
                    }
                    _ => {
                        self.stage = Stage::Platform;
                        return Step::Pending;
                    }
                },
                Stage::Decide => match self.decide(cx) {
                    Ok(next) => next,
                    Err(outcome) => return Step::Done(outcome),
                },
                Stage::Clearing(mut c, orders) => match c.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Clearing(c, orders);
                        return Step::Pending;
                    }
                    Step::Done(cleared) => {
                        if cx.config.market == Market::Spot && !cleared.failed.is_empty() {
                            let why: Vec<String> = cleared
                                .failed
                                .iter()
                                .map(|(id, m)| format!("{id}: {m}"))
                                .collect();
                            let symbol = self
                                .input
                                .parsed
                                .signal
                                .symbol
                                .as_ref()
                                .map(|s| s.to_string())
                                .unwrap_or_default();
                            return Step::Done(SignalOutcome::Rejected(Rejection::new(
                                502,
                                "exits_not_cancelled",
                                format!(
                                    "the close of {symbol} was not sent: this bot's resting exits lock the balance it must sell and cancelling them failed ({})",
                                    why.join("; ")
                                ),
                            )));
                        }
                        if !cleared.is_empty() {
                            self.cleared = Some(cleared);
                        }
                        match self.next_order(cx, orders) {
                            Some(stage) => stage,
                            None => return Step::Done(self.outcome()),
                        }
                    }
                },
                Stage::Placing(mut p, orders) => match p.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Placing(p, orders);
                        return Step::Pending;
                    }
                    Step::Done(placed) => {
                        self.placed.push(placed);
                        match self.next_order(cx, orders) {
                            Some(stage) => stage,
                            None => return Step::Done(self.outcome()),
                        }
                    }
                },
            };
            if matches!(self.stage, Stage::Reconcile | Stage::Platform) {
                return Step::Pending;
            }
        }
    }

    /// After the facts: reconcile when stale (live and testnet bots that traded before), then
    /// confirm the platform's halt state.
    fn after_facts(&mut self, cx: &mut Ctx<'_>) -> Stage {
        if cx.config.mode != BotMode::Paper {
            let stale = cx
                .book
                .last_reconcile_ms
                .is_none_or(|t| cx.now - t > RECONCILE_STALE_AFTER_MS);
            let has_history = !cx.book.traded.is_empty();
            if stale && has_history {
                cx.io.consult(Need::Reconcile);
                return Stage::Reconcile;
            }
        }
        cx.io.consult(Need::PlatformHalt);
        Stage::Platform
    }

    fn decide(&mut self, cx: &mut Ctx<'_>) -> Result<Stage, SignalOutcome> {
        let Some(facts) = self.facts.clone() else {
            return Err(SignalOutcome::Rejected(Rejection::new(
                500,
                "internal",
                "no market facts",
            )));
        };
        let mut state = cx.book.bot_state(cx.now);
        state.halted |= self.halted;
        let decision = decide(
            &cx.config.id,
            cx.config,
            &self.input.parsed,
            &facts,
            &cx.book.ledger,
            &state,
            cx.now,
        )
        .map_err(SignalOutcome::Rejected)?;
        if decision.orders.is_empty() {
            return Err(SignalOutcome::NothingToDo);
        }
        let symbol = self.input.parsed.signal.symbol.clone();
        let position = symbol
            .as_ref()
            .and_then(|s| cx.book.ledger.position(s))
            .map(|p| p.qty)
            .unwrap_or_default();
        let orders: Orders = decision.orders.into_iter().zip(decision.checks).collect();
        let clear = must_clear(
            cx.config.market,
            position,
            &orders.iter().map(|(o, _)| o.clone()).collect::<Vec<_>>(),
        );
        match (clear, symbol) {
            (true, Some(symbol)) => Ok(Stage::Clearing(
                Clear::new(symbol, Some(self.input.parsed.signal_id.clone())),
                orders,
            )),
            _ => self.next_order(cx, orders).ok_or_else(|| self.outcome()),
        }
    }

    fn next_order(&mut self, cx: &mut Ctx<'_>, mut orders: Orders) -> Option<Stage> {
        let (approved, checks) = orders.pop_front()?;
        let facts = self.facts.as_ref()?;
        let mut place = Place::new(
            cx,
            approved,
            checks,
            facts.rules.clone(),
            self.input.parsed.signal_id.clone(),
        );
        // Start it now: its intent is persisted and its request sent.
        match place.step(cx, Event::Start) {
            Step::Pending => Some(Stage::Placing(Box::new(place), orders)),
            Step::Done(placed) => {
                self.placed.push(placed);
                self.next_order(cx, orders)
            }
        }
    }

    /// The outcome once every order was tried: refused when all failed (the first failure,
    /// with every order in its detail), else executed.
    fn outcome(&mut self) -> SignalOutcome {
        let placed = std::mem::take(&mut self.placed);
        let all_failed = placed.iter().all(|p| p.failed.is_some());
        if all_failed {
            if let Some(Some(first)) = placed.first().map(|p| p.failed.clone()) {
                let orders: Vec<serde_json::Value> = placed
                    .iter()
                    .map(|p| serde_json::to_value(&p.order).unwrap_or(serde_json::Value::Null))
                    .collect();
                let mut rej = Rejection::new(first.status, &first.code, first.message);
                rej.detail = Some(Box::new(json!({ "orders": orders })));
                return SignalOutcome::Rejected(rej);
            }
        }
        SignalOutcome::Executed {
            orders: placed,
            exits_cleared: self.cleared.take(),
        }
    }
}
