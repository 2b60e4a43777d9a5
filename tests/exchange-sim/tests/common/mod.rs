//! Test harness: starts the simulator in-process on port 0 and talks to it over raw HTTP/1.1
//! with its own small signer (independent from the simulator's `auth` module).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use keel_exchange_sim::config::SimConfig;
use keel_exchange_sim::{server, Sim};
use serde_json::Value;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const BN_KEY: &str = "simBinanceKeyMain0001";
pub const BN_SECRET: &str = "simBinanceSecretMain0001";
pub const BN_BNB_KEY: &str = "simBinanceKeyBnb0002";
pub const BN_BNB_SECRET: &str = "simBinanceSecretBnb0002";
pub const BY_KEY: &str = "simBybitKeyMain0001";
pub const BY_SECRET: &str = "simBybitSecretMain0001";

/// A response, or `None` in `raw` when the server closed without answering.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, k: &str) -> Option<&str> {
        let k = k.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.as_str())
    }
    /// Binance error code.
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(0)
    }
    /// Bybit retCode.
    pub fn ret(&self) -> i64 {
        self.body["retCode"].as_i64().unwrap_or(-1)
    }
}

pub async fn start() -> SocketAddr {
    start_with(SimConfig::default()).await
}

pub async fn start_with(cfg: SimConfig) -> SocketAddr {
    let sim = Arc::new(Sim::new(cfg, 7));
    let (addr, _h) = server::start(sim, 0).await.expect("bind");
    addr
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn sign(secret: &str, payload: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(payload.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Sends one request on a fresh connection; `None` if the connection closed with no response.
pub async fn raw(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Option<Resp> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    if buf.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_string()));
    Some(Resp {
        status,
        headers,
        body,
    })
}

/// GET without auth.
pub async fn get(addr: SocketAddr, target: &str) -> Resp {
    raw(addr, "GET", target, &[], "").await.expect("response")
}

/// Admin call with a JSON body.
pub async fn admin(addr: SocketAddr, method: &str, path: &str, body: Value) -> Value {
    let b = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    raw(
        addr,
        method,
        path,
        &[("Content-Type", "application/json".to_string())],
        &b,
    )
    .await
    .expect("admin")
    .body
}

/// Binance SIGNED call: appends timestamp and signature to `params`, sends them in the query.
pub async fn binance(addr: SocketAddr, method: &str, path: &str, params: &str) -> Resp {
    binance_as(addr, BN_KEY, BN_SECRET, method, path, params, now_ms())
        .await
        .expect("response")
}

pub async fn binance_as(
    addr: SocketAddr,
    key: &str,
    secret: &str,
    method: &str,
    path: &str,
    params: &str,
    ts: i64,
) -> Option<Resp> {
    let sep = if params.is_empty() { "" } else { "&" };
    let payload = format!("{params}{sep}timestamp={ts}");
    let sig = sign(secret, &payload);
    raw(
        addr,
        method,
        &format!("{path}?{payload}&signature={sig}"),
        &[("X-MBX-APIKEY", key.to_string())],
        "",
    )
    .await
}

/// Bybit private call: GET sends `params` as query, POST as JSON body.
pub async fn bybit(addr: SocketAddr, method: &str, path: &str, params: &str) -> Resp {
    bybit_as(addr, BY_KEY, BY_SECRET, method, path, params, now_ms())
        .await
        .expect("response")
}

pub async fn bybit_as(
    addr: SocketAddr,
    key: &str,
    secret: &str,
    method: &str,
    path: &str,
    params: &str,
    ts: i64,
) -> Option<Resp> {
    let sig = sign(secret, &format!("{ts}{key}5000{params}"));
    let headers = [
        ("X-BAPI-API-KEY", key.to_string()),
        ("X-BAPI-TIMESTAMP", ts.to_string()),
        ("X-BAPI-RECV-WINDOW", "5000".to_string()),
        ("X-BAPI-SIGN", sig),
        ("Content-Type", "application/json".to_string()),
    ];
    if method == "GET" {
        raw(addr, method, &format!("{path}?{params}"), &headers, "").await
    } else {
        raw(addr, method, path, &headers, params).await
    }
}

/// Decimal-string field as f64 for assertions (exact values are compared as strings elsewhere).
pub fn num(v: &Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_f64())
        .unwrap_or(f64::NAN)
}
