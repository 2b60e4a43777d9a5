//! (backtest: being built)
