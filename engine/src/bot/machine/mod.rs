//! The bot machine: one bot's whole trading sequence, sans-IO, in the quinn-proto shape.
//! Inputs go in through `on_*` methods; what to do next comes out of [`Machine::poll`] as
//! [`Effect`]s, which the driver (the Durable Object, the backtester, the test harness) performs
//! in order, feeding results back in:
//!
//! ```text
//! machine.on_signal(input, now)?;                 // or on_flatten / on_tick
//! while let Some(effect) = machine.poll() {
//!     match effect {
//!         Effect::Persist(batch) => journal.commit(batch)?,        // before anything else
//!         Effect::Send { call_id, op } => {                        // later (async): ...
//!             let reply = link.call(op).await;                     // exchange-call machine
//!             machine.on_reply(call_id, reply)?;
//!         }
//!         Effect::Consult { call_id, need } => machine.on_consulted(call_id, run(need).await)?,
//!         Effect::Wait { until_ms } => set_alarm(until_ms),        // then on_tick(now)
//!         Effect::Answer(a) => respond(a),
//!     }
//! }
//! ```
//!
//! The contract (each point has its test in `tests/contract.rs`):
//! 1. a durable intent's `Persist` is polled before the `Send` that depends on it, and the
//!    driver commits it before polling on;
//! 2. no batch spans a `Wait` (or a `Send`): whatever is staged is flushed before either;
//! 3. one execution at a time: a signal or flatten that arrives while one runs is claimed at
//!    once (and refused at once when the whitelist refuses it) and executed in arrival order
//!    after the running one, as the DO's execution lock queues it today;
//! 4. an ambiguous placement is resolved by querying its client order id, never by sending
//!    the order again;
//! 5. no reply makes the machine panic: a reply nobody awaits is refused with a typed
//!    [`MachineError`]; an unexpected or malformed answer becomes the order's failure.

mod apply;
mod book;
mod cancel;
mod ctx;
mod effect;
mod execute;
mod exits;
mod facts;
mod failure;
mod fees;
mod flatten;
mod input;
mod limits;
mod moved;
mod place;
mod poll;
mod refresh;
mod requery;
mod settle;
mod upkeep;

#[cfg(test)]
mod harness;
#[cfg(test)]
mod scripted;
#[cfg(test)]
mod tests;

/// The one failure type of a venue call (the exchange-call machine's), as replies carry it.
pub use crate::venue::CallFailure;
pub use apply::{ledger_entries, Learnt};
pub use book::{Book, ExitRecord, ExitState, Flags, Snapshot};
pub use effect::{
    AlertChange, Answer, Batch, CallId, CancelReport, Cleared, Effect, FlattenReport,
    InstrumentClose, Need, Placed, Record, SignalOutcome,
};
pub use input::{Consulted, FactsInput, MachineError, Reply, SignalInput};

use crate::audit::Actor;
use crate::config::BotConfig;
use crate::ids::Symbol;
use crate::model::{BotMode, InstrumentRules};
use ctx::{Awaited, Ctx, Event, Io, Step};
use execute::Execution;
use flatten::Flatten;
use std::collections::{BTreeMap, VecDeque};
use upkeep::Upkeep;

/// A request waiting for its turn, or running.
#[derive(Debug)]
enum Job {
    Signal(Box<Execution>),
    Flatten(Box<Flatten>),
    /// The tick's upkeep: the order poll, then the exit refresh (answers nothing).
    Upkeep(Box<Upkeep>),
}

/// How often an idle machine polls its orders and exits on a tick.
pub const REFRESH_EVERY_MS: i64 = 60_000;

/// One bot's machine.
#[derive(Debug)]
pub struct Machine {
    config: BotConfig,
    book: Book,
    io: Io,
    queue: VecDeque<Job>,
    running: Option<Job>,
    rules: BTreeMap<Symbol, (i64, InstrumentRules)>,
    now: i64,
    last_refresh_ms: Option<i64>,
}

impl Machine {
    /// A machine for `config`, starting from the stored `snapshot` at `now_ms`.
    pub fn new(config: BotConfig, snapshot: Snapshot, now_ms: i64) -> Self {
        Self {
            book: Book::new(snapshot, now_ms),
            config,
            io: Io::default(),
            queue: VecDeque::new(),
            running: None,
            rules: BTreeMap::new(),
            now: now_ms,
            last_refresh_ms: None,
        }
    }

    /// The machine's state (ledger, flags, open orders, exits), for views and tests.
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// Whether an execution is running (a second request now waits its turn).
    pub fn is_busy(&self) -> bool {
        self.running.is_some()
    }

    /// Requests waiting for their turn.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is staged for a batch (a batch never stays open across an effect).
    pub fn nothing_staged(&self) -> bool {
        self.io.nothing_staged()
    }

    /// The next effect to perform, in order; `None` when the machine waits for an input.
    pub fn poll(&mut self) -> Option<Effect> {
        self.io.out.pop_front()
    }

    /// An operator (or the platform) changed the flags: the machine's copy follows, so a
    /// later batch never writes back an older copy.
    pub fn on_flags(&mut self, flags: Flags) {
        self.book.flags = flags;
    }

    /// Ledger entries booked outside the machine's flows (the tick's marks, funding, capital
    /// transfers) join the machine's ledger, persisted in one batch, then the loss-limit pause
    /// is checked. Returns the entries the ledger refused, with why.
    pub fn on_ledger_entries(
        &mut self,
        entries: Vec<crate::ledger::LedgerEntry>,
        now_ms: i64,
    ) -> Vec<(crate::ledger::LedgerEntry, crate::ledger::LedgerError)> {
        self.now = self.now.max(now_ms);
        let mut cx = self.ctx(&Actor::System);
        limits::book_outside(&mut cx, entries)
    }

    /// An admitted, deduplicated signal arrives: it is claimed at once (persisted with its
    /// received and accepted events), refused at once when outside the whitelist, else
    /// executed now or after the running execution.
    pub fn on_signal(&mut self, input: SignalInput, now_ms: i64) {
        self.now = self.now.max(now_ms);
        let mut cx = self.ctx(&input.actor);
        execute::claim(&mut cx, &input);
        if let Some(rej) = execute::early_refusal(cx.book, cx.config, &input, cx.now) {
            execute::refuse(&mut cx, &input.parsed.signal_id, &input.actor, rej);
            return;
        }
        self.queue
            .push_back(Job::Signal(Box::new(Execution::new(input))));
        self.advance(Event::Start);
    }

    /// An operator (or the platform halt) asks to flatten the bot; it runs in its turn.
    pub fn on_flatten(&mut self, actor: Actor, reason: Option<String>, now_ms: i64) {
        self.now = self.now.max(now_ms);
        self.queue
            .push_back(Job::Flatten(Box::new(Flatten::new(actor, reason))));
        self.advance(Event::Start);
    }

    /// The result of call `call_id`.
    ///
    /// # Errors
    /// [`MachineError::UnexpectedReply`] when no such call is awaited, or it awaits a
    /// consultation's answer (nothing changes).
    pub fn on_reply(&mut self, call_id: CallId, mut reply: Reply) -> Result<(), MachineError> {
        if self.io.awaiting != Some((call_id, Awaited::Reply)) || self.running.is_none() {
            return Err(MachineError::UnexpectedReply(call_id));
        }
        self.io.awaiting = None;
        self.now = self.now.max(reply.at_ms);
        self.io.keep_trail(std::mem::take(&mut reply.trail));
        self.advance(Event::Reply(reply));
        Ok(())
    }

    /// The answer to consultation `call_id`.
    ///
    /// # Errors
    /// [`MachineError::UnexpectedReply`] when no such consultation is awaited (a venue call's
    /// id included; nothing changes).
    pub fn on_consulted(&mut self, call_id: CallId, answer: Consulted) -> Result<(), MachineError> {
        if self.io.awaiting != Some((call_id, Awaited::Consulted)) || self.running.is_none() {
            return Err(MachineError::UnexpectedReply(call_id));
        }
        self.io.awaiting = None;
        self.advance(Event::Consulted(answer));
        Ok(())
    }

    /// Time passes: a wait that is over wakes the running execution; an idle machine (at most
    /// every [`REFRESH_EVERY_MS`]) polls its working and unresolved orders, then looks for fired
    /// exits and books their stop-outs.
    pub fn on_tick(&mut self, now_ms: i64) {
        self.now = self.now.max(now_ms);
        match self.io.wake_at {
            Some(at) if self.now >= at => {
                self.io.wake_at = None;
                self.advance(Event::Woke);
            }
            Some(_) => {}
            None => {
                let due = self
                    .last_refresh_ms
                    .is_none_or(|t| self.now - t >= REFRESH_EVERY_MS);
                if self.running.is_none() && self.queue.is_empty() && due {
                    self.last_refresh_ms = Some(self.now);
                    let mut cx = self.ctx(&Actor::System);
                    let upkeep = Upkeep::new(&mut cx);
                    self.queue.push_back(Job::Upkeep(Box::new(upkeep)));
                    self.advance(Event::Start);
                }
            }
        }
    }

    fn paper(&self) -> bool {
        self.config.mode == BotMode::Paper
    }

    /// The context a step works in, acting for `actor`.
    fn ctx<'a>(&'a mut self, actor: &'a Actor) -> Ctx<'a> {
        Ctx {
            config: &self.config,
            paper: self.config.mode == BotMode::Paper,
            book: &mut self.book,
            io: &mut self.io,
            now: self.now,
            actor,
            rules: &mut self.rules,
        }
    }

    /// Runs the current job with `ev`; when it ends, persists and answers it, then starts the
    /// next one in the queue.
    fn advance(&mut self, mut ev: Event) {
        loop {
            // A new request waits while one runs: only its awaited event moves the running job.
            if self.running.is_some() && matches!(ev, Event::Start) {
                return;
            }
            let mut job = match self.running.take() {
                Some(j) => j,
                None => match self.queue.pop_front() {
                    Some(j) => {
                        ev = Event::Start;
                        j
                    }
                    None => return,
                },
            };
            let paper = self.paper();
            let actor = match &job {
                Job::Signal(e) => e.actor().clone(),
                Job::Flatten(f) => f.actor().clone(),
                Job::Upkeep(_) => Actor::System,
            };
            let mut cx = Ctx {
                config: &self.config,
                paper,
                book: &mut self.book,
                io: &mut self.io,
                now: self.now,
                actor: &actor,
                rules: &mut self.rules,
            };
            let finished = match &mut job {
                Job::Signal(e) => match e.step(&mut cx, ev.take()) {
                    Step::Pending => false,
                    Step::Done(outcome) => {
                        let id = e.signal_id().clone();
                        match outcome {
                            SignalOutcome::Rejected(rej) => {
                                execute::reject(&mut cx, &id, &actor, rej)
                            }
                            other => execute::finish(&mut cx, &id, other),
                        }
                        true
                    }
                },
                Job::Flatten(f) => match f.step(&mut cx, ev.take()) {
                    Step::Pending => false,
                    Step::Done(report) => {
                        cx.io.answer(Answer::Flatten(Box::new(report)));
                        true
                    }
                },
                Job::Upkeep(u) => match u.step(&mut cx, ev.take()) {
                    Step::Pending => false,
                    Step::Done(_) => {
                        cx.io.drain_trail(None, None);
                        cx.io.flush();
                        true
                    }
                },
            };
            if !finished {
                self.running = Some(job);
                return;
            }
            ev = Event::Start;
        }
    }
}
