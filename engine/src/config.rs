//! (config: being built)
