//! Budget leases: how a portfolio-wide cap (gross exposure, loss) is enforced with no extra hop on
//! the webhook path.
//!
//! The ControlDO holds one [`LeasePool`] per budget (say, "gross exposure of group A"). A bot asks
//! it, off the hot path, for a [`Lease`]: a **ceiling** on its own use of the budget, valid until
//! a time. Entries then check only the bot's local lease ([`Lease::admit`]); the pool is asked
//! again when the lease runs low or old. Why this is safe:
//! - the pool grants a ceiling only out of what is not *reserved* by the others, and a bot's
//!   reservation is the larger of its reported use and its ceiling while that lease lives. Grants
//!   are computed one at a time (the ControlDO is single-threaded), so two bots racing for the
//!   last of a budget can never both get it;
//! - an **expired** lease keeps its ceiling reserved (the pool cannot know how much of it the bot
//!   spent) until the bot reports again: an unreachable bot costs headroom, never safety;
//! - the bot stops using a lease [`CLOCK_MARGIN_MS`] before it expires by its own clock, and after
//!   that admits reduce-only orders only, so a missed renewal (or a missed halt) fails closed;
//! - a halted pool grants ceilings equal to the reported use: every bot falls back to
//!   reduce-only at its next renewal, at the latest when its lease expires.
//!
//! Amounts are money (`rust_decimal`), exact.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// How long before its expiry (by the bot's own clock) a bot stops using a lease: the bots' and
/// the ControlDO's clocks are different machines' clocks.
pub const CLOCK_MARGIN_MS: i64 = 1_000;

/// A grant: the bot may raise its use of the budget up to `ceiling` until `expires_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Highest use of the budget the bot may reach (its reported use when nothing was granted).
    pub ceiling: Decimal,
    /// End of validity, ControlDO clock (ms since the epoch).
    pub expires_ms: i64,
    /// The pool was halted when it granted this: reduce-only.
    pub halted: bool,
}

/// Why a bot's entry was refused by its lease (reduce-only orders never are).
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum LeaseRefusal {
    /// The bot holds no lease, or it has run out: renew first.
    #[error("no valid portfolio lease (expired at {expires_ms}); entries wait for a renewal")]
    Expired {
        /// When the last lease ended (0 when there was none).
        expires_ms: i64,
    },
    /// The group is halted.
    #[error("portfolio halted: reduce-only")]
    Halted,
    /// The entry would take the bot's use past its ceiling.
    #[error("portfolio budget: use after the order {after} exceeds the leased ceiling {ceiling}")]
    OverCeiling {
        /// Use after the order.
        after: Decimal,
        /// The lease's ceiling.
        ceiling: Decimal,
    },
}

impl Lease {
    /// Whether the bot may take its use of the budget from `used` to `after` at local `now_ms`.
    /// Lowering the use is always allowed (reduce-only orders, closes), also without a lease.
    ///
    /// # Errors
    /// The refusal when `after > used` and the lease is missing, expired, halted or too small.
    pub fn admit(
        lease: Option<&Lease>,
        used: Decimal,
        after: Decimal,
        now_ms: i64,
    ) -> Result<(), LeaseRefusal> {
        if after <= used {
            return Ok(());
        }
        let Some(l) = lease else {
            return Err(LeaseRefusal::Expired { expires_ms: 0 });
        };
        if now_ms >= l.expires_ms.saturating_sub(CLOCK_MARGIN_MS) {
            return Err(LeaseRefusal::Expired {
                expires_ms: l.expires_ms,
            });
        }
        if l.halted {
            return Err(LeaseRefusal::Halted);
        }
        if after > l.ceiling {
            return Err(LeaseRefusal::OverCeiling {
                after,
                ceiling: l.ceiling,
            });
        }
        Ok(())
    }

    /// Whether the bot should renew now: less than a quarter of its life or of its headroom left.
    pub fn wants_renewal(lease: Option<&Lease>, used: Decimal, ttl_ms: i64, now_ms: i64) -> bool {
        let Some(l) = lease else { return true };
        let life_left = l
            .expires_ms
            .saturating_sub(CLOCK_MARGIN_MS)
            .saturating_sub(now_ms);
        life_left < ttl_ms / 4 || (!l.halted && l.ceiling <= used)
    }
}

/// One bot's entry in a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Holder {
    /// Use last reported by the bot.
    used: Decimal,
    /// Its last grant.
    lease: Option<Lease>,
}

impl Holder {
    /// What the bot may be using: the reported use, or more if its lease allowed more. An expired
    /// lease still counts (the pool cannot know what was spent under it) until the next report.
    fn reserved(&self) -> Decimal {
        match &self.lease {
            Some(l) => l.ceiling.max(self.used),
            None => self.used,
        }
    }
}

/// Why a pool could not take a request.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PoolError {
    /// A negative use or request (the bot's report is garbage).
    #[error("{field} must not be negative, got {value}")]
    Negative {
        /// Which number.
        field: &'static str,
        /// Its value.
        value: Decimal,
    },
    /// The lease time is not positive.
    #[error("lease ttl must be positive, got {0} ms")]
    Ttl(i64),
}

/// The ControlDO's side: one budget shared by many bots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeasePool {
    /// The cap on the sum of the bots' use.
    pub cap: Decimal,
    /// Lease life, ms.
    pub ttl_ms: i64,
    /// Halted: grants are reduce-only.
    pub halted: bool,
    holders: BTreeMap<String, Holder>,
}

/// A pool's view for the dashboard and the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolView {
    /// The cap (`None` for a pool without one, which only carries halts).
    pub cap: Option<Decimal>,
    /// Sum of reservations.
    pub reserved: Decimal,
    /// Sum of reported use.
    pub used: Decimal,
    /// Whether halted.
    pub halted: bool,
    /// Bots with a lease that has expired (their reservation is kept until they report).
    pub expired: Vec<String>,
}

impl LeasePool {
    /// An empty pool.
    ///
    /// # Errors
    /// A negative cap or a non-positive ttl.
    pub fn new(cap: Decimal, ttl_ms: i64) -> Result<Self, PoolError> {
        if cap < Decimal::ZERO {
            return Err(PoolError::Negative {
                field: "cap",
                value: cap,
            });
        }
        if ttl_ms <= 0 {
            return Err(PoolError::Ttl(ttl_ms));
        }
        Ok(Self {
            cap,
            ttl_ms,
            halted: false,
            holders: BTreeMap::new(),
        })
    }

    /// Reserved by everyone but `bot`.
    fn reserved_by_others(&self, bot: &str) -> Decimal {
        self.holders
            .iter()
            .filter(|(id, _)| id.as_str() != bot)
            .fold(Decimal::ZERO, |s, (_, h)| s.saturating_add(h.reserved()))
    }

    /// A bot reports its current use and asks for `want` more headroom (a renewal replaces its
    /// previous lease). The grant is the largest ceiling ≤ `used + want` that keeps the sum of all
    /// reservations within the cap; never below `used` (a bot already over its share gets a
    /// reduce-only ceiling, not a negative one).
    ///
    /// # Errors
    /// A negative `used` or `want`.
    pub fn grant(
        &mut self,
        bot: &str,
        used: Decimal,
        want: Decimal,
        now_ms: i64,
    ) -> Result<Lease, PoolError> {
        for (field, value) in [("used", used), ("want", want)] {
            if value < Decimal::ZERO {
                return Err(PoolError::Negative { field, value });
            }
        }
        let room = self
            .cap
            .saturating_sub(self.reserved_by_others(bot))
            .saturating_sub(used)
            .max(Decimal::ZERO);
        let extra = if self.halted {
            Decimal::ZERO
        } else {
            want.min(room)
        };
        let lease = Lease {
            ceiling: used.saturating_add(extra),
            expires_ms: now_ms.saturating_add(self.ttl_ms),
            halted: self.halted,
        };
        self.holders.insert(
            bot.to_string(),
            Holder {
                used,
                lease: Some(lease),
            },
        );
        Ok(lease)
    }

    /// A bot reports its use without asking for headroom (after a close, say). A live lease
    /// stays; one that ended more than [`CLOCK_MARGIN_MS`] ago is dropped, since the bot stopped
    /// using it by its own clock and the report says what it spent.
    ///
    /// # Errors
    /// A negative `used`.
    pub fn report(&mut self, bot: &str, used: Decimal, now_ms: i64) -> Result<(), PoolError> {
        if used < Decimal::ZERO {
            return Err(PoolError::Negative {
                field: "used",
                value: used,
            });
        }
        let h = self
            .holders
            .entry(bot.to_string())
            .or_insert(Holder { used, lease: None });
        h.used = used;
        if h.lease
            .is_some_and(|l| l.expires_ms.saturating_add(CLOCK_MARGIN_MS) <= now_ms)
        {
            h.lease = None;
        }
        Ok(())
    }

    /// The operator changes the cap. Lowering it below what is reserved grants nothing more until
    /// the bots' use falls under it; nothing is closed by this.
    ///
    /// # Errors
    /// A negative cap.
    pub fn set_cap(&mut self, cap: Decimal) -> Result<(), PoolError> {
        if cap < Decimal::ZERO {
            return Err(PoolError::Negative {
                field: "cap",
                value: cap,
            });
        }
        self.cap = cap;
        Ok(())
    }

    /// A bot that is gone for good (deleted): its reservation is released.
    pub fn remove(&mut self, bot: &str) {
        self.holders.remove(bot);
    }

    /// Halts or resumes the pool. A halt takes effect at each bot's next renewal, or when its
    /// current lease expires, whichever comes first; the ControlDO also pushes it.
    pub fn set_halted(&mut self, halted: bool) {
        self.halted = halted;
    }

    /// Sum of reservations: never above the cap plus what bots reported beyond it (use that grew
    /// by price moves, not by entries).
    pub fn reserved(&self) -> Decimal {
        self.holders
            .values()
            .fold(Decimal::ZERO, |s, h| s.saturating_add(h.reserved()))
    }

    /// The pool as the API shows it.
    pub fn view(&self, now_ms: i64) -> PoolView {
        PoolView {
            cap: (self.cap != Decimal::MAX).then_some(self.cap),
            reserved: self.reserved(),
            used: self
                .holders
                .values()
                .fold(Decimal::ZERO, |s, h| s.saturating_add(h.used)),
            halted: self.halted,
            expired: self
                .holders
                .iter()
                .filter(|(_, h)| h.lease.is_some_and(|l| l.expires_ms <= now_ms))
                .map(|(id, _)| id.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
