//! The bot's stored config (row `config` of the kv table) and the small parsers every route
//! shares. A leaf: the routes, the exchange link and the views all read the config through here,
//! so none of them has to import the admin routes that write it.

use super::BotDO;
use crate::http::ApiError;
use keel_engine::audit::Actor;
use keel_engine::config::BotConfig;
use serde::{Deserialize, Serialize};

/// The stored config with its version (a new version on every change).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredConfig {
    /// Version, from 1.
    pub version: u64,
    /// The validated config.
    pub config: BotConfig,
    /// When this version was written (ms).
    pub updated_ms: i64,
}

/// Parses an actor string from the edge.
pub fn actor(s: &str) -> Result<Actor, ApiError> {
    Actor::try_from(s.to_string())
        .map_err(|e| ApiError::bad_request("invalid_actor", e.to_string()))
}

/// The current config, or 404 when the bot does not exist.
pub fn load_config(bot: &BotDO) -> Result<StoredConfig, ApiError> {
    super::store::kv_get::<StoredConfig>(&bot.db, "config")?
        .ok_or_else(|| ApiError::not_found("unknown_bot", "no such bot"))
}
