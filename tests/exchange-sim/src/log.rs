//! Request log: every exchange request received, with its receive time, so tests and benchmarks
//! can see exactly what the platform sent and when (`GET /__admin/requests?since=N`).

use serde::Serialize;

use crate::http::Req;

/// One logged request.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// Sequence number, from 1, increasing.
    pub seq: u64,
    /// Receive time, ms since epoch.
    pub recv_ms: i64,
    /// Receive time, µs since epoch.
    pub recv_us: i64,
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: String,
    /// Status answered (0 while in flight or when the connection was dropped).
    pub status: u16,
}

/// Bounded in-memory log (oldest entries dropped past `cap`).
#[derive(Debug)]
pub struct RequestLog {
    entries: Vec<Entry>,
    next: u64,
    cap: usize,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog {
            entries: Vec::new(),
            next: 1,
            cap: 100_000,
        }
    }
}

impl RequestLog {
    /// Records a request; returns its sequence number.
    pub fn push(&mut self, req: &Req) -> u64 {
        let seq = self.next;
        self.next += 1;
        if self.entries.len() >= self.cap {
            self.entries.remove(0);
        }
        self.entries.push(Entry {
            seq,
            recv_ms: req.recv_ms,
            recv_us: req.recv_us,
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            status: 0,
        });
        seq
    }

    /// Stores the status answered to a request.
    pub fn set_status(&mut self, seq: u64, status: u16) {
        if let Some(e) = self.entries.iter_mut().rev().find(|e| e.seq == seq) {
            e.status = status;
        }
    }

    /// Entries with `seq > since`.
    pub fn since(&self, since: u64) -> Vec<Entry> {
        self.entries
            .iter()
            .filter(|e| e.seq > since)
            .cloned()
            .collect()
    }

    /// Forgets every entry (sequence numbers keep increasing).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
