//! The bot machine on the bar clock: a backtest whose bot has exits (stop-loss / take-profit)
//! runs each signal through the same [`Machine`] a live or paper bot's Durable Object drives,
//! so exits, one-cancels-the-other legs, clearing before a close, rejection counting and the
//! automatic pauses follow one implementation in backtest, paper and live.
//!
//! This module is the driver: it answers the machine's `Send`s with the backtest's
//! [`PaperVenue`] (the paper book's fill rules, the one exit rule of
//! [`crate::venue::paper::exits`]), its consultations at once (a backtest is never halted and
//! has nothing to reconcile), wakes it after its waits on the virtual clock, and "commits" each
//! persisted batch by handing its ledger entries, booked fills and exit rows to the backtester,
//! which books the entries into its own ledger in order: that ledger equals the machine's.

use crate::audit::Actor;
use crate::bot::machine::{
    Answer, Consulted, Effect, ExitRecord, ExitState, FactsInput, Machine, Need, Placed, Record,
    Reply, SignalInput, SignalOutcome, Snapshot,
};
use crate::bot::MarketFacts;
use crate::config::{BotConfig, SignalSource};
use crate::ledger::{Ledger, LedgerEntry};
use crate::model::{BotMode, Fill};
use crate::signal::ParsedSignal;
use crate::venue::clock::ServerClock;
use crate::venue::op::{ExitKind, VenueOp, VenueReply};
use crate::venue::paper::PaperVenue;
use crate::venue::{BuildCtx, CallFailure, Planned, Venue, VenueError};
use std::collections::BTreeMap;

/// Effects one drive can take before the backtest stops as stuck (a machine never needs
/// nearly as many for one signal or one refresh).
const MAX_EFFECTS: usize = 100_000;

/// Why a drive stopped: the machine refused an input of the driver or did not settle (a bug,
/// never skipped; the backtest reports it as `BacktestError::Machine`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DriveError(pub String);

/// What the machine committed during one drive, in order.
#[derive(Debug, Default)]
pub(super) struct Committed {
    /// Ledger entries to book, in order (fills, marks).
    pub entries: Vec<LedgerEntry>,
    /// Fills booked, in order, with the exit that sent each (stop-loss / take-profit), if any.
    pub fills: Vec<(Fill, Option<ExitKind>)>,
    /// Refusals to report: `(status, code)`.
    pub refused: Vec<(u16, String)>,
}

/// The machine of a backtested bot and what the driver needs to answer it.
pub(super) struct Driven {
    machine: Machine,
    clock: ServerClock,
    /// Placements the venue refuses before answering (tests: a rejection storm).
    pub refuse_places: u32,
}

impl std::fmt::Debug for Driven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driven")
            .field("busy", &self.machine.is_busy())
            .finish()
    }
}

impl Driven {
    /// A paper bot's machine for `bot`, starting with `ledger` (the capital booked) at `now_ms`;
    /// its fills are attributed to `tag` (the strategy version), as the backtest's are.
    pub fn new(bot: &BotConfig, tag: &str, ledger: Ledger, now_ms: i64) -> Self {
        let mut config = bot.clone();
        config.mode = BotMode::Paper;
        // The machine attributes fills to the configured strategy: the version run here.
        config.source = SignalSource::Strategy;
        config.strategy = Some(tag.to_string());
        config.strategy_spec = None;
        let snapshot = Snapshot::fresh(ledger, now_ms);
        Self {
            machine: Machine::new(config, snapshot, now_ms),
            clock: ServerClock::new(),
            refuse_places: 0,
        }
    }

    /// The machine's flags (pause, rejection count).
    #[cfg(test)]
    pub fn flags(&self) -> &crate::bot::machine::Flags {
        self.machine.book().flags()
    }

    /// Runs one decided signal through the machine at `now_ms` with the `facts` the backtest
    /// already has.
    pub fn signal(
        &mut self,
        venue: &mut PaperVenue,
        parsed: ParsedSignal,
        facts: MarketFacts,
        now_ms: i64,
    ) -> Result<Committed, DriveError> {
        let input = SignalInput {
            parsed,
            received_ms: now_ms,
            actor: Actor::System,
            source: "backtest".into(),
            facts: FactsInput::Known(facts),
        };
        self.machine.on_signal(input, now_ms);
        self.drive(venue, now_ms)
    }

    /// Ledger entries booked outside the machine's flows (the bar's marks), then its
    /// loss-limit check, as a live bot's tick books them.
    pub fn book(
        &mut self,
        venue: &mut PaperVenue,
        entries: Vec<LedgerEntry>,
        now_ms: i64,
    ) -> Result<Committed, DriveError> {
        if let Some((e, why)) = self.machine.on_ledger_entries(entries, now_ms).pop() {
            return Err(DriveError(format!("ledger refused {e:?}: {why}")));
        }
        self.drive(venue, now_ms)
    }

    /// The venue's prices moved through exits: the machine's refresh books what fired now.
    pub fn exits_moved(
        &mut self,
        venue: &mut PaperVenue,
        now_ms: i64,
    ) -> Result<Committed, DriveError> {
        self.machine.on_exits_moved(now_ms);
        self.drive(venue, now_ms)
    }

    /// Performs the machine's effects until it waits for an input the backtest does not make.
    fn drive(&mut self, venue: &mut PaperVenue, now_ms: i64) -> Result<Committed, DriveError> {
        let mut out = Committed::default();
        let mut exits: BTreeMap<String, ExitKind> = BTreeMap::new();
        let mut now = now_ms;
        for _ in 0..MAX_EFFECTS {
            let Some(effect) = self.machine.poll() else {
                return Ok(out);
            };
            match effect {
                Effect::Persist(batch) => {
                    // The exit rows first: the fills they sent are in the same batch.
                    for r in &batch.records {
                        if let Record::Exit(e) = r {
                            if matches!(e.state, ExitState::Filled | ExitState::Fired) {
                                exits.insert(e.id().to_string(), e.kind());
                            }
                        }
                    }
                    for r in batch.records {
                        match r {
                            Record::Ledger(e) => out.entries.push(*e),
                            Record::Fill { booked, .. } => {
                                let fill = booked.fill;
                                let reason = fill
                                    .client_order_id
                                    .as_ref()
                                    .and_then(|c| exits.get(c.as_str()).copied());
                                out.fills.push((fill, reason));
                            }
                            _ => {}
                        }
                    }
                }
                Effect::Send { call_id, op } => {
                    let result = self.answer(venue, &op, now);
                    self.machine
                        .on_reply(call_id, Reply::ok_or(result, now))
                        .map_err(|e| DriveError(e.to_string()))?;
                }
                Effect::Consult { call_id, need } => {
                    let answer = match need {
                        Need::PlatformHalt => Consulted::Platform { halted: false },
                        Need::Reconcile => Consulted::Reconciled {
                            ledger: Box::new(self.machine.book().ledger().clone()),
                            flags: self.machine.book().flags().clone(),
                            at_ms: now,
                        },
                    };
                    self.machine
                        .on_consulted(call_id, answer)
                        .map_err(|e| DriveError(e.to_string()))?;
                }
                Effect::Wait { until_ms } => {
                    // The virtual clock moves to the wake-up (a paper answer never needs one).
                    now = now.max(until_ms);
                    self.machine.on_tick(now);
                }
                Effect::Answer(Answer::Signal { outcome, .. }) => {
                    refusals(&outcome, &mut out.refused)
                }
                Effect::Answer(Answer::Flatten(_)) => {}
            }
        }
        Err(DriveError(format!(
            "the bot machine did not settle in {MAX_EFFECTS} effects"
        )))
    }

    /// The paper venue's answer to `op` (placements refused while `refuse_places` lasts).
    fn answer(
        &mut self,
        venue: &mut PaperVenue,
        op: &VenueOp,
        now_ms: i64,
    ) -> Result<VenueReply, CallFailure> {
        let places = matches!(
            op,
            VenueOp::PlaceOrder(_) | VenueOp::PlaceProtectedOrder { .. }
        );
        if places && self.refuse_places > 0 {
            self.refuse_places -= 1;
            return Err(CallFailure::Venue(VenueError::Rejected {
                code: -2010,
                msg: "Order rejected (backtest test hook).".into(),
            }));
        }
        let ctx = BuildCtx {
            creds: None,
            clock: &self.clock,
            now_ms,
            base_url: "",
        };
        match venue.build(op, &ctx) {
            Ok(Planned::Immediate(reply)) => Ok(reply),
            Ok(Planned::Http(_)) => Err(CallFailure::Internal("paper asked for I/O".into())),
            Err(e) => Err(CallFailure::Venue(e)),
        }
    }
}

/// The refusals a signal's outcome reports: the signal's own, each order that failed, each exit
/// the venue refused (the entry stands, as live).
fn refusals(outcome: &SignalOutcome, out: &mut Vec<(u16, String)>) {
    match outcome {
        SignalOutcome::Rejected(r) => out.push((r.status, r.code.clone())),
        SignalOutcome::Executed { orders, .. } => {
            for Placed { failed, exits, .. } in orders {
                if let Some(r) = failed {
                    out.push((r.status, r.code.clone()));
                }
                for e in exits.iter().filter(|e| e.state == ExitState::Rejected) {
                    out.push((502, exit_refusal(e)));
                }
            }
        }
        SignalOutcome::NothingToDo | SignalOutcome::CancelAll(_) => {}
    }
}

fn exit_refusal(e: &ExitRecord) -> String {
    format!("exit: {}", e.error.as_deref().unwrap_or("refused"))
}
