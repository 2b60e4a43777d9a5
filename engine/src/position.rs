//! (position: being built)
