//! Scenario tests of the bot machine through the deterministic harness.

mod contract;
mod moved;
mod paper;
mod poll;
mod scenarios;
mod stop_out;
