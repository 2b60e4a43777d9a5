//! (strategy: being built)
