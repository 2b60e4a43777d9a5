//! Human output: errors as `code: message (field)`, the bot table, status, and the one-time
//! create answer (webhook URL, secret, ready TradingView alert). Pure functions over JSON.

use serde_json::Value;

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A JSON value as a table cell: strings bare, null as `-`, anything else as JSON.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// An API error answer as one line: `code: message (field)`; a non-JSON answer (a proxy page,
/// an empty body) becomes `http_<status>: <first line>` so the operator still sees something.
pub fn error_line(status: u16, body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        let code = text(&v, "code");
        if !code.is_empty() {
            let mut line = format!("{code}: {}", text(&v, "message"));
            let field = text(&v, "field");
            if !field.is_empty() {
                line.push_str(&format!(" ({field})"));
            }
            return line;
        }
    }
    let first = body.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        format!("http_{status}: empty answer")
    } else {
        format!(
            "http_{status}: {}",
            first.chars().take(200).collect::<String>()
        )
    }
}

/// Pretty JSON for answers without a dedicated view.
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// `keel bots list`: one aligned row per bot; a bot whose Durable Object failed shows its error.
pub fn bots_table(list: &Value) -> String {
    let header = [
        "ID",
        "NAME",
        "EXCHANGE",
        "MARKET",
        "MODE",
        "STATE",
        "EQUITY",
        "PNL_TODAY",
        "POS",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for b in list.as_array().map(Vec::as_slice).unwrap_or(&[]) {
        if let Some(err) = b.get("error") {
            rows.push(vec![
                cell(b.get("id")),
                format!("error {}", error_line(0, &err.to_string())),
            ]);
            continue;
        }
        rows.push(vec![
            cell(b.get("id")),
            cell(b.get("name")),
            cell(b.get("exchange")),
            cell(b.get("market")),
            cell(b.get("mode")),
            cell(b.get("state")),
            cell(b.get("equity")),
            cell(b.get("pnl_today")),
            cell(b.get("open_positions")),
        ]);
    }
    let mut widths = vec![0usize; header.len()];
    for row in rows.iter().filter(|r| r.len() == header.len()) {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line = if row.len() == header.len() {
            row.iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
        } else {
            row.join("  ")
        };
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `keel status`: health line, halt state, Neo4j/exchanges, and bots counted per state.
pub fn status(health: &Value, bots: &Value) -> String {
    let mut out = format!("platform: {}", cell(health.get("status")));
    if let Some(v) = health.get("version").and_then(Value::as_str) {
        out.push_str(&format!(" (version {v})"));
    }
    out.push('\n');
    let halted = match health.get("halt") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Object(o)) => o.get("halted").and_then(Value::as_bool).unwrap_or(false),
        _ => false,
    };
    out.push_str(&format!("halt: {}\n", if halted { "ON" } else { "off" }));
    if let Some(n) = health.get("neo4j") {
        out.push_str(&format!("neo4j: {}\n", compact_status(n)));
    }
    if let Some(Value::Object(ex)) = health.get("exchanges") {
        for (name, v) in ex {
            out.push_str(&format!("exchange {name}: {}\n", compact_status(v)));
        }
    }
    let list = bots.as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut counts: Vec<(String, usize)> = Vec::new();
    for b in list {
        let state = if b.get("error").is_some() {
            "error".to_string()
        } else {
            cell(b.get("state"))
        };
        match counts.iter_mut().find(|(s, _)| *s == state) {
            Some((_, n)) => *n += 1,
            None => counts.push((state, 1)),
        }
    }
    let detail = counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    if detail.is_empty() {
        out.push_str("bots: 0\n");
    } else {
        out.push_str(&format!("bots: {} ({detail})\n", list.len()));
    }
    out
}

/// A health sub-object in a few words: `not configured`, `ok`/`unreachable`, with the probe's
/// latency and clock offset for an exchange; the full object is one `--json` away.
fn compact_status(v: &Value) -> String {
    let flag = |k: &str| v.get(k).and_then(Value::as_bool);
    if flag("configured") == Some(false) {
        return "not configured".into();
    }
    let up = flag("ok").or(flag("reachable"));
    let mut out = match up {
        Some(true) => "ok".to_string(),
        Some(false) => "unreachable".to_string(),
        None => cell(v.get("status")),
    };
    if let Some(ms) = v.get("latency_ms").and_then(Value::as_i64) {
        out.push_str(&format!(" ({ms} ms"));
        if let Some(skew) = v.get("clock_offset_ms").and_then(Value::as_i64) {
            out.push_str(&format!(", clock offset {skew} ms"));
        }
        out.push(')');
    }
    out
}

/// The TradingView alert message for a bot, with its secret filled in, keys in the README's
/// order (serde_json would sort them) so it reads like the documented message.
pub fn alert_message(secret: &str) -> String {
    let secret = Value::String(secret.to_string());
    format!(
        "{{\"secret\": {secret}, \"id\": \"{{{{strategy.order.id}}}}-{{{{timenow}}}}\", \
         \"action\": \"{{{{strategy.order.action}}}}\", \"symbol\": \"{{{{ticker}}}}\", \
         \"target_position\": \"{{{{strategy.position_size}}}}\", \"time\": \"{{{{timenow}}}}\"}}"
    )
}

/// `keel bots create`: what the operator must copy now, since the secret is never shown again.
pub fn created(base_url: &str, answer: &Value) -> String {
    let id = text(answer, "id");
    let path = match text(answer, "webhook_path") {
        "" => format!("/webhook/{id}"),
        p => p.to_string(),
    };
    let secret = text(answer, "webhook_secret");
    let version = cell(answer.get("version"));
    format!(
        "created bot {id} (version {version})\n\
         webhook URL:    {}{path}\n\
         webhook secret: {secret}\n\
         (the secret is shown this once: store it now)\n\
         TradingView alert message:\n{}\n",
        base_url.trim_end_matches('/'),
        alert_message(secret),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_lines() {
        let cases = [
            (
                422,
                r#"{"code":"invalid_config","message":"must be > 0","field":"risk.max_leverage"}"#,
                "invalid_config: must be > 0 (risk.max_leverage)",
            ),
            (
                404,
                r#"{"code":"not_found","message":"no bot x"}"#,
                "not_found: no bot x",
            ),
            (
                502,
                "<html>Bad gateway</html>\nmore",
                "http_502: <html>Bad gateway</html>",
            ),
            (500, "", "http_500: empty answer"),
            (400, r#"{"other":1}"#, r#"http_400: {"other":1}"#),
        ];
        for (status, body, want) in cases {
            assert_eq!(error_line(status, body), want, "{body}");
        }
    }

    #[test]
    fn table_aligns_and_shows_errors() {
        let list = json!([
            {"id": "a", "name": "Alpha", "exchange": "binance", "market": "spot", "mode": "paper",
             "state": "running", "equity": "10000", "pnl_today": "0", "open_positions": 0},
            {"id": "bb", "error": {"code": "unavailable", "message": "DO down"}}
        ]);
        let out = bots_table(&list);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ID  NAME   EXCHANGE"), "{}", lines[0]);
        assert!(
            lines[1].starts_with("a   Alpha  binance   spot    paper  running  10000"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2], "bb  error unavailable: DO down");
    }

    #[test]
    fn status_counts_states() {
        let health = json!({"status": "ok", "version": "0.1.0", "halt": {"halted": true},
                            "neo4j": {"ok": true, "configured": true},
                            "exchanges": {"binance": {"reachable": true, "status": 200,
                                                      "latency_ms": 8, "clock_offset_ms": 4}}});
        let bots = json!([{"id": "a", "state": "running"}, {"id": "b", "state": "paused"},
                          {"id": "c", "state": "running"}]);
        assert_eq!(
            status(&health, &bots),
            "platform: ok (version 0.1.0)\nhalt: ON\nneo4j: ok\n\
             exchange binance: ok (8 ms, clock offset 4 ms)\nbots: 3 (2 running, 1 paused)\n"
        );
        let degraded = json!({"status": "degraded", "neo4j": {"configured": false, "ok": false},
                              "exchanges": {"bybit": {"reachable": false}}});
        assert_eq!(
            status(&degraded, &json!([])),
            "platform: degraded\nhalt: off\nneo4j: not configured\nexchange bybit: unreachable\n\
             bots: 0\n"
        );
    }

    #[test]
    fn created_shows_url_secret_and_alert() {
        let answer = json!({"id": "btc-trend", "version": 1, "webhook_secret": "whsec_abc",
                            "webhook_path": "/webhook/btc-trend"});
        let out = created("http://127.0.0.1:8787/", &answer);
        assert!(
            out.contains("webhook URL:    http://127.0.0.1:8787/webhook/btc-trend\n"),
            "{out}"
        );
        assert!(out.contains("webhook secret: whsec_abc\n"));
        let alert = out.lines().last().unwrap();
        let parsed: Value = serde_json::from_str(alert).unwrap();
        assert_eq!(parsed["secret"], "whsec_abc");
        assert_eq!(parsed["symbol"], "{{ticker}}");
        assert_eq!(parsed["time"], "{{timenow}}");
        assert_eq!(parsed["id"], "{{strategy.order.id}}-{{timenow}}");
        assert_eq!(parsed["action"], "{{strategy.order.action}}");
        assert_eq!(parsed["target_position"], "{{strategy.position_size}}");
        assert!(
            alert.starts_with(r#"{"secret": "whsec_abc", "id": "#),
            "{alert}"
        );
    }
}
