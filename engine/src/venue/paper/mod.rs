//! Paper venue (being built).
