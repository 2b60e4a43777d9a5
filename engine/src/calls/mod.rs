//! The call logger (issue 24, FT-150): a tamper-evident record of what influencers and signal
//! channels called, and an honest score for each source.
//!
//! - [`model`]: a call's fields ([`CallFields`]), flags for what could not be read.
//! - [`grammar`]: [`parse_message`], the deterministic grammar of pasted channel messages (tokens
//!   from the `winnow` lexer in `lexer`); it flags what it cannot read and never guesses.
//! - [`log`]: sources, versioned calls hashed into a chain; the first version is the one scored.
//! - [`score`]: a call against exact candles (fill, slippage, fees, R, targets, MFE/MAE, expiry).
//! - [`leaderboard`]: sources ranked by a lower confidence bound of mean R.
//!
//! Pure like the rest of the engine: the caller stamps times and stores what comes out.

pub mod grammar;
pub mod leaderboard;
mod lexer;
pub mod log;
pub mod model;
pub mod score;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod score_tests;

pub use grammar::parse_message;
pub use leaderboard::{leaderboard, SourceStats};
pub use log::{CallInput, CallLog, CallLogError, CallOrigin, CallVersion};
pub use model::{CallField, CallFields, CallSide, Entry, Flag, Leverage, MarginMode, ParsedCall};
pub use score::{score_call, CallScore, ScoreParams, ScoreStatus};
