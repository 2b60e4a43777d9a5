//! Backtesting over historical bars with the live code path (being built).

mod data;

pub use data::{gaps, load_csv, resample, Bar, DataError, Gap, Timeframe};
