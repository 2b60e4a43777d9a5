//! What the driver hands the machine: an admitted signal (with the market facts it already
//! has), the result of a venue call, the answer to a consultation, and the machine's refusals
//! of inputs it cannot take ([`MachineError`]).

use super::book::Flags;
use super::effect::CallId;
use crate::audit::{Actor, AuditDraft};
use crate::bot::{MarketFacts, Rejection};
use crate::ledger::Ledger;
use crate::model::InstrumentRules;
use crate::signal::ParsedSignal;
use crate::venue::{CallFailure, VenueReply};

/// An admitted, deduplicated signal (the driver keeps the 24 h dedupe claims: they are a
/// storage lookup).
#[derive(Debug, Clone)]
pub struct SignalInput {
    /// The validated alert and its id.
    pub parsed: ParsedSignal,
    /// When it was received (ms).
    pub received_ms: i64,
    /// The actor of its audit events.
    pub actor: Actor,
    /// What its `signal_received` event records as source (caller address, `strategy:<v>`).
    pub source: String,
    /// Market facts the driver already has; `Fetch` makes the machine ask the venue.
    pub facts: FactsInput,
}

/// Market facts for a signal: known already, or to be fetched by the machine.
#[derive(Debug, Clone)]
pub enum FactsInput {
    /// Price and rules are known (the backtester, a strategy bot that just read them).
    Known(MarketFacts),
    /// Fetch them: the instrument rules unless the driver has a fresh cached copy, then the
    /// ticker.
    Fetch {
        /// The driver's cached rules of the symbol, when fresh.
        cached_rules: Option<InstrumentRules>,
    },
}

/// The result of one venue call, as the exchange-call machine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The answer, or why there is none. A placement whose answer was lost is resolved by the
    /// exchange-call machine (by querying its client id, the one ambiguity resolver); what it
    /// could not settle arrives as [`CallFailure::Unknown`] and stays unknown for the poll.
    pub result: Result<VenueReply, CallFailure>,
    /// Audit drafts of the requests and responses the call made (committed with the outcome,
    /// correlated with its signal and order by the machine).
    pub trail: Vec<AuditDraft>,
    /// When the reply arrived (local ms): the machine's clock moves with it.
    pub at_ms: i64,
}

impl Reply {
    /// A successful reply with no trail.
    pub fn ok(reply: VenueReply, at_ms: i64) -> Self {
        Self {
            result: Ok(reply),
            trail: Vec::new(),
            at_ms,
        }
    }

    /// A reply with no trail from a result.
    pub fn ok_or(result: Result<VenueReply, CallFailure>, at_ms: i64) -> Self {
        Self {
            result,
            trail: Vec::new(),
            at_ms,
        }
    }

    /// A failed reply with no trail.
    pub fn failed(failure: CallFailure, at_ms: i64) -> Self {
        Self {
            result: Err(failure),
            trail: Vec::new(),
            at_ms,
        }
    }
}

/// The answer to a [`super::Need`].
#[derive(Debug, Clone)]
pub enum Consulted {
    /// Reconciliation ran: the ledger and flags it left (its own records are committed by it).
    Reconciled {
        /// The ledger after reconciliation.
        ledger: Box<Ledger>,
        /// The flags after reconciliation (it may set `needs_attention`).
        flags: Flags,
        /// When it ran.
        at_ms: i64,
    },
    /// The platform's halt state.
    Platform {
        /// Whether trading is halted platform-wide.
        halted: bool,
    },
    /// The procedure failed: the signal is refused with this rejection.
    Failed(Rejection),
}

/// An input the machine refuses (nothing changed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MachineError {
    /// A reply or answer for a call the machine is not waiting for (late, duplicated, foreign,
    /// or of the other kind: a venue reply for a consultation or the reverse).
    #[error("no call {0:?} is awaited")]
    UnexpectedReply(CallId),
}
