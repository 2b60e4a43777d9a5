//! What the machine asks its driver to do ([`Effect`]): commit a [`Batch`], send a venue
//! operation, wake it later, or answer a request. Plain data: the driver maps records to its
//! storage, operations to its exchange link, answers to its protocol.

use super::book::{ExitRecord, Flags};
use crate::alert::{Alert, AlertKind};
use crate::audit::AuditDraft;
use crate::bot::Rejection;
use crate::ids::{ClientOrderId, SignalId, Symbol};
use crate::ledger::{BookedFill, LedgerEntry};
use crate::order::Order;
use crate::venue::VenueOp;
use rust_decimal::Decimal;
use serde::Serialize;

/// The id of one venue call the machine is waiting for: a reply names it, so a late or foreign
/// reply is recognised and refused instead of being applied to the wrong step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CallId(pub u64);

/// One instruction to the driver, polled in order with [`super::Machine::poll`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Commit these records atomically before polling again: a later `Send` depends on them
    /// being durable (the intent before its request).
    Persist(Batch),
    /// Perform this venue operation (through the exchange-call machine) and hand the result
    /// to [`super::Machine::on_reply`] with the same id.
    Send {
        /// Names the reply.
        call_id: CallId,
        /// What to do.
        op: VenueOp,
    },
    /// Run a procedure outside the venue link (reconciliation, the platform's halt state) and
    /// hand the result to [`super::Machine::on_consulted`].
    Consult {
        /// Names the answer.
        call_id: CallId,
        /// What is needed.
        need: Need,
    },
    /// Call [`super::Machine::on_tick`] at or after this time (local ms); nothing else
    /// progresses the current execution before then.
    Wait {
        /// When to wake the machine.
        until_ms: i64,
    },
    /// The final outcome of a request (a signal, a flatten), after every record of it was
    /// persisted.
    Answer(Answer),
}

/// A procedure the machine needs from its driver that is not a venue call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Reconcile with the exchange before trading (the bot traded before and its last
    /// reconciliation is stale); answer with the ledger and flags it left.
    Reconcile,
    /// Confirm the platform's halt state (a bot that missed the halt push must not trade).
    PlatformHalt,
}

/// Records to commit together, with their audit drafts and alert changes (one journal).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Rows to store, in order.
    pub records: Vec<Record>,
    /// Audit drafts to seal into the chain, in order.
    pub audit: Vec<AuditDraft>,
    /// Alerts to raise or resolve.
    pub alerts: Vec<AlertChange>,
}

impl Batch {
    /// Whether there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.audit.is_empty() && self.alerts.is_empty()
    }
}

/// One stored fact, typed (the driver owns the table layout).
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A signal id is claimed: it is being executed (dedupe sees it from now on).
    SignalClaimed {
        /// The signal.
        signal_id: SignalId,
        /// When it was received.
        received_ms: i64,
    },
    /// A signal's final outcome.
    SignalOutcome {
        /// The signal.
        signal_id: SignalId,
        /// What it produced.
        outcome: Box<SignalOutcome>,
    },
    /// An order (inserted or updated by client order id).
    Order {
        /// The record.
        order: Box<Order>,
        /// The signal that placed it.
        signal_id: Option<SignalId>,
    },
    /// An exchange-side exit (inserted or updated by client order id).
    Exit(Box<ExitRecord>),
    /// A ledger entry (insert once by its key).
    Ledger(Box<LedgerEntry>),
    /// A booked fill for the fills view (insert once by symbol and trade id).
    Fill {
        /// The fill with its realized P&L and fee.
        booked: Box<BookedFill>,
        /// The signal it belongs to.
        signal_id: Option<SignalId>,
    },
    /// One point of the equity curve.
    Equity {
        /// When.
        time_ms: i64,
        /// Equity.
        equity: Decimal,
        /// Drawdown from the peak.
        drawdown: Decimal,
    },
    /// The bot's operational flags (pause, halt, rejections).
    Flags(Flags),
}

/// An alert change, staged with the batch that caused it.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertChange {
    /// Raise (or refresh) an alert.
    Raise(Alert),
    /// Resolve the alert of this kind and subject.
    Resolve(AlertKind, String),
}

/// The answer to one request, sent after its records were persisted.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A signal's outcome.
    Signal {
        /// The signal answered.
        signal_id: SignalId,
        /// Its outcome.
        outcome: Box<SignalOutcome>,
    },
    /// A flatten's report.
    Flatten(Box<FlattenReport>),
}

/// What a signal produced. Refusals carry the existing [`Rejection`] (its status is mapped to
/// HTTP by the Worker, as today; the mapping belongs in the Worker's one error table).
#[derive(Debug, Clone, PartialEq)]
pub enum SignalOutcome {
    /// Orders were placed (some may have failed; not all).
    Executed {
        /// One entry per order, in placing order.
        orders: Vec<Placed>,
        /// Exits cleared before a close, when any.
        exits_cleared: Option<Cleared>,
    },
    /// Already at the requested position.
    NothingToDo,
    /// A `cancel_all` signal's report.
    CancelAll(CancelReport),
    /// Refused (before or during execution); every order attempt is in `detail`.
    Rejected(Rejection),
}

/// What happened to one order.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// The order record as last persisted.
    pub order: Order,
    /// Exits recorded for it (attached to the entry, or placed after its fill).
    pub exits: Vec<ExitRecord>,
    /// Why the order was not placed (or its outcome is unknown).
    pub failed: Option<Rejection>,
}

/// What clearing a symbol's exits did before a close.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Exits now cancelled at the exchange.
    pub cancelled: Vec<ClientOrderId>,
    /// Exits the exchange no longer knows (fired or ended).
    pub gone: Vec<ClientOrderId>,
    /// Exits still resting because their cancel failed, with the reason.
    pub failed: Vec<(ClientOrderId, String)>,
}

impl Cleared {
    /// Whether nothing was attempted.
    pub fn is_empty(&self) -> bool {
        self.cancelled.is_empty() && self.gone.is_empty() && self.failed.is_empty()
    }
}

/// A cancel-all's report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CancelReport {
    /// Per symbol: whether the cancel-all call succeeded, and its error.
    pub cancels: Vec<(Symbol, Option<String>)>,
    /// Each working order after the exchange's word on it.
    pub orders: Vec<Order>,
    /// Orders whose final state is still unknown (left `cancel_sent` for the poll).
    pub pending: Vec<(ClientOrderId, String)>,
}

/// A flatten's report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlattenReport {
    /// Whether every instrument ended flat (or dust).
    pub flat: bool,
    /// The cancel-all part.
    pub cancels: CancelReport,
    /// Per instrument: what the close attempts did.
    pub instruments: Vec<InstrumentClose>,
    /// Time the flatten took (ms, machine clock).
    pub took_ms: i64,
}

/// The closing of one instrument in a flatten.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentClose {
    /// The symbol.
    pub symbol: Symbol,
    /// Flat (or only dust left).
    pub flat: bool,
    /// Position left (signed base quantity).
    pub position: Decimal,
    /// Dust left below one step, when that ended it.
    pub dust: Option<Decimal>,
    /// The close orders tried.
    pub attempts: Vec<Placed>,
    /// Last failure, when not flat.
    pub error: Option<String>,
}
