//! A driver that sees the market move through an exit (a paper venue's observation of a bar, a
//! stream's fill event) tells the machine at once, instead of waiting for the next due tick:
//! [`Machine::on_exits_moved`] runs the tick's upkeep now (the order poll, then the exit refresh
//! that books a stop-out), so the stop-out is booked before the next decision, as a bar-clocked
//! backtest needs.

use super::ctx::Event;
use super::upkeep::Upkeep;
use super::{Job, Machine};
use crate::audit::Actor;

impl Machine {
    /// Exits may have fired at `now_ms`: the upkeep (order poll, exit refresh) runs in its turn,
    /// now when the machine is idle, else after the running and queued requests. Nothing is
    /// queued when an upkeep already waits for its turn.
    pub fn on_exits_moved(&mut self, now_ms: i64) {
        self.now = self.now.max(now_ms);
        if self.queue.iter().any(|j| matches!(j, Job::Upkeep(_))) {
            return;
        }
        self.last_refresh_ms = Some(self.now);
        let mut cx = self.ctx(&Actor::System);
        let upkeep = Upkeep::new(&mut cx);
        self.queue.push_back(Job::Upkeep(Box::new(upkeep)));
        self.advance(Event::Start);
    }
}
