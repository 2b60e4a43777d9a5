//! Wire-agnostic HTTP descriptions. The venue layer never sends anything: it returns an
//! [`HttpRequest`] that the Durable Object turns into a `fetch`, and it reads the answer back as an
//! [`HttpResponse`]. Keeping these plain values is what lets native tests, the backtester and the
//! Worker share every line of signing and parsing.

use serde::{Deserialize, Serialize};

/// HTTP method of a venue request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    /// `GET`: reads; parameters in the query string.
    Get,
    /// `POST`: order entry and Bybit writes.
    Post,
    /// `DELETE`: Binance cancels.
    Delete,
}

impl Method {
    /// The method as `fetch` expects it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// A fully built (and, where needed, signed) request. The Durable Object sends it verbatim:
/// `fetch(req.url(), { method, headers, body })`. The signature covers path, query and body but
/// never the host, so the same request may be re-sent to an alternate base URL (see
/// [`crate::venue::endpoints::BaseUrls`]) when the connection could not be opened at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Scheme and host, no trailing slash (`https://api.binance.com`).
    pub base_url: String,
    /// Path plus `?query` exactly as signed (`/api/v3/order?symbol=...&signature=...`).
    pub path_and_query: String,
    /// Headers to send, in order. Names as the exchange documents them.
    pub headers: Vec<(String, String)>,
    /// Body bytes as text (empty for GET and for Binance, which signs everything in the query).
    pub body: String,
    /// For signed requests: the server-time timestamp placed in the request, and how long after
    /// it the exchange still accepts it (recvWindow). After `signed_at_ms + recv_window_ms` in
    /// server time, an unheard-of order can no longer appear (see [`crate::venue::AmbiguousOrder`]).
    pub signed: Option<SignedWindow>,
}

/// The validity window of a signed request, in exchange server time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedWindow {
    /// Timestamp sent (`timestamp` / `X-BAPI-TIMESTAMP`), server-time milliseconds.
    pub signed_at_ms: i64,
    /// recvWindow sent, milliseconds.
    pub recv_window_ms: i64,
}

impl SignedWindow {
    /// Server time after which the exchange refuses this request, so its outcome is settled.
    pub fn expires_at_ms(&self) -> i64 {
        self.signed_at_ms.saturating_add(self.recv_window_ms)
    }
}

impl HttpRequest {
    /// Full URL: base plus path and query.
    pub fn url(&self) -> String {
        format!("{}{}", self.base_url, self.path_and_query)
    }

    /// The same request aimed at another base URL (failover). Signatures stay valid because no
    /// exchange signs the host.
    pub fn with_base_url(&self, base_url: &str) -> HttpRequest {
        let mut copy = self.clone();
        copy.base_url = base_url.trim_end_matches('/').to_string();
        copy
    }

    /// First header value with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// What came back. `received_ms` is the local clock when the response arrived, stamped by the
/// caller (the domain reads no clock) so that bans and clock samples have a time base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (any case; lookups ignore case).
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
    /// Local time of receipt, ms since the Unix epoch.
    pub received_ms: i64,
}

impl HttpResponse {
    /// First header value with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rebase_and_headers() {
        let req = HttpRequest {
            method: Method::Get,
            base_url: "https://api.binance.com".into(),
            path_and_query: "/api/v3/time".into(),
            headers: vec![("X-MBX-APIKEY".into(), "k".into())],
            body: String::new(),
            signed: None,
        };
        assert_eq!(req.url(), "https://api.binance.com/api/v3/time");
        let moved = req.with_base_url("https://api1.binance.com/");
        assert_eq!(moved.url(), "https://api1.binance.com/api/v3/time");
        assert_eq!(moved.header("x-mbx-apikey"), Some("k"));
        let resp = HttpResponse {
            status: 204,
            headers: vec![("retry-after".into(), "3".into())],
            body: String::new(),
            received_ms: 0,
        };
        assert!(resp.is_success());
        assert_eq!(resp.header("Retry-After"), Some("3"));
    }

    #[test]
    fn signed_window_expiry() {
        let w = SignedWindow {
            signed_at_ms: 1_000,
            recv_window_ms: 5_000,
        };
        assert_eq!(w.expires_at_ms(), 6_000);
    }
}
