//! (audit: being built)
