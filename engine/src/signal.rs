//! (signal: being built)
