//! Opening the bot's sealed exchange credentials with the master key(s), and the randomness the
//! sealing needs. A leaf: the exchange link opens credentials through here without importing the
//! admin routes that write them.

use super::BotDO;
use crate::http::ApiError;
use keel_engine::vault::{self, ApiCredentials, MasterKey, SealedCredentials};

/// `N` bytes from the runtime's randomness (nonces, webhook secrets).
///
/// # Errors
/// 500 when the runtime has no randomness.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).map_err(|e| ApiError::internal(format!("random: {e}")))?;
    Ok(buf)
}

/// The current master key and, during a rotation, the previous one.
///
/// # Errors
/// 503 when `MASTER_KEY` is unset or too weak.
pub fn master_keys(bot: &BotDO) -> Result<(MasterKey, Option<MasterKey>), ApiError> {
    let get = |name: &str| {
        bot.env
            .secret(name)
            .map(|s| s.to_string())
            .or_else(|_| bot.env.var(name).map(|v| v.to_string()))
            .ok()
    };
    let current = get("MASTER_KEY").ok_or_else(|| {
        ApiError::unavailable(
            "master_key_missing",
            "set the MASTER_KEY secret (wrangler secret put MASTER_KEY)",
        )
    })?;
    let current = MasterKey::derive(&current)
        .map_err(|e| ApiError::unavailable("master_key_weak", e.to_string()))?;
    let previous = get("MASTER_KEY_PREVIOUS").and_then(|p| MasterKey::derive(&p).ok());
    Ok((current, previous))
}

/// Opens the bot's exchange credentials (for the exchange path only; never returned by the API).
pub fn open_credentials(bot: &BotDO) -> Result<Option<ApiCredentials>, ApiError> {
    let Some(sealed) = super::store::kv_get::<SealedCredentials>(&bot.db, "credentials")? else {
        return Ok(None);
    };
    let (current, previous) = master_keys(bot)?;
    let mut keys = vec![&current];
    if let Some(p) = previous.as_ref() {
        keys.push(p);
    }
    let id = bot.bot_id()?;
    vault::open(&keys, id.as_str(), &sealed)
        .map(Some)
        .map_err(|e| ApiError::unavailable("credentials_unreadable", e.to_string()))
}
