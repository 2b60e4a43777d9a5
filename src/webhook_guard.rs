//! The cheap half of the webhook path, pure so it is unit-tested natively: the shape check of
//! `X-Keel-Signature` made before any HMAC is computed, the coalescing of repeated edge refusals
//! into counted reports (so a flood writes one audit event per bot, reason and window instead of
//! one per request), and the in-isolate list of source addresses that exhausted their failure
//! budget (so their next requests are refused without reaching the bot's Durable Object).
//!
//! The in-isolate state is an optimisation, not the limit itself: the limits are the rate-limit
//! bindings (or the ControlDO's token buckets), which are shared by every isolate; an isolate
//! that has not yet seen an address fail simply asks the bot once more.

use std::collections::HashMap;

/// Most `v1=` entries accepted in `X-Keel-Signature`: one per secret in use during a rotation
/// with room to spare. Each entry costs an HMAC over the whole body, so the count is capped
/// before the bot computes any.
pub const MAX_SIGNATURE_ENTRIES: usize = 4;
/// Longest `X-Keel-Signature` accepted (a `t=` and four 64-hex entries fit in 300 bytes).
pub const MAX_SIGNATURE_HEADER_BYTES: usize = 512;
/// Length of a refusal-coalescing window, and how long an address that exhausted its failure
/// budget is refused at the edge.
pub const WINDOW_MS: i64 = 60_000;
/// Most keys held by a [`Coalescer`] or [`Blocklist`] (scans from many addresses): beyond it the
/// oldest half is dropped, which only forgets counts or lets an address ask the bot again.
const MAX_KEYS: usize = 4_096;

/// Why a signature header is refused before any HMAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderRefusal {
    /// Longer than [`MAX_SIGNATURE_HEADER_BYTES`].
    TooLong(usize),
    /// More than [`MAX_SIGNATURE_ENTRIES`] `v1=` entries.
    TooManyEntries(usize),
}

impl HeaderRefusal {
    /// The message of the 401 `malformed_signature` answer.
    pub fn message(&self) -> String {
        match self {
            HeaderRefusal::TooLong(n) => format!(
                "X-Keel-Signature is malformed: {n} bytes; at most {MAX_SIGNATURE_HEADER_BYTES} are accepted"
            ),
            HeaderRefusal::TooManyEntries(n) => format!(
                "X-Keel-Signature is malformed: {n} v1 entries; at most {MAX_SIGNATURE_ENTRIES} are accepted"
            ),
        }
    }
}

/// Checks the size and the number of `v1=` entries of `X-Keel-Signature` (its content is
/// verified by the bot).
///
/// # Errors
/// [`HeaderRefusal`] when the header is too long or names too many entries.
pub fn check_signature_header(header: &str) -> Result<(), HeaderRefusal> {
    if header.len() > MAX_SIGNATURE_HEADER_BYTES {
        return Err(HeaderRefusal::TooLong(header.len()));
    }
    let entries = header
        .split(',')
        .filter(|p| p.trim_start().starts_with("v1="))
        .count();
    if entries > MAX_SIGNATURE_ENTRIES {
        return Err(HeaderRefusal::TooManyEntries(entries));
    }
    Ok(())
}

/// One key's open window: when it started and how many refusals were not yet reported.
#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: i64,
    unreported: u64,
}

/// Counts refusals per key (bot and reason) and says when one should be reported: the first of
/// each window at once, the others as a count carried by the next report after the window.
#[derive(Debug, Default)]
pub struct Coalescer {
    map: HashMap<String, Window>,
}

impl Coalescer {
    /// Records one refusal under `key`. Returns `Some(n)` when a report is due now, covering `n`
    /// refusals (this one and those counted since the last report); `None` when it is counted only.
    pub fn record(&mut self, key: &str, now_ms: i64) -> Option<u64> {
        if self.map.len() >= MAX_KEYS && !self.map.contains_key(key) {
            drop_oldest_half(&mut self.map, |w| w.start_ms);
        }
        match self.map.get_mut(key) {
            Some(w) if now_ms - w.start_ms < WINDOW_MS => {
                w.unreported += 1;
                None
            }
            Some(w) => {
                let n = w.unreported + 1;
                *w = Window {
                    start_ms: now_ms,
                    unreported: 0,
                };
                Some(n)
            }
            None => {
                self.map.insert(
                    key.to_string(),
                    Window {
                        start_ms: now_ms,
                        unreported: 0,
                    },
                );
                Some(1)
            }
        }
    }
}

/// Source addresses refused at the edge until a time, after exhausting their failure budget.
#[derive(Debug, Default)]
pub struct Blocklist {
    until: HashMap<String, i64>,
}

impl Blocklist {
    /// Whether `ip` is refused at `now_ms`.
    pub fn blocked(&self, ip: &str, now_ms: i64) -> bool {
        self.until.get(ip).is_some_and(|u| *u > now_ms)
    }

    /// Refuses `ip` for [`WINDOW_MS`] from `now_ms`.
    pub fn block(&mut self, ip: &str, now_ms: i64) {
        if self.until.len() >= MAX_KEYS && !self.until.contains_key(ip) {
            self.until.retain(|_, u| *u > now_ms);
            if self.until.len() >= MAX_KEYS {
                drop_oldest_half(&mut self.until, |u| *u);
            }
        }
        self.until.insert(ip.to_string(), now_ms + WINDOW_MS);
    }
}

fn drop_oldest_half<V>(map: &mut HashMap<String, V>, age: impl Fn(&V) -> i64) {
    let mut ages: Vec<i64> = map.values().map(&age).collect();
    ages.sort_unstable();
    if let Some(cutoff) = ages.get(ages.len() / 2).copied() {
        map.retain(|_, v| age(v) > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_header_entries_are_capped_before_any_hmac() {
        let sig = "ab".repeat(32);
        let four = format!("t=1,v1={sig},v1={sig},v1={sig},v1={sig}");
        assert_eq!(check_signature_header(&four), Ok(()));
        let five = format!("t=1,v1=00,v1=00,v1=00,v1=00, v1=00");
        assert_eq!(
            check_signature_header(&five),
            Err(HeaderRefusal::TooManyEntries(5))
        );
        let long = format!("t=1,v1={}", "0".repeat(600));
        assert_eq!(
            check_signature_header(&long),
            Err(HeaderRefusal::TooLong(607))
        );
        assert!(HeaderRefusal::TooManyEntries(5)
            .message()
            .contains("at most 4"));
    }

    #[test]
    fn coalescer_reports_first_then_counts_until_the_window_ends() {
        let mut c = Coalescer::default();
        assert_eq!(c.record("b:x", 0), Some(1));
        assert_eq!(c.record("b:x", 10), None);
        assert_eq!(c.record("b:x", WINDOW_MS - 1), None);
        assert_eq!(c.record("b:y", 20), Some(1), "keys are independent");
        assert_eq!(
            c.record("b:x", WINDOW_MS),
            Some(3),
            "two counted + this one"
        );
        assert_eq!(c.record("b:x", WINDOW_MS + 1), None);
    }

    #[test]
    fn coalescer_and_blocklist_stay_bounded() {
        let mut c = Coalescer::default();
        let mut b = Blocklist::default();
        for i in 0..(3 * MAX_KEYS as i64) {
            c.record(&format!("k{i}"), i);
            b.block(&format!("10.0.{i}"), i);
        }
        assert!(c.map.len() <= MAX_KEYS);
        assert!(b.until.len() <= MAX_KEYS);
        assert!(b.blocked(&format!("10.0.{}", 3 * MAX_KEYS - 1), 3 * MAX_KEYS as i64));
        assert!(!b.blocked("10.0.x", 0));
        let mut b = Blocklist::default();
        b.block("1.2.3.4", 0);
        assert!(b.blocked("1.2.3.4", WINDOW_MS - 1));
        assert!(!b.blocked("1.2.3.4", WINDOW_MS));
    }
}
