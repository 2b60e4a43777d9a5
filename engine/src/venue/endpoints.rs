//! Base URLs per exchange, market and environment, and the failover rotation over them. A bot's
//! `base_url` (testnet, demo, or the local simulator) replaces the list entirely.

use crate::model::{Exchange, Market};
use serde::{Deserialize, Serialize};

/// Which deployment of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// Production.
    Live,
    /// Public testnet.
    Testnet,
    /// Demo trading (real prices, fake money).
    Demo,
}

/// Known hosts, first = preferred (docs/exchanges.md §1.1, §2, §3.1).
pub fn default_base_urls(
    exchange: Exchange,
    market: Market,
    env: Environment,
) -> &'static [&'static str] {
    match (exchange, market, env) {
        (Exchange::Binance, Market::Spot, Environment::Live) => &[
            "https://api.binance.com",
            "https://api1.binance.com",
            "https://api2.binance.com",
            "https://api3.binance.com",
            "https://api4.binance.com",
        ],
        (Exchange::Binance, Market::Spot, Environment::Testnet) => &[
            "https://testnet.binance.vision",
            "https://api1.testnet.binance.vision",
        ],
        (Exchange::Binance, Market::Spot, Environment::Demo) => &["https://demo-api.binance.com"],
        (Exchange::Binance, Market::Linear, Environment::Live) => &["https://fapi.binance.com"],
        (Exchange::Binance, Market::Linear, Environment::Testnet) => {
            &["https://testnet.binancefuture.com"]
        }
        (Exchange::Binance, Market::Linear, Environment::Demo) => {
            &["https://demo-fapi.binance.com"]
        }
        (Exchange::Bybit, _, Environment::Live) => {
            &["https://api.bybit.com", "https://api.bytick.com"]
        }
        (Exchange::Bybit, _, Environment::Testnet) => &["https://api-testnet.bybit.com"],
        (Exchange::Bybit, _, Environment::Demo) => &["https://api-demo.bybit.com"],
    }
}

/// An ordered list of base URLs with a cursor: on a connection failure (the request never left,
/// or a read failed) the caller moves to the next one. The cursor sticks to the last host that
/// worked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseUrls {
    urls: Vec<String>,
    current: usize,
}

impl BaseUrls {
    /// The bot's override if set, else the defaults for its exchange/market/environment.
    pub fn resolve(
        exchange: Exchange,
        market: Market,
        env: Environment,
        override_url: Option<&str>,
    ) -> Self {
        let urls = match override_url {
            Some(u) if !u.trim().is_empty() => vec![u.trim().trim_end_matches('/').to_string()],
            _ => default_base_urls(exchange, market, env)
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        Self { urls, current: 0 }
    }

    /// The host to use now.
    pub fn current(&self) -> &str {
        self.urls.get(self.current).map_or("", String::as_str)
    }

    /// Moves to the next host after a connection failure; returns it, or `None` once every host
    /// has been tried since the last success (then the caller reports the exchange unavailable).
    pub fn next_after_failure(&mut self, tried: usize) -> Option<&str> {
        if self.urls.len() <= 1 || tried + 1 >= self.urls.len() {
            return None;
        }
        self.current = (self.current + 1) % self.urls.len();
        Some(self.current())
    }

    /// All hosts, in order.
    pub fn all(&self) -> &[String] {
        &self.urls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_walks_the_list_once() {
        let mut urls = BaseUrls::resolve(Exchange::Binance, Market::Spot, Environment::Live, None);
        assert_eq!(urls.current(), "https://api.binance.com");
        assert_eq!(urls.next_after_failure(0), Some("https://api1.binance.com"));
        assert_eq!(urls.next_after_failure(1), Some("https://api2.binance.com"));
        assert_eq!(urls.next_after_failure(4), None);
        let bybit = BaseUrls::resolve(Exchange::Bybit, Market::Linear, Environment::Live, None);
        assert_eq!(
            bybit.all(),
            ["https://api.bybit.com", "https://api.bytick.com"]
        );
    }

    #[test]
    fn override_replaces_defaults() {
        let mut urls = BaseUrls::resolve(
            Exchange::Bybit,
            Market::Spot,
            Environment::Live,
            Some("http://127.0.0.1:9100/"),
        );
        assert_eq!(urls.current(), "http://127.0.0.1:9100");
        assert_eq!(urls.next_after_failure(0), None);
    }
}
