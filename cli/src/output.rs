//! Human output: errors as `code: message (field)`, the bot table, status, and the one-time
//! create answer (webhook URL, secret, ready TradingView alert). Pure functions over JSON.

use serde_json::Value;

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A JSON value as a table cell: strings bare, null as `-`, anything else as JSON.
pub(crate) fn cell(v: Option<&Value>) -> String {
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

/// An amount by the shared money rule (`keel_engine::format`), without the currency (the table
/// has a `CCY` column, so a cell never holds a space); `—` when absent.
fn amount_cell(v: &Value, key: &str, ccy: &str) -> String {
    use keel_engine::format::{money_text, UNSET};
    match dec_text(v, key) {
        None => UNSET.to_string(),
        Some(d) => {
            let text = money_text(&d, ccy);
            match text.strip_suffix(ccy) {
                Some(n) if !ccy.is_empty() => n.trim_end().to_string(),
                _ => text,
            }
        }
    }
}

/// `keel bots list`: one aligned row per bot, equity and today's P&L by the shared money rule in
/// the bot's currency (exact values with `--json`); a bot whose Durable Object failed shows its
/// error.
pub fn bots_table(list: &Value) -> String {
    let header = [
        "ID",
        "NAME",
        "EXCHANGE",
        "MARKET",
        "MODE",
        "CCY",
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
        let ccy = match text(b, "quote_asset") {
            "" => "USDT",
            c => c,
        };
        rows.push(vec![
            cell(b.get("id")),
            cell(b.get("name")),
            cell(b.get("exchange")),
            cell(b.get("market")),
            cell(b.get("mode")),
            ccy.to_string(),
            cell(b.get("state")),
            amount_cell(b, "equity", ccy),
            amount_cell(b, "pnl_today", ccy),
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

/// Rows (the first is the header) as aligned columns, two spaces apart.
pub(crate) fn align(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let line = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A decimal field (string or number) as text, `None` when absent or null.
fn dec_text(v: &Value, key: &str) -> Option<String> {
    match v.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// `keel analytics ID`: the live ratios (as in a backtest report), then the net P&L by
/// instrument, strategy version and hour of day in the bot's quote currency (exact with
/// `--json`; each table sums to the net).
pub fn analytics(v: &Value) -> String {
    use keel_engine::format::{money_text, UNSET};
    let ccy = text(v, "quote_asset");
    let ccy = if ccy.is_empty() { "USDT" } else { ccy };
    let m = v.get("metrics").cloned().unwrap_or(Value::Null);
    let num = |key: &str| m.get(key).and_then(Value::as_f64);
    let pct =
        |key: &str| num(key).map_or_else(|| UNSET.to_string(), |x| format!("{:.2} %", x * 100.0));
    let ratio = |key: &str| num(key).map_or_else(|| UNSET.to_string(), |x| format!("{x:.2}"));
    let mut out = format!(
        "analytics of {} over {} periods of {} ({}, 365-day year)\n",
        text(v, "bot_id"),
        v.get("points").and_then(Value::as_u64).unwrap_or(0),
        text(v, "period"),
        ccy
    );
    let lines = vec![
        vec!["total return".to_string(), pct("total_return")],
        vec!["annual return".to_string(), pct("annual_return")],
        vec!["volatility".to_string(), pct("volatility")],
        vec!["Sharpe".to_string(), ratio("sharpe")],
        vec!["Sortino".to_string(), ratio("sortino")],
        vec!["Calmar".to_string(), ratio("calmar")],
        vec!["max drawdown".to_string(), pct("max_drawdown")],
        vec![
            "longest drawdown".to_string(),
            format!(
                "{} periods",
                m.get("max_drawdown_bars")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            ),
        ],
        vec!["win rate".to_string(), pct("win_rate")],
        vec!["profit factor".to_string(), ratio("profit_factor")],
        vec!["turnover".to_string(), ratio("turnover")],
    ];
    for line in align(&lines).lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    let attribution = v.get("attribution").cloned().unwrap_or(Value::Null);
    let money = |s: &Value, key: &str| {
        dec_text(s, key).map_or_else(|| UNSET.to_string(), |d| money_text(&d, ccy))
    };
    for (key, title) in [
        ("by_instrument", "INSTRUMENT"),
        ("by_strategy", "STRATEGY"),
        ("by_hour", "HOUR (UTC)"),
    ] {
        let Some(by) = attribution.get(key).and_then(Value::as_object) else {
            continue;
        };
        if by.is_empty() {
            continue;
        }
        let mut rows = vec![[title, "FILLS", "REALIZED", "FEES", "FUNDING", "NET"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()];
        // JSON object keys sort as text ("10" before "2"): hours go back in numeric order.
        let mut entries: Vec<(&String, &Value)> = by.iter().collect();
        if key == "by_hour" {
            entries.sort_by_key(|(k, _)| k.parse::<u32>().unwrap_or(u32::MAX));
        }
        for (name, s) in entries {
            let label = match (key, name.parse::<u32>()) {
                ("by_hour", Ok(h)) => format!("{h:02}:00"),
                _ => name.clone(),
            };
            rows.push(vec![
                label,
                s.get("fills")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
                    .to_string(),
                money(s, "realized"),
                money(s, "fees"),
                money(s, "funding"),
                money(s, "net"),
            ]);
        }
        out.push('\n');
        out.push_str(&align(&rows));
    }
    let total = attribution.get("total").cloned().unwrap_or(Value::Null);
    out.push_str(&format!(
        "\nnet {} (each table sums to it exactly)\n",
        money(&total, "net")
    ));
    out
}

/// `keel compare-bots A B`: both bots' ratios side by side, then the two tests' verdicts.
pub fn comparison(v: &Value) -> String {
    use keel_engine::format::UNSET;
    let side = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    let (a, b) = (side("a"), side("b"));
    let name = |s: &Value| text(s, "bot_id").to_string();
    let metric = |s: &Value, key: &str, pct: bool| {
        s.pointer(&format!("/metrics/{key}"))
            .and_then(Value::as_f64)
            .map_or_else(
                || UNSET.to_string(),
                |x| {
                    if pct {
                        format!("{:.2} %", x * 100.0)
                    } else {
                        format!("{x:.2}")
                    }
                },
            )
    };
    let mut rows = vec![vec![
        String::new(),
        format!("A {}", name(&a)),
        format!("B {}", name(&b)),
    ]];
    rows.push(vec!["net".into(), cell(a.get("net")), cell(b.get("net"))]);
    for (label, key, pct) in [
        ("total return", "total_return", true),
        ("Sharpe", "sharpe", false),
        ("Sortino", "sortino", false),
        ("max drawdown", "max_drawdown", true),
        ("win rate", "win_rate", true),
    ] {
        rows.push(vec![
            label.into(),
            metric(&a, key, pct),
            metric(&b, key, pct),
        ]);
    }
    let mut out = format!(
        "{} paired periods of {}\n{}",
        v.get("pairs").and_then(Value::as_u64).unwrap_or(0),
        text(v, "period"),
        align(&rows)
    );
    let sd = side("sharpe_difference");
    match sd.get("hac").filter(|h| !h.is_null()) {
        Some(h) => {
            let f = |k: &str| h.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
            out.push_str(&format!(
                "Sharpe difference (Ledoit-Wolf, HAC; read once): {:+.4}, t {:+.3}, p {:.4}\n",
                f("diff"),
                f("t_stat"),
                f("p_value")
            ));
        }
        None => out.push_str(&format!(
            "Sharpe difference: no answer yet ({})\n",
            text(&sd, "error")
        )),
    }
    let seq = side("sequential");
    let decision = match text(&seq, "decision") {
        "a_better" => format!("{} better", name(&a)),
        "b_better" => format!("{} better", name(&b)),
        _ => "undecided: keep both running".into(),
    };
    out.push_str(&format!(
        "sequential mSPRT (always valid): p {:.4}, {decision}\n",
        seq.get("p_value").and_then(Value::as_f64).unwrap_or(1.0)
    ));
    if text(&seq, "decision") == "continue" {
        let eta = match seq.get("periods_to_decision").and_then(Value::as_u64) {
            Some(n) => format!(
                "about {n} more periods of {} at the current effect and noise",
                text(v, "period")
            ),
            None => "none in sight: no effect measured yet (or beyond 10 million periods)".into(),
        };
        out.push_str(&format!("expected time to a decision: {eta}\n"));
    }
    out
}

/// `keel shadow A B`: the new shadow and its version.
pub fn shadow_created(parent: &str, id: &str, v: &Value) -> String {
    let patch = v.get("patch").cloned().unwrap_or(Value::Null);
    let version = if patch.as_object().is_none_or(|o| o.is_empty()) {
        "the same version (A/A: measures the execution gap)".to_string()
    } else {
        format!("patch {patch}")
    };
    format!(
        "{id} now shadows {parent} (paper), fed every signal {parent} admits; {version}\ncompare: keel compare-bots {parent} {id}\n"
    )
}

/// `keel promote A B`: what changed on A.
pub fn promoted(parent: &str, shadow: &str, v: &Value) -> String {
    let changes = v.get("diff").and_then(Value::as_array).map_or(0, Vec::len);
    let forced = if v.get("forced").and_then(Value::as_bool) == Some(true) {
        " (forced; the reason is audited)"
    } else {
        ""
    };
    format!(
        "promoted {shadow} onto {parent}{forced}: config version {}, {changes} field(s) changed\n",
        v.get("version").and_then(Value::as_u64).unwrap_or(0)
    )
}

/// `keel pnl ID`: the totals in the bot's quote currency, then one row per instrument; amounts
/// by the shared display rule (`keel_engine::format`), exact values with `--json`.
pub fn pnl(v: &Value) -> String {
    use keel_engine::format::{exact_text, money_text, UNSET};
    let ccy = text(v, "quote_asset");
    let ccy = if ccy.is_empty() { "USDT" } else { ccy };
    let money =
        |key: &str| dec_text(v, key).map_or_else(|| UNSET.to_string(), |d| money_text(&d, ccy));
    let fees = v
        .get("fees")
        .and_then(|f| dec_text(f, "total_quote"))
        .map_or_else(|| UNSET.to_string(), |d| money_text(&d, ccy));
    let mut out = format!(
        "P&L of {} ({}, {}) as of {}\n",
        text(v, "bot_id"),
        ccy,
        text(v, "method"),
        text(v, "as_of")
    );
    let totals = vec![
        vec!["realized".to_string(), money("realized")],
        vec!["unrealized".to_string(), money("unrealized")],
        vec!["funding".to_string(), money("funding")],
        vec!["fees".to_string(), fees],
        vec!["net".to_string(), money("net")],
    ];
    for line in align(&totals).lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    let empty = serde_json::Map::new();
    let by = v
        .get("by_instrument")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    if !by.is_empty() {
        let mut rows = vec![[
            "SYMBOL",
            "POSITION",
            "AVG_ENTRY",
            "REALIZED",
            "UNREALIZED",
            "FEES",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
        for (sym, i) in by {
            let m = |key: &str| {
                dec_text(i, key).map_or_else(|| UNSET.to_string(), |d| money_text(&d, ccy))
            };
            rows.push(vec![
                sym.clone(),
                dec_text(i, "position_qty").map_or_else(|| UNSET.to_string(), |d| exact_text(&d)),
                m("avg_entry_price"),
                m("realized"),
                m("unrealized"),
                m("fees_quote"),
            ]);
        }
        out.push('\n');
        out.push_str(&align(&rows));
    }
    out
}

/// A token's scope as a cell: `all` or its bots, comma-separated.
fn scope_cell(t: &Value) -> String {
    match t.get("bots").and_then(Value::as_array) {
        Some(bots) => bots
            .iter()
            .map(|b| cell(Some(b)))
            .collect::<Vec<_>>()
            .join(","),
        None => "all".into(),
    }
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM UTC` (the exact value is in `--json`).
fn short_time(t: &Value, key: &str) -> String {
    match t.get(key).and_then(Value::as_str) {
        Some(s) if s.len() >= 16 && s.is_char_boundary(16) => {
            format!("{} UTC", s[..16].replacen('T', " ", 1))
        }
        Some(s) => s.to_string(),
        None => "-".into(),
    }
}

/// `keel tokens list`: one row per token (never the token: the API does not have it).
pub fn tokens_table(list: &Value) -> String {
    let mut rows = vec![["ID", "NAME", "ROLE", "BOTS", "EXPIRES", "STATE"]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
    for t in list.as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let expired = t.get("expired").and_then(Value::as_bool) == Some(true);
        rows.push(vec![
            cell(t.get("id")),
            cell(t.get("name")),
            cell(t.get("role")),
            scope_cell(t),
            short_time(t, "expires_at"),
            if expired { "expired" } else { "active" }.into(),
        ]);
    }
    align(&rows)
}

/// `keel tokens create`: the token, shown this once, with what it may do and until when.
pub fn token_created(t: &Value) -> String {
    format!(
        "created token {} ({}, bots: {}, expires {})\n\
         token: {}\n\
         (the token is shown this once: store it now; revoke with `keel tokens revoke {}`)\n",
        text(t, "id"),
        text(t, "role"),
        scope_cell(t),
        short_time(t, "expires_at"),
        text(t, "token"),
        text(t, "id"),
    )
}

/// `keel capital ID AMOUNT`: what was booked and the equity after it.
pub fn capital(id: &str, v: &Value) -> String {
    use keel_engine::format::{exact_text, UNSET};
    let amount = dec_text(v, "amount").map_or_else(|| UNSET.to_string(), |d| exact_text(&d));
    let equity = dec_text(v, "equity").map_or_else(|| UNSET.to_string(), |d| exact_text(&d));
    format!(
        "capital booked for {id}: {amount} (transfer {})\nequity now: {equity}\n",
        cell(v.get("transfer_id"))
    )
}

/// `keel bots patch ID`: the new config version and each changed field, old → new.
pub fn patched(id: &str, v: &Value) -> String {
    let changes = v
        .get("diff")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if changes.is_empty() {
        return format!("{id}: nothing changed\n");
    }
    let mut rows = vec![vec![
        "FIELD".to_string(),
        "OLD".to_string(),
        "NEW".to_string(),
    ]];
    for c in &changes {
        rows.push(vec![
            cell(c.get("field")),
            cell(c.get("old")),
            cell(c.get("new")),
        ]);
    }
    format!(
        "{id}: config version {} ({} change{})\n{}",
        cell(v.get("version")),
        changes.len(),
        if changes.len() == 1 { "" } else { "s" },
        align(&rows)
    )
}

/// `keel halt` / `keel resume-all`: the platform state, then one line per bot.
pub fn halt(v: &Value) -> String {
    let state = v.get("halt").unwrap_or(&Value::Null);
    let halted = state
        .get("halted")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut out = format!(
        "platform {}{}\n",
        if halted { "HALTED" } else { "running" },
        match state.get("reason").and_then(Value::as_str) {
            Some(r) if !r.is_empty() => format!(": {r}"),
            _ => String::new(),
        }
    );
    let empty = serde_json::Map::new();
    let bots = v.get("bots").and_then(Value::as_object).unwrap_or(&empty);
    let flattened = v
        .get("flattened")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    if !bots.is_empty() {
        let mut rows = vec![vec!["BOT".to_string(), "RESULT".to_string()]];
        for (id, res) in bots {
            let mut result = match res.get("error") {
                Some(e) => format!("error {}", error_line(0, &e.to_string())),
                None => "ok".to_string(),
            };
            if let Some(f) = flattened.get(id) {
                result.push_str(if f.get("error").is_some() {
                    ", flatten failed"
                } else {
                    ", flattened"
                });
            }
            rows.push(vec![id.clone(), result]);
        }
        out.push_str(&align(&rows));
    }
    let unreached: Vec<&str> = v
        .get("unreached")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !unreached.is_empty() {
        out.push_str(&format!(
            "unreached: {} (not confirmed; each adopts the platform state itself before its next decision)\n",
            unreached.join(", ")
        ));
    }
    out
}

/// `keel audit ID`: one line per event (seq, UTC time, kind), then where to continue.
pub fn audit(v: &Value) -> String {
    let events = v
        .get("events")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut rows = vec![["SEQ", "TIME_UTC", "KIND", "SUMMARY"]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
    for e in &events {
        let time = e
            .get("time_ms")
            .and_then(Value::as_i64)
            .map_or_else(|| "-".to_string(), utc);
        rows.push(vec![
            cell(e.get("seq")),
            time,
            cell(e.get("kind")),
            summary(e.get("record")),
        ]);
    }
    let mut out = align(&rows);
    if let Some(last) = events
        .last()
        .and_then(|e| e.get("seq"))
        .and_then(Value::as_i64)
    {
        out.push_str(&format!(
            "(more: keel audit {} --after {last})\n",
            text(v, "bot_id")
        ));
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS` of epoch milliseconds (UTC).
fn utc(ms: i64) -> String {
    let day = ms.div_euclid(86_400_000);
    let secs = ms.rem_euclid(86_400_000) / 1000;
    format!(
        "{} {:02}:{:02}:{:02}",
        keel_engine::schedule::date_of_day(day),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A few readable `key=value` pairs of an audit record's payload (ids, outcome, code), at most
/// 80 characters; the whole record is in `--json`.
fn summary(record: Option<&Value>) -> String {
    let Some(record) = record else {
        return String::new();
    };
    // Ids sit on the record, the rest on its event.
    let event = record.get("event").unwrap_or(&Value::Null);
    let mut parts = Vec::new();
    for key in [
        "signal_id",
        "client_order_id",
        "outcome",
        "status",
        "code",
        "rule",
        "side",
        "qty",
        "price",
        "reason",
    ] {
        if let Some(v) = record
            .get(key)
            .filter(|v| !v.is_null())
            .or_else(|| event.get(key))
        {
            if !v.is_null() && !v.is_object() && !v.is_array() {
                parts.push(format!("{key}={}", cell(Some(v))));
            }
        }
    }
    let line = parts.join(" ");
    if line.chars().count() > 80 {
        line.chars().take(79).collect::<String>() + "…"
    } else {
        line
    }
}

/// `keel status`: health line, halt state, Neo4j/exchanges, bots counted per state, then the
/// bots table of `keel bots list`.
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
        out.push_str(&format!("bots: {} ({detail})\n\n", list.len()));
        out.push_str(&bots_table(bots));
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
             "state": "running", "equity": "10000.004999999", "pnl_today": "-0.3996679610000000",
             "quote_asset": "USDT", "open_positions": 0},
            {"id": "c", "name": "Coin", "exchange": "bybit", "market": "spot", "mode": "paper",
             "state": "paused", "equity": "1.234567891", "pnl_today": null,
             "quote_asset": "BTC", "open_positions": 1},
            {"id": "bb", "error": {"code": "unavailable", "message": "DO down"}}
        ]);
        let out = bots_table(&list);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            "ID  NAME   EXCHANGE  MARKET  MODE   CCY   STATE    EQUITY      PNL_TODAY  POS"
        );
        assert_eq!(
            lines[1],
            "a   Alpha  binance   spot    paper  USDT  running  10,000.00   -0.40      0"
        );
        assert_eq!(
            lines[2],
            "c   Coin   bybit     spot    paper  BTC   paused   1.23456789  —          1"
        );
        assert_eq!(lines[3], "bb  error unavailable: DO down");
        assert!(
            !out.contains("0.3996679610000000"),
            "no raw decimals: {out}"
        );
    }

    #[test]
    fn pnl_is_a_human_table() {
        let v = json!({"bot_id": "b1", "quote_asset": "USDT", "method": "average_cost",
            "as_of": "2026-12-07T05:00:00Z", "realized": "-0.3996679610000000",
            "unrealized": "65975.0672132996126439242945", "funding": "0", "net": "1.5",
            "fees": {"total_quote": "0.006501234", "by_asset": {}},
            "by_instrument": {"BTCUSDT": {"position_qty": "0.0010000", "avg_entry_price": null,
                "realized": "1", "unrealized": "0", "fees_quote": "0.0650"}}});
        let out = pnl(&v);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "P&L of b1 (USDT, average_cost) as of 2026-12-07T05:00:00Z"
        );
        assert_eq!(lines[1], "  realized    -0.40 USDT");
        assert_eq!(lines[2], "  unrealized  65,975.07 USDT");
        assert_eq!(lines[4], "  fees        0.006501 USDT");
        assert!(lines[8].starts_with("BTCUSDT  0.001     —"), "{}", lines[8]);
        assert!(
            !out.contains("0.3996679610000000"),
            "no raw decimals: {out}"
        );
    }

    #[test]
    fn capital_patch_halt_and_audit_are_human() {
        let c = capital(
            "b1",
            &json!({"transfer_id": "t-1", "amount": "5000.10", "equity": "15000.1000"}),
        );
        assert_eq!(
            c,
            "capital booked for b1: 5,000.1 (transfer t-1)\nequity now: 15,000.1\n"
        );
        let p = patched(
            "b1",
            &json!({"version": 3, "diff": [
            {"field": "risk.max_leverage", "old": "3", "new": "5"},
            {"field": "risk.cooldown_secs", "old": 60, "new": null}]}),
        );
        assert!(
            p.starts_with("b1: config version 3 (2 changes)\nFIELD"),
            "{p}"
        );
        assert!(p.contains("risk.cooldown_secs  60   -"), "{p}");
        assert_eq!(patched("b1", &json!({"diff": []})), "b1: nothing changed\n");
        let h = halt(
            &json!({"halt": {"halted": true, "reason": "news"}, "flatten": true,
            "bots": {"a": {"ok": true}, "b": {"error": {"code": "unavailable", "message": "down"}}},
            "flattened": {"a": {"ok": true}}}),
        );
        assert_eq!(h.lines().next(), Some("platform HALTED: news"));
        assert!(h.contains("a    ok, flattened"), "{h}");
        assert!(h.contains("b    error unavailable: down"), "{h}");
        assert!(!h.contains("unreached"), "{h}");
        let u = halt(&json!({"halt": {"halted": true}, "bots": {
            "a": {"error": {"code": "halt_unconfirmed", "message": "busy"}}}, "unreached": ["a"]}));
        assert!(
            u.ends_with("unreached: a (not confirmed; each adopts the platform state itself before its next decision)\n"),
            "{u}"
        );
        let a = audit(&json!({"bot_id": "b1", "events": [
            {"seq": 7, "time_ms": 1_765_083_600_000i64, "kind": "signal_received",
             "record": {"signal_id": "tv-1", "event": {"kind": "signal_received", "payload": {"x": 1}}}}]}));
        let lines: Vec<&str> = a.lines().collect();
        assert!(
            lines[1].starts_with("7    2025-12-07 05:00:00  signal_received  signal_id=tv-1"),
            "{a}"
        );
        assert_eq!(lines[2], "(more: keel audit b1 --after 7)");
    }

    #[test]
    fn tokens_are_human_and_never_show_more_than_the_api() {
        let list = json!([
            {"id": "tok_a", "name": "desk", "role": "viewer", "created_ms": 1, "expires_ms": 2,
             "expires_at": "2027-03-07T08:00:00.000Z", "expired": false, "bots": ["b1", "b2"]},
            {"id": "tok_bb", "name": "ci", "role": "admin", "created_ms": 1, "expires_ms": 2,
             "expires_at": "2026-01-01T00:00:00.000Z", "expired": true, "bots": null}
        ]);
        let out = tokens_table(&list);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "ID      NAME  ROLE    BOTS   EXPIRES               STATE"
        );
        assert_eq!(
            lines[1],
            "tok_a   desk  viewer  b1,b2  2027-03-07 08:00 UTC  active"
        );
        assert_eq!(
            lines[2],
            "tok_bb  ci    admin   all    2026-01-01 00:00 UTC  expired"
        );
        let created = token_created(&json!({"id": "tok_a", "role": "viewer", "bots": ["b1"],
            "expires_at": "2027-03-07T08:00:00.000Z", "token": "keel_00ff"}));
        assert_eq!(
            created.lines().next(),
            Some("created token tok_a (viewer, bots: b1, expires 2027-03-07 08:00 UTC)")
        );
        assert!(created.contains("\ntoken: keel_00ff\n"), "{created}");
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
            format!(
                "platform: ok (version 0.1.0)\nhalt: ON\nneo4j: ok\n\
                 exchange binance: ok (8 ms, clock offset 4 ms)\nbots: 3 (2 running, 1 paused)\n\n{}",
                bots_table(&bots)
            )
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
