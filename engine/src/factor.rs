//! (factor: being built)
