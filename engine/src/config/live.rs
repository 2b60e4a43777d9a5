//! Rules about where a bot's signed requests may go and what a live bot must limit (issue 26,
//! items 3 and 8). A live bot's API key signs every request, so its hosts are only the exchange's
//! official live hosts, over https; every other bot's `base_url` is https too, except plain http
//! to this machine's loopback (the local simulator). A live bot must also bound what one signal
//! can do: a notional cap per order, a position cap and a signal age limit, so a replayed, stale
//! or fat-fingered alert cannot spend the account.

use super::BotConfig;
use crate::model::BotMode;
use crate::venue::endpoints::{default_base_urls, Environment};

/// The host (with port) of an `http(s)://` URL, and whether it is https. `None` when the URL has
/// another scheme, no host, or user info (`user@host`, which hides the real host from a reader).
fn authority(url: &str) -> Option<(&str, bool)> {
    let (rest, https) = match url.strip_prefix("https://") {
        Some(r) => (r, true),
        None => (url.strip_prefix("http://")?, false),
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    (!host.is_empty() && !host.contains('@')).then_some((host, https))
}

/// Whether `url` is plain http to this machine (`127.0.0.1`, `localhost`, `[::1]`, any port).
pub fn is_loopback_http(url: &str) -> bool {
    let Some((host, false)) = authority(url) else {
        return false;
    };
    let name = match host.strip_prefix("[::1]") {
        Some(port) => return port.is_empty() || port.starts_with(':'),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    matches!(name, "127.0.0.1" | "localhost")
}

/// Problems of the config's `base_url` and live limits, as `(field, reason)`.
pub fn problems(config: &BotConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let live = config.mode == BotMode::Live;
    if let Some(url) = config.base_url.as_deref().map(str::trim) {
        let trimmed = url.trim_end_matches('/');
        if live {
            let official = default_base_urls(config.exchange, config.market, Environment::Live);
            if !official.contains(&trimmed) {
                out.push((
                    "base_url".into(),
                    format!(
                        "a live bot sends its API key only to the exchange's official hosts ({}); got {url:?}",
                        official.join(", ")
                    ),
                ));
            }
        } else if !matches!(authority(url), Some((_, true))) && !is_loopback_http(url) {
            out.push((
                "base_url".into(),
                format!("{url:?} must be an https URL (plain http only to 127.0.0.1/localhost)"),
            ));
        }
    }
    if live {
        let r = &config.risk;
        for (field, missing, what) in [
            (
                "risk.max_order_notional",
                r.max_order_notional.is_none(),
                "a notional cap per order",
            ),
            (
                "risk.max_position_notional",
                r.max_position_notional.is_none(),
                "a position cap",
            ),
            (
                "risk.max_signal_age_secs",
                r.max_signal_age_secs.is_none(),
                "a signal age limit",
            ),
        ] {
            if missing {
                out.push((
                    field.into(),
                    format!("is required for a live bot ({what}); set it before going live"),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(mode: &str, base_url: Option<&str>, risk: serde_json::Value) -> BotConfig {
        let mut v = json!({
            "id": "bot", "name": "Bot", "exchange": "binance", "market": "spot", "mode": mode,
            "instruments": ["BTCUSDT"], "sizing": {"mode": "fixed_quote", "value": "50"},
            "risk": risk,
        });
        if let Some(u) = base_url {
            v["base_url"] = json!(u);
        }
        serde_json::from_value(v).unwrap()
    }

    fn fields(c: &BotConfig) -> Vec<String> {
        problems(c).into_iter().map(|(f, _)| f).collect()
    }

    const CAPS: &str = r#"{"max_order_notional": "100", "max_position_notional": "500", "max_signal_age_secs": 30}"#;

    #[test]
    fn live_bots_need_all_three_limits_named() {
        let none = config("live", None, json!({}));
        assert_eq!(
            fields(&none),
            [
                "risk.max_order_notional",
                "risk.max_position_notional",
                "risk.max_signal_age_secs"
            ]
        );
        let caps: serde_json::Value = serde_json::from_str(CAPS).unwrap();
        assert!(fields(&config("live", None, caps.clone())).is_empty());
        assert!(
            fields(&config("testnet", None, json!({}))).is_empty(),
            "only live bots"
        );
    }

    #[test]
    fn live_hosts_are_the_official_ones_only() {
        let caps: serde_json::Value = serde_json::from_str(CAPS).unwrap();
        for ok in ["https://api.binance.com", "https://api3.binance.com/"] {
            assert!(
                fields(&config("live", Some(ok), caps.clone())).is_empty(),
                "{ok}"
            );
        }
        for bad in [
            "http://api.binance.com",
            "https://api.binance.com.evil.example",
            "https://testnet.binance.vision",
            "http://127.0.0.1:9100",
            "https://fapi.binance.com",
        ] {
            assert_eq!(
                fields(&config("live", Some(bad), caps.clone())),
                ["base_url"],
                "{bad}"
            );
        }
    }

    #[test]
    fn other_modes_need_https_or_loopback_http() {
        for ok in [
            "https://testnet.binance.vision",
            "http://127.0.0.1:9100",
            "http://localhost:8787/",
            "http://[::1]:9000",
        ] {
            assert!(
                fields(&config("testnet", Some(ok), json!({}))).is_empty(),
                "{ok}"
            );
        }
        for bad in [
            "http://example.com",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example:80",
            "http://user@127.0.0.1",
            "ftp://127.0.0.1",
        ] {
            assert_eq!(
                fields(&config("paper", Some(bad), json!({}))),
                ["base_url"],
                "{bad}"
            );
        }
    }
}
