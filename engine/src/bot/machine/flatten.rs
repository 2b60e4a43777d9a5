//! Flattening the bot (the DO's `flatten`): the operator's intent audited first, every open
//! order cancelled, then every open position closed with a reduce-only market order through
//! the ordinary path (sizing, risk, exits cleared, durable intent), up to three attempts per
//! instrument; a summary event and the `flattened` alert end it.

use super::cancel::CancelAll;
use super::ctx::{Ctx, Event, Step};
use super::effect::{AlertChange, FlattenReport, InstrumentClose, Placed};
use super::exits::{must_clear, Clear};
use super::facts::Facts;
use super::place::Place;
use crate::alert::{Alert, AlertKind};
use crate::audit::{Actor, AuditDraft, AuditEvent, ControlAction};
use crate::bot::{decide, BotState};
use crate::ids::{SignalId, Symbol};
use crate::model::{Market, OrderType};
use crate::risk::{Approved, ProposedOrder, RiskCheck};
use crate::signal::{Action, ParsedSignal, Signal};
use rust_decimal::Decimal;
use std::collections::VecDeque;

/// Close attempts per instrument before flatten reports a failure.
pub const FLATTEN_ATTEMPTS: u32 = 3;

#[derive(Debug)]
enum Close {
    Check,
    Facts(Box<(ParsedSignal, Facts)>),
    Clearing(Box<Clearing>),
    Placing(Box<Place>),
}

/// A close waiting for the symbol's exits to be cleared.
type Clearing = (
    ParsedSignal,
    Clear,
    Option<(Approved<ProposedOrder>, Vec<RiskCheck>)>,
    crate::model::InstrumentRules,
);

#[derive(Debug)]
enum Stage {
    Start,
    Cancel(Box<CancelAll>),
    Symbols,
    Closing(Close),
}

/// The flatten run.
#[derive(Debug)]
pub struct Flatten {
    actor: Actor,
    reason: Option<String>,
    started: i64,
    stage: Stage,
    symbols: VecDeque<Symbol>,
    current: Option<InstrumentClose>,
    attempt: u32,
    report: FlattenReport,
}

impl Flatten {
    /// A flatten asked by `actor`.
    pub fn new(actor: Actor, reason: Option<String>) -> Self {
        Self {
            actor,
            reason,
            started: 0,
            stage: Stage::Start,
            symbols: VecDeque::new(),
            current: None,
            attempt: 0,
            report: FlattenReport::default(),
        }
    }

    /// Who asked.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    fn position(cx: &Ctx<'_>, symbol: &Symbol) -> Decimal {
        cx.book
            .ledger
            .position(symbol)
            .map(|p| p.qty)
            .unwrap_or(Decimal::ZERO)
    }

    /// Symbols with an open position (dust below one lot is none: no order sells it).
    fn open_symbols(cx: &Ctx<'_>) -> VecDeque<Symbol> {
        cx.book
            .ledger
            .risk_snapshot(cx.now)
            .map(|s| {
                s.positions
                    .iter()
                    .filter(|(_, p)| !p.qty.is_zero() && !p.dust)
                    .map(|(s, _)| s.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn close_signal(&self, symbol: &Symbol, now: i64) -> Option<ParsedSignal> {
        let signal_id = SignalId::new(format!(
            "flatten-{}-{}-{symbol}",
            self.started, self.attempt
        ))
        .ok()?;
        Some(ParsedSignal {
            signal: Signal {
                id: None,
                action: Action::Close,
                symbol: Some(symbol.clone()),
                sizing: None,
                target_position: None,
                order_type: OrderType::Market,
                price: None,
                stop_loss: None,
                take_profit: None,
                time_ms: Some(now),
            },
            secret: None,
            signal_id,
        })
    }

    /// One attempt failed before an order went out.
    fn attempt_failed(&mut self, why: String) -> Close {
        if let Some(c) = self.current.as_mut() {
            c.error = Some(why);
        }
        Close::Check
    }

    /// Next instrument, or `None` when all are done.
    fn next_symbol(&mut self) -> Option<Close> {
        let symbol = self.symbols.pop_front()?;
        self.current = Some(InstrumentClose {
            symbol,
            flat: false,
            position: Decimal::ZERO,
            dust: None,
            attempts: Vec::new(),
            error: None,
        });
        self.attempt = 0;
        Some(Close::Check)
    }

    fn end_symbol(&mut self, flat: bool, position: Decimal, dust: Option<Decimal>) {
        let Some(mut c) = self.current.take() else {
            return;
        };
        c.flat = flat;
        c.position = position;
        c.dust = dust;
        if flat {
            c.error = None;
        } else if c.error.is_none() {
            c.error = Some("position still open".into());
        }
        self.report.instruments.push(c);
    }

    /// Advances the flatten; ends with its report (persisted and answered by the machine).
    pub fn step(&mut self, cx: &mut Ctx<'_>, mut ev: Event) -> Step<FlattenReport> {
        loop {
            let stage = std::mem::replace(&mut self.stage, Stage::Symbols);
            self.stage = match stage {
                Stage::Start => {
                    self.started = cx.now;
                    cx.io.audit(AuditDraft::new(
                        cx.now,
                        self.actor.clone(),
                        AuditEvent::Control {
                            action: ControlAction::Flatten,
                            reason: self
                                .reason
                                .clone()
                                .or_else(|| Some("flatten requested".into())),
                        },
                    ));
                    cx.io.flush();
                    Stage::Cancel(Box::new(CancelAll::new(None, None)))
                }
                Stage::Cancel(mut c) => match c.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Cancel(c);
                        return Step::Pending;
                    }
                    Step::Done(report) => {
                        self.report.cancels = report;
                        self.symbols = Self::open_symbols(cx);
                        Stage::Symbols
                    }
                },
                Stage::Symbols => match self.next_symbol() {
                    Some(close) => Stage::Closing(close),
                    None => return Step::Done(self.summary(cx)),
                },
                Stage::Closing(close) => match self.close(cx, close, &mut ev) {
                    Step::Pending => return Step::Pending,
                    Step::Done(()) => Stage::Symbols,
                },
            };
        }
    }

    /// Advances the closing of the current instrument; `Done` when it is flat, dust, or out of
    /// attempts.
    fn close(&mut self, cx: &mut Ctx<'_>, mut close: Close, ev: &mut Event) -> Step<()> {
        let Some(symbol) = self.current.as_ref().map(|c| c.symbol.clone()) else {
            return Step::Done(());
        };
        loop {
            let next = match close {
                Close::Check => {
                    let qty = Self::position(cx, &symbol);
                    if qty.is_zero() {
                        self.end_symbol(true, qty, None);
                        return Step::Done(());
                    }
                    if self.attempt >= FLATTEN_ATTEMPTS {
                        self.end_symbol(false, qty, None);
                        return Step::Done(());
                    }
                    self.attempt += 1;
                    match self.close_signal(&symbol, cx.now) {
                        Some(parsed) => {
                            Some(Close::Facts(Box::new((parsed, Facts::new(symbol.clone())))))
                        }
                        None => Some(self.attempt_failed("no signal id for the close".into())),
                    }
                }
                Close::Facts(mut b) => match b.1.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Closing(Close::Facts(b));
                        return Step::Pending;
                    }
                    Step::Done(Err(e)) => Some(self.attempt_failed(e.rejection().message)),
                    Step::Done(Ok(facts)) => {
                        let parsed = b.0;
                        let state = BotState {
                            paused: cx.book.flags.paused,
                            halted: cx.book.flags.halted,
                            ..BotState::default()
                        };
                        match decide(
                            &cx.config.id,
                            cx.config,
                            &parsed,
                            &facts,
                            &cx.book.ledger,
                            &state,
                            cx.now,
                        ) {
                            Err(r) => Some(self.attempt_failed(r.message)),
                            Ok(d) => {
                                let position = Self::position(cx, &symbol);
                                let clear = must_clear(cx.config.market, position, &d.orders);
                                let first = d.orders.into_iter().zip(d.checks).next();
                                if clear {
                                    let c =
                                        Clear::new(symbol.clone(), Some(parsed.signal_id.clone()));
                                    Some(Close::Clearing(Box::new((parsed, c, first, facts.rules))))
                                } else {
                                    self.place_or_dust(cx, parsed, first, facts.rules)
                                }
                            }
                        }
                    }
                },
                Close::Clearing(mut b) => match b.1.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Closing(Close::Clearing(b));
                        return Step::Pending;
                    }
                    Step::Done(cleared) => {
                        if cx.config.market == Market::Spot && !cleared.failed.is_empty() {
                            let why: Vec<String> = cleared
                                .failed
                                .iter()
                                .map(|(id, m)| format!("{id}: {m}"))
                                .collect();
                            Some(self.attempt_failed(format!(
                                "the close of {symbol} was not sent: this bot's resting exits lock the balance it must sell and cancelling them failed ({})",
                                why.join("; ")
                            )))
                        } else {
                            let (parsed, _, first, rules) = *b;
                            self.place_or_dust(cx, parsed, first, rules)
                        }
                    }
                },
                Close::Placing(mut p) => match p.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Closing(Close::Placing(p));
                        return Step::Pending;
                    }
                    Step::Done(placed) => {
                        self.record_attempt(placed);
                        Some(Close::Check)
                    }
                },
            };
            match next {
                Some(c) => close = c,
                None => return Step::Done(()),
            }
        }
    }

    fn record_attempt(&mut self, placed: Placed) {
        if let Some(c) = self.current.as_mut() {
            if let Some(f) = &placed.failed {
                c.error = Some(f.message.clone());
            }
            c.attempts.push(placed);
        }
    }

    /// Places the close, or ends the instrument as dust (`None`) when sizing found nothing to
    /// sell.
    fn place_or_dust(
        &mut self,
        cx: &mut Ctx<'_>,
        parsed: ParsedSignal,
        first: Option<(Approved<ProposedOrder>, Vec<RiskCheck>)>,
        rules: crate::model::InstrumentRules,
    ) -> Option<Close> {
        let Some((approved, checks)) = first else {
            let qty = self
                .current
                .as_ref()
                .map(|c| Self::position(cx, &c.symbol))
                .unwrap_or_default();
            self.end_symbol(true, Decimal::ZERO, Some(qty));
            return None;
        };
        let mut p = Place::new(cx, approved, checks, rules, parsed.signal_id);
        match p.step(cx, Event::Start) {
            Step::Pending => Some(Close::Placing(Box::new(p))),
            Step::Done(placed) => {
                self.record_attempt(placed);
                Some(Close::Check)
            }
        }
    }

    /// The closing summary: audited, alerted, in one batch.
    fn summary(&mut self, cx: &mut Ctx<'_>) -> FlattenReport {
        let all_flat = self.report.instruments.iter().all(|c| c.flat);
        let summary = format!(
            "flatten by {}: {} instrument(s), {}",
            self.actor,
            self.report.instruments.len(),
            if all_flat { "all flat" } else { "NOT all flat" }
        );
        cx.io.drain_trail(None, None);
        cx.io.audit(AuditDraft::new(
            cx.now,
            self.actor.clone(),
            AuditEvent::Control {
                action: ControlAction::Flatten,
                reason: Some(summary.clone()),
            },
        ));
        let bot_id = cx.config.id.to_string();
        cx.io.alert(AlertChange::Raise(Alert::new(
            &bot_id,
            AlertKind::Flattened,
            "",
            summary,
        )));
        for c in self.report.instruments.iter().filter(|c| !c.flat) {
            let why = c
                .error
                .clone()
                .unwrap_or_else(|| "still open after retries".into());
            cx.io.alert(AlertChange::Raise(Alert::new(
                &bot_id,
                AlertKind::OrderRejected,
                c.symbol.as_str(),
                format!("flatten could not close {}: {why}", c.symbol),
            )));
        }
        self.report.flat = all_flat;
        self.report.took_ms = cx.now - self.started;
        std::mem::take(&mut self.report)
    }
}
