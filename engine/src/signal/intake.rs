//! The edge's whole webhook check in one call, in the order that costs least and leaks least:
//! size (413) → source address (403) → signature when one is sent (401) → schema (400/422) →
//! secret when no signature was sent (401) → freshness (422). The Worker maps the rejection to
//! its status in one place; this function only decides.

use super::auth::{authenticate, check_freshness, verify_signature, AuthError, AuthMethod};
use super::{parse_signal, ParsedSignal, SignalError, MAX_BODY_BYTES};
use crate::config::BotConfig;
use crate::signal::IpAllowlist;

/// What the edge knows about one webhook request.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The raw body, exactly as received (the signature covers these bytes).
    pub body: &'a [u8],
    /// The `X-Keel-Signature` header, if sent.
    pub signature: Option<&'a str>,
    /// The `CF-Connecting-IP` header, if present.
    pub client_ip: Option<&'a str>,
}

/// Why a webhook was turned away before reaching the bot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRejection {
    /// Size, schema or freshness (413 / 400 / 422).
    #[error(transparent)]
    Signal(#[from] SignalError),
    /// Authentication (401) or source address (403).
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl WebhookRejection {
    /// A stable machine-readable code for the JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookRejection::Signal(e) => e.code(),
            WebhookRejection::Auth(e) => e.code(),
        }
    }
}

/// Runs every edge check of docs/trading.md for one bot and returns the parsed signal.
///
/// # Errors
/// [`WebhookRejection`] with the first failed check.
pub fn accept_webhook(
    request: &WebhookRequest<'_>,
    config: &BotConfig,
    bot_secret: &[u8],
    now_ms: i64,
) -> Result<(ParsedSignal, AuthMethod), WebhookRejection> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(SignalError::TooLarge {
            size: request.body.len(),
            max: MAX_BODY_BYTES,
        }
        .into());
    }
    // The config was validated, so its allowlist parses; should it not, refuse (fail closed).
    let allowlist =
        IpAllowlist::parse(&config.allowed_ips).map_err(|_| AuthError::IpNotAllowed {
            ip: request.client_ip.unwrap_or("unknown").to_string(),
        })?;
    allowlist.check(request.client_ip)?;
    if let Some(header) = request.signature {
        verify_signature(header, request.body, bot_secret, now_ms)?;
    }
    let parsed = parse_signal(request.body)?;
    let method = authenticate(
        parsed.secret.as_ref(),
        request.signature,
        request.body,
        bot_secret,
        now_ms,
    )?;
    check_freshness(
        parsed.signal.time_ms,
        now_ms,
        config.risk.max_signal_age_secs,
    )?;
    Ok((parsed, method))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000_000;

    fn config(ips: serde_json::Value) -> BotConfig {
        BotConfig::from_value(json!({
            "id": "bot", "name": "Bot", "exchange": "binance", "market": "spot", "mode": "paper",
            "instruments": ["BTCUSDT"], "sizing": {"mode": "fixed_quote", "value": "50"},
            "risk": {"max_signal_age_secs": 30}, "allowed_ips": ips
        }))
        .unwrap()
    }

    fn req<'a>(body: &'a [u8], ip: Option<&'a str>) -> WebhookRequest<'a> {
        WebhookRequest {
            body,
            signature: None,
            client_ip: ip,
        }
    }

    #[test]
    fn checks_in_order() {
        let open = config(json!([]));
        let tv = config(json!(["tradingview"]));
        let good = br#"{"secret":"s","action":"buy","symbol":"BTCUSDT","time":1700000000}"#;
        let stale = br#"{"secret":"s","action":"buy","symbol":"BTCUSDT","time":1699999900}"#;
        let wrong = br#"{"secret":"x","action":"buy","symbol":"BTCUSDT","time":1700000000}"#;
        let junk = br#"{"secret":"s","action":"buy","symbol":"BTCUSDT","extra":1}"#;
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let tv_ip = Some("52.89.214.238");
        let cases: Vec<(&BotConfig, WebhookRequest<'_>, Result<AuthMethod, &str>)> = vec![
            (&open, req(good, None), Ok(AuthMethod::Secret)),
            (&tv, req(good, tv_ip), Ok(AuthMethod::Secret)),
            (&tv, req(good, Some("1.2.3.4")), Err("ip_not_allowed")),
            (&tv, req(&big, tv_ip), Err("body_too_large")),
            (&tv, req(junk, tv_ip), Err("unknown_field")),
            (&tv, req(wrong, tv_ip), Err("bad_secret")),
            (&tv, req(stale, tv_ip), Err("stale_signal")),
            (&tv, req(junk, Some("1.2.3.4")), Err("ip_not_allowed")),
            (
                &open,
                WebhookRequest {
                    body: junk,
                    signature: Some("t=1700000000,v1=00"),
                    client_ip: None,
                },
                Err("bad_signature"),
            ),
        ];
        for (i, (cfg, request, expected)) in cases.into_iter().enumerate() {
            let got = accept_webhook(&request, cfg, b"s", NOW)
                .map(|(_, m)| m)
                .map_err(|e| e.code());
            assert_eq!(got, expected, "case {i}");
        }
    }
}
