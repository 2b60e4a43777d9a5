//! Token buckets for the admin API's rate limits when the Workers rate-limiting binding is not
//! bound (design: "DO token bucket otherwise"). One bucket per key (`ip:<addr>`, `token:<id>`),
//! kept in the ControlDO's memory: losing them when the object is evicted only forgives a burst,
//! which is acceptable for a limiter and saves a storage write per request.

use std::collections::HashMap;

/// A bucket's fill, in thousandths of a request so refill stays exact in integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    milli: i64,
    updated_ms: i64,
}

/// Capacity and refill of one kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Requests allowed in a burst (and per `period_ms`).
    pub capacity: i64,
    /// Time to refill the whole bucket.
    pub period_ms: i64,
}

/// Verdict for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the request may go on.
    pub allowed: bool,
    /// When refused, how long until one request is allowed again.
    pub retry_after_ms: i64,
}

impl Bucket {
    /// A full bucket.
    pub fn full(policy: Policy, now_ms: i64) -> Self {
        Self {
            milli: policy.capacity * 1000,
            updated_ms: now_ms,
        }
    }

    /// Refills for the time elapsed, then takes one request if there is one.
    pub fn take(&mut self, policy: Policy, now_ms: i64) -> Verdict {
        let cap = policy.capacity.max(1) * 1000;
        let period = policy.period_ms.max(1);
        let elapsed = (now_ms - self.updated_ms).max(0);
        // capacity*1000 milli per period_ms: refill = elapsed * cap / period (i128: no overflow).
        let refill = (i128::from(elapsed) * i128::from(cap) / i128::from(period)) as i64;
        self.milli = (self.milli + refill).min(cap);
        self.updated_ms = now_ms;
        if self.milli >= 1000 {
            self.milli -= 1000;
            Verdict {
                allowed: true,
                retry_after_ms: 0,
            }
        } else {
            let missing = 1000 - self.milli;
            let wait =
                (i128::from(missing) * i128::from(period)).div_euclid(i128::from(cap)) as i64 + 1;
            Verdict {
                allowed: false,
                retry_after_ms: wait,
            }
        }
    }
}

/// Every bucket of the object.
#[derive(Debug, Default)]
pub struct Buckets {
    map: HashMap<String, Bucket>,
}

/// Most keys kept; beyond it the least recently used half is dropped (scans from many IPs).
const MAX_KEYS: usize = 10_000;

impl Buckets {
    /// Takes one request from `key`'s bucket.
    pub fn take(&mut self, key: &str, policy: Policy, now_ms: i64) -> Verdict {
        if self.map.len() >= MAX_KEYS && !self.map.contains_key(key) {
            let mut ages: Vec<i64> = self.map.values().map(|b| b.updated_ms).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            self.map.retain(|_, b| b.updated_ms > cutoff);
        }
        self.map
            .entry(key.to_string())
            .or_insert_with(|| Bucket::full(policy, now_ms))
            .take(policy, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_then_refill() {
        let p = Policy {
            capacity: 3,
            period_ms: 3_000,
        };
        let mut b = Buckets::default();
        let got: Vec<bool> = (0..4).map(|_| b.take("k", p, 0).allowed).collect();
        assert_eq!(got, [true, true, true, false]);
        let v = b.take("k", p, 0);
        assert_eq!((v.allowed, v.retry_after_ms), (false, 1_001));
        assert!(
            b.take("k", p, 1_000).allowed,
            "one request refilled after 1 s"
        );
        assert!(!b.take("k", p, 1_000).allowed);
        assert!(b.take("other", p, 1_000).allowed, "keys are independent");
    }

    #[test]
    fn refill_never_exceeds_capacity() {
        let p = Policy {
            capacity: 2,
            period_ms: 1_000,
        };
        let mut b = Buckets::default();
        assert!(b.take("k", p, 0).allowed);
        let got: Vec<bool> = (0..3).map(|_| b.take("k", p, 1_000_000).allowed).collect();
        assert_eq!(got, [true, true, false]);
    }
}
