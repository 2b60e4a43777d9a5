//! Accounts and wallets: free and locked balances per asset, futures positions and leverage.
//! Kept apart from matching so balance arithmetic is small enough to check by eye.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::config::{AccountConfig, Venue};

/// Free and locked amount of one asset.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Balance {
    /// Available to new orders.
    pub free: Decimal,
    /// Held by open orders.
    pub locked: Decimal,
}

/// Balances per asset of one wallet.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Wallet {
    /// Asset → balance.
    pub assets: BTreeMap<String, Balance>,
}

/// Failure of a wallet operation: the account would go below zero.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("insufficient {asset}: need {need}, have {have}")]
pub struct Insufficient {
    /// Asset short.
    pub asset: String,
    /// Amount needed.
    pub need: Decimal,
    /// Amount available.
    pub have: Decimal,
}

impl Wallet {
    /// Builds a wallet whose configured balances are all free.
    pub fn from_map(map: &BTreeMap<String, Decimal>) -> Self {
        let assets = map
            .iter()
            .map(|(a, v)| {
                (
                    a.clone(),
                    Balance {
                        free: *v,
                        locked: Decimal::ZERO,
                    },
                )
            })
            .collect();
        Wallet { assets }
    }

    /// Free amount of `asset` (zero if unknown).
    pub fn free(&self, asset: &str) -> Decimal {
        self.assets.get(asset).map(|b| b.free).unwrap_or_default()
    }

    /// Moves `amount` from free to locked.
    ///
    /// # Errors
    /// `Insufficient` when free is smaller than `amount`.
    pub fn lock(&mut self, asset: &str, amount: Decimal) -> Result<(), Insufficient> {
        let b = self.assets.entry(asset.to_string()).or_default();
        if b.free < amount {
            return Err(Insufficient {
                asset: asset.to_string(),
                need: amount,
                have: b.free,
            });
        }
        b.free -= amount;
        b.locked += amount;
        Ok(())
    }

    /// Moves up to `amount` from locked back to free.
    pub fn unlock(&mut self, asset: &str, amount: Decimal) {
        let b = self.assets.entry(asset.to_string()).or_default();
        let amount = amount.min(b.locked);
        b.locked -= amount;
        b.free += amount;
    }

    /// Removes `amount` from locked (an order's held funds are spent).
    pub fn spend_locked(&mut self, asset: &str, amount: Decimal) {
        let b = self.assets.entry(asset.to_string()).or_default();
        b.locked -= amount.min(b.locked);
    }

    /// Adds `amount` (may be negative, e.g. a loss or a fee) to free.
    pub fn credit(&mut self, asset: &str, amount: Decimal) {
        self.assets.entry(asset.to_string()).or_default().free += amount;
    }

    /// Removes `amount` from free.
    ///
    /// # Errors
    /// `Insufficient` when free is smaller than `amount`.
    pub fn debit(&mut self, asset: &str, amount: Decimal) -> Result<(), Insufficient> {
        let b = self.assets.entry(asset.to_string()).or_default();
        if b.free < amount {
            return Err(Insufficient {
                asset: asset.to_string(),
                need: amount,
                have: b.free,
            });
        }
        b.free -= amount;
        Ok(())
    }
}

/// One-way futures position.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Position {
    /// Signed size: positive long, negative short.
    pub amt: Decimal,
    /// Average entry price of the open size.
    pub entry_price: Decimal,
    /// Realised P&L accumulated over the position's life.
    pub realized_pnl: Decimal,
    /// Last change, ms.
    pub update_time: i64,
}

/// An account at run time.
#[derive(Clone, Debug, Serialize)]
pub struct Account {
    /// Configuration (name, keys).
    pub cfg: AccountConfig,
    /// Spot (Binance) or unified (Bybit) wallet.
    pub spot: Wallet,
    /// Binance futures wallet.
    pub futures: Wallet,
    /// Positions keyed by venue and symbol.
    pub positions: BTreeMap<String, Position>,
    /// Leverage per venue/symbol key (default 20).
    pub leverage: BTreeMap<String, u32>,
}

/// Key of per-symbol futures maps: `"binance_futures:BTCUSDT"`.
pub fn pos_key(venue: Venue, symbol: &str) -> String {
    format!("{venue:?}:{symbol}")
}

impl Account {
    /// Creates the run-time account from its configuration.
    pub fn new(cfg: &AccountConfig) -> Self {
        Account {
            cfg: cfg.clone(),
            spot: Wallet::from_map(&cfg.spot),
            futures: Wallet::from_map(&cfg.futures),
            positions: BTreeMap::new(),
            leverage: BTreeMap::new(),
        }
    }

    /// The wallet a venue trades from: Bybit is unified, Binance futures has its own.
    pub fn wallet_mut(&mut self, venue: Venue) -> &mut Wallet {
        match venue {
            Venue::BinanceFutures => &mut self.futures,
            _ => &mut self.spot,
        }
    }

    /// Read-only counterpart of [`Account::wallet_mut`].
    pub fn wallet(&self, venue: Venue) -> &Wallet {
        match venue {
            Venue::BinanceFutures => &self.futures,
            _ => &self.spot,
        }
    }

    /// Leverage of a symbol (exchanges default to 20x on new symbols here).
    pub fn leverage_of(&self, venue: Venue, symbol: &str) -> u32 {
        self.leverage
            .get(&pos_key(venue, symbol))
            .copied()
            .unwrap_or(20)
    }

    /// Position of a symbol, flat if none.
    pub fn position(&self, venue: Venue, symbol: &str) -> Position {
        self.positions
            .get(&pos_key(venue, symbol))
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_unlock_spend_and_insufficient() {
        let mut w = Wallet::default();
        w.credit("USDT", Decimal::from(100));
        assert!(w.lock("USDT", Decimal::from(60)).is_ok());
        assert_eq!(w.free("USDT"), Decimal::from(40));
        assert!(w.lock("USDT", Decimal::from(41)).is_err());
        w.spend_locked("USDT", Decimal::from(10));
        w.unlock("USDT", Decimal::from(100));
        assert_eq!(w.free("USDT"), Decimal::from(90));
        assert_eq!(w.assets["USDT"].locked, Decimal::ZERO);
        assert_eq!(
            w.debit("BTC", Decimal::ONE).map_err(|e| e.asset),
            Err("BTC".to_string())
        );
    }
}
