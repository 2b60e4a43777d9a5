//! Who may send a bot signals, and when: the per-bot secret (constant-time compare), the
//! `X-Keel-Signature` HMAC for sources that can sign, the source-IP allowlist (with TradingView's
//! published addresses as a preset) and the freshness window. All pure: the clock and the client
//! address come in as arguments.

use super::SignalError;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// The header a signing source sends: `t=<unix seconds>,v1=<hex hmac-sha256(secret, t.body)>`.
pub const SIGNATURE_HEADER: &str = "X-Keel-Signature";
/// A signature's `t` may differ from now by at most this much (replay window).
pub const SIGNATURE_WINDOW_SECS: i64 = 300;
/// TradingView's published webhook source addresses (preset name `tradingview`).
pub const TRADINGVIEW_IPS: [&str; 4] = [
    "52.89.214.238",
    "34.212.75.30",
    "54.218.53.128",
    "52.32.178.7",
];
/// How far in the future a signal's `time` may be (clock differences), in seconds.
pub const MAX_FUTURE_SKEW_SECS: i64 = 30;

/// How a request proved it came from the bot's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// The `secret` field matched.
    Secret,
    /// The `X-Keel-Signature` header verified.
    Signature,
}

/// Why a request was not authenticated (401) or not allowed from its address (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Neither a `secret` field nor a signature header.
    #[error("no secret and no X-Keel-Signature header")]
    MissingCredentials,
    /// The `secret` field did not match.
    #[error("secret does not match")]
    BadSecret,
    /// The signature header could not be read.
    #[error("X-Keel-Signature is malformed: {reason}")]
    MalformedSignature {
        /// What is wrong.
        reason: String,
    },
    /// The signature's timestamp is outside the window.
    #[error("X-Keel-Signature timestamp is {skew_secs} s from now; the window is ±300 s")]
    SignatureExpired {
        /// `now - t` in seconds.
        skew_secs: i64,
    },
    /// No `v1` value matched the body.
    #[error("X-Keel-Signature does not match the body")]
    BadSignature,
    /// The source address is not in the bot's allowlist.
    #[error("source address {ip} is not allowed")]
    IpNotAllowed {
        /// The address seen (`CF-Connecting-IP`), or `unknown`.
        ip: String,
    },
}

impl AuthError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingCredentials => "missing_credentials",
            AuthError::BadSecret => "bad_secret",
            AuthError::MalformedSignature { .. } => "malformed_signature",
            AuthError::SignatureExpired { .. } => "signature_expired",
            AuthError::BadSignature => "bad_signature",
            AuthError::IpNotAllowed { .. } => "ip_not_allowed",
        }
    }

    /// True for the address check (403); every other variant is an authentication failure (401).
    pub fn is_forbidden_source(&self) -> bool {
        matches!(self, AuthError::IpNotAllowed { .. })
    }
}

/// Compares two secrets in time independent of where they differ: both are hashed to 32 bytes
/// first, so neither the content nor the length of the expected secret leaks through timing.
pub fn secret_matches(expected: &[u8], given: &[u8]) -> bool {
    let a = Sha256::digest(expected);
    let b = Sha256::digest(given);
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    diff == 0 && !expected.is_empty()
}

/// Verifies `X-Keel-Signature` over the raw body. Several `v1=` entries are allowed (secret
/// rotation); one match suffices. The MAC comparison is constant-time (`Mac::verify_slice`).
///
/// # Errors
/// [`AuthError`] when malformed, outside the ±[`SIGNATURE_WINDOW_SECS`] window, or not matching.
pub fn verify_signature(
    header: &str,
    body: &[u8],
    secret: &[u8],
    now_ms: i64,
) -> Result<(), AuthError> {
    let malformed = |reason: &str| AuthError::MalformedSignature {
        reason: reason.to_string(),
    };
    let mut t: Option<&str> = None;
    let mut v1: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| malformed("expected t=<unix>,v1=<hex>"))?;
        match k {
            "t" if t.is_none() => t = Some(v),
            "t" => return Err(malformed("t given twice")),
            "v1" => v1.push(hex::decode(v).map_err(|_| malformed("v1 is not hex"))?),
            _ => {} // other schemes (v0, v2...) are ignored, as with Stripe-style headers.
        }
    }
    let t = t.ok_or_else(|| malformed("t is missing"))?;
    if v1.is_empty() {
        return Err(malformed("v1 is missing"));
    }
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 12 {
        return Err(malformed("t must be Unix seconds"));
    }
    let t_secs: i64 = t.parse().map_err(|_| malformed("t must be Unix seconds"))?;
    let skew_secs = now_ms.div_euclid(1000) - t_secs;
    if skew_secs.abs() > SIGNATURE_WINDOW_SECS {
        return Err(AuthError::SignatureExpired { skew_secs });
    }
    for candidate in &v1 {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret).map_err(|_| malformed("unusable secret"))?;
        mac.update(t.as_bytes());
        mac.update(b".");
        mac.update(body);
        if mac.verify_slice(candidate).is_ok() {
            return Ok(());
        }
    }
    Err(AuthError::BadSignature)
}

/// Authenticates one webhook: the signature header when present (it must then verify), otherwise
/// the body's `secret` field.
///
/// # Errors
/// [`AuthError`] when neither proves the sender knows the bot's secret.
pub fn authenticate(
    body_secret: Option<&super::WebhookSecret>,
    signature_header: Option<&str>,
    body: &[u8],
    bot_secret: &[u8],
    now_ms: i64,
) -> Result<AuthMethod, AuthError> {
    if let Some(header) = signature_header {
        verify_signature(header, body, bot_secret, now_ms)?;
        return Ok(AuthMethod::Signature);
    }
    match body_secret {
        Some(given) if secret_matches(bot_secret, given.expose()) => Ok(AuthMethod::Secret),
        Some(_) => Err(AuthError::BadSecret),
        None => Err(AuthError::MissingCredentials),
    }
}

/// Refuses a signal whose `time` is older than `max_age_secs` (or more than
/// [`MAX_FUTURE_SKEW_SECS`] ahead). With no limit configured every time passes; with a limit, a
/// signal without `time` is refused, since its age cannot be proven.
///
/// # Errors
/// [`SignalError::Stale`] or [`SignalError::Missing`] for `time`.
pub fn check_freshness(
    time_ms: Option<i64>,
    now_ms: i64,
    max_age_secs: Option<u64>,
) -> Result<(), SignalError> {
    let Some(max) = max_age_secs else {
        return Ok(());
    };
    let Some(time_ms) = time_ms else {
        return Err(SignalError::Missing {
            field: "time",
            reason: format!("the bot refuses signals older than {max} s, so it needs their time"),
        });
    };
    let age_ms = now_ms.saturating_sub(time_ms);
    let age_secs = age_ms.div_euclid(1000);
    if age_ms > i64::try_from(max).unwrap_or(i64::MAX).saturating_mul(1000) {
        return Err(SignalError::Stale {
            age_secs,
            reason: format!("signal is {age_secs} s old; max_signal_age_secs is {max}"),
        });
    }
    if age_ms < -MAX_FUTURE_SKEW_SECS * 1000 {
        return Err(SignalError::Stale {
            age_secs,
            reason: format!("signal time is {} s in the future", -age_secs),
        });
    }
    Ok(())
}

/// A bot's allowed source addresses: single addresses, CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`)
/// and the preset `tradingview`. Empty means any address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpAllowlist {
    ranges: Vec<(IpAddr, u8)>,
}

/// An allowlist entry that is neither an address, a CIDR range nor a preset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allowed_ips[{index}] {entry:?}: {reason}")]
pub struct IpAllowlistError {
    /// Position in the list.
    pub index: usize,
    /// The entry.
    pub entry: String,
    /// What is wrong.
    pub reason: String,
}

impl IpAllowlist {
    /// Parses the config's `allowed_ips`.
    ///
    /// # Errors
    /// [`IpAllowlistError`] naming the first bad entry.
    pub fn parse(entries: &[String]) -> Result<Self, IpAllowlistError> {
        let mut ranges = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let err = |reason: &str| IpAllowlistError {
                index,
                entry: entry.clone(),
                reason: reason.to_string(),
            };
            if entry == "tradingview" {
                for ip in TRADINGVIEW_IPS {
                    let addr: IpAddr = ip.parse().map_err(|_| err("bad preset address"))?;
                    ranges.push((addr, 32));
                }
                continue;
            }
            let (addr_text, prefix) = match entry.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (entry.as_str(), None),
            };
            let addr: IpAddr = addr_text
                .parse()
                .map_err(|_| err("expected an IP address, a CIDR range or \"tradingview\""))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| err("bad prefix length"))?,
            };
            ranges.push((addr, prefix));
        }
        Ok(Self { ranges })
    }

    /// True when the list is empty (any source allowed).
    pub fn is_open(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether a request from `ip` (the `CF-Connecting-IP` value) may proceed.
    ///
    /// # Errors
    /// [`AuthError::IpNotAllowed`] when the list is non-empty and the address is absent,
    /// unparsable or outside every range.
    pub fn check(&self, ip: Option<&str>) -> Result<(), AuthError> {
        if self.is_open() {
            return Ok(());
        }
        let refused = || AuthError::IpNotAllowed {
            ip: ip.unwrap_or("unknown").to_string(),
        };
        let addr: IpAddr = ip.and_then(|s| s.trim().parse().ok()).ok_or_else(refused)?;
        if self.ranges.iter().any(|(net, p)| in_range(addr, *net, *p)) {
            Ok(())
        } else {
            Err(refused())
        }
    }
}

fn in_range(addr: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let mask = |bits: u32, width: u32| -> u128 {
        if bits == 0 {
            0
        } else {
            (u128::MAX << (width - bits)) & (u128::MAX >> (128 - width))
        }
    };
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let m = mask(u32::from(prefix), 32);
            (u128::from(u32::from(a)) & m) == (u128::from(u32::from(n)) & m)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let m = mask(u32::from(prefix), 128);
            (u128::from(a) & m) == (u128::from(n) & m)
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => match a.to_ipv4_mapped() {
            Some(v4) => in_range(IpAddr::V4(v4), net, prefix),
            None => false,
        },
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
