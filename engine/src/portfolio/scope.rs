//! A portfolio scope as the ControlDO keeps it: which bots it covers, the operator's limits, the
//! gross-exposure lease pool and the bots' last reports, aggregated into the scope's state.
//!
//! Why here and not in the Durable Object: every decision the ControlDO takes for a scope — the
//! lease it answers, whether a report breaches a loss limit and halts the scope, when the day
//! starts — is a pure function of the stored scope, a report and the time; the DO only stores the
//! JSON, audits and alerts. The bot side is [`super::lease::Lease::admit`] plus
//! [`super::limits::check_entry`] against the snapshot answered with the lease.

use super::lease::{Lease, LeasePool, PoolError, PoolView};
use super::limits::{halt_breach, LimitsError, PortfolioBreach, PortfolioLimits, ScopeState};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Which bots a scope covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Members {
    /// Every bot of the platform.
    Platform,
    /// Every bot trading through one exchange account (its AccountDO name).
    Account {
        /// The account's name.
        account: String,
    },
    /// A named group of bots.
    Group {
        /// Bot ids.
        bots: Vec<String>,
    },
}

impl Members {
    /// Whether a bot (trading through `account`) belongs to the scope.
    pub fn covers(&self, bot: &str, account: &str) -> bool {
        match self {
            Members::Platform => true,
            Members::Account { account: a } => a == account,
            Members::Group { bots } => bots.iter().any(|b| b == bot),
        }
    }
}

/// What the operator sets for a scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeSpec {
    /// Which bots.
    pub members: Members,
    /// The limits.
    #[serde(default)]
    pub limits: PortfolioLimits,
    /// Lease life, seconds (default 30): how long a bot may go without reaching the ControlDO
    /// before it falls back to reduce-only.
    #[serde(default = "default_ttl_secs")]
    pub lease_ttl_secs: u32,
}

fn default_ttl_secs() -> u32 {
    30
}

/// Why a scope cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScopeError {
    /// A limit is out of range.
    #[error(transparent)]
    Limits(#[from] LimitsError),
    /// The pool refused a number.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// A name that is empty, too long or not `[A-Za-z0-9_-]`.
    #[error("scope name must be 1-64 characters of letters, digits, '-' or '_'")]
    Name,
    /// A group without bots.
    #[error("a group scope needs at least one bot")]
    EmptyGroup,
    /// A ttl out of range.
    #[error("lease_ttl_secs must be between 5 and 3600, got {0}")]
    Ttl(u32),
}

/// One bot's report: what it holds and is worth, as of its last lease request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotReport {
    /// Its exchange account (AccountDO name).
    pub account: String,
    /// Signed notional per asset, quote.
    pub exposures: BTreeMap<String, Decimal>,
    /// Its equity, quote.
    pub equity: Decimal,
}

impl BotReport {
    /// Σ |notional|: the bot's use of a gross-exposure budget.
    pub fn gross(&self) -> Decimal {
        self.exposures
            .values()
            .fold(Decimal::ZERO, |s, e| s.saturating_add(e.abs()))
    }
}

/// Why a scope was halted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaltInfo {
    /// The breach (or none for an operator halt).
    pub breach: Option<PortfolioBreach>,
    /// When, ms.
    pub since_ms: i64,
}

/// A stored scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    /// Its name.
    pub name: String,
    /// What the operator set.
    pub spec: ScopeSpec,
    pool: LeasePool,
    reports: BTreeMap<String, Reporting>,
    peak_equity: Decimal,
    day: i64,
    /// Set while halted.
    pub halted: Option<HaltInfo>,
}

/// A bot's last report and its equity at the start of the day it was made on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Reporting {
    report: BotReport,
    /// UTC day (days since the epoch) of the last report.
    day: i64,
    /// The bot's equity at its first report that day.
    day_start: Decimal,
}

/// What a report changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    /// The bot's lease from this scope.
    pub lease: Lease,
    /// Set when this report breached a loss limit and halted the scope (audit and alert it).
    pub newly_halted: Option<PortfolioBreach>,
}

/// A scope as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopeView {
    /// Name.
    pub name: String,
    /// What the operator set.
    pub spec: ScopeSpec,
    /// Aggregated state.
    pub state: ScopeState,
    /// Gross and net exposure.
    pub gross: Decimal,
    /// Net exposure.
    pub net: Decimal,
    /// Drawdown from the peak, percent (4 decimals).
    pub drawdown_pct: Decimal,
    /// Loss since the day's start.
    pub daily_loss: Decimal,
    /// The lease pool.
    pub pool: PoolView,
    /// Bots that reported.
    pub bots: Vec<String>,
    /// Halt, if any.
    pub halted: Option<HaltInfo>,
}

const DAY_MS: i64 = 86_400_000;

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Scope {
    /// A new scope, or `previous` with a new spec (reports, peak and halt kept).
    ///
    /// # Errors
    /// A bad name, limits, ttl or an empty group.
    pub fn set(name: &str, spec: ScopeSpec, previous: Option<Scope>) -> Result<Self, ScopeError> {
        if !valid_name(name) {
            return Err(ScopeError::Name);
        }
        spec.limits.validate()?;
        if !(5..=3600).contains(&spec.lease_ttl_secs) {
            return Err(ScopeError::Ttl(spec.lease_ttl_secs));
        }
        if matches!(&spec.members, Members::Group { bots } if bots.is_empty()) {
            return Err(ScopeError::EmptyGroup);
        }
        let cap = spec.limits.max_gross.unwrap_or(Decimal::MAX);
        let ttl_ms = i64::from(spec.lease_ttl_secs) * 1000;
        Ok(match previous {
            Some(mut s) => {
                s.pool.set_cap(cap)?;
                s.pool.ttl_ms = ttl_ms;
                s.spec = spec;
                s
            }
            None => Scope {
                name: name.to_string(),
                spec,
                pool: LeasePool::new(cap, ttl_ms)?,
                reports: BTreeMap::new(),
                peak_equity: Decimal::ZERO,
                day: i64::MIN,
                halted: None,
            },
        })
    }

    /// The aggregated state: the sum of the bots' last reports. The day's start is the sum of
    /// each bot's equity at its first report of the day (a bot not heard from today counts with
    /// its last equity: no loss is invented for it), so bots joining during the day do not look
    /// like profits, nor leaving ones like losses.
    pub fn state(&self) -> ScopeState {
        let mut exposures: BTreeMap<String, Decimal> = BTreeMap::new();
        let mut equity = Decimal::ZERO;
        let mut day_start = Decimal::ZERO;
        for r in self.reports.values() {
            for (asset, e) in &r.report.exposures {
                let slot = exposures.entry(asset.clone()).or_default();
                *slot = slot.saturating_add(*e);
            }
            equity = equity.saturating_add(r.report.equity);
            day_start = day_start.saturating_add(if r.day == self.day {
                r.day_start
            } else {
                r.report.equity
            });
        }
        ScopeState {
            exposures,
            equity,
            peak_equity: self.peak_equity.max(equity),
            day_start_equity: day_start,
            halted: self.halted.is_some(),
        }
    }

    /// A member bot reports and asks for `want` more gross exposure. Updates the aggregate, the
    /// peak and the day's start, halts the scope on a loss breach (the pool then grants
    /// reduce-only), and answers the bot's lease.
    ///
    /// # Errors
    /// A negative want (the pool refuses it).
    pub fn report(
        &mut self,
        bot: &str,
        report: BotReport,
        want: Decimal,
        now_ms: i64,
    ) -> Result<Reported, ScopeError> {
        let used = report.gross();
        let day = now_ms.div_euclid(DAY_MS);
        self.day = self.day.max(day);
        let day_start = match self.reports.get(bot) {
            Some(prev) if prev.day == day => prev.day_start,
            _ => report.equity,
        };
        self.reports.insert(
            bot.to_string(),
            Reporting {
                report,
                day,
                day_start,
            },
        );
        let state = self.state();
        self.peak_equity = state.peak_equity;
        let mut newly_halted = None;
        if self.halted.is_none() {
            if let Some(breach) = halt_breach(&self.spec.limits, &state) {
                self.halt(Some(breach.clone()), now_ms);
                newly_halted = Some(breach);
            }
        }
        let lease = self.pool.grant(bot, used, want, now_ms)?;
        Ok(Reported {
            lease,
            newly_halted,
        })
    }

    /// Halts the scope (by the operator, or by a breach).
    pub fn halt(&mut self, breach: Option<PortfolioBreach>, now_ms: i64) {
        self.halted = Some(HaltInfo {
            breach,
            since_ms: now_ms,
        });
        self.pool.set_halted(true);
    }

    /// Resumes after a halt. The peak restarts from today's equity, so a drawdown halt does
    /// not fire again at once; the day's start is kept (a daily-loss halt resumed the same day
    /// fires again on the next report unless the limit was raised: the operator must raise it).
    pub fn resume(&mut self) {
        self.halted = None;
        self.pool.set_halted(false);
        self.peak_equity = self.state().equity;
    }

    /// A bot that left the scope or was deleted.
    pub fn forget(&mut self, bot: &str) {
        if let Some(r) = self.reports.remove(bot) {
            // Its equity leaves the peak too, or its departure would read as a drawdown.
            self.peak_equity = self.peak_equity.saturating_sub(r.report.equity);
        }
        self.pool.remove(bot);
    }

    /// The API's view.
    pub fn view(&self, now_ms: i64) -> ScopeView {
        let state = self.state();
        let drawdown_pct = if state.peak_equity > Decimal::ZERO {
            state
                .peak_equity
                .saturating_sub(state.equity)
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|x| x.checked_div(state.peak_equity))
                .map_or(Decimal::ZERO, |x| x.round_dp(4))
        } else {
            Decimal::ZERO
        };
        ScopeView {
            name: self.name.clone(),
            spec: self.spec.clone(),
            gross: state.gross(),
            net: state.net(),
            drawdown_pct,
            daily_loss: state.day_start_equity.saturating_sub(state.equity),
            pool: self.pool.view(now_ms),
            bots: self.reports.keys().cloned().collect(),
            halted: self.halted.clone(),
            state,
        }
    }
}

#[cfg(test)]
#[path = "scope_tests.rs"]
mod tests;
