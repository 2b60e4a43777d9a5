//! Plain request/response values the protocol modules work on, independent of hyper, plus
//! form parsing with the exchanges' precedence (query string before body).

use percent_encoding::percent_decode_str;
use serde_json::Value;

/// A received request, fully read, with its receive time.
#[derive(Clone, Debug)]
pub struct Req {
    /// HTTP method, upper case.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string as sent (no leading `?`).
    pub query: String,
    /// Headers in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Raw body as text.
    pub body: String,
    /// Receive time, ms since epoch (real clock, not skewed).
    pub recv_ms: i64,
    /// Receive time, µs since epoch.
    pub recv_us: i64,
}

impl Req {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response to send; `drop_connection` closes the socket instead (fault injection).
#[derive(Clone, Debug)]
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// JSON body text.
    pub body: String,
    /// Close the connection without answering.
    pub drop_connection: bool,
}

impl Resp {
    /// JSON response with a status.
    pub fn json(status: u16, v: &Value) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: v.to_string(),
            drop_connection: false,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, k: &str, v: impl ToString) -> Resp {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
}

/// Decoded `key=value` pairs in order; lookups return the first occurrence.
#[derive(Clone, Debug, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses an `application/x-www-form-urlencoded` string (`+` is a space).
    pub fn parse(s: &str) -> Params {
        let dec = |x: &str| {
            percent_decode_str(&x.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        Params(
            s.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (dec(k), dec(v)),
                    None => (dec(p), String::new()),
                })
                .collect(),
        )
    }

    /// Query parameters followed by form-body parameters (query wins on duplicates).
    pub fn from_req(req: &Req) -> Params {
        let mut p = Params::parse(&req.query);
        let form = req
            .header("content-type")
            .is_none_or(|c| c.contains("x-www-form-urlencoded"));
        if form && !req.body.trim_start().starts_with('{') {
            p.0.extend(Params::parse(&req.body).0);
        }
        p
    }

    /// First value of a parameter, if present and non-empty.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_parsing_and_precedence() {
        let p = Params::parse("a=1&b=x%20y&c=p+q&a=2&d");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("x y"));
        assert_eq!(p.get("c"), Some("p q"));
        assert_eq!(p.get("d"), None);
    }
}
