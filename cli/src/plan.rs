//! What each command sends: method, path under the API root and JSON body. Pure, so the mapping
//! from a command line to the admin API contract is unit-tested without a server.

use crate::args::Command;
use crate::portfolio::PortfolioCommand;
use serde_json::{json, Value};

/// HTTP methods the admin API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Reads.
    Get,
    /// Creates and actions.
    Post,
    /// Credentials (write-only replace).
    Put,
    /// Config merge-patch.
    Patch,
    /// Bot deletion.
    Delete,
}

/// One admin API call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// Path from the server root, `/api/v1/...` or `/health`.
    pub path: String,
    /// JSON body, if the endpoint takes one.
    pub body: Option<Value>,
}

impl Call {
    pub(crate) fn new(method: Method, path: String, body: Option<Value>) -> Self {
        Self { method, path, body }
    }
}

/// Percent-encodes a path segment so an id can never escape its place in the URL.
pub fn segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn bot(id: &str, tail: &str) -> String {
    format!("/api/v1/bots/{}{tail}", segment(id))
}

fn reason(reason: &Option<String>) -> Value {
    json!({ "reason": reason })
}

/// The calls of a `keel portfolio …` command; `input` is its file's JSON.
pub fn portfolio_calls(cmd: &PortfolioCommand, input: Option<Value>) -> Vec<Call> {
    use Method::{Delete, Get, Post, Put};
    let scope =
        |name: &str, tail: &str| format!("/api/v1/portfolio/scopes/{}{tail}", segment(name));
    match cmd {
        PortfolioCommand::Show => vec![Call::new(Get, "/api/v1/portfolio".into(), None)],
        PortfolioCommand::Set { name, .. } => vec![Call::new(Put, scope(name, ""), input)],
        PortfolioCommand::Delete { name } => vec![Call::new(Delete, scope(name, ""), None)],
        PortfolioCommand::Halt { name, reason } => vec![Call::new(
            Post,
            scope(name, "/halt"),
            Some(json!({ "reason": reason })),
        )],
        PortfolioCommand::Resume { name, reason } => vec![Call::new(
            Post,
            scope(name, "/resume"),
            Some(json!({ "reason": reason })),
        )],
        PortfolioCommand::Allocate { .. } => vec![Call::new(
            Post,
            "/api/v1/portfolio/allocation".into(),
            input,
        )],
        PortfolioCommand::Accept { .. } => {
            // The proposal as `allocate --json` printed it: only its id and transfers are sent.
            let v = input.unwrap_or(Value::Null);
            let body =
                json!({"proposal_id": v.get("proposal_id"), "transfers": v.get("transfers")});
            vec![Call::new(
                Post,
                "/api/v1/portfolio/allocation/accept".into(),
                Some(body),
            )]
        }
    }
}

/// The calls a command makes, in order. `input` is the JSON read from `--file` (create, patch)
/// or the credentials object built from `--api-key` and stdin (set-credentials).
pub fn plan(command: &Command, input: Option<Value>) -> Vec<Call> {
    use Method::{Delete, Get, Patch, Post, Put};
    match command {
        Command::Help => Vec::new(),
        Command::Portfolio(p) => portfolio_calls(p, input),
        Command::Status => vec![
            Call::new(Get, "/health".into(), None),
            Call::new(Get, "/api/v1/bots".into(), None),
        ],
        Command::BotsList => vec![Call::new(Get, "/api/v1/bots".into(), None)],
        Command::BotsCreate { .. } => vec![Call::new(Post, "/api/v1/bots".into(), input)],
        Command::BotsGet { id } => vec![Call::new(Get, bot(id, ""), None)],
        Command::BotsPatch { id, .. } => vec![Call::new(Patch, bot(id, ""), input)],
        Command::BotsDelete { id, force } => {
            let tail = if *force { "?force=true" } else { "" };
            vec![Call::new(Delete, bot(id, tail), None)]
        }
        Command::SetCredentials { id, .. } => {
            vec![Call::new(Put, bot(id, "/credentials"), input)]
        }
        Command::Capital { id, amount } => vec![Call::new(
            Post,
            bot(id, "/capital"),
            Some(json!({ "amount": amount })),
        )],
        Command::Pause { id, reason: r } => {
            vec![Call::new(Post, bot(id, "/pause"), Some(reason(r)))]
        }
        Command::Resume { id, reason: r } => {
            vec![Call::new(Post, bot(id, "/resume"), Some(reason(r)))]
        }
        Command::Flatten { id, reason: r } => {
            vec![Call::new(Post, bot(id, "/flatten"), Some(reason(r)))]
        }
        Command::Halt { flatten, reason } => {
            let mut body = json!({ "flatten": flatten });
            if let Some(r) = reason {
                body["reason"] = Value::String(r.clone());
            }
            vec![Call::new(Post, "/api/v1/halt".into(), Some(body))]
        }
        Command::ResumeAll => vec![Call::new(Post, "/api/v1/resume".into(), Some(json!({})))],
        Command::Pnl { id } => vec![Call::new(Get, bot(id, "/pnl"), None)],
        Command::Analytics { id, period } => {
            let tail = match period {
                Some(p) => format!("/analytics?period={p}"),
                None => "/analytics".into(),
            };
            vec![Call::new(Get, bot(id, &tail), None)]
        }
        Command::CompareBots { a, b, period } => {
            let mut q = format!("/api/v1/compare?a={}&b={}", segment(a), segment(b));
            if let Some(p) = period {
                q.push_str(&format!("&period={p}"));
            }
            vec![Call::new(Get, q, None)]
        }
        Command::Shadow {
            parent,
            id,
            patch,
            name,
        } => {
            let mut body = json!({ "id": id });
            if let Some(p) = patch {
                body["patch"] = serde_json::from_str(p).unwrap_or(Value::Null);
            }
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            vec![Call::new(Post, bot(parent, "/shadow"), Some(body))]
        }
        Command::Promote {
            parent,
            shadow,
            force,
            reason,
            period,
        } => {
            let mut body = json!({ "shadow": shadow, "force": force });
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            if let Some(p) = period {
                body["period"] = json!(p);
            }
            vec![Call::new(Post, bot(parent, "/promote"), Some(body))]
        }
        Command::TokensList => vec![Call::new(Get, "/api/v1/tokens".into(), None)],
        Command::TokensCreate {
            name,
            role,
            ttl_secs,
            bots,
        } => {
            let mut body = json!({});
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            if let Some(r) = role {
                body["role"] = json!(r);
            }
            if let Some(t) = ttl_secs {
                body["ttl_secs"] = json!(t);
            }
            if let Some(b) = bots {
                body["bots"] = json!(b);
            }
            vec![Call::new(Post, "/api/v1/tokens".into(), Some(body))]
        }
        Command::CallsAdd { .. } => vec![Call::new(Post, "/api/v1/calls".into(), input)],
        Command::CallsEdit { id, .. } => vec![Call::new(
            Post,
            format!("/api/v1/calls/{}/versions", segment(id)),
            input,
        )],
        Command::CallsList => vec![Call::new(Get, "/api/v1/calls".into(), None)],
        Command::ChatShow => vec![Call::new(Get, "/api/v1/chat".into(), None)],
        Command::ChatSet { .. } => vec![Call::new(Put, "/api/v1/chat".into(), input)],
        Command::CallsGet { id } => vec![Call::new(
            Get,
            format!("/api/v1/calls/{}", segment(id)),
            None,
        )],
        Command::CallsScore { id, .. } => vec![Call::new(
            Post,
            format!("/api/v1/calls/{}/score", segment(id)),
            input,
        )],
        Command::CallsLeaderboard => {
            vec![Call::new(Get, "/api/v1/calls/leaderboard".into(), None)]
        }
        Command::TokensRevoke { id } => vec![Call::new(
            Delete,
            format!("/api/v1/tokens/{}", segment(id)),
            None,
        )],
        Command::Audit { id, after } => {
            let tail = match after {
                Some(n) => format!("/audit?after={n}"),
                None => "/audit".into(),
            };
            vec![Call::new(Get, bot(id, &tail), None)]
        }
    }
}

/// The credentials body: the key from argv, the secret from stdin minus its line ending.
/// `None` when stdin held nothing but whitespace (an empty secret is never stored).
pub fn credentials(api_key: &str, stdin: &str) -> Option<Value> {
    let secret = stdin.trim_end_matches(['\n', '\r']).trim();
    if secret.is_empty() {
        return None;
    }
    Some(json!({ "api_key": api_key, "api_secret": secret }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(command: Command) -> (Method, String, Option<Value>) {
        let calls = plan(&command, Some(json!({"in": 1})));
        assert_eq!(calls.len(), 1, "{command:?}");
        let c = calls.into_iter().next().unwrap();
        (c.method, c.path, c.body)
    }

    #[test]
    fn maps_commands_to_api_calls() {
        let id = || "btc-trend".to_string();
        let cases: Vec<(Command, Method, &str, Option<Value>)> = vec![
            (Command::BotsList, Method::Get, "/api/v1/bots", None),
            (
                Command::BotsCreate { file: "f".into() },
                Method::Post,
                "/api/v1/bots",
                Some(json!({"in": 1})),
            ),
            (
                Command::BotsGet { id: id() },
                Method::Get,
                "/api/v1/bots/btc-trend",
                None,
            ),
            (
                Command::BotsPatch {
                    id: id(),
                    file: "f".into(),
                },
                Method::Patch,
                "/api/v1/bots/btc-trend",
                Some(json!({"in": 1})),
            ),
            (
                Command::BotsDelete {
                    id: id(),
                    force: true,
                },
                Method::Delete,
                "/api/v1/bots/btc-trend?force=true",
                None,
            ),
            (
                Command::BotsDelete {
                    id: id(),
                    force: false,
                },
                Method::Delete,
                "/api/v1/bots/btc-trend",
                None,
            ),
            (
                Command::SetCredentials {
                    id: id(),
                    api_key: "k".into(),
                },
                Method::Put,
                "/api/v1/bots/btc-trend/credentials",
                Some(json!({"in": 1})),
            ),
            (
                Command::Capital {
                    id: id(),
                    amount: "5000.10".into(),
                },
                Method::Post,
                "/api/v1/bots/btc-trend/capital",
                Some(json!({"amount": "5000.10"})),
            ),
            (
                Command::Pause {
                    id: id(),
                    reason: Some("news".into()),
                },
                Method::Post,
                "/api/v1/bots/btc-trend/pause",
                Some(json!({"reason": "news"})),
            ),
            (
                Command::Resume {
                    id: id(),
                    reason: None,
                },
                Method::Post,
                "/api/v1/bots/btc-trend/resume",
                Some(json!({"reason": null})),
            ),
            (
                Command::Flatten {
                    id: id(),
                    reason: None,
                },
                Method::Post,
                "/api/v1/bots/btc-trend/flatten",
                Some(json!({"reason": null})),
            ),
            (
                Command::Halt {
                    flatten: true,
                    reason: None,
                },
                Method::Post,
                "/api/v1/halt",
                Some(json!({"flatten": true})),
            ),
            (
                Command::ResumeAll,
                Method::Post,
                "/api/v1/resume",
                Some(json!({})),
            ),
            (
                Command::Pnl { id: id() },
                Method::Get,
                "/api/v1/bots/btc-trend/pnl",
                None,
            ),
            (Command::TokensList, Method::Get, "/api/v1/tokens", None),
            (
                Command::TokensCreate {
                    name: Some("desk".into()),
                    role: Some("viewer".into()),
                    ttl_secs: Some(3600),
                    bots: Some(vec!["btc-trend".into()]),
                },
                Method::Post,
                "/api/v1/tokens",
                Some(
                    json!({"name": "desk", "role": "viewer", "ttl_secs": 3600, "bots": ["btc-trend"]}),
                ),
            ),
            (
                Command::TokensCreate {
                    name: None,
                    role: None,
                    ttl_secs: None,
                    bots: None,
                },
                Method::Post,
                "/api/v1/tokens",
                Some(json!({})),
            ),
            (
                Command::TokensRevoke {
                    id: "tok_1/x".into(),
                },
                Method::Delete,
                "/api/v1/tokens/tok_1%2Fx",
                None,
            ),
            (
                Command::Audit {
                    id: id(),
                    after: Some(12),
                },
                Method::Get,
                "/api/v1/bots/btc-trend/audit?after=12",
                None,
            ),
        ];
        for (command, method, path, body) in cases {
            assert_eq!(
                one(command.clone()),
                (method, path.to_string(), body),
                "{command:?}"
            );
        }
    }

    #[test]
    fn status_reads_health_then_bots() {
        let paths: Vec<String> = plan(&Command::Status, None)
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(paths, vec!["/health", "/api/v1/bots"]);
    }

    #[test]
    fn ids_cannot_escape_their_segment() {
        assert_eq!(segment("a/../tokens?x#y"), "a%2F..%2Ftokens%3Fx%23y");
        assert_eq!(segment("btc-trend_1.x~"), "btc-trend_1.x~");
    }

    #[test]
    fn credentials_from_stdin() {
        let cases = [
            ("s3cret\n", Some("s3cret")),
            ("s3cret\r\n", Some("s3cret")),
            ("  s3cret  ", Some("s3cret")),
            ("", None),
            ("\n", None),
        ];
        for (stdin, want) in cases {
            let got = credentials("KEY", stdin);
            let want = want.map(|s| json!({"api_key": "KEY", "api_secret": s}));
            assert_eq!(got, want, "{stdin:?}");
        }
    }
}
