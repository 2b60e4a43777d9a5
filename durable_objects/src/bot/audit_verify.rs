//! `GET /view/audit_verify`: recomputes the bot's hash chain from its own audit table, so the
//! admin API can prove the DO copy intact with Neo4j down, and hands the edge each seq's hash to
//! compare with the copy in Neo4j (the first divergence is computed there).

use super::{outbox, BotDO};
use crate::db::int;
use crate::http::ApiError;
use keel_engine::audit::{verify_links, StoredLink, VerifyAnchor, VerifyReport};
use serde::Deserialize;
use serde_json::{json, Value};

/// Rows read per storage query: bounds memory per page on long chains.
const PAGE: i64 = 1_000;

#[derive(Debug, Deserialize)]
struct LinkRow {
    seq: i64,
    prev_hash: String,
    hash: String,
    body: String,
}

impl LinkRow {
    fn link(self) -> StoredLink {
        StoredLink {
            seq: u64::try_from(self.seq).unwrap_or(0),
            prev_hash: self.prev_hash,
            hash: self.hash,
            body: self.body,
        }
    }
}

/// Verifies the whole stored chain. Rows pruned by retention are gone, so the check starts at
/// the first retained row, anchored on its stored `prev_hash` (`from_seq` says where).
///
/// # Errors
/// Storage errors.
pub fn verify(bot: &BotDO) -> Result<Value, ApiError> {
    let bot_id = bot.bot_id()?.to_string();
    let mut hashes: Vec<Value> = Vec::new();
    let mut report: Option<VerifyReport> = None;
    let mut from_seq: Option<u64> = None;
    let mut after: i64 = 0;
    loop {
        let rows: Vec<LinkRow> = bot.db.rows(
            "SELECT seq, prev_hash, hash, body FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            vec![int(after), int(PAGE)],
        )?;
        let n = rows.len() as i64;
        let links: Vec<StoredLink> = rows.into_iter().map(LinkRow::link).collect();
        let Some(first) = links.first() else { break };
        let anchor = match &report {
            Some(r) => r.last_good.clone(),
            None => {
                from_seq = Some(first.seq);
                if first.seq <= 1 {
                    VerifyAnchor::genesis()
                } else {
                    VerifyAnchor {
                        seq: first.seq - 1,
                        hash: first.prev_hash.clone(),
                    }
                }
            }
        };
        let step = verify_links(&bot_id, anchor, &links);
        hashes.extend(links.iter().map(|l| json!([l.seq, l.hash])));
        after = links.last().map(|l| l.seq as i64).unwrap_or(after);
        let checked = report.as_ref().map(|r| r.checked).unwrap_or(0) + step.checked;
        let broken = step.first_break.is_some();
        report = Some(VerifyReport {
            checked,
            last_good: step.last_good,
            first_break: step.first_break,
        });
        if broken || n < PAGE {
            // After a break the remaining hashes still matter for the Neo4j comparison.
            if broken && n == PAGE {
                continue_hashes(bot, after, &mut hashes)?;
            }
            break;
        }
    }
    let count = hashes.len();
    let first_break = report.as_ref().and_then(|r| r.first_break.clone());
    Ok(json!({
        "bot_id": bot_id,
        "ok": first_break.is_none(),
        "count": count,
        "checked": report.as_ref().map(|r| r.checked).unwrap_or(0),
        "from_seq": from_seq,
        "last_seq": outbox::last_seq(bot),
        "shipped_seq": outbox::state(bot)?.shipped_seq,
        "first_break": first_break,
        "hashes": hashes,
    }))
}

#[derive(Debug, Deserialize)]
struct HashRow {
    seq: i64,
    hash: String,
}

fn continue_hashes(bot: &BotDO, mut after: i64, out: &mut Vec<Value>) -> Result<(), ApiError> {
    loop {
        let rows: Vec<HashRow> = bot.db.rows(
            "SELECT seq, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            vec![int(after), int(PAGE)],
        )?;
        let n = rows.len() as i64;
        for r in rows {
            after = r.seq;
            out.push(json!([r.seq, r.hash]));
        }
        if n < PAGE {
            return Ok(());
        }
    }
}
