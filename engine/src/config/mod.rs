//! The bot config of docs/bot-config.md, strictly typed.
//!
//! Why strict: a config decides where real money goes. Unknown fields are errors (a misspelt
//! `max_leverag` must not silently mean "no leverage limit"), every error names its field with its
//! full path (`risk.max_leverage`), decimals are read exactly from strings or numbers, and
//! [`BotConfig::validate`] refuses impossible limits. Changes go through [`BotConfig::apply_patch`]
//! (JSON merge-patch), which yields a new validated config plus a field-level diff for the audit.

pub mod live;
mod patch;
mod validate;
pub mod whitelist;

#[cfg(test)]
pub(crate) mod tests;

pub use patch::{merge_patch, FieldChange};
pub use whitelist::{is_whitelisted, InstrumentPattern, PatternError};

use crate::ids::{BotId, Symbol};
use crate::model::{BotMode, Exchange, Market};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// How a bot sizes an order when the alert does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizingMode {
    /// `value` is a base quantity.
    FixedQty,
    /// `value` is a quote amount (USDT to spend).
    FixedQuote,
    /// `value` is a percent of equity, as notional.
    PctEquity,
    /// `value` is the percent of equity lost if the stop-loss is hit (qty from stop distance).
    RiskPerTrade,
}

/// `sizing` of the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizingConfig {
    /// The mode.
    pub mode: SizingMode,
    /// Its value (meaning per mode), exact.
    #[serde(deserialize_with = "de_decimal")]
    pub value: Decimal,
}

/// `risk` of the config. Every limit is optional: absent means that rule is not enforced (the
/// risk engine records it as skipped in the audit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskLimits {
    /// Largest notional (quote) of one order.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub max_order_notional: Option<Decimal>,
    /// Largest notional of the position in one symbol after an order.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub max_position_notional: Option<Decimal>,
    /// Most symbols with an open position at once.
    #[serde(default)]
    pub max_open_positions: Option<u32>,
    /// Highest leverage (exchange setting and gross exposure / equity).
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub max_leverage: Option<Decimal>,
    /// Largest loss (realized + unrealized, quote) since 00:00 UTC before new risk is refused.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub max_daily_loss: Option<Decimal>,
    /// Largest drawdown from the equity peak, in percent.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub max_drawdown_pct: Option<Decimal>,
    /// Most orders opened per UTC day.
    #[serde(default)]
    pub max_trades_per_day: Option<u32>,
    /// Least time between two trades in one symbol, seconds.
    #[serde(default)]
    pub cooldown_secs: Option<u64>,
    /// Largest distance between the alert's price and the market, in basis points.
    #[serde(default)]
    pub max_slippage_bps: Option<u32>,
    /// Oldest accepted alert (`time`), seconds.
    #[serde(default)]
    pub max_signal_age_secs: Option<u64>,
    /// Refuse opening orders without a stop-loss.
    #[serde(default)]
    pub require_stop_loss: bool,
}

/// Where the bot's failures are reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// An e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// An HTTPS URL that receives a JSON POST.
    #[serde(default)]
    pub webhook: Option<String>,
}

/// Cloudflare Durable Object location hint (docs/deploy.md): where the bot's exchange calls leave from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationHint {
    /// Western North America.
    Wnam,
    /// Eastern North America.
    Enam,
    /// South America.
    Sam,
    /// Western Europe.
    Weur,
    /// Eastern Europe.
    Eeur,
    /// Asia-Pacific: the default, near both exchanges' matching engines.
    #[default]
    Apac,
    /// Oceania.
    Oc,
    /// Africa.
    Afr,
    /// Middle East.
    Me,
}

/// Where a bot's signals come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalSource {
    /// TradingView webhooks.
    #[default]
    Tradingview,
    /// A built-in strategy (named by `strategy`).
    Strategy,
}

/// One bot's whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// The bot's id (immutable).
    pub id: BotId,
    /// Display name.
    pub name: String,
    /// Strategy label (TradingView) or built-in strategy name (`source: strategy`).
    #[serde(default)]
    pub strategy: Option<String>,
    /// Exchange.
    pub exchange: Exchange,
    /// Market.
    pub market: Market,
    /// Paper, testnet or live.
    pub mode: BotMode,
    /// Overrides the exchange URL (testnet, local simulator).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Whitelist: symbols and `*USDT` / `BTC*` patterns.
    pub instruments: Vec<InstrumentPattern>,
    /// Default sizing.
    pub sizing: SizingConfig,
    /// Risk limits. Optional as a whole, like each limit in it: absent means `{}` (no limit
    /// enforced), so a paper bot can be created with just what it trades and how it sizes.
    #[serde(default)]
    pub risk: RiskLimits,
    /// Source-IP allowlist for webhooks (`tradingview` preset, addresses, CIDR); empty = any.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// Failure notifications.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// Durable Object location hint.
    #[serde(default)]
    pub location: LocationHint,
    /// Signal source.
    #[serde(default)]
    pub source: SignalSource,
    /// Removed (issue 26): an egress proxy was documented but never used, so a bot configured
    /// with one silently called the exchange directly. Workers' `fetch` cannot tunnel through an
    /// HTTP proxy; exchange calls leave from the Durable Object's location (`location`), which is
    /// the supported way to choose the egress region. The field is still read so stored configs
    /// load, and validation refuses any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_proxy_url: Option<String>,
    /// UTC windows in which the cron keeps the bot warm; absent = always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trading_hours: Option<crate::schedule::TradingHours>,
    /// Parameters of the built-in strategy (`source: strategy`), validated against its specs;
    /// changing one makes a new strategy version.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, serde_json::Number>,
    /// Bar interval the strategy runs on (`1m`, `5m`, `1h`…; `source: strategy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<String>,
    /// A declarative strategy (`source: strategy`) run instead of a built-in template: the spec
    /// document itself (`keel_engine::strategy::spec`), so a new strategy needs no redeploy.
    /// `params` are validated against its declared parameters; `strategy` must then be absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy_spec: Option<serde_json::Value>,
    /// Stop-loss / take-profit a strategy bot (`source: strategy`) puts on every entry, as
    /// distances from the entry price (alerts carry absolute prices instead). The backtester,
    /// paper and live bots place them the same way, so a strategy relying on stops trades alike
    /// in all three.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exits: Option<ExitDistances>,
}

/// Stop-loss / take-profit distances in percent of the entry price (`2.5` = 2.5 %), turned into
/// trigger prices at each entry (see [`crate::venue::protect::at_distance`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitDistances {
    /// Stop-loss distance, percent (0 < x < 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss_pct: Option<Decimal>,
    /// Take-profit distance, percent (0 < x ≤ 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_profit_pct: Option<Decimal>,
}

/// One validation problem, with the field's full path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path (`risk.max_leverage`, `instruments[2]`).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// Why a config (or a patch) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not JSON, unknown field, wrong type: the first such problem, with its path.
    #[error("{field}: {reason}")]
    Parse {
        /// Path of the field (`.` for the document itself).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Well-formed but impossible: every problem found.
    #[error("invalid config: {}", .0.iter().map(|e| format!("{} {}", e.field, e.reason)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
}

impl ConfigError {
    /// Every problem as field + reason, for the API's error body.
    pub fn fields(&self) -> Vec<FieldError> {
        match self {
            ConfigError::Parse { field, reason } => vec![FieldError {
                field: field.clone(),
                reason: reason.clone(),
            }],
            ConfigError::Invalid(errors) => errors.clone(),
        }
    }
}

impl BotConfig {
    /// Parses and validates a config from JSON bytes.
    ///
    /// # Errors
    /// [`ConfigError`] naming the field.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ConfigError::Parse {
            field: ".".into(),
            reason: e.to_string(),
        })?;
        Self::from_value(value)
    }

    /// Reads and validates a config from a JSON value.
    ///
    /// # Errors
    /// [`ConfigError`] naming the field.
    pub fn from_value(value: Value) -> Result<Self, ConfigError> {
        let config: BotConfig =
            serde_path_to_error::deserialize(value).map_err(|e| ConfigError::Parse {
                field: match e.path().to_string().as_str() {
                    "" | "." => ".".to_string(),
                    p => p.to_string(),
                },
                reason: e.inner().to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// The config as JSON (decimals as strings), as stored and returned by the API.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] if serialisation failed (it cannot for these types).
    pub fn to_value(&self) -> Result<Value, ConfigError> {
        serde_json::to_value(self).map_err(|e| ConfigError::Parse {
            field: ".".into(),
            reason: e.to_string(),
        })
    }

    /// Whether the bot may trade `symbol` (exact entries and wildcards).
    pub fn allows_symbol(&self, symbol: &Symbol) -> bool {
        is_whitelisted(&self.instruments, symbol)
    }
}

fn de_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let v = Value::deserialize(d)?;
    crate::signal::value::decimal(&v).map_err(serde::de::Error::custom)
}

fn de_opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => crate::signal::value::decimal(&v)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}
