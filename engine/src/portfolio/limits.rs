//! Portfolio limits: the operator's caps on what several bots hold *together* (a scope: the
//! platform, one exchange account, or a named group of bots), checked before every entry of every
//! bot in the scope, and the loss limits that halt the scope.
//!
//! Why a separate check from [`crate::risk`]: the bot's own rules see one bot; these see the sum.
//! Like the bot's rules, an order that only reduces what the scope holds in an asset always
//! passes (you can always reduce risk), and every refusal names its rule, limit and observed value.
//! Money is exact; only the correlation-aware risk figure is statistics (f64).

use super::risk::{portfolio_risk, RiskModel};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// The operator's limits for one scope; an absent limit is not checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioLimits {
    /// Highest gross exposure: Σ |notional| over assets, quote currency.
    #[serde(default)]
    pub max_gross: Option<Decimal>,
    /// Highest net exposure: |Σ signed notional|.
    #[serde(default)]
    pub max_net: Option<Decimal>,
    /// Highest |notional| in one asset, percent of the scope's equity.
    #[serde(default)]
    pub max_asset_pct: Option<Decimal>,
    /// Drawdown from the equity peak, percent, that halts the scope.
    #[serde(default)]
    pub max_drawdown_pct: Option<Decimal>,
    /// Loss since the day's start (00:00 UTC) that halts the scope, quote currency.
    #[serde(default)]
    pub max_daily_loss: Option<Decimal>,
    /// Highest portfolio volatility (one period of the risk model's returns, quote currency),
    /// from the exposures and the shrunk covariance: see [`portfolio_risk`].
    #[serde(default)]
    pub max_risk: Option<Decimal>,
}

/// Why limits are refused when set.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LimitsError {
    /// A limit that must be positive is not.
    #[error("{field} must be positive, got {value}")]
    NotPositive {
        /// The field.
        field: &'static str,
        /// Its value.
        value: Decimal,
    },
    /// A percentage over 100.
    #[error("{field} is a percentage of at most 100, got {value}")]
    OverHundred {
        /// The field.
        field: &'static str,
        /// Its value.
        value: Decimal,
    },
}

impl PortfolioLimits {
    /// Checks the limits' own values.
    ///
    /// # Errors
    /// The first field out of range, named.
    pub fn validate(&self) -> Result<(), LimitsError> {
        let fields = [
            ("max_gross", self.max_gross, false),
            ("max_net", self.max_net, false),
            ("max_asset_pct", self.max_asset_pct, true),
            ("max_drawdown_pct", self.max_drawdown_pct, true),
            ("max_daily_loss", self.max_daily_loss, false),
            ("max_risk", self.max_risk, false),
        ];
        for (field, value, pct) in fields {
            let Some(value) = value else { continue };
            if value <= Decimal::ZERO {
                return Err(LimitsError::NotPositive { field, value });
            }
            if pct && value > Decimal::ONE_HUNDRED {
                return Err(LimitsError::OverHundred { field, value });
            }
        }
        Ok(())
    }
}

/// One portfolio rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortfolioRule {
    /// The scope is halted.
    Halted,
    /// [`PortfolioLimits::max_gross`].
    MaxGross,
    /// [`PortfolioLimits::max_net`].
    MaxNet,
    /// [`PortfolioLimits::max_asset_pct`].
    MaxAssetPct,
    /// [`PortfolioLimits::max_risk`].
    MaxRisk,
    /// [`PortfolioLimits::max_drawdown_pct`].
    MaxDrawdownPct,
    /// [`PortfolioLimits::max_daily_loss`].
    MaxDailyLoss,
}

/// A refused entry or a halting breach: the rule, its limit and the observed value (after the
/// order, for exposure rules).
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("portfolio {rule:?}: observed {observed} against limit {limit}")]
pub struct PortfolioBreach {
    /// Which rule.
    pub rule: PortfolioRule,
    /// Its limit.
    pub limit: Decimal,
    /// What was observed.
    pub observed: Decimal,
}

/// What a scope holds and has earned, as the ControlDO aggregates it from its bots' reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScopeState {
    /// Signed notional per asset (long positive), quote currency.
    pub exposures: BTreeMap<String, Decimal>,
    /// Equity now.
    pub equity: Decimal,
    /// Highest equity seen.
    pub peak_equity: Decimal,
    /// Equity at the day's start.
    pub day_start_equity: Decimal,
    /// Halted (by the operator or by a loss breach).
    pub halted: bool,
}

/// A proposed change of one asset's exposure in the scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The asset (base currency), e.g. `BTC`.
    pub asset: String,
    /// Signed notional added (a buy positive).
    pub delta: Decimal,
}

impl ScopeState {
    /// Σ |notional|.
    pub fn gross(&self) -> Decimal {
        self.exposures
            .values()
            .fold(Decimal::ZERO, |s, e| s.saturating_add(e.abs()))
    }

    /// |Σ notional|.
    pub fn net(&self) -> Decimal {
        self.exposures
            .values()
            .fold(Decimal::ZERO, |s, e| s.saturating_add(*e))
            .abs()
    }

    fn held(&self, asset: &str) -> Decimal {
        self.exposures.get(asset).copied().unwrap_or_default()
    }

    fn after(&self, entry: &Entry) -> ScopeState {
        let mut next = self.clone();
        let held = self.held(&entry.asset);
        next.exposures
            .insert(entry.asset.clone(), held.saturating_add(entry.delta));
        next
    }
}

/// True when the entry only reduces what the scope holds in the asset: same sign, smaller or
/// equal magnitude. Such orders pass every portfolio rule, also when halted.
pub fn reduces(state: &ScopeState, entry: &Entry) -> bool {
    let before = state.held(&entry.asset);
    let after = before.saturating_add(entry.delta);
    after.abs() <= before.abs()
        && (after.is_zero() || after.is_sign_positive() == before.is_sign_positive())
}

/// The entry check: every exposure rule against the scope after the entry.
///
/// # Errors
/// The first breach, in the order halted, gross, net, asset, risk.
pub fn check_entry(
    limits: &PortfolioLimits,
    state: &ScopeState,
    entry: &Entry,
    model: Option<&RiskModel>,
) -> Result<(), PortfolioBreach> {
    if reduces(state, entry) {
        return Ok(());
    }
    if state.halted {
        return Err(PortfolioBreach {
            rule: PortfolioRule::Halted,
            limit: Decimal::ZERO,
            observed: Decimal::ONE,
        });
    }
    let after = state.after(entry);
    let over = |rule, limit: Option<Decimal>, observed: Decimal| match limit {
        Some(limit) if observed > limit => Err(PortfolioBreach {
            rule,
            limit,
            observed,
        }),
        _ => Ok(()),
    };
    over(PortfolioRule::MaxGross, limits.max_gross, after.gross())?;
    over(PortfolioRule::MaxNet, limits.max_net, after.net())?;
    if let Some(pct) = limits.max_asset_pct {
        let held = after.held(&entry.asset).abs();
        // With no equity every holding is over any share of it.
        let observed = percent_of(held, state.equity);
        over(PortfolioRule::MaxAssetPct, Some(pct), observed)?;
    }
    if let (Some(limit), Some(model)) = (limits.max_risk, model) {
        let risk = portfolio_risk(model, &after.exposures);
        let observed = Decimal::from_f64_retain(risk)
            .map(|d| d.round_dp(2))
            .unwrap_or(Decimal::MAX);
        over(PortfolioRule::MaxRisk, Some(limit), observed)?;
    }
    Ok(())
}

/// The loss check run on every report: a breach halts the scope (the caller records the halt,
/// audits and alerts it). Drawdown first, then the daily loss.
pub fn halt_breach(limits: &PortfolioLimits, state: &ScopeState) -> Option<PortfolioBreach> {
    if let Some(limit) = limits.max_drawdown_pct {
        if state.peak_equity > Decimal::ZERO {
            let dd = percent_of(
                state.peak_equity.saturating_sub(state.equity),
                state.peak_equity,
            );
            if dd >= limit {
                return Some(PortfolioBreach {
                    rule: PortfolioRule::MaxDrawdownPct,
                    limit,
                    observed: dd,
                });
            }
        }
    }
    if let Some(limit) = limits.max_daily_loss {
        let loss = state.day_start_equity.saturating_sub(state.equity);
        if loss >= limit {
            return Some(PortfolioBreach {
                rule: PortfolioRule::MaxDailyLoss,
                limit,
                observed: loss,
            });
        }
    }
    None
}

/// `part` as a percentage of `whole`, 4 decimals; with no (or negative) whole, or on overflow,
/// the largest value, so a limit on it is breached rather than passed.
fn percent_of(part: Decimal, whole: Decimal) -> Decimal {
    if whole <= Decimal::ZERO {
        return Decimal::MAX;
    }
    part.checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|x| x.checked_div(whole))
        .map_or(Decimal::MAX, |x| x.round_dp(4))
}
