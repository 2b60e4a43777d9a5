//! Insights (issue 24, FT-160): Keel's own numbers turned into alerts an operator reads, computed
//! by rules from facts, never invented.
//!
//! - [`anomaly`]: execution-quality anomalies (slippage, latency, rejections per venue and
//!   symbol) by robust z-scores and CUSUM.

pub mod anomaly;

pub use anomaly::{Anomaly, AnomalyConfig, AnomalyKind, ExecMetric, ExecMonitor, ExecSample};
