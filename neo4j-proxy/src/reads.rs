//! Shaping read-query rows into the admin API's JSON, and the paged hash verification of a
//! bot's chain as stored in Neo4j. Pure: the handlers run the queries and hand the rows here.

use keel_engine::audit::{verify_links, StoredLink, VerifyAnchor, VerifyReport};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::str::FromStr;

/// Default and maximum page size of `GET /bots/{id}/events`.
pub const PAGE_DEFAULT: u64 = 100;
/// Maximum page size of `GET /bots/{id}/events`.
pub const PAGE_MAX: u64 = 1_000;
/// Events read per Neo4j round trip while verifying.
pub const VERIFY_PAGE: u64 = 2_000;
/// Default and maximum events hash-checked by one `GET /bots/{id}/verify` call.
pub const VERIFY_MAX: u64 = 100_000;

/// A read row that lacks a field or has the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Neo4j row lacks a valid `{0}`")]
pub struct RowError(pub &'static str);

/// Parses `after` and `limit` from a query string (`after=10&limit=50`), clamping `limit` to
/// `1..=max`.
///
/// # Errors
/// A message naming the parameter when it is not an unsigned integer.
pub fn page_params(
    query: Option<&str>,
    default_limit: u64,
    max: u64,
) -> Result<(u64, u64), String> {
    let (mut after, mut limit) = (0, default_limit);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let parse = |name: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("`{name}` must be an unsigned integer, got {v:?}"))
        };
        match k {
            "after" => after = parse("after")?,
            "limit" => limit = parse("limit")?,
            _ => {}
        }
    }
    Ok((after, limit.clamp(1, max)))
}

/// Decodes `%XX` escapes of a path segment (the edge percent-encodes signal ids, which may hold
/// any printable ASCII). Invalid escapes are kept as written.
pub fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn u64_of(row: &Map<String, Value>, k: &'static str) -> Result<u64, RowError> {
    row.get(k).and_then(Value::as_u64).ok_or(RowError(k))
}

fn str_of(row: &Map<String, Value>, k: &'static str) -> Result<String, RowError> {
    row.get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(RowError(k))
}

/// Rows of [`crate::cypher::EVENTS_PAGE`] as stored links.
///
/// # Errors
/// [`RowError`] naming a missing field.
pub fn links_from_rows(rows: &[Map<String, Value>]) -> Result<Vec<StoredLink>, RowError> {
    rows.iter()
        .map(|r| {
            Ok(StoredLink {
                seq: u64_of(r, "seq")?,
                prev_hash: str_of(r, "prev_hash")?,
                hash: str_of(r, "hash")?,
                body: str_of(r, "body")?,
            })
        })
        .collect()
}

/// Rows of [`crate::cypher::EVENTS_PAGE`] as the `GET /bots/{id}/events` answer: the sealed
/// events (same shape the DO ships, so the caller can re-verify) with `body` also decoded as
/// `record`, and `next_after` for the next page (null at the end).
///
/// # Errors
/// [`RowError`] naming a missing field.
pub fn events_page_json(
    bot_id: &str,
    rows: &[Map<String, Value>],
    limit: u64,
) -> Result<Value, RowError> {
    let mut events = Vec::with_capacity(rows.len());
    for r in rows {
        let body = str_of(r, "body")?;
        events.push(json!({
            "bot_id": bot_id, "seq": u64_of(r, "seq")?, "time_ms": r.get("time_ms").cloned().unwrap_or(Value::Null),
            "kind": str_of(r, "kind")?, "prev_hash": str_of(r, "prev_hash")?, "hash": str_of(r, "hash")?,
            "record": serde_json::from_str::<Value>(&body).unwrap_or(Value::Null), "body": body,
        }));
    }
    let next_after = if rows.len() as u64 >= limit {
        events.last().map(|e| e["seq"].clone())
    } else {
        None
    };
    Ok(json!({"bot_id": bot_id, "events": events, "next_after": next_after}))
}

fn seq_key(v: &Value) -> u64 {
    v.get("seq").and_then(Value::as_u64).unwrap_or(u64::MAX)
}

fn decode_event(mut ev: Value) -> Value {
    if let Some(obj) = ev.as_object_mut() {
        if let Some(Value::String(body)) = obj.remove("body") {
            let record: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            obj.insert(
                "event".into(),
                record.get("event").cloned().unwrap_or(Value::Null),
            );
        }
    }
    ev
}

fn sum_field(events: &[Value], field: &str) -> String {
    let total: Decimal = events
        .iter()
        .filter_map(|e| {
            e["event"][field]
                .as_str()
                .and_then(|s| Decimal::from_str(s).ok())
        })
        .fold(Decimal::ZERO, |a, b| a + b);
    total.to_string()
}

/// Rows of [`crate::cypher::SIGNAL_CHAIN`] as the causal chain answer:
/// `{signal_id, chains:[{bot_id, signal, decisions, orders:[{…, instrument, fills:[{…, pnl:[event]}]}], pnl:{realized, fees_quote, funding}, events}]}`,
/// every list in seq (or fill time) order.
pub fn signal_chain_json(signal_id: &str, rows: &[Map<String, Value>]) -> Value {
    let chains: Vec<Value> = rows
        .iter()
        .map(|r| {
            let list = |k: &str| r.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
            let mut decisions = list("decisions");
            decisions.sort_by_key(seq_key);
            let mut pnl_events = Vec::new();
            let mut orders = list("orders");
            orders.sort_by_key(seq_key);
            for o in orders.iter_mut() {
                let mut fills = o.get("fills").and_then(Value::as_array).cloned().unwrap_or_default();
                fills.sort_by_key(|f| (f["time_ms"].as_i64().unwrap_or(i64::MAX), seq_key(f)));
                for f in fills.iter_mut() {
                    let bodies = f.get("pnl").and_then(Value::as_array).cloned().unwrap_or_default();
                    let mut decoded: Vec<Value> = bodies
                        .into_iter()
                        .filter_map(|b| b.as_str().and_then(|s| serde_json::from_str::<Value>(s).ok()))
                        .map(|rec| json!({"seq": rec["seq"], "time_ms": rec["time_ms"], "event": rec["event"]}))
                        .collect();
                    decoded.sort_by_key(seq_key);
                    pnl_events.extend(decoded.iter().cloned());
                    f["pnl"] = Value::Array(decoded);
                }
                o["fills"] = Value::Array(fills);
            }
            let mut events: Vec<Value> = list("signal_events").into_iter().chain(list("order_events")).map(decode_event).collect();
            events.sort_by_key(seq_key);
            events.dedup_by_key(|e| seq_key(e));
            pnl_events.sort_by_key(seq_key);
            pnl_events.dedup_by_key(|e| seq_key(e));
            json!({
                "bot_id": r.get("bot_id").cloned().unwrap_or(Value::Null),
                "signal": r.get("signal").cloned().unwrap_or(Value::Null),
                "decisions": decisions,
                "orders": orders,
                "pnl": {"realized": sum_field(&pnl_events, "realized"), "fees_quote": sum_field(&pnl_events, "fees_quote"), "funding": sum_field(&pnl_events, "funding")},
                "events": events,
            })
        })
        .collect();
    json!({"signal_id": signal_id, "chains": chains})
}

/// Continues a paged verification with one page of links; returns the report and whether to stop
/// (break found, short page, or budget of `remaining` events used).
pub fn verify_page(
    bot_id: &str,
    anchor: VerifyAnchor,
    links: &[StoredLink],
    page: u64,
    remaining: u64,
) -> (VerifyReport, bool) {
    let report = verify_links(bot_id, anchor, links);
    let done =
        report.first_break.is_some() || (links.len() as u64) < page || report.checked >= remaining;
    (report, done)
}

/// The `GET /bots/{id}/verify` answer from the chain statistics row, the missing seqs and the
/// hash check. `ok` is true only when the stored chain starts at 1, has no gap, every `NEXT`
/// link is present and every hash checked links.
pub fn verify_json(
    bot_id: &str,
    stats: Option<&Map<String, Value>>,
    gaps: &[u64],
    from_seq: u64,
    hashes: &VerifyReport,
) -> Value {
    let num = |k: &str| {
        stats
            .and_then(|s| s.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let (count, min_seq, max_seq, next_links) = (
        num("count"),
        num("min_seq"),
        num("max_seq"),
        num("next_links"),
    );
    let mut missing: Vec<u64> = gaps.to_vec();
    if count > 0 && min_seq > 1 {
        missing.insert(0, 1);
    }
    let ok = missing.is_empty() && next_links + 1 >= count && hashes.first_break.is_none();
    json!({
        "bot_id": bot_id, "ok": ok, "count": count,
        "min_seq": if count > 0 { json!(min_seq) } else { Value::Null },
        "max_seq": if count > 0 { json!(max_seq) } else { Value::Null },
        "gaps": missing, "next_links": next_links,
        "hash_check": {"from_seq": from_seq + 1, "checked": hashes.checked, "verified_through": hashes.last_good.seq,
                       "complete": hashes.last_good.seq >= max_seq || hashes.first_break.is_some(), "first_break": hashes.first_break},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("tv%7B1%7D-%3A%2F"), "tv{1}-:/");
        assert_eq!(percent_decode("plain-id"), "plain-id");
        assert_eq!(percent_decode("bad%zz%4"), "bad%zz%4");
    }

    #[test]
    fn page_params_parse_and_clamp() {
        assert_eq!(page_params(None, 100, 1000), Ok((0, 100)));
        assert_eq!(
            page_params(Some("after=5&limit=5000"), 100, 1000),
            Ok((5, 1000))
        );
        assert_eq!(page_params(Some("limit=0&x=1"), 100, 1000), Ok((0, 1)));
        assert!(page_params(Some("after=-1"), 100, 1000).is_err());
    }

    #[test]
    fn chain_answer_orders_and_sums_pnl() {
        let pnl = |seq: u64, realized: &str| {
            json!(format!(
                r#"{{"seq":{seq},"time_ms":9,"event":{{"kind":"pnl_booked","realized":"{realized}","fees_quote":"0.01","funding":"0"}}}}"#
            ))
        };
        let r = row(json!({
            "bot_id": "b1", "signal": {"id": "s1", "status": "accepted"},
            "decisions": [{"seq": 3, "rule": "b"}, {"seq": 2, "rule": "a"}],
            "orders": [{"seq": 4, "client_order_id": "c1", "fills": [
                {"trade_id": "t2", "time_ms": 8, "pnl": [pnl(9, "-0.5")]},
                {"trade_id": "t1", "time_ms": 7, "pnl": [pnl(8, "1.25")]}]}],
            "signal_events": [{"seq": 2, "kind": "risk_decision", "body": "{\"event\":{\"kind\":\"risk_decision\"}}"}, {"seq": 1, "kind": "signal_received", "body": "{}"}],
            "order_events": [{"seq": 4, "kind": "order_intent", "body": "{}"}, {"seq": 2, "kind": "risk_decision", "body": "{}"}],
        }));
        let out = signal_chain_json("s1", &[r]);
        let c = &out["chains"][0];
        assert_eq!(c["decisions"][0]["rule"], json!("a"));
        assert_eq!(c["orders"][0]["fills"][0]["trade_id"], json!("t1"));
        assert_eq!(
            c["pnl"],
            json!({"realized": "0.75", "fees_quote": "0.02", "funding": "0"})
        );
        let seqs: Vec<u64> = c["events"]
            .as_array()
            .map(|e| e.iter().map(seq_key).collect())
            .unwrap_or_default();
        assert_eq!(seqs, vec![1, 2, 4]);
        assert_eq!(c["events"][1]["event"]["kind"], json!("risk_decision"));
    }

    #[test]
    fn verify_answer_flags_gaps_and_missing_start() {
        let stats = row(json!({"count": 4, "min_seq": 2, "max_seq": 6, "next_links": 2}));
        let report = VerifyReport {
            checked: 0,
            last_good: VerifyAnchor::genesis(),
            first_break: None,
        };
        let v = verify_json("b1", Some(&stats), &[4], 0, &report);
        assert_eq!(v["ok"], json!(false));
        assert_eq!(v["gaps"], json!([1, 4]));
        let empty = verify_json("b1", None, &[], 0, &report);
        assert_eq!(
            (
                empty["ok"].clone(),
                empty["count"].clone(),
                empty["max_seq"].clone()
            ),
            (json!(true), json!(0), Value::Null)
        );
    }
}
