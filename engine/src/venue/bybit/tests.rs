//! Bybit adapter tests (being written).
