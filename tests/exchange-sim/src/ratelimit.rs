//! Rate limits with the exchanges' headers: Binance IP request weight per minute (429, then a 418
//! ban if the client keeps going) and per-account order counts; Bybit per-account per-endpoint
//! per-second limits (`retCode 10006`).

use std::collections::HashMap;

use crate::config::RateLimitConfig;

/// A request refused by a limiter.
#[derive(Clone, Debug, PartialEq)]
pub struct Limited {
    /// 429 or 418.
    pub status: u16,
    /// Seconds for `Retry-After`.
    pub retry_after: i64,
    /// Exchange code (-1003, -1015).
    pub code: i64,
    /// Message.
    pub msg: String,
}

#[derive(Debug, Default, Clone)]
struct Weight {
    minute: i64,
    used: u64,
    over: u64,
    banned_until: i64,
}

/// All limiter state.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// Current limits (settable over the admin API).
    pub cfg: RateLimitConfig,
    weights: [Weight; 2],
    orders: HashMap<(usize, bool), [(i64, u64); 2]>,
    bybit: HashMap<(usize, String), (i64, u64)>,
}

/// Headers to attach and, when refused, why.
pub type Outcome = (Vec<(String, String)>, Option<Limited>);

impl RateLimiter {
    /// New limiter.
    pub fn new(cfg: RateLimitConfig) -> Self {
        RateLimiter {
            cfg,
            ..Default::default()
        }
    }

    /// Counts a Binance request's weight (IP based; spot and futures separately).
    pub fn binance_weight(&mut self, futures: bool, weight: u64, now: i64) -> Outcome {
        let limit = if futures {
            self.cfg.binance_futures_weight_1m
        } else {
            self.cfg.binance_spot_weight_1m
        };
        let (before_ban, ban_secs) = (
            self.cfg.binance_requests_before_ban,
            self.cfg.binance_ban_secs as i64,
        );
        let w = &mut self.weights[usize::from(futures)];
        let minute = now.div_euclid(60_000);
        if w.minute != minute {
            w.minute = minute;
            w.used = 0;
        }
        if w.banned_until > now {
            let until = w.banned_until;
            let h = vec![("X-MBX-USED-WEIGHT-1M".to_string(), w.used.to_string())];
            return (h, Some(banned(until, now)));
        }
        w.used += weight;
        let h = vec![("X-MBX-USED-WEIGHT-1M".to_string(), w.used.to_string())];
        if w.used <= limit {
            w.over = 0;
            return (h, None);
        }
        w.over += 1;
        if w.over > before_ban + 1 {
            w.banned_until = now + ban_secs * 1000;
            w.over = 0;
            return (h, Some(banned(w.banned_until, now)));
        }
        let retry = ((minute + 1) * 60_000 - now + 999) / 1000;
        let msg = format!("Too much request weight used; current limit is {limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.");
        (
            h,
            Some(Limited {
                status: 429,
                retry_after: retry,
                code: -1003,
                msg,
            }),
        )
    }

    /// Counts a new Binance order for an account (10 s and 1 day spot; 10 s and 1 min futures).
    pub fn binance_order(&mut self, account: usize, futures: bool, now: i64) -> Outcome {
        let (l0, l1, span1, name1) = if futures {
            (
                self.cfg.binance_futures_orders_10s,
                self.cfg.binance_futures_orders_1m,
                60_000,
                "1M",
            )
        } else {
            (
                self.cfg.binance_spot_orders_10s,
                self.cfg.binance_spot_orders_1d,
                86_400_000,
                "1D",
            )
        };
        let c = self.orders.entry((account, futures)).or_insert([(0, 0); 2]);
        for (slot, span) in [(0usize, 10_000i64), (1, span1)] {
            let win = now.div_euclid(span);
            if c[slot].0 != win {
                c[slot] = (win, 0);
            }
            c[slot].1 += 1;
        }
        let h = vec![
            ("X-MBX-ORDER-COUNT-10S".to_string(), c[0].1.to_string()),
            (format!("X-MBX-ORDER-COUNT-{name1}"), c[1].1.to_string()),
        ];
        let over = if c[0].1 > l0 {
            Some((l0, "10 SECOND", (c[0].0 + 1) * 10_000))
        } else if c[1].1 > l1 {
            Some((
                l1,
                if futures { "1 MINUTE" } else { "1 DAY" },
                (c[1].0 + 1) * span1,
            ))
        } else {
            None
        };
        let limited = over.map(|(l, span, reset)| Limited {
            status: 429,
            retry_after: (reset - now + 999) / 1000,
            code: -1015,
            msg: format!("Too many new orders; current limit is {l} orders per {span}."),
        });
        (h, limited)
    }

    /// Counts a Bybit private request for (account, endpoint); `limit` per second.
    pub fn bybit(&mut self, account: usize, endpoint: &str, limit: u64, now: i64) -> Outcome {
        let sec = now.div_euclid(1000);
        let c = self
            .bybit
            .entry((account, endpoint.to_string()))
            .or_insert((sec, 0));
        if c.0 != sec {
            *c = (sec, 0);
        }
        c.1 += 1;
        let exceeded = c.1 > limit;
        let reset = if exceeded { (sec + 1) * 1000 } else { now };
        let h = vec![
            (
                "X-Bapi-Limit-Status".to_string(),
                limit.saturating_sub(c.1).to_string(),
            ),
            ("X-Bapi-Limit".to_string(), limit.to_string()),
            (
                "X-Bapi-Limit-Reset-Timestamp".to_string(),
                reset.to_string(),
            ),
        ];
        let limited = exceeded.then(|| Limited {
            status: 200,
            retry_after: 1,
            code: 10006,
            msg: "Too many visits!".to_string(),
        });
        (h, limited)
    }
}

fn banned(until: i64, now: i64) -> Limited {
    Limited {
        status: 418,
        retry_after: (until - now + 999) / 1000,
        code: -1003,
        msg: format!("Way too much request weight used; IP banned until {until}. Please use WebSocket Streams for live updates to avoid bans."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_429_then_418_then_reset_after_ban() {
        let cfg = RateLimitConfig {
            binance_spot_weight_1m: 10,
            binance_requests_before_ban: 1,
            binance_ban_secs: 120,
            ..Default::default()
        };
        let mut r = RateLimiter::new(cfg);
        let t = 60_000 * 1000;
        assert!(r.binance_weight(false, 10, t).1.is_none());
        assert_eq!(
            r.binance_weight(false, 1, t + 1).1.map(|l| l.status),
            Some(429)
        );
        assert_eq!(
            r.binance_weight(false, 1, t + 2).1.map(|l| l.status),
            Some(429)
        );
        let ban = r.binance_weight(false, 1, t + 3).1;
        assert_eq!(
            ban.as_ref().map(|l| (l.status, l.retry_after)),
            Some((418, 120))
        );
        assert_eq!(
            r.binance_weight(false, 1, t + 70_000).1.map(|l| l.status),
            Some(418)
        );
        assert!(r.binance_weight(false, 1, t + 130_000).1.is_none());
        assert!(r.binance_weight(true, 1, t).1.is_none());
    }

    #[test]
    fn bybit_per_second() {
        let mut r = RateLimiter::new(RateLimitConfig::default());
        for _ in 0..2 {
            assert!(r.bybit(0, "/v5/order/create", 2, 5_000).1.is_none());
        }
        let (h, l) = r.bybit(0, "/v5/order/create", 2, 5_500);
        assert_eq!(l.map(|l| l.code), Some(10006));
        assert!(h.contains(&(
            "X-Bapi-Limit-Reset-Timestamp".to_string(),
            "6000".to_string()
        )));
        assert!(r.bybit(0, "/v5/order/create", 2, 6_000).1.is_none());
    }
}
