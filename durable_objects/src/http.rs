//! The internal JSON protocol between the edge Worker and the Durable Objects. Every answer is a
//! JSON body with an HTTP status; errors carry `{code, message, field?}` so the edge forwards them
//! unchanged and the mapping from domain error to status lives in [`ApiError`] only.

use serde::Serialize;
use worker::{Request, Response};

/// An error answer: one variant per HTTP status the platform uses, with a machine `code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Machine-readable code (`unknown_bot`, `bad_signature`, `risk_max_order_notional`, ...).
    pub code: String,
    /// Human explanation.
    pub message: String,
    /// Offending field, when one is to blame.
    pub field: Option<String>,
    /// Extra machine-readable detail (risk rule limit/observed, first outcome of a duplicate).
    pub detail: Option<serde_json::Value>,
    /// The bot's mode (`paper`/`testnet`/`live`) when the error answers a signal to a configured
    /// bot: every webhook answer says which mode acted, refusals included.
    pub mode: Option<serde_json::Value>,
}

impl ApiError {
    /// Builds an error with status, code and message.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            field: None,
            detail: None,
            mode: None,
        }
    }

    /// Names the offending field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Attaches machine-readable detail.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// 400 malformed input.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    /// 401 authentication failed.
    pub fn unauthorized(code: &str, message: impl Into<String>) -> Self {
        Self::new(401, code, message)
    }
    /// 403 authenticated but not allowed.
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(403, code, message)
    }
    /// 404 unknown resource.
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }
    /// 409 conflict / duplicate.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }
    /// 422 refused by validation or risk.
    pub fn unprocessable(code: &str, message: impl Into<String>) -> Self {
        Self::new(422, code, message)
    }
    /// 423 paused or halted.
    pub fn locked(code: &str, message: impl Into<String>) -> Self {
        Self::new(423, code, message)
    }
    /// 500 our own failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", message)
    }
    /// 503 a dependency is unavailable.
    pub fn unavailable(code: &str, message: impl Into<String>) -> Self {
        Self::new(503, code, message)
    }

    /// The JSON body of this error.
    pub fn body(&self) -> serde_json::Value {
        let mut v = serde_json::json!({"code": self.code, "message": self.message});
        if let Some(f) = &self.field {
            v["field"] = serde_json::Value::String(f.clone());
        }
        if let Some(d) = &self.detail {
            v["detail"] = d.clone();
        }
        if let Some(m) = &self.mode {
            v["mode"] = m.clone();
        }
        v
    }

    /// The HTTP response for this error.
    pub fn to_response(&self) -> worker::Result<Response> {
        Ok(Response::from_json(&self.body())?.with_status(self.status))
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        ApiError::unavailable("storage_unavailable", e.to_string())
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::internal(e.to_string())
    }
}

/// Serialises a value as a JSON response with the given status.
pub fn json<T: Serialize>(status: u16, value: &T) -> worker::Result<Response> {
    Ok(Response::from_json(value)?.with_status(status))
}

/// Turns a handler result into a response.
pub fn respond(result: Result<Response, ApiError>) -> worker::Result<Response> {
    match result {
        Ok(r) => Ok(r),
        Err(e) => e.to_response(),
    }
}

/// Reads a JSON body, answering 400 with the parse error.
///
/// # Errors
/// [`ApiError`] 400 `invalid_json`.
pub async fn read_json<T: serde::de::DeserializeOwned>(req: &mut Request) -> Result<T, ApiError> {
    let bytes = req.bytes().await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("request body: {e}")))
}

/// Cuts caller-controlled text to at most `max` characters (on a character boundary), marking
/// the cut: refusals echo and record a bounded amount of what an unauthenticated caller sent.
pub fn cap_text(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}… ({} bytes cut)", &text[..at], text.len() - at),
    }
}

#[cfg(test)]
mod cap_tests {
    use super::cap_text;

    #[test]
    fn cap_text_cuts_on_characters() {
        assert_eq!(cap_text("abc", 5), "abc");
        let cut = cap_text(&"é".repeat(10), 3);
        assert!(cut.starts_with("ééé…"), "{cut}");
        assert!(cut.contains("14 bytes cut"), "{cut}");
        assert_eq!(cap_text("😀😀", 1), "😀… (4 bytes cut)");
    }
}

/// The secret shared with the neo4j-proxy Worker (`wrangler secret put PROXY_TOKEN` on both).
/// The proxy refuses every request without it once it is set there, so the edge and the bots
/// send it on every call.
pub const PROXY_TOKEN: &str = "PROXY_TOKEN";
/// The header the proxy reads it from.
pub const PROXY_TOKEN_HEADER: &str = "X-Proxy-Token";

/// A request to the neo4j-proxy service binding at `path`, carrying `X-Proxy-Token` when
/// `PROXY_TOKEN` is set, and a JSON `body` when given.
///
/// # Errors
/// When the request cannot be built.
pub fn neo4j_proxy_request(
    env: &worker::Env,
    method: worker::Method,
    path: &str,
    body: Option<String>,
) -> worker::Result<Request> {
    let headers = worker::Headers::new();
    if let Some(token) = env
        .secret(PROXY_TOKEN)
        .map(|s| s.to_string())
        .or_else(|_| env.var(PROXY_TOKEN).map(|v| v.to_string()))
        .ok()
        .filter(|t| !t.is_empty())
    {
        headers.set(PROXY_TOKEN_HEADER, &token)?;
    }
    let mut init = worker::RequestInit::new();
    init.with_method(method);
    if let Some(body) = body {
        headers.set("Content-Type", "application/json")?;
        init.with_body(Some(body.into()));
    }
    init.with_headers(headers);
    Request::new_with_init(&format!("https://neo4j-proxy{path}"), &init)
}
