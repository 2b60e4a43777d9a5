//! Strategies (being built).
