//! (risk: being built)
