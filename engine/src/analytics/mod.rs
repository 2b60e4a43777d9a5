//! Live analytics of a bot: the backtest report's ratios over its live equity, and the
//! attribution of its net P&L by instrument, strategy version and hour of day, summing exactly
//! (decimal, not float) to the ledger's own net. Why here: the same ratios must mean the same
//! thing in a backtest report and on a running bot, so both call one implementation
//! (`backtest::metrics`), and the attribution replays the ledger's own bookings instead of
//! re-deriving P&L from fills (which would drift from the P&L the bot reports).
//!
//! Conventions: equity is sampled by the bot (fills, marks, cron ticks) at irregular times, and
//! resampled here to a fixed period (the last sample of each period, carried over empty ones);
//! a period's return is its Modified Dietz return, net of the capital transferred in it
//! ([`performance_index`]); ratios are annualised over a 365-day year; net P&L is
//! realized (average cost) − fees (in quote at fill time) + funding. Funding is not tagged with
//! a strategy in the ledger, so the by-strategy attribution shows it as its own row
//! [`FUNDING_ROW`].

/// Live execution against the backtest of the same version (alerted drift).
pub mod drift;
use crate::backtest::Metrics;
use crate::ledger::{Booked, Effect, Ledger, LedgerConfig, LedgerEntry, LedgerError, UNTAGGED};
use crate::market::Timeframe;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use thiserror::Error;

#[cfg(test)]
mod tests;

/// The by-strategy row that holds funding (funding is paid on the position, not a strategy).
pub const FUNDING_ROW: &str = "funding";

/// Most periods one analytics call resamples (a year of hours, ten years of days): bounds the
/// work a request can ask of a bot's object.
pub const MAX_PERIODS: usize = 100_000;

/// Why analytics could not be computed.
#[derive(Debug, Error)]
pub enum AnalyticsError {
    /// A stored entry could not be booked again.
    #[error("replaying the ledger failed at entry {index}: {source}")]
    Replay {
        /// Position of the entry in canonical order.
        index: usize,
        /// The ledger's error.
        source: LedgerError,
    },
    /// The period is not a timeframe label.
    #[error("period: {0}")]
    Period(String),
    /// The requested period would cut the history into too many pieces.
    #[error(
        "{periods} periods of {period} requested; at most {MAX_PERIODS} (choose a longer period)"
    )]
    TooManyPeriods {
        /// Periods the history spans.
        periods: i64,
        /// The period's label.
        period: String,
    },
    /// The attribution does not add up to the ledger (a bug: it is checked, never assumed).
    #[error("attribution by {dimension} sums to {sum}, the ledger's net is {net}")]
    Unbalanced {
        /// Which attribution.
        dimension: &'static str,
        /// Its sum.
        sum: Decimal,
        /// The ledger's net.
        net: Decimal,
    },
}

/// Net P&L of one attribution key, exact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Slice {
    /// Realized P&L (average cost).
    pub realized: Decimal,
    /// Fees in quote.
    pub fees: Decimal,
    /// Funding (received positive).
    pub funding: Decimal,
    /// `realized − fees + funding`.
    pub net: Decimal,
    /// Fills booked.
    pub fills: u64,
}

impl Slice {
    fn add(&mut self, realized: Decimal, fees: Decimal, funding: Decimal, fill: bool) {
        self.realized += realized;
        self.fees += fees;
        self.funding += funding;
        self.net += realized - fees + funding;
        self.fills += u64::from(fill);
    }
}

/// Net P&L split three ways; each split sums to `total`, which equals the ledger's net.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// The ledger's whole net.
    pub total: Slice,
    /// Per instrument.
    pub by_instrument: BTreeMap<String, Slice>,
    /// Per strategy version tag ([`UNTAGGED`] for webhook fills, [`FUNDING_ROW`] for funding).
    pub by_strategy: BTreeMap<String, Slice>,
    /// Per hour of the day (UTC, 0–23) of the fill or payment.
    pub by_hour: BTreeMap<u8, Slice>,
    /// Per market regime of the instrument at the time of the fill or payment (the label the
    /// bot recorded on the last closed bar before it, [`RegimeBook`]); [`UNLABELLED`] when the
    /// bot had none (a webhook bot, or before the classifier was warm).
    pub by_regime: BTreeMap<String, Slice>,
}

/// The row of fills and payments with no regime label.
pub const UNLABELLED: &str = "unlabelled";

/// Regime labels per instrument as the bot recorded them: `(since ms, label)`, oldest first.
/// A fill at time `t` takes the label of the last change at or before `t`.
pub type RegimeBook = BTreeMap<String, Vec<(i64, String)>>;

/// The label in force for `symbol` at `time_ms` ([`UNLABELLED`] when none).
#[must_use]
pub fn regime_at(book: &RegimeBook, symbol: &str, time_ms: i64) -> String {
    book.get(symbol)
        .and_then(|changes| changes.iter().rev().find(|(since, _)| *since <= time_ms))
        .map_or_else(|| UNLABELLED.to_string(), |(_, label)| label.clone())
}

/// Replays `entries` into a fresh ledger in canonical order (as [`Ledger::replay`]), handing
/// each applied entry and its effect to `visit`; returns the ledger.
fn replay_effects(
    config: LedgerConfig,
    entries: impl IntoIterator<Item = LedgerEntry>,
    mut visit: impl FnMut(&LedgerEntry, &Effect),
) -> Result<Ledger, AnalyticsError> {
    let mut sorted: Vec<LedgerEntry> = entries.into_iter().collect();
    sorted.sort_by(LedgerEntry::canonical_cmp);
    let mut ledger = Ledger::new(config);
    for (index, entry) in sorted.iter().enumerate() {
        let booked = ledger
            .book(entry)
            .map_err(|source| AnalyticsError::Replay { index, source })?;
        if let Booked::Applied(effect) = booked {
            visit(entry, &effect);
        }
    }
    Ok(ledger)
}

impl Attribution {
    /// Adds one booking's effect under its instrument, strategy, hour and regime.
    fn add(&mut self, entry: &LedgerEntry, effect: &Effect, regimes: &RegimeBook) {
        let (instrument, strategy, fill) = match entry {
            LedgerEntry::Fill(b) => (
                b.fill.symbol.as_str().to_string(),
                b.strategy.clone().unwrap_or_else(|| UNTAGGED.to_string()),
                true,
            ),
            LedgerEntry::Funding(f) => (
                f.symbol.as_str().to_string(),
                FUNDING_ROW.to_string(),
                false,
            ),
            _ => return,
        };
        let hour = u8::try_from(entry.time_ms().rem_euclid(86_400_000) / 3_600_000).unwrap_or(0);
        let (r, f, u) = (effect.realized, effect.fee_quote, effect.funding);
        let regime = regime_at(regimes, &instrument, entry.time_ms());
        self.total.add(r, f, u, fill);
        self.by_instrument
            .entry(instrument)
            .or_default()
            .add(r, f, u, fill);
        self.by_strategy
            .entry(strategy)
            .or_default()
            .add(r, f, u, fill);
        self.by_hour.entry(hour).or_default().add(r, f, u, fill);
        self.by_regime.entry(regime).or_default().add(r, f, u, fill);
    }

    /// Checks that every split sums to `ledger`'s net.
    fn balance(&self, ledger: &Ledger) -> Result<(), AnalyticsError> {
        let t = &ledger.totals;
        let net = t.realized - t.fees_quote + t.funding;
        let check = |dimension: &'static str, sum: Decimal| {
            if sum == net {
                Ok(())
            } else {
                Err(AnalyticsError::Unbalanced {
                    dimension,
                    sum,
                    net,
                })
            }
        };
        check("total", self.total.net)?;
        check(
            "instrument",
            self.by_instrument.values().map(|s| s.net).sum(),
        )?;
        check("strategy", self.by_strategy.values().map(|s| s.net).sum())?;
        check("hour", self.by_hour.values().map(|s| s.net).sum())?;
        check("regime", self.by_regime.values().map(|s| s.net).sum())
    }
}

/// Attributes the net P&L of `entries` (replayed as the ledger books them) by instrument,
/// strategy and hour, and checks that every split sums to the ledger's net.
///
/// # Errors
/// [`AnalyticsError::Replay`] if an entry cannot be booked, [`AnalyticsError::Unbalanced`] if
/// a sum differs (never expected).
pub fn attribution(
    config: LedgerConfig,
    entries: impl IntoIterator<Item = LedgerEntry>,
) -> Result<Attribution, AnalyticsError> {
    attribution_with_regimes(config, entries, &RegimeBook::new())
}

/// [`attribution`], with the regime split taken from `regimes`.
///
/// # Errors
/// As [`attribution`].
pub fn attribution_with_regimes(
    config: LedgerConfig,
    entries: impl IntoIterator<Item = LedgerEntry>,
    regimes: &RegimeBook,
) -> Result<Attribution, AnalyticsError> {
    let mut out = Attribution::default();
    let ledger = replay_effects(config, entries, |e, fx| out.add(e, fx, regimes))?;
    out.balance(&ledger)?;
    Ok(out)
}

/// Equity resampled to `period`: the last sample at or before each period's end, from the
/// period of the first sample to the period of the last; `(period start ms, equity)`.
///
/// # Errors
/// [`AnalyticsError::TooManyPeriods`] beyond [`MAX_PERIODS`].
pub fn resample(
    samples: &[(i64, Decimal)],
    period: Timeframe,
) -> Result<Vec<(i64, f64)>, AnalyticsError> {
    let mut sorted: Vec<(i64, Decimal)> = samples.to_vec();
    sorted.sort_by_key(|s| s.0);
    let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else {
        return Ok(Vec::new());
    };
    let ms = period.ms();
    let (start, end) = (first.0.div_euclid(ms), last.0.div_euclid(ms));
    let periods = end.saturating_sub(start).saturating_add(1);
    if usize::try_from(periods).map_or(true, |p| p > MAX_PERIODS) {
        return Err(AnalyticsError::TooManyPeriods {
            periods,
            period: format!("{ms} ms"),
        });
    }
    let mut out = Vec::with_capacity(periods as usize);
    let mut it = sorted.iter().peekable();
    let mut held = first.1;
    for k in start..=end {
        while let Some((_, e)) = it.next_if(|(t, _)| t.div_euclid(ms) <= k) {
            held = *e;
        }
        out.push((k * ms, held.to_f64().unwrap_or(0.0)));
    }
    Ok(out)
}

/// The resampled equity as a performance index: a deposit is not a gain and a withdrawal not a
/// loss, so the ratios measure trading, not the funding of the account. Each period's return is
/// the Modified Dietz return (GIPS): `(E_k − E_(k−1) − F) / (E_(k−1) + Σ w·f)`, where `F` is
/// the period's net transfer and each transfer `f` is weighted by the share `w` of the period
/// left after it; the returns are chained from the first equity (a time-weighted return).
/// `flows` are `(time ms, amount)`, deposits positive; flows in the first period are its base.
#[must_use]
pub fn performance_index(
    curve: &[(i64, f64)],
    flows: &[(i64, Decimal)],
    period: Timeframe,
) -> Vec<(i64, f64)> {
    let ms = period.ms();
    // Per period start: (net flow, time-weighted flow).
    let mut per_period: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (t, amount) in flows {
        let start = t.div_euclid(ms) * ms;
        let f = amount.to_f64().unwrap_or(0.0);
        let w = (start + ms - t) as f64 / ms as f64;
        let slot = per_period.entry(start).or_default();
        slot.0 += f;
        slot.1 += w * f;
    }
    let mut out = Vec::with_capacity(curve.len());
    let mut prev: Option<(f64, f64)> = None; // (equity, index)
    for &(t, e) in curve {
        let index = match prev {
            None => e,
            Some((pe, pi)) => {
                let (flow, weighted) = per_period.get(&t).copied().unwrap_or((0.0, 0.0));
                let base = pe + weighted;
                if base > 0.0 {
                    pi * (1.0 + (e - pe - flow) / base)
                } else {
                    pi
                }
            }
        };
        out.push((t, index));
        prev = Some((e, index));
    }
    out
}

/// A bot's live analytics.
#[derive(Debug, Clone, Serialize)]
pub struct LiveAnalytics {
    /// The resampling period (`1h`, `1d`, …).
    pub period: String,
    /// Equity points after resampling.
    pub points: usize,
    /// First and last period start (epoch ms), if any.
    pub from_ms: Option<i64>,
    /// See `from_ms`.
    pub to_ms: Option<i64>,
    /// The backtest report's ratios over the live equity (exposure is not tracked live: 0).
    pub metrics: Metrics,
    /// Net P&L by instrument, strategy and hour, exact.
    pub attribution: Attribution,
    /// The performance index per period (`[period start ms, index]`, see
    /// [`performance_index`]): the curve the ratios are computed on, and what comparisons of
    /// two bots pair.
    pub curve: Vec<(i64, f64)>,
}

/// A bot's [`LiveAnalytics`] from its ledger's config and entries and its equity samples,
/// resampled to `period` (a timeframe label: `1h`, `1d`, …).
///
/// # Errors
/// [`AnalyticsError::Period`] for an unknown label; see [`attribution`] and [`resample`].
pub fn live(
    config: LedgerConfig,
    entries: Vec<LedgerEntry>,
    equity: &[(i64, Decimal)],
    period: &str,
) -> Result<LiveAnalytics, AnalyticsError> {
    live_with_regimes(config, entries, equity, period, &RegimeBook::new())
}

/// [`live`], with the net P&L also attributed by the regime label in force at each fill.
///
/// # Errors
/// As [`live`].
pub fn live_with_regimes(
    config: LedgerConfig,
    entries: Vec<LedgerEntry>,
    equity: &[(i64, Decimal)],
    period: &str,
    regimes: &RegimeBook,
) -> Result<LiveAnalytics, AnalyticsError> {
    let tf = Timeframe::parse(period).map_err(|e| AnalyticsError::Period(e.to_string()))?;
    let mut attribution = Attribution::default();
    // Realized P&L net of its fee, per fill that realized any: what the executions' win rate
    // and profit factor count, as in a backtest.
    let mut executions = Vec::new();
    let mut flows = Vec::new();
    let ledger = replay_effects(config, entries, |e, fx| {
        attribution.add(e, fx, regimes);
        match e {
            LedgerEntry::Fill(_) if !fx.realized.is_zero() => {
                executions.push(fx.realized - fx.fee_quote);
            }
            LedgerEntry::Transfer(t) => flows.push((t.time_ms, t.amount)),
            _ => {}
        }
    })?;
    attribution.balance(&ledger)?;
    let curve = resample(equity, tf).map_err(|e| match e {
        AnalyticsError::TooManyPeriods { periods, .. } => AnalyticsError::TooManyPeriods {
            periods,
            period: period.to_string(),
        },
        other => other,
    })?;
    let curve = performance_index(&curve, &flows, tf);
    let metrics = crate::backtest::metrics::compute(
        &curve,
        tf,
        &executions,
        ledger.totals.volume_quote,
        ledger.totals.fees_quote,
        0,
    );
    Ok(LiveAnalytics {
        period: period.to_string(),
        points: curve.len(),
        from_ms: curve.first().map(|c| c.0),
        to_ms: curve.last().map(|c| c.0),
        metrics,
        attribution,
        curve,
    })
}
