//! The one place that talks HTTP: a blocking `ureq` agent that hands back every status (errors
//! are API answers to print, not transport failures) and the body as text.

use crate::plan::{Call, Method};
use std::time::Duration;
use thiserror::Error;

/// A call that got no HTTP answer at all.
#[derive(Debug, Error)]
#[error("cannot reach {url}: {source}")]
pub struct TransportError {
    /// The URL called.
    pub url: String,
    /// What the HTTP client said.
    #[source]
    pub source: ureq::Error,
}

/// An HTTP answer: status and raw body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// Body text (JSON for the admin API).
    pub body: String,
}

/// A configured client for one Keel deployment.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Client {
    /// `base` is the deployment root (`https://keel.example.workers.dev`), `token` the bearer.
    pub fn new(base: &str, token: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Flatten and halt wait for exchanges; generous, but never hang forever.
            .timeout_global(Some(Duration::from_secs(90)))
            .build();
        Self {
            agent: config.into(),
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    /// Sends one call and returns whatever status came back.
    pub fn send(&self, call: &Call) -> Result<Answer, TransportError> {
        let url = format!("{}{}", self.base, call.path);
        let auth = format!("Bearer {}", self.token);
        let fail = |source| TransportError {
            url: url.clone(),
            source,
        };
        let result = match (call.method, &call.body) {
            (Method::Get, _) => self.agent.get(&url).header("authorization", &auth).call(),
            (Method::Delete, _) => self
                .agent
                .delete(&url)
                .header("authorization", &auth)
                .call(),
            (method, body) => {
                let text = body
                    .as_ref()
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "{}".into());
                let req = match method {
                    Method::Put => self.agent.put(&url),
                    Method::Patch => self.agent.patch(&url),
                    _ => self.agent.post(&url),
                };
                req.header("authorization", &auth)
                    .header("content-type", "application/json")
                    .send(text.as_str())
            }
        };
        let mut response = result.map_err(fail)?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().map_err(fail)?;
        Ok(Answer { status, body })
    }
}
