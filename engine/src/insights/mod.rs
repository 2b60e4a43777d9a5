//! Insights (issue 24, FT-160): Keel's own numbers turned into alerts an operator reads, computed
//! by rules from facts, never invented.
//!
//! - [`anomaly`]: execution-quality anomalies (slippage, latency, rejections per venue and
//!   symbol) by robust z-scores and CUSUM.
//! - [`summary`]: the daily/weekly summary written by rules from a computed facts document, and
//!   the grounding check (no number outside the facts).
//! - [`model`]: the optional language-model summary, used only when it passes that check.

pub mod anomaly;
pub mod model;
pub mod summary;

pub use anomaly::{Anomaly, AnomalyConfig, AnomalyKind, ExecMetric, ExecMonitor, ExecSample};
pub use summary::{grounding_check, summarize, BotPeriod, Facts};
