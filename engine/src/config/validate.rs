//! Whole-config validation: every impossible or inconsistent value, each named by its path. All
//! problems are collected, so an operator fixes a config in one round trip.

use super::{BotConfig, ConfigError, FieldError, SignalSource, SizingMode};
use crate::model::Market;
use crate::signal::IpAllowlist;
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// Most `instruments` entries a bot may list.
pub const MAX_INSTRUMENTS: usize = 500;
/// Highest leverage any supported venue offers.
pub const MAX_LEVERAGE_CAP: Decimal = Decimal::from_parts(125, 0, 0, false, 0);

struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            reason: reason.into(),
        });
    }
}

/// True for `http://host...` or `https://host...` without spaces.
fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty()
                && !host.starts_with(':')
                && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or("");
    rest.starts_with("127.0.0.1") || rest.starts_with("localhost") || rest.starts_with("[::1]")
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

fn positive(p: &mut Problems, field: &str, v: Option<Decimal>) {
    if let Some(v) = v {
        if v <= Decimal::ZERO {
            p.add(field, format!("must be > 0, got {v}"));
        }
    }
}

impl super::ExitDistances {
    /// What is wrong with the distances, each with its field path (`exits.stop_loss_pct`).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.stop_loss_pct.is_none() && self.take_profit_pct.is_none() {
            out.push((
                "exits",
                "give stop_loss_pct, take_profit_pct or both".to_string(),
            ));
        }
        if let Some(v) = self.stop_loss_pct {
            if v <= Decimal::ZERO || v >= Decimal::ONE_HUNDRED {
                out.push((
                    "exits.stop_loss_pct",
                    format!("must be > 0 and < 100, got {v}"),
                ));
            }
        }
        if let Some(v) = self.take_profit_pct {
            if v <= Decimal::ZERO || v > Decimal::ONE_THOUSAND {
                out.push((
                    "exits.take_profit_pct",
                    format!("must be > 0 and <= 1000, got {v}"),
                ));
            }
        }
        out
    }
}

impl BotConfig {
    /// Checks every field and their consistency.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] listing every problem with its field path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = Problems(Vec::new());
        let name = self.name.trim();
        if name.is_empty() || self.name.chars().count() > 100 {
            p.add("name", "must be 1 to 100 characters");
        }
        match (&self.strategy, self.source) {
            (Some(s), _) if s.trim().is_empty() || s.len() > 64 => {
                p.add("strategy", "must be 1 to 64 characters");
            }
            (Some(_), SignalSource::Strategy) if self.strategy_spec.is_some() => {
                p.add(
                    "strategy",
                    "give either a built-in template name or strategy_spec, not both",
                );
            }
            (None, SignalSource::Strategy) if self.strategy_spec.is_none() => {
                p.add("strategy", "is required when source is \"strategy\"");
            }
            _ => {}
        }
        if self.strategy_spec.is_some() && self.source != SignalSource::Strategy {
            p.add("strategy_spec", "only for source \"strategy\"");
        }
        if let Some(x) = &self.exits {
            if self.source != SignalSource::Strategy {
                p.add(
                    "exits",
                    "only for source \"strategy\" (alerts carry stop_loss/take_profit prices)",
                );
            }
            for (field, reason) in x.problems() {
                p.add(field, reason);
            }
        }
        for (field, reason) in crate::strategy::live::config_problems(self) {
            p.add(field, reason);
        }
        for (field, reason) in super::live::problems(self) {
            p.add(field, reason);
        }
        if let Some(url) = &self.base_url {
            if !is_http_url(url) {
                p.add("base_url", format!("{url:?} must be an http(s) URL"));
            }
        }
        if self.egress_proxy_url.is_some() {
            p.add(
                "egress_proxy_url",
                "is not supported (removed): exchange calls leave from the bot's `location`; set that instead",
            );
        }
        self.validate_instruments(&mut p);
        self.validate_sizing(&mut p);
        self.validate_risk(&mut p);
        if let Err(e) = IpAllowlist::parse(&self.allowed_ips) {
            p.add(format!("allowed_ips[{}]", e.index), e.reason);
        }
        if let Some(email) = &self.alerts.email {
            if !is_email(email) {
                p.add(
                    "alerts.email",
                    format!("{email:?} is not an e-mail address"),
                );
            }
        }
        if let Some(hook) = &self.alerts.webhook {
            let ok = is_http_url(hook) && (hook.starts_with("https://") || is_loopback_url(hook));
            if !ok {
                p.add(
                    "alerts.webhook",
                    format!("{hook:?} must be an https URL (http only for loopback)"),
                );
            }
        }
        if let Some(hours) = &self.trading_hours {
            for (path, reason) in hours.problems() {
                p.add(format!("trading_hours{path}"), reason);
            }
        }
        if p.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(p.0))
        }
    }

    fn validate_instruments(&self, p: &mut Problems) {
        if self.instruments.is_empty() {
            p.add("instruments", "must list at least one symbol or pattern");
        }
        if self.instruments.len() > MAX_INSTRUMENTS {
            p.add("instruments", format!("at most {MAX_INSTRUMENTS} entries"));
        }
        let mut seen = BTreeSet::new();
        for (i, entry) in self.instruments.iter().enumerate() {
            if !seen.insert(entry.to_string()) {
                p.add(
                    format!("instruments[{i}]"),
                    format!("{entry} is listed twice"),
                );
            }
        }
    }

    fn validate_sizing(&self, p: &mut Problems) {
        let v = self.sizing.value;
        if v <= Decimal::ZERO {
            p.add("sizing.value", format!("must be > 0, got {v}"));
            return;
        }
        match self.sizing.mode {
            SizingMode::FixedQty | SizingMode::FixedQuote => {}
            SizingMode::PctEquity => {
                let leverage = match self.market {
                    Market::Spot => Decimal::ONE,
                    Market::Linear => self.risk.max_leverage.unwrap_or(Decimal::ONE),
                };
                // Clamp before multiplying: `risk.max_leverage` is bounded by `validate_risk`,
                // which reports its own problem, but an unbounded value (`1e28`) must not
                // overflow here first (Decimal `*` panics on overflow).
                let leverage = leverage.clamp(Decimal::ONE, MAX_LEVERAGE_CAP);
                let cap = Decimal::ONE_HUNDRED * leverage;
                if v > cap {
                    p.add(
                        "sizing.value",
                        format!("pct_equity must be <= {cap} (100 x max_leverage), got {v}"),
                    );
                }
            }
            SizingMode::RiskPerTrade => {
                if v > Decimal::ONE_HUNDRED {
                    p.add(
                        "sizing.value",
                        format!("risk_per_trade is a percent of equity, <= 100, got {v}"),
                    );
                }
            }
        }
        if let (SizingMode::FixedQuote, Some(max)) =
            (self.sizing.mode, self.risk.max_order_notional)
        {
            if v > max {
                p.add(
                    "sizing.value",
                    format!("fixed_quote {v} exceeds risk.max_order_notional {max}"),
                );
            }
        }
    }

    fn validate_risk(&self, p: &mut Problems) {
        let r = &self.risk;
        positive(p, "risk.max_order_notional", r.max_order_notional);
        positive(p, "risk.max_position_notional", r.max_position_notional);
        positive(p, "risk.max_daily_loss", r.max_daily_loss);
        if let (Some(order), Some(position)) = (r.max_order_notional, r.max_position_notional) {
            if position < order {
                p.add(
                    "risk.max_position_notional",
                    format!("{position} must be >= risk.max_order_notional {order}"),
                );
            }
        }
        if r.max_open_positions == Some(0) {
            p.add("risk.max_open_positions", "must be >= 1");
        }
        if let Some(lev) = r.max_leverage {
            if lev < Decimal::ONE {
                p.add("risk.max_leverage", format!("must be >= 1, got {lev}"));
            } else if lev > MAX_LEVERAGE_CAP {
                p.add("risk.max_leverage", format!("must be <= 125, got {lev}"));
            } else if self.market == Market::Spot && lev != Decimal::ONE {
                p.add(
                    "risk.max_leverage",
                    "spot has no leverage: must be 1 or absent",
                );
            }
        }
        if let Some(dd) = r.max_drawdown_pct {
            if dd <= Decimal::ZERO || dd > Decimal::ONE_HUNDRED {
                p.add(
                    "risk.max_drawdown_pct",
                    format!("must be in (0, 100], got {dd}"),
                );
            }
        }
        if r.max_trades_per_day == Some(0) {
            p.add("risk.max_trades_per_day", "must be >= 1");
        }
        if let Some(c) = r.cooldown_secs {
            if c > 7 * 86_400 {
                p.add(
                    "risk.cooldown_secs",
                    format!("must be <= 604800 (7 days), got {c}"),
                );
            }
        }
        if let Some(bps) = r.max_slippage_bps {
            if bps == 0 || bps > 10_000 {
                p.add(
                    "risk.max_slippage_bps",
                    format!("must be 1 to 10000, got {bps}"),
                );
            }
        }
        if let Some(age) = r.max_signal_age_secs {
            if age == 0 || age > 86_400 {
                p.add(
                    "risk.max_signal_age_secs",
                    format!("must be 1 to 86400, got {age}"),
                );
            }
        }
    }
}
