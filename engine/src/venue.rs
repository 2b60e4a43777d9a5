//! (venue: being built)
