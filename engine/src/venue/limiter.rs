//! Per-ACCOUNT rate-limit budget, as pure state. Bots that share an exchange key share one
//! [`AccountLimiter`] (held by the account's Durable Object), so five busy bots never earn a 418
//! together. Before each request the caller asks [`AccountLimiter::admit`]; after each response it
//! feeds the adapter's [`Usage`] into [`AccountLimiter::observe`]. The limiter:
//! - counts locally in fixed windows (weight and order count), so bots racing between responses
//!   are still counted, and corrects itself from the exchange's headers;
//! - backs off *before* the limit: entries stop at `entry_headroom` of a window, exits
//!   (cancels, reduce-only) may use up to `exit_headroom`;
//! - honours `Retry-After` (429, Bybit 10006) and treats 418 / Bybit 403 as a ban for everyone.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// Request weight (Binance `X-MBX-USED-WEIGHT-*`) or plain request count (Bybit IP limit).
    Weight,
    /// Order count (Binance `X-MBX-ORDER-COUNT-*`).
    Orders,
}

/// One limit: at most `limit` units of `budget` per fixed window of `interval_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSpec {
    /// What is counted.
    pub budget: Budget,
    /// Window length, ms.
    pub interval_ms: i64,
    /// Limit per window.
    pub limit: u32,
}

/// Limits of one venue plus the safety margins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimiterConfig {
    /// Windows enforced.
    pub windows: Vec<WindowSpec>,
    /// Fraction (percent) of a window entries may use.
    pub entry_headroom_pct: u32,
    /// Fraction (percent) of a window exits may use.
    pub exit_headroom_pct: u32,
}

impl LimiterConfig {
    /// Binance Spot defaults (exchangeInfo `rateLimits`): 6000 weight/min, 100 orders/10 s,
    /// 200 000 orders/day.
    pub fn binance_spot() -> Self {
        Self::with(vec![
            WindowSpec {
                budget: Budget::Weight,
                interval_ms: 60_000,
                limit: 6_000,
            },
            WindowSpec {
                budget: Budget::Orders,
                interval_ms: 10_000,
                limit: 100,
            },
            WindowSpec {
                budget: Budget::Orders,
                interval_ms: 86_400_000,
                limit: 200_000,
            },
        ])
    }

    /// Binance USDⓈ-M defaults: 2400 weight/min, 300 orders/10 s, 1200 orders/min.
    pub fn binance_futures() -> Self {
        Self::with(vec![
            WindowSpec {
                budget: Budget::Weight,
                interval_ms: 60_000,
                limit: 2_400,
            },
            WindowSpec {
                budget: Budget::Orders,
                interval_ms: 10_000,
                limit: 300,
            },
            WindowSpec {
                budget: Budget::Orders,
                interval_ms: 60_000,
                limit: 1_200,
            },
        ])
    }

    /// Bybit V5: 600 requests per 5 s per IP; per-endpoint limits come from `X-Bapi-Limit*`.
    pub fn bybit() -> Self {
        Self::with(vec![WindowSpec {
            budget: Budget::Weight,
            interval_ms: 5_000,
            limit: 600,
        }])
    }

    fn with(windows: Vec<WindowSpec>) -> Self {
        Self {
            windows,
            entry_headroom_pct: 80,
            exit_headroom_pct: 95,
        }
    }
}

/// The cost of one operation, from [`crate::venue::Venue::cost`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCost {
    /// Request weight (1 for venues that count requests).
    pub weight: u32,
    /// Orders it counts against order-rate limits.
    pub orders: u32,
    /// Endpoint key for per-endpoint limits (Bybit), e.g. `"/v5/order/create"`.
    pub endpoint: String,
    /// True for cancels and reduce-only orders: allowed closer to the limit.
    pub exit: bool,
}

/// Bybit per-endpoint budget from `X-Bapi-Limit-Status` / `X-Bapi-Limit` /
/// `X-Bapi-Limit-Reset-Timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointUsage {
    /// Requests remaining in the current window.
    pub remaining: u32,
    /// Limit of the window.
    pub limit: u32,
    /// When the window resets, local ms.
    pub reset_ms: i64,
}

/// What a response said about the account's budget (built by the adapter's `observe`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// `(budget, interval_ms, used)` from headers.
    pub used: Vec<(Budget, i64, u32)>,
    /// Endpoint key and budget (Bybit).
    pub endpoint: Option<(String, EndpointUsage)>,
    /// Do not send before this local time (429 Retry-After, Bybit 10006 reset).
    pub retry_at_ms: Option<i64>,
    /// Banned until this local time (418, Bybit 403).
    pub banned_until_ms: Option<i64>,
}

/// The limiter's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "admit")]
pub enum Admit {
    /// Send now (the cost has been counted).
    Go,
    /// Wait this long, then ask again.
    Wait {
        /// ms.
        ms: i64,
    },
    /// Account or IP banned: send nothing before `until_ms`.
    Banned {
        /// Local ms.
        until_ms: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct WindowState {
    spec: WindowSpec,
    start_ms: i64,
    used: u32,
}

/// Shared rate-limit state of one exchange account (serialisable, so the DO can persist it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountLimiter {
    config: LimiterConfig,
    windows: Vec<WindowState>,
    endpoints: BTreeMap<String, EndpointUsage>,
    retry_at_ms: Option<i64>,
    banned_until_ms: Option<i64>,
}

/// How far the exchange's clock may be from the local one when deciding which window a
/// response's counts belong to. Binance refuses requests whose timestamp is more than its
/// receive window off, and Keel keeps its clock offset well inside that; one second covers the
/// rest (network time between the server's count and our reading of it).
pub const SERVER_WINDOW_MARGIN_MS: i64 = 1_000;

/// True when `[sent_ms - margin, received_ms + margin]` lies inside one window of
/// `interval_ms`, i.e. the server cannot have counted the request in another window.
fn same_window(interval_ms: i64, sent_ms: i64, received_ms: i64) -> bool {
    let from = sent_ms.saturating_sub(SERVER_WINDOW_MARGIN_MS);
    let to = received_ms.saturating_add(SERVER_WINDOW_MARGIN_MS);
    from <= to && window_start(from, interval_ms) == window_start(to, interval_ms)
}

fn window_start(now_ms: i64, interval_ms: i64) -> i64 {
    if interval_ms <= 0 {
        return now_ms;
    }
    now_ms - now_ms.rem_euclid(interval_ms)
}

impl AccountLimiter {
    /// A fresh limiter.
    pub fn new(config: LimiterConfig) -> Self {
        let windows = config
            .windows
            .iter()
            .map(|spec| WindowState {
                spec: *spec,
                start_ms: i64::MIN,
                used: 0,
            })
            .collect();
        Self {
            config,
            windows,
            endpoints: BTreeMap::new(),
            retry_at_ms: None,
            banned_until_ms: None,
        }
    }

    fn roll(&mut self, now_ms: i64) {
        for w in &mut self.windows {
            let start = window_start(now_ms, w.spec.interval_ms);
            if start != w.start_ms {
                w.start_ms = start;
                w.used = 0;
            }
        }
    }

    /// Asks to send an operation costing `cost` at local `now_ms`; on [`Admit::Go`] the cost is
    /// counted immediately.
    pub fn admit(&mut self, cost: &OpCost, now_ms: i64) -> Admit {
        if let Some(until) = self.banned_until_ms.filter(|u| *u > now_ms) {
            return Admit::Banned { until_ms: until };
        }
        if let Some(at) = self.retry_at_ms.filter(|a| *a > now_ms) {
            return Admit::Wait {
                ms: at.saturating_sub(now_ms),
            };
        }
        self.roll(now_ms);
        let pct = u64::from(if cost.exit {
            self.config.exit_headroom_pct
        } else {
            self.config.entry_headroom_pct
        });
        let mut wait = 0_i64;
        for w in &self.windows {
            let units = match w.spec.budget {
                Budget::Weight => cost.weight,
                Budget::Orders => cost.orders,
            };
            if units == 0 {
                continue;
            }
            let allowed = u64::from(w.spec.limit) * pct / 100;
            if u64::from(w.used) + u64::from(units) > allowed {
                wait = wait.max(w.start_ms.saturating_add(w.spec.interval_ms) - now_ms);
            }
        }
        if let Some(ep) = self.endpoints.get(&cost.endpoint) {
            let reserve = if cost.exit { 0 } else { ep.limit / 5 };
            if ep.reset_ms > now_ms && ep.remaining <= reserve {
                wait = wait.max(ep.reset_ms.saturating_sub(now_ms));
            }
        }
        if wait > 0 {
            return Admit::Wait { ms: wait };
        }
        for w in &mut self.windows {
            w.used = w.used.saturating_add(match w.spec.budget {
                Budget::Weight => cost.weight,
                Budget::Orders => cost.orders,
            });
        }
        if let Some(ep) = self.endpoints.get_mut(&cost.endpoint) {
            ep.remaining = ep.remaining.saturating_sub(1);
        }
        Admit::Go
    }

    /// Corrects the state from what the response to a request sent at local `sent_ms` and
    /// received at `received_ms` reported.
    ///
    /// A header count belongs to the server's window in which the request was processed, which
    /// may be an earlier window than the current one: a request sent just before a boundary and
    /// answered just after it reports the old window's total. Applying that total to the new
    /// window refused entries for seconds on an account that had used little of it (a
    /// fresh-clone test run was refused "rate limited; retry after 3268 ms"). So a count is
    /// taken only when the whole round trip, widened by [`SERVER_WINDOW_MARGIN_MS`] for the
    /// server's clock, lies inside the current local window; other answers leave the local
    /// count (which already includes every request this account admitted) as it is.
    pub fn observe(&mut self, usage: &Usage, sent_ms: i64, received_ms: i64) {
        self.roll(received_ms);
        for (budget, interval, used) in &usage.used {
            for w in &mut self.windows {
                if w.spec.budget == *budget
                    && w.spec.interval_ms == *interval
                    && same_window(w.spec.interval_ms, sent_ms, received_ms)
                {
                    // The server's count is authoritative but lags requests still in flight.
                    w.used = w.used.max(*used);
                }
            }
        }
        if let Some((key, ep)) = &usage.endpoint {
            self.endpoints.insert(key.clone(), *ep);
        }
        if let Some(at) = usage.retry_at_ms {
            self.retry_at_ms = Some(self.retry_at_ms.map_or(at, |cur| cur.max(at)));
        }
        if let Some(until) = usage.banned_until_ms {
            self.banned_until_ms = Some(self.banned_until_ms.map_or(until, |cur| cur.max(until)));
        }
    }

    /// Local time until which the account is banned, if it is.
    pub fn banned_until(&self, now_ms: i64) -> Option<i64> {
        self.banned_until_ms.filter(|u| *u > now_ms)
    }
}

/// Parses a Binance interval suffix (`1M`, `10S`, `1H`, `1D`; case-insensitive) into ms.
pub fn parse_interval(suffix: &str) -> Option<i64> {
    let split = suffix.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = suffix.split_at(split);
    let n: i64 = num.parse().ok()?;
    let unit_ms = match unit.to_ascii_uppercase().as_str() {
        "S" => 1_000,
        "M" => 60_000,
        "H" => 3_600_000,
        "D" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;
