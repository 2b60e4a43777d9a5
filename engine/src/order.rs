//! (order: being built)
