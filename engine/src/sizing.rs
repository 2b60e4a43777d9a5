//! (sizing: being built)
