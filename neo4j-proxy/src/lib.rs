//! # keel-neo4j-proxy
//!
//! The Worker that owns the Neo4j credentials. Bots' Durable Objects and the edge Worker reach it
//! only through a service binding; it writes the audit outbox's batches idempotently
//! (`UNWIND $events … MERGE` on `(bot_id, seq)`, building the graph of docs/design.md) and answers the
//! admin API's audit reads. Requests must carry `X-Proxy-Token` when `PROXY_TOKEN` is set.
//!
//! Routes: `POST /events`, `GET /health`, `GET /signals/{signal_id}[?bot_id=]`,
//! `GET /bots/{bot_id}/events?after=&limit=`, `GET /bots/{bot_id}/verify?after=&limit=`.
//!
//! Everything decidable without I/O is in pure modules tested natively: [`query`] (Query API
//! requests, answers, error classes), [`cypher`] (statements), [`rows`] (batch validation and
//! graph facts), [`reads`] (answer shapes, paged verification). Only `neo4j` and `handlers`
//! (wasm32 only) do I/O.

pub mod cypher;
pub mod query;
pub mod reads;
pub mod rows;

#[cfg(target_arch = "wasm32")]
mod handlers;
#[cfg(target_arch = "wasm32")]
mod neo4j;

/// Whether a request's proxy token is acceptable: anything goes when no token is configured,
/// otherwise the header must match in constant time (the comparison does not stop early).
pub fn token_ok(expected: Option<&str>, got: Option<&str>) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let Some(got) = got else { return false };
    let (a, b) = (expected.as_bytes(), got.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

/// Worker entry: hands every request to the router.
#[cfg(target_arch = "wasm32")]
#[worker::event(fetch)]
async fn fetch(
    req: worker::Request,
    env: worker::Env,
    _ctx: worker::Context,
) -> worker::Result<worker::Response> {
    handlers::router().run(req, env).await
}

#[cfg(test)]
mod tests {
    use super::token_ok;

    #[test]
    fn token_check() {
        for (expected, got, ok) in [
            (None, None, true),
            (None, Some("x"), true),
            (Some("s3cret"), None, false),
            (Some("s3cret"), Some("s3cret"), true),
            (Some("s3cret"), Some("s3cre"), false),
            (Some("s3cret"), Some("s3cret!"), false),
            (Some("s3cret"), Some("S3cret"), false),
        ] {
            assert_eq!(token_ok(expected, got), ok, "{expected:?} {got:?}");
        }
    }
}
