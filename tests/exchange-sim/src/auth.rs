//! Request authentication exactly as the exchanges do it: Binance HMAC-SHA256 over the query
//! string concatenated with the body, as sent (so payloads not percent-encoded before signing
//! fail), with the `timestamp`/`recvWindow` rule; Bybit HMAC over
//! `timestamp + key + recvWindow + (query | body)` from the `X-BAPI-*` headers.

use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use sha2::Sha256;

use crate::config::Exchange;
use crate::http::{Params, Req};
use crate::state::State;

/// Lower-case hex HMAC-SHA256.
pub fn hmac_hex(secret: &str, msg: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut m) => {
            m.update(msg.as_bytes());
            hex::encode(m.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// An authentication failure: (HTTP status, exchange code, message).
pub type AuthError = (u16, i64, String);

fn strip_signature(s: &str) -> String {
    s.split('&')
        .filter(|p| !p.starts_with("signature="))
        .collect::<Vec<_>>()
        .join("&")
}

/// The exact payload Binance signs: query string (minus `signature`) followed by the body.
pub fn binance_payload(req: &Req) -> String {
    let q = strip_signature(&req.query);
    let b = if req.method == "GET" {
        String::new()
    } else {
        strip_signature(&req.body)
    };
    format!("{q}{b}")
}

fn mandatory(name: &str) -> AuthError {
    (
        400,
        -1102,
        format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
    )
}

/// Checks a Binance SIGNED request; returns the account index.
///
/// # Errors
/// `-2014`/`-2015` (401) for a missing or unknown key, `-1102` for a missing timestamp or
/// signature, `-1131` for a bad recvWindow, `-1022` for a bad signature, `-1021` for a timestamp
/// outside the window.
pub fn binance(
    state: &State,
    req: &Req,
    params: &Params,
    server_ms: i64,
) -> Result<usize, AuthError> {
    let key =
        req.header("x-mbx-apikey")
            .ok_or((401, -2014, "API-key format invalid.".to_string()))?;
    let account = state
        .account_by_key(key)
        .filter(|a| {
            state
                .accounts
                .get(*a)
                .is_some_and(|x| x.cfg.exchange == Exchange::Binance)
        })
        .ok_or((
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.".to_string(),
        ))?;
    let ts_raw = params
        .get("timestamp")
        .ok_or_else(|| mandatory("timestamp"))?;
    let ts: i64 = ts_raw.parse().map_err(|_| mandatory("timestamp"))?;
    let sig = params
        .get("signature")
        .ok_or_else(|| mandatory("signature"))?;
    let recv: Decimal = match params.get("recvWindow") {
        Some(r) => r.parse().map_err(|_| mandatory("recvWindow"))?,
        None => Decimal::from(5000),
    };
    if recv > Decimal::from(60_000) || recv <= Decimal::ZERO {
        return Err((400, -1131, "recvWindow must be less than 60000".to_string()));
    }
    let secret = state
        .accounts
        .get(account)
        .map(|a| a.cfg.api_secret.as_str())
        .unwrap_or_default();
    if !hmac_hex(secret, &binance_payload(req)).eq_ignore_ascii_case(sig) {
        return Err((
            400,
            -1022,
            "Signature for this request is not valid.".to_string(),
        ));
    }
    let ts_ms = Decimal::from(ts)
        / if ts > 100_000_000_000_000 {
            Decimal::from(1000)
        } else {
            Decimal::ONE
        };
    let server = Decimal::from(server_ms);
    if ts_ms >= server + Decimal::from(1000) {
        return Err((
            400,
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time.".to_string(),
        ));
    }
    if server - ts_ms > recv {
        return Err((
            400,
            -1021,
            "Timestamp for this request is outside of the recvWindow.".to_string(),
        ));
    }
    Ok(account)
}

/// Checks a Bybit private request; returns the account index.
///
/// # Errors
/// `10003` for a missing or unknown key, `10004` for a bad signature (with the origin string, as
/// Bybit answers), `10002` for a timestamp outside `[server - recvWindow, server + 1000)`.
pub fn bybit(state: &State, req: &Req, server_ms: i64) -> Result<usize, (i64, String)> {
    let key = req
        .header("x-bapi-api-key")
        .ok_or((10003, "API key is invalid.".to_string()))?;
    let account = state
        .account_by_key(key)
        .filter(|a| {
            state
                .accounts
                .get(*a)
                .is_some_and(|x| x.cfg.exchange == Exchange::Bybit)
        })
        .ok_or((10003, "API key is invalid.".to_string()))?;
    let ts_raw = req.header("x-bapi-timestamp").unwrap_or_default();
    let ts: i64 = ts_raw.parse().map_err(|_| {
        (
            10002,
            "invalid request, please check your timestamp and recv_window param".to_string(),
        )
    })?;
    let recv_raw = req.header("x-bapi-recv-window").unwrap_or("5000");
    let recv: i64 = recv_raw
        .parse()
        .map_err(|_| (10001, "params error: recv_window invalid".to_string()))?;
    let payload = if req.method == "GET" {
        req.query.as_str()
    } else {
        req.body.as_str()
    };
    let origin = format!("{ts_raw}{key}{recv_raw}{payload}");
    let secret = state
        .accounts
        .get(account)
        .map(|a| a.cfg.api_secret.as_str())
        .unwrap_or_default();
    let sig = req.header("x-bapi-sign").unwrap_or_default();
    if !hmac_hex(secret, &origin).eq_ignore_ascii_case(sig) {
        return Err((10004, format!("error sign! origin_string[{origin}]")));
    }
    if !(server_ms - recv <= ts && ts < server_ms + 1000) {
        return Err((
            10002,
            format!("invalid request, please check your server timestamp or recv_window param. req_timestamp[{ts}],server_timestamp[{server_ms}],recv_window[{recv}]"),
        ));
    }
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_vectors() {
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let cases = [
            ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559", "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"),
            ("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559", "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"),
            ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559", "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"),
        ];
        for (payload, sig) in cases {
            assert_eq!(hmac_hex(secret, payload), sig);
        }
        assert_eq!(
            hmac_hex(
                "test-secret",
                "1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C"
            ),
            "236d8f7132d3e4c8bad803010e296f3d07211356e54c01455b26c8229a682297"
        );
    }

    #[test]
    fn payload_is_query_then_body_without_signature() {
        let req = Req {
            method: "POST".into(),
            path: "/api/v3/order".into(),
            query: "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC".into(),
            headers: vec![],
            body: "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=abc"
                .into(),
            recv_ms: 0,
            recv_us: 0,
        };
        assert_eq!(binance_payload(&req), "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559");
    }
}
