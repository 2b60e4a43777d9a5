//! Orders: the lifecycle state machine (one exhaustive table) and the per-order record that
//! applies fills idempotently. Pure: the Durable Object feeds it events and stores the result.

mod record;
mod recovery;
mod state;

pub use record::{FillApplied, Order, OrderError};
pub use recovery::{
    interrupted_signal, refresh_action, InterruptedSignal, RefreshAction, LOST_ANSWER_EVENT,
};
pub use state::{InvalidTransition, OrderEvent, OrderStatus};
