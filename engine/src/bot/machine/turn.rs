//! A signal claimed by one machine and executed by another: the Durable Object builds a machine
//! per request from storage, claims the signal (and answers a whitelist refusal) at once, before
//! it waits for the bot's turn, then executes it on a machine built from the storage as the turn
//! found it (an execution that ran meanwhile changed the ledger and the orders). The two halves
//! of [`Machine::on_signal`], so the claim is never made twice.

use super::ctx::Event;
use super::execute::{self, Execution};
use super::input::SignalInput;
use super::{Job, Machine};

impl Machine {
    /// Claims an admitted, deduplicated signal (persisted with its received and accepted
    /// events) and refuses it at once when outside the whitelist. Returns whether it goes on:
    /// when it does, the driver executes it in its turn with [`Machine::on_claimed_signal`].
    pub fn claim_signal(&mut self, input: &SignalInput, now_ms: i64) -> bool {
        self.now = self.now.max(now_ms);
        let mut cx = self.ctx(&input.actor);
        execute::claim(&mut cx, input);
        if let Some(rej) = execute::early_refusal(cx.book, cx.config, input, cx.now) {
            execute::refuse(&mut cx, &input.parsed.signal_id, &input.actor, rej);
            return false;
        }
        true
    }

    /// Executes a signal [`Machine::claim_signal`] already claimed (on this machine or an
    /// earlier one): now, or after the running execution.
    pub fn on_claimed_signal(&mut self, input: SignalInput, now_ms: i64) {
        self.now = self.now.max(now_ms);
        self.queue
            .push_back(Job::Signal(Box::new(Execution::new(input))));
        self.advance(Event::Start);
    }
}
