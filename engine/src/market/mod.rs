//! Market data as the strategies and the backtester read it: OHLCV bars of one [`Timeframe`],
//! gap detection, exact resampling to a higher timeframe and the CSV loader. Its own module (not
//! part of [`crate::backtest`]) because the venues' kline reads, the factors, the strategies, the
//! regimes and the history store all speak in bars, and none of them should depend on the
//! backtester to do so. Not to be confused with [`crate::model::Market`] (spot or futures).

mod bar;

pub use bar::{gaps, load_csv, resample, Bar, DataError, Gap, Timeframe};
