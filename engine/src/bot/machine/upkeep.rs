//! The idle machine's periodic work on a tick, in the DO's tick order: poll the working and
//! unresolved orders, then look for fired exits and book their stop-outs.

use super::ctx::{Ctx, Event, Step};
use super::poll::PollOrders;
use super::refresh::Refresh;

#[derive(Debug)]
enum Stage {
    Orders(PollOrders),
    Exits(Box<Refresh>),
}

/// One upkeep run (answers nothing; its batches are its result).
#[derive(Debug)]
pub struct Upkeep {
    stage: Option<Stage>,
}

impl Upkeep {
    /// A run starting with the order poll.
    pub fn new(cx: &mut Ctx<'_>) -> Self {
        Self {
            stage: Some(Stage::Orders(PollOrders::new(cx))),
        }
    }

    /// Advances; ends when both parts are done.
    pub fn step(&mut self, cx: &mut Ctx<'_>, mut ev: Event) -> Step<()> {
        loop {
            match self.stage.take() {
                None => return Step::Done(()),
                Some(Stage::Orders(mut p)) => match p.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Some(Stage::Orders(p));
                        return Step::Pending;
                    }
                    Step::Done(_) => {
                        self.stage = Refresh::new(cx).map(|r| Stage::Exits(Box::new(r)));
                    }
                },
                Some(Stage::Exits(mut r)) => match r.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Some(Stage::Exits(r));
                        return Step::Pending;
                    }
                    Step::Done(_) => return Step::Done(()),
                },
            }
        }
    }
}
