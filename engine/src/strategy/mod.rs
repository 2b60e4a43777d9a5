//! Custom strategies: a [`Strategy`] reads closed bars through a read-only [`Context`] and
//! answers with [`Intent`]s (a target position, or an explicit order that the driver turns into
//! one). The same object runs in the backtester and in a strategy bot, and its intents always
//! go through the live sizing → risk → execution → ledger path as a `target` signal, so a
//! strategy has no way to trade around the bot's limits.
//!
//! Parameters are typed and validated against [`ParamSpec`]s (defaults and ranges); a
//! strategy's identity is its [`StrategyVersion`], whose id hashes name + code version +
//! parameters, so a parameter change is a new, separately attributable version.

mod composer;
pub mod live;
pub mod lookahead;
mod params;
mod registry;
pub mod spec;
mod templates;

pub use composer::{Composer, Leg};
pub use params::{ParamSpec, Params, StrategyVersion};
pub use registry::{Constructor, Registry};
pub use templates::{
    BollingerReversion, DonchianBreakout, MaCrossover, RsiReversion, VolTargetTrend,
};

use crate::ids::Symbol;
use crate::market::Bar;
use crate::model::{Fill, Side};
use rust_decimal::Decimal;

/// What a strategy sees on a bar close. Read-only: it cannot change the bot's state.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The instrument traded.
    pub symbol: &'a Symbol,
    /// Every closed bar so far, the current one last.
    pub bars: &'a [Bar],
    /// The bot's position (base quantity, signed) as the ledger has it.
    pub position: Decimal,
    /// The bot's equity in quote as the ledger has it (at the last booked price).
    pub equity: Decimal,
}

impl Context<'_> {
    /// The bar that just closed.
    pub fn bar(&self) -> Option<&Bar> {
        self.bars.last()
    }
}

/// Where a strategy wants to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Signed fraction of equity as notional (1.0 = fully long, −0.5 = half short). Weight maths,
    /// not money: the driver converts it to an exact quantity with `Decimal`.
    Exposure(f64),
    /// Exact signed base quantity.
    Qty(Decimal),
}

/// A strategy's answer for one instrument.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Trade to this position.
    Target {
        /// Instrument.
        symbol: Symbol,
        /// Target.
        target: Target,
    },
    /// Trade this quantity now; the driver sends it as `target = position ± qty`.
    Order {
        /// Instrument.
        symbol: Symbol,
        /// Direction.
        side: Side,
        /// Base quantity, positive.
        qty: Decimal,
    },
}

/// Why a strategy could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrategyError {
    /// No strategy registered under this name.
    #[error("strategy {0:?} is not registered")]
    Unknown(String),
    /// A parameter the strategy does not have.
    #[error("params.{name}: unknown parameter of {strategy}")]
    UnknownParam {
        /// Strategy name.
        strategy: String,
        /// Parameter.
        name: String,
    },
    /// A parameter outside its range, not finite, or not a whole number where one is needed.
    #[error("params.{name}: {value} {reason}")]
    BadParam {
        /// Parameter.
        name: String,
        /// Value given.
        value: f64,
        /// Why.
        reason: String,
    },
    /// A declarative spec with problems, each naming its path in the document.
    #[error("spec: {}", .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "))]
    Spec(Vec<spec::SpecIssue>),
    /// A composer without legs or with unusable weights.
    #[error("composer.{field}: {reason}")]
    Composer {
        /// Field.
        field: String,
        /// Why.
        reason: String,
    },
}

/// A trading strategy. Implementations keep their factors as state (O(1) per bar).
pub trait Strategy: std::fmt::Debug {
    /// Its immutable identity (name, code version, parameters, id).
    fn version(&self) -> &StrategyVersion;

    /// Bars its factors need before the first target: a live bot fetches a multiple of this
    /// (see [`live::fetch_limit`]) so its replay warms up like the backtest did.
    fn warm_up(&self) -> usize;

    /// Bars after which its factors no longer depend on where the bars began
    /// ([`crate::factor::Factor::history`]): a live bot replays at least this many (one page
    /// allowing) so that its smoothing factors hold the backtest's values, not their seed's.
    fn history(&self) -> usize {
        self.warm_up()
    }

    /// Called once per closed bar; returns intents (empty = keep the current target).
    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent>;

    /// Called for each fill booked for this strategy's orders.
    fn on_fill(&mut self, _fill: &Fill) {}

    /// The instruments a multi-series strategy reads and trades, in feed order. Empty (the
    /// default) for a strategy of one instrument, driven through [`Strategy::on_bar`]; a
    /// non-empty list means the drivers (backtester, live bot) step it with [`Strategy::on_step`].
    fn feeds(&self) -> &[Symbol] {
        &[]
    }

    /// Multi-series step: each feed's newest closed base bar (same open time, feed order); the
    /// exposure held per feed after it (`None` while undecided). Unused for one instrument.
    fn on_step(&mut self, _latest: &[Bar]) -> &[Option<f64>] {
        &[]
    }
}
