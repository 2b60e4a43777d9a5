//! Checking a stored chain: gap-free seqs, each `prev_hash` equal to the previous `hash`, each
//! `hash` recomputed from `prev_hash ‖ body`, and each body naming its own bot and seq. Runs over
//! the stored rows only (see the byte format in [`super::record`]), so it verifies the Durable
//! Object's outbox and the copy read back from Neo4j alike, a page at a time.

use super::record::{chain_hash, GENESIS_HASH};
use serde::{Deserialize, Serialize};

/// One stored link, as read from the DO or from Neo4j.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLink {
    /// Seq.
    pub seq: u64,
    /// Previous hash as stored.
    pub prev_hash: String,
    /// Hash as stored.
    pub hash: String,
    /// Canonical body as stored.
    pub body: String,
}

/// Where verification starts: after `seq` whose hash was `hash` (0 and [`GENESIS_HASH`] for the
/// beginning of a chain), so pages can be verified one after another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyAnchor {
    /// Last seq already verified (0 = none).
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

impl VerifyAnchor {
    /// The start of a chain.
    pub fn genesis() -> Self {
        Self {
            seq: 0,
            hash: GENESIS_HASH.to_string(),
        }
    }
}

/// The first problem found, with the seq where it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ChainBreak {
    /// A seq is missing (or repeated/out of order): `found` came where `expected` should be.
    Gap {
        /// Seq expected.
        expected: u64,
        /// Seq found.
        found: u64,
    },
    /// `prev_hash` differs from the previous event's hash.
    PrevHashMismatch {
        /// Seq of the event.
        seq: u64,
        /// Previous event's hash.
        expected: String,
        /// Stored prev_hash.
        found: String,
    },
    /// Stored `hash` differs from `sha256(prev_hash ‖ body)`: body or hash altered.
    HashMismatch {
        /// Seq of the event.
        seq: u64,
        /// Recomputed hash.
        computed: String,
        /// Stored hash.
        stored: String,
    },
    /// The body does not parse, or names another bot or seq.
    BodyMismatch {
        /// Seq of the row.
        seq: u64,
        /// What is wrong.
        detail: String,
    },
}

impl ChainBreak {
    /// Seq at which the chain breaks.
    pub fn seq(&self) -> u64 {
        match self {
            ChainBreak::Gap { expected, .. } => *expected,
            ChainBreak::PrevHashMismatch { seq, .. }
            | ChainBreak::HashMismatch { seq, .. }
            | ChainBreak::BodyMismatch { seq, .. } => *seq,
        }
    }
}

/// Outcome of verifying a run of links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Links checked before the first break (or all).
    pub checked: u64,
    /// Anchor to continue from (last good link).
    pub last_good: VerifyAnchor,
    /// First break, if any; verification stops there.
    pub first_break: Option<ChainBreak>,
}

/// Verifies `links` (in seq order) for `bot_id`, continuing from `anchor`.
pub fn verify_links<'a>(
    bot_id: &str,
    anchor: VerifyAnchor,
    links: impl IntoIterator<Item = &'a StoredLink>,
) -> VerifyReport {
    let mut last = anchor;
    let mut checked = 0;
    for link in links {
        if let Some(brk) = check_link(bot_id, &last, link) {
            return VerifyReport {
                checked,
                last_good: last,
                first_break: Some(brk),
            };
        }
        checked += 1;
        last = VerifyAnchor {
            seq: link.seq,
            hash: link.hash.clone(),
        };
    }
    VerifyReport {
        checked,
        last_good: last,
        first_break: None,
    }
}

fn check_link(bot_id: &str, last: &VerifyAnchor, link: &StoredLink) -> Option<ChainBreak> {
    let expected = last.seq.saturating_add(1);
    if link.seq != expected {
        return Some(ChainBreak::Gap {
            expected,
            found: link.seq,
        });
    }
    if link.prev_hash != last.hash {
        return Some(ChainBreak::PrevHashMismatch {
            seq: link.seq,
            expected: last.hash.clone(),
            found: link.prev_hash.clone(),
        });
    }
    let computed = chain_hash(&link.prev_hash, &link.body);
    if computed != link.hash {
        return Some(ChainBreak::HashMismatch {
            seq: link.seq,
            computed,
            stored: link.hash.clone(),
        });
    }
    #[derive(Deserialize)]
    struct Head {
        bot_id: String,
        seq: u64,
    }
    match serde_json::from_str::<Head>(&link.body) {
        Ok(h) if h.bot_id == bot_id && h.seq == link.seq => None,
        Ok(h) => Some(ChainBreak::BodyMismatch {
            seq: link.seq,
            detail: format!("body says bot {} seq {}", h.bot_id, h.seq),
        }),
        Err(e) => Some(ChainBreak::BodyMismatch {
            seq: link.seq,
            detail: format!("body does not parse: {e}"),
        }),
    }
}

/// First seq at which two copies of a chain (DO and Neo4j) disagree on the hash, comparing the
/// seqs both hold; `None` when they agree. Inputs are `(seq, hash)` in seq order.
pub fn first_divergence(a: &[(u64, String)], b: &[(u64, String)]) -> Option<u64> {
    let mut j = 0;
    for (seq, hash) in a {
        while j < b.len() && b[j].0 < *seq {
            j += 1;
        }
        if j < b.len() && b[j].0 == *seq && b[j].1 != *hash {
            return Some(*seq);
        }
    }
    None
}
