//! Sources, versioned calls and their hash chain: the tamper-evident record of what a channel said.
//!
//! A call is received once ([`CallLog::receive`]) and may be edited ([`CallLog::edit`]); every
//! version is an immutable [`CallVersion`] sealed into one chain per log exactly like the bot audit
//! chain (`hash = sha256(prev_hash ‖ canonical JSON)`, [`crate::audit::chain_hash`] over
//! [`crate::audit::canonical::to_canonical_string`]), so deleting or rewriting an old version breaks
//! every later hash ([`CallLog::verify`]). The **first** version is the one scored
//! ([`CallLog::scored_version`]): a channel that edits its stop after the fact changes the record,
//! never the score.

use super::model::{CallFields, Flag};
use crate::audit::canonical::to_canonical_string;
use crate::audit::{chain_hash, GENESIS_HASH};
use serde::{Deserialize, Serialize};

/// Why a call could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallLogError {
    /// A source id that is empty, too long or not `[a-z0-9_-]`.
    #[error("source id {0:?} must be 1-64 characters of a-z 0-9 _ -")]
    BadSource(String),
    /// A call id that is empty, too long or not `[a-z0-9_-]`.
    #[error("call id {0:?} must be 1-64 characters of a-z 0-9 _ -")]
    BadCallId(String),
    /// `receive` for an id already recorded.
    #[error("call {0} already exists (edit it instead)")]
    Duplicate(String),
    /// `edit` of an id never received.
    #[error("call {0} does not exist")]
    Unknown(String),
    /// An edit stamped before the version it replaces.
    #[error("edit time {got} is before the previous version's {prev}")]
    TimeBackwards {
        /// The previous version's time.
        prev: i64,
        /// The edit's time.
        got: i64,
    },
    /// The version does not serialize canonically (cannot happen for these types; kept honest).
    #[error("call version does not serialize: {0}")]
    Serialize(String),
}

fn valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// How a version came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallOrigin {
    /// Pasted message text, read by the grammar.
    Text,
    /// Fields entered directly (API, CLI, dashboard form).
    Fields,
}

/// One immutable version of a call, as hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallVersion {
    /// Position in the log's chain (1-based).
    pub seq: u64,
    /// The call this version belongs to.
    pub call_id: String,
    /// The source (influencer, channel) that made the call.
    pub source: String,
    /// 1 for the call as received, 2.. for each edit.
    pub version: u32,
    /// When this version was received, epoch ms (the engine reads no clock: the caller stamps it).
    pub received_ms: i64,
    /// When the call was made (the scoring starts here), epoch ms; the first version's is kept.
    pub call_time_ms: i64,
    /// How it came in.
    pub origin: CallOrigin,
    /// The message as pasted, when it came as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The fields (read from `text`, or entered).
    pub fields: CallFields,
    /// What the grammar could not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
    /// Hash of the previous version in the log ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// `sha256(prev_hash ‖ canonical JSON of this version without the two hashes)`.
    pub hash: String,
}

/// What the caller supplies for a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInput {
    /// Call id (`[a-z0-9_-]{1,64}`).
    pub call_id: String,
    /// Source id (`[a-z0-9_-]{1,64}`).
    pub source: String,
    /// Receive time, epoch ms.
    pub received_ms: i64,
    /// When the call was made, epoch ms (ignored on edits: the first version's time stands).
    pub call_time_ms: i64,
    /// Origin.
    pub origin: CallOrigin,
    /// Pasted text, if any.
    pub text: Option<String>,
    /// Fields.
    pub fields: CallFields,
    /// Parser flags.
    pub flags: Vec<Flag>,
}

/// The versions of every call, in chain order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLog {
    /// All versions, oldest first.
    pub versions: Vec<CallVersion>,
}

/// The hashed body: the version without its own hash fields.
#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    call_id: &'a str,
    source: &'a str,
    version: u32,
    received_ms: i64,
    call_time_ms: i64,
    origin: CallOrigin,
    text: &'a Option<String>,
    fields: &'a CallFields,
    flags: &'a [Flag],
}

fn hash_of(v: &CallVersion, prev_hash: &str) -> Result<String, CallLogError> {
    let body = Body {
        seq: v.seq,
        call_id: &v.call_id,
        source: &v.source,
        version: v.version,
        received_ms: v.received_ms,
        call_time_ms: v.call_time_ms,
        origin: v.origin,
        text: &v.text,
        fields: &v.fields,
        flags: &v.flags,
    };
    let value = serde_json::to_value(&body).map_err(|e| CallLogError::Serialize(e.to_string()))?;
    let canon = to_canonical_string(&value).map_err(|e| CallLogError::Serialize(e.to_string()))?;
    Ok(chain_hash(prev_hash, &canon))
}

impl CallLog {
    /// Hash of the last version ([`GENESIS_HASH`] when empty).
    pub fn head(&self) -> &str {
        self.versions
            .last()
            .map_or(GENESIS_HASH, |v| v.hash.as_str())
    }

    /// The versions of one call, oldest first.
    pub fn history(&self, call_id: &str) -> Vec<&CallVersion> {
        self.versions
            .iter()
            .filter(|v| v.call_id == call_id)
            .collect()
    }

    /// The version that is scored: the first one received.
    pub fn scored_version(&self, call_id: &str) -> Option<&CallVersion> {
        self.versions.iter().find(|v| v.call_id == call_id)
    }

    /// The latest version (what the channel says now).
    pub fn latest(&self, call_id: &str) -> Option<&CallVersion> {
        self.versions.iter().rev().find(|v| v.call_id == call_id)
    }

    fn seal(
        &self,
        input: CallInput,
        version: u32,
        call_time_ms: i64,
    ) -> Result<CallVersion, CallLogError> {
        let prev_hash = self.head().to_string();
        let mut v = CallVersion {
            seq: self.versions.len() as u64 + 1,
            call_id: input.call_id,
            source: input.source,
            version,
            received_ms: input.received_ms,
            call_time_ms,
            origin: input.origin,
            text: input.text,
            fields: input.fields,
            flags: input.flags,
            prev_hash,
            hash: String::new(),
        };
        v.hash = hash_of(&v, &v.prev_hash)?;
        Ok(v)
    }

    /// Builds version 1 of a new call, hashed onto the chain, without storing it (the caller
    /// stores it, then [`Self::append`]s it, as for the audit chain).
    ///
    /// # Errors
    /// Bad ids, or [`CallLogError::Duplicate`].
    pub fn receive(&self, input: CallInput) -> Result<CallVersion, CallLogError> {
        if !valid_id(&input.source) {
            return Err(CallLogError::BadSource(input.source));
        }
        if !valid_id(&input.call_id) {
            return Err(CallLogError::BadCallId(input.call_id));
        }
        if self.scored_version(&input.call_id).is_some() {
            return Err(CallLogError::Duplicate(input.call_id));
        }
        let t = input.call_time_ms;
        self.seal(input, 1, t)
    }

    /// Builds the next version of an existing call (same source, first call time kept).
    ///
    /// # Errors
    /// [`CallLogError::Unknown`], or [`CallLogError::TimeBackwards`].
    pub fn edit(&self, mut input: CallInput) -> Result<CallVersion, CallLogError> {
        let Some(last) = self.latest(&input.call_id) else {
            return Err(CallLogError::Unknown(input.call_id));
        };
        if input.received_ms < last.received_ms {
            return Err(CallLogError::TimeBackwards {
                prev: last.received_ms,
                got: input.received_ms,
            });
        }
        let version = last.version.saturating_add(1);
        let first_time = self
            .scored_version(&input.call_id)
            .map_or(input.call_time_ms, |v| v.call_time_ms);
        input.source = last.source.clone();
        self.seal(input, version, first_time)
    }

    /// Stores a version built by [`Self::receive`] / [`Self::edit`] against this head.
    ///
    /// # Errors
    /// [`CallLogError::Serialize`] if it does not follow the head (built against another state).
    pub fn append(&mut self, v: CallVersion) -> Result<(), CallLogError> {
        if v.prev_hash != self.head() || v.seq != self.versions.len() as u64 + 1 {
            return Err(CallLogError::Serialize(format!(
                "version seq {} does not follow the head",
                v.seq
            )));
        }
        self.versions.push(v);
        Ok(())
    }

    /// Recomputes every hash; the seq of the first version that does not match, if any.
    pub fn verify(&self) -> Option<u64> {
        let mut prev = GENESIS_HASH.to_string();
        for (k, v) in self.versions.iter().enumerate() {
            let ok = v.seq == k as u64 + 1
                && v.prev_hash == prev
                && hash_of(v, &prev).is_ok_and(|h| h == v.hash);
            if !ok {
                return Some(v.seq);
            }
            prev = v.hash.clone();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::grammar::parse_message;

    fn input(call_id: &str, received_ms: i64, text: &str) -> CallInput {
        let parsed = parse_message(text);
        CallInput {
            call_id: call_id.to_string(),
            source: "whale-channel".to_string(),
            received_ms,
            call_time_ms: received_ms,
            origin: CallOrigin::Text,
            text: Some(text.to_string()),
            fields: parsed.fields,
            flags: parsed.flags,
        }
    }

    #[test]
    fn an_edit_is_a_new_version_and_the_first_is_scored() {
        let mut log = CallLog::default();
        let v1 = log
            .receive(input(
                "c1",
                1_000,
                "#BTCUSDT LONG\nEntry 65000\nSL 64000\nTP 67000",
            ))
            .unwrap();
        log.append(v1.clone()).unwrap();
        let v2 = log
            .edit(input(
                "c1",
                5_000,
                "#BTCUSDT LONG\nEntry 65000\nSL 60000\nTP 67000",
            ))
            .unwrap();
        log.append(v2.clone()).unwrap();
        assert_eq!(v2.version, 2);
        assert_eq!(v2.prev_hash, v1.hash);
        assert_eq!(v2.call_time_ms, 1_000, "an edit keeps the call's time");
        assert_eq!(log.scored_version("c1"), Some(&v1));
        assert_eq!(log.latest("c1"), Some(&v2));
        assert_eq!(log.history("c1").len(), 2);
        assert_eq!(log.verify(), None);
        assert!(matches!(
            log.receive(input("c1", 6_000, "x")),
            Err(CallLogError::Duplicate(_))
        ));
        assert!(matches!(
            log.edit(input("c9", 6_000, "x")),
            Err(CallLogError::Unknown(_))
        ));
        assert!(matches!(
            log.edit(input("c1", 10, "x")),
            Err(CallLogError::TimeBackwards { .. })
        ));
    }

    #[test]
    fn rewriting_an_old_version_breaks_the_chain() {
        let mut log = CallLog::default();
        for (k, id) in ["a", "b", "c"].iter().enumerate() {
            let v = log
                .receive(input(id, k as i64, "#ETHUSDT SHORT\nEntry 3000\nSL 3100"))
                .unwrap();
            log.append(v).unwrap();
        }
        assert_eq!(log.verify(), None);
        let mut tampered = log.clone();
        tampered.versions[1].fields.stop = Some(rust_decimal::Decimal::from(3500));
        assert_eq!(tampered.verify(), Some(2));
        let mut deleted = log.clone();
        deleted.versions.remove(0);
        assert_eq!(deleted.verify(), Some(2));
        // The same version appended against another head is refused.
        let stale = log.receive(input("d", 9, "x")).unwrap();
        let mut other = log.clone();
        other
            .append(other.receive(input("e", 9, "y")).unwrap())
            .unwrap();
        assert!(other.append(stale).is_err());
    }

    #[test]
    fn ids_are_checked() {
        let log = CallLog::default();
        let mut bad = input("ok", 1, "x");
        bad.source = "Bad Source".into();
        assert!(matches!(log.receive(bad), Err(CallLogError::BadSource(_))));
        assert!(matches!(
            log.receive(input("", 1, "x")),
            Err(CallLogError::BadCallId(_))
        ));
    }
}
