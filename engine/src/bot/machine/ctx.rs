//! The plumbing every step of the machine shares: the outgoing effect queue with its staged
//! batch ([`Io`]), the context a step runs in ([`Ctx`]), the event that wakes a step
//! ([`Event`]) and what a step returns ([`Step`]).
//!
//! The batch rules live here, once: anything staged is flushed as one `Persist` before a
//! `Send`, a `Consult`, a `Wait` or an `Answer` leaves, so an intent is always durable before
//! its request and no batch is ever open across a wait.

use super::book::Book;
use super::effect::{AlertChange, Answer, Batch, CallId, Effect, Need, Record};
use super::input::{Consulted, Reply};
use crate::audit::{Actor, AuditDraft};
use crate::config::BotConfig;
use crate::ids::{ClientOrderId, SignalId};
use crate::venue::VenueOp;
use std::collections::VecDeque;

/// What kind of answer an awaited call id expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaited {
    /// A venue reply ([`super::Machine::on_reply`]).
    Reply,
    /// A consultation's answer ([`super::Machine::on_consulted`]).
    Consulted,
}

/// The effect queue, the batch being staged and the call awaited.
#[derive(Debug, Default)]
pub struct Io {
    pub(super) out: VecDeque<Effect>,
    staged: Batch,
    next_call: u64,
    pub(super) awaiting: Option<(CallId, Awaited)>,
    pub(super) wake_at: Option<i64>,
    /// Request/response drafts of the calls made since the last drain.
    trail: Vec<AuditDraft>,
}

impl Io {
    /// Stages a record.
    pub fn record(&mut self, r: Record) {
        self.staged.records.push(r);
    }

    /// Stages an audit draft.
    pub fn audit(&mut self, d: AuditDraft) {
        self.staged.audit.push(d);
    }

    /// Stages an alert change.
    pub fn alert(&mut self, a: AlertChange) {
        self.staged.alerts.push(a);
    }

    /// Keeps a reply's request/response drafts until the next batch that drains them (the
    /// machine does it for every reply before a step sees it).
    pub fn keep_trail(&mut self, trail: Vec<AuditDraft>) {
        self.trail.extend(trail);
    }

    /// Stages the kept request/response drafts, correlated with a signal and an order.
    pub fn drain_trail(&mut self, signal: Option<&SignalId>, order: Option<&ClientOrderId>) {
        for mut d in std::mem::take(&mut self.trail) {
            if let Some(s) = signal {
                d = d.signal(s.clone());
            }
            if let Some(c) = order {
                d = d.order(c.clone());
            }
            self.staged.audit.push(d);
        }
    }

    /// Emits the staged batch as one `Persist`, if anything is staged.
    pub fn flush(&mut self) {
        if !self.staged.is_empty() {
            self.out
                .push_back(Effect::Persist(std::mem::take(&mut self.staged)));
        }
    }

    /// Whether nothing is staged (the contract tests read it).
    pub fn nothing_staged(&self) -> bool {
        self.staged.is_empty()
    }

    fn call_id(&mut self, kind: Awaited) -> CallId {
        self.next_call += 1;
        let id = CallId(self.next_call);
        self.awaiting = Some((id, kind));
        id
    }

    /// Flushes, then asks for `op`.
    pub fn send(&mut self, op: VenueOp) {
        self.flush();
        let call_id = self.call_id(Awaited::Reply);
        self.out.push_back(Effect::Send { call_id, op });
    }

    /// Flushes, then asks for a procedure.
    pub fn consult(&mut self, need: Need) {
        self.flush();
        let call_id = self.call_id(Awaited::Consulted);
        self.out.push_back(Effect::Consult { call_id, need });
    }

    /// Flushes, then asks to be woken at `until_ms`.
    pub fn wait(&mut self, until_ms: i64) {
        self.flush();
        self.wake_at = Some(until_ms);
        self.out.push_back(Effect::Wait { until_ms });
    }

    /// Flushes, then answers.
    pub fn answer(&mut self, a: Answer) {
        self.flush();
        self.out.push_back(Effect::Answer(a));
    }
}

/// What a step sees: the bot's config, state and effect queue, and the time.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The bot's config.
    pub config: &'a BotConfig,
    /// Paper bot (its paper venue fills in-process and holds the exits a live venue would).
    pub paper: bool,
    /// The machine's state.
    pub book: &'a mut Book,
    /// Effects out.
    pub io: &'a mut Io,
    /// Now (local ms), as of the input being handled.
    pub now: i64,
    /// Who acts (audit actor of the running execution).
    pub actor: &'a Actor,
    /// Cached instrument rules per symbol with the time they were read.
    pub rules: &'a mut std::collections::BTreeMap<
        crate::ids::Symbol,
        (i64, crate::model::InstrumentRules),
    >,
}

/// What wakes a step.
#[derive(Debug)]
pub enum Event {
    /// The step starts (or its child finished and it goes on).
    Start,
    /// The reply to the call the step issued.
    Reply(Reply),
    /// The answer to the consultation the step asked for.
    Consulted(Consulted),
    /// The wait the step asked for is over.
    Woke,
}

impl Event {
    /// Takes the event, leaving `Start` (a finished child hands its parent a fresh start).
    pub fn take(&mut self) -> Event {
        std::mem::replace(self, Event::Start)
    }
}

/// What a step returns.
#[derive(Debug)]
pub enum Step<T> {
    /// It issued a call, a consultation or a wait and needs the next event.
    Pending,
    /// It finished.
    Done(T),
}
