//! Fault injection, armed over the admin API: delay, 5xx, dropped connection after processing,
//! and "reject the next order with code X". Each fault applies to the next `count` requests that
//! match its optional path and method, then disarms itself.

use serde::{Deserialize, Serialize};

/// What a fault does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Wait `ms` before handling the request; with `after: true` execute it first and wait
    /// before answering (the order exists while its client still waits: a client that dies in
    /// that window never hears it).
    Delay {
        /// Delay in milliseconds.
        ms: u64,
        /// Execute first, then wait before answering.
        #[serde(default)]
        after: bool,
    },
    /// Answer with this 5xx status. With `process: true` the request is executed first (the
    /// order exists, the client sees 5xx: status unknown); otherwise it is not executed.
    Error {
        /// HTTP status (500..=599).
        status: u16,
        /// Execute before failing.
        #[serde(default)]
        process: bool,
    },
    /// Execute the request, then close the connection without any response.
    Drop,
    /// Refuse the next order placement with this exchange code and message.
    Reject {
        /// Binance `code` or Bybit `retCode`.
        code: i64,
        /// Message.
        #[serde(default)]
        msg: Option<String>,
    },
}

/// One armed fault.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fault {
    /// Behaviour.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Exact path to match (all exchange paths when absent).
    #[serde(default)]
    pub path: Option<String>,
    /// Method to match (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Remaining requests it applies to.
    #[serde(default = "one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}

/// What the server must do for one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Actions {
    /// Sleep this long first.
    pub delay_ms: u64,
    /// Sleep this long after executing, before answering.
    pub delay_after_ms: u64,
    /// Answer 5xx (status, execute first).
    pub error: Option<(u16, bool)>,
    /// Drop the connection after executing.
    pub drop: bool,
}

/// Armed faults.
#[derive(Debug, Default)]
pub struct Faults {
    /// Faults in arming order.
    pub armed: Vec<Fault>,
}

/// True for the order-placement endpoints a `Reject` fault applies to by default.
pub fn is_order_placement(method: &str, path: &str) -> bool {
    method == "POST"
        && matches!(
            path,
            "/api/v3/order" | "/fapi/v1/order" | "/v5/order/create"
        )
}

impl Faults {
    fn matches(f: &Fault, method: &str, path: &str) -> bool {
        f.count > 0
            && f.path.as_deref().is_none_or(|p| p == path)
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }

    /// Consumes the delay/error/drop faults matching this request.
    pub fn take(&mut self, method: &str, path: &str) -> Actions {
        let mut a = Actions::default();
        for f in self.armed.iter_mut() {
            if !Self::matches(f, method, path) {
                continue;
            }
            match f.kind {
                FaultKind::Delay { ms, after: false } => a.delay_ms += ms,
                FaultKind::Delay { ms, after: true } => a.delay_after_ms += ms,
                FaultKind::Error { status, process } if a.error.is_none() => {
                    a.error = Some((status, process))
                }
                FaultKind::Drop if !a.drop => a.drop = true,
                _ => continue,
            }
            f.count -= 1;
        }
        self.armed.retain(|f| f.count > 0);
        a
    }

    /// Consumes a reject fault for an order placement, if one matches.
    pub fn take_reject(&mut self, method: &str, path: &str) -> Option<(i64, Option<String>)> {
        let found = self.armed.iter_mut().find(|f| {
            matches!(f.kind, FaultKind::Reject { .. })
                && Self::matches(f, method, path)
                && (f.path.is_some() || is_order_placement(method, path))
        })?;
        found.count -= 1;
        let out = match &found.kind {
            FaultKind::Reject { code, msg } => Some((*code, msg.clone())),
            _ => None,
        };
        self.armed.retain(|f| f.count > 0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_count_down_and_match_paths() {
        let mut f = Faults::default();
        f.armed.push(Fault {
            kind: FaultKind::Delay {
                ms: 50,
                after: false,
            },
            path: Some("/api/v3/order".into()),
            method: None,
            count: 2,
        });
        f.armed.push(Fault {
            kind: FaultKind::Reject {
                code: -2010,
                msg: None,
            },
            path: None,
            method: None,
            count: 1,
        });
        assert_eq!(f.take("GET", "/api/v3/time").delay_ms, 0);
        assert_eq!(f.take("POST", "/api/v3/order").delay_ms, 50);
        assert_eq!(f.take_reject("GET", "/api/v3/time"), None);
        assert_eq!(
            f.take_reject("POST", "/v5/order/create"),
            Some((-2010, None))
        );
        assert_eq!(f.take_reject("POST", "/v5/order/create"), None);
        assert_eq!(f.take("POST", "/api/v3/order").delay_ms, 50);
        assert!(f.armed.is_empty());
    }

    /// A delay armed with `after` holds the answer, not the execution (the crash tests' window).
    #[test]
    fn a_delay_after_holds_the_answer_not_the_request() {
        let f: Fault = serde_json::from_str(r#"{"kind":"delay","ms":900,"after":true}"#).unwrap();
        let plain: Fault = serde_json::from_str(r#"{"kind":"delay","ms":40}"#).unwrap();
        let mut faults = Faults {
            armed: vec![f, plain],
        };
        let a = faults.take("POST", "/api/v3/order");
        assert_eq!((a.delay_ms, a.delay_after_ms), (40, 900));
        assert_eq!(faults.take("POST", "/api/v3/order"), Actions::default());
    }
}
