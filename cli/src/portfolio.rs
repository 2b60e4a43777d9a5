//! `keel portfolio …`: limits across bots (scopes kept by the ControlDO) and capital allocation
//! proposals. The calls and the tables, kept apart from the per-bot commands.

use crate::output::{align, cell};
use serde_json::Value;

/// A portfolio subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortfolioCommand {
    /// `keel portfolio [show]`: every scope with its use of the limits.
    Show,
    /// `keel portfolio set NAME --file scope.json`: create or change a scope.
    Set {
        /// Scope name.
        name: String,
        /// `{members, limits, lease_ttl_secs}` as JSON.
        file: String,
    },
    /// `keel portfolio delete NAME`.
    Delete {
        /// Scope name.
        name: String,
    },
    /// `keel portfolio halt NAME [--reason T]`: its bots fall back to reduce-only.
    Halt {
        /// Scope name.
        name: String,
        /// Why.
        reason: Option<String>,
    },
    /// `keel portfolio resume NAME [--reason T]`.
    Resume {
        /// Scope name.
        name: String,
        /// Why.
        reason: Option<String>,
    },
    /// `keel portfolio allocate --file allocation.json`: a rebalancing proposal (moves nothing).
    Allocate {
        /// `{bots, rule, capital, step?, kelly_fraction?, period?}` as JSON.
        file: String,
    },
    /// `keel portfolio accept --file proposal.json`: books a proposal's transfers (audited).
    Accept {
        /// The proposal as `allocate --json` printed it.
        file: String,
    },
}

impl PortfolioCommand {
    /// The JSON file the command reads, if any.
    pub fn file(&self) -> Option<&str> {
        match self {
            Self::Set { file, .. } | Self::Allocate { file } | Self::Accept { file } => Some(file),
            _ => None,
        }
    }

    /// What the operator reads.
    pub fn output(&self, v: &Value) -> String {
        match self {
            Self::Show => scopes_table(v),
            Self::Set { .. } | Self::Halt { .. } | Self::Resume { .. } => {
                scopes_table(&Value::Array(vec![v.clone()]))
            }
            Self::Delete { name } => format!("deleted portfolio scope {name}\n"),
            Self::Allocate { .. } => proposal(v),
            Self::Accept { .. } => accepted(v),
        }
    }
}

fn limit(v: &Value, key: &str) -> String {
    match v.pointer(&format!("/spec/limits/{key}")) {
        Some(Value::Null) | None => "-".into(),
        Some(x) => cell(Some(x)),
    }
}

/// Scopes: exposure against the caps, drawdown and daily loss against theirs, halt.
fn scopes_table(v: &Value) -> String {
    let list = v.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return "no portfolio scopes (keel portfolio set NAME --file scope.json)\n".into();
    }
    let mut rows = vec![[
        "SCOPE", "MEMBERS", "BOTS", "GROSS", "CAP", "NET", "NET CAP", "DD %", "DD LIMIT",
        "DAY LOSS", "LIMIT", "STATE",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()];
    for s in &list {
        let members = match s.pointer("/spec/members/kind").and_then(Value::as_str) {
            Some("account") => format!("account {}", cell(s.pointer("/spec/members/account"))),
            Some("group") => format!(
                "group of {}",
                s.pointer("/spec/members/bots")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            ),
            Some(k) => k.to_string(),
            None => "-".into(),
        };
        let state = match s.get("halted") {
            Some(h) if !h.is_null() => match h.pointer("/breach/rule").and_then(Value::as_str) {
                Some(rule) => format!("HALTED ({rule})"),
                None => "HALTED".into(),
            },
            _ => "running".into(),
        };
        rows.push(vec![
            cell(s.get("name")),
            members,
            s.get("bots")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
                .to_string(),
            cell(s.get("gross")),
            limit(s, "max_gross"),
            cell(s.get("net")),
            limit(s, "max_net"),
            cell(s.get("drawdown_pct")),
            limit(s, "max_drawdown_pct"),
            cell(s.get("daily_loss")),
            limit(s, "max_daily_loss"),
            state,
        ]);
    }
    align(&rows)
}

/// A proposal: per bot weight, volatility, current and target equity, transfer.
fn proposal(v: &Value) -> String {
    let mut rows = vec![["BOT", "WEIGHT", "VOL", "CURRENT", "TARGET", "TRANSFER"]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
    for b in v
        .get("bots")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let pct = |key: &str| {
            b.get(key)
                .and_then(Value::as_f64)
                .map_or("-".into(), |x| format!("{:.2}%", x * 100.0))
        };
        rows.push(vec![
            cell(b.get("bot_id")),
            pct("weight"),
            pct("volatility"),
            cell(b.get("current")),
            cell(b.get("target")),
            cell(b.get("transfer")),
        ]);
    }
    format!(
        "proposal {} over {} periods; unallocated {}\n{}nothing moved: keel --json portfolio allocate … > p.json, then keel portfolio accept --file p.json\n",
        cell(v.get("proposal_id")),
        cell(v.get("period")),
        cell(v.get("unallocated")),
        align(&rows)
    )
}

fn accepted(v: &Value) -> String {
    let mut rows = vec![vec!["BOT".to_string(), "STATUS".to_string()]];
    for b in v
        .get("bots")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        rows.push(vec![cell(b.get("bot_id")), cell(b.get("status"))]);
    }
    format!("proposal {}\n{}", cell(v.get("proposal_id")), align(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{portfolio_calls, Method};
    use serde_json::json;

    #[test]
    fn calls_and_bodies() {
        let set = PortfolioCommand::Set {
            name: "desk a".into(),
            file: "s.json".into(),
        };
        let calls = portfolio_calls(&set, Some(json!({"members": {"kind": "platform"}})));
        assert_eq!(calls[0].path, "/api/v1/portfolio/scopes/desk%20a");
        assert_eq!(calls[0].method, Method::Put);
        let accept = PortfolioCommand::Accept {
            file: "p.json".into(),
        };
        let calls = portfolio_calls(
            &accept,
            Some(json!({"proposal_id": "alloc-1", "transfers": {"a": "5"}, "bots": []})),
        );
        assert_eq!(
            calls[0].body,
            Some(json!({"proposal_id": "alloc-1", "transfers": {"a": "5"}}))
        );
        let halt = PortfolioCommand::Halt {
            name: "g".into(),
            reason: Some("risk off".into()),
        };
        assert_eq!(
            portfolio_calls(&halt, None)[0].path,
            "/api/v1/portfolio/scopes/g/halt"
        );
    }

    #[test]
    fn the_table_shows_use_against_limits_and_the_halt_rule() {
        let v = json!([{
            "name": "desk", "bots": ["a", "b"], "gross": "1500", "net": "500",
            "drawdown_pct": "2.5", "daily_loss": "120",
            "spec": {"members": {"kind": "group", "bots": ["a", "b"]},
                     "limits": {"max_gross": "2000", "max_daily_loss": "100"}},
            "halted": {"breach": {"rule": "max_daily_loss", "limit": "100", "observed": "120"}, "since_ms": 1}
        }]);
        let out = PortfolioCommand::Show.output(&v);
        assert!(out.contains("group of 2"), "{out}");
        assert!(out.contains("HALTED (max_daily_loss)"), "{out}");
        assert!(out.contains("2000"), "{out}");
        assert!(PortfolioCommand::Show
            .output(&json!([]))
            .contains("no portfolio scopes"));
    }
}
