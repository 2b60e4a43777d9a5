//! Alert policy: which operator messages to send, and when to stay quiet.
//!
//! Operators must hear about a failure within a minute, but a failure storm (an exchange outage
//! rejecting every order, a circuit flapping) must not flood their phone. This module decides,
//! without I/O, what the bot sends:
//!
//! | call | when | sends |
//! |---|---|---|
//! | [`AlertBook::raise`] | a condition is observed (again) | the first occurrence of an episode, if the rate limit allows |
//! | [`AlertBook::resolve`] | the condition cleared | one "resolved" message, only for an episode that was announced |
//!
//! An *episode* is keyed by [`Alert::key`] (kind + subject): repeats while it is open only count.
//! A rate limit (messages per window, per bot) caps how many distinct episodes are announced; the
//! suppressed ones are counted and mentioned in the next message. Rendering for the outgoing
//! webhook formats (generic JSON, Telegram, Discord, Slack) and for e-mail is here too, so it is
//! tested natively.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// How urgent a message is (ordered: `Info < Warning < Critical`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record (daily summary, a resolution).
    Info,
    /// Needs a look soon (an order rejected, audit lagging).
    Warning,
    /// Trading stopped or is at risk (auto-pause, circuit open, reconciliation mismatch).
    Critical,
}

/// What happened: the triggers of the monitoring issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The bot paused itself (loss limit, drawdown, rejections).
    AutoPaused,
    /// The exchange refused an order.
    OrderRejected,
    /// The exchange circuit opened (closing it resolves the episode).
    CircuitOpen,
    /// Reconciliation found a difference between the exchange and the ledger.
    ReconciliationMismatch,
    /// The audit outbox is above its depth threshold or too old.
    OutboxLagging,
    /// The exchange refused the bot's credentials.
    CredentialsFailing,
    /// Positions were closed by an operator or a panic halt.
    Flattened,
    /// End-of-day P&L summary.
    DailySummary,
    /// A strategy bot's execution drifted from the backtest of its version beyond the bound
    /// (`analytics::drift`).
    Drift,
}

impl AlertKind {
    /// Stable snake_case name (dedupe keys, JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AutoPaused => "auto_paused",
            Self::OrderRejected => "order_rejected",
            Self::CircuitOpen => "circuit_open",
            Self::ReconciliationMismatch => "reconciliation_mismatch",
            Self::OutboxLagging => "outbox_lagging",
            Self::CredentialsFailing => "credentials_failing",
            Self::Flattened => "flattened",
            Self::DailySummary => "daily_summary",
            Self::Drift => "drift",
        }
    }

    /// The severity an alert of this kind carries.
    pub fn severity(self) -> Severity {
        match self {
            Self::AutoPaused
            | Self::CircuitOpen
            | Self::ReconciliationMismatch
            | Self::CredentialsFailing => Severity::Critical,
            Self::OrderRejected | Self::OutboxLagging | Self::Flattened | Self::Drift => {
                Severity::Warning
            }
            Self::DailySummary => Severity::Info,
        }
    }

    /// One-shot kinds are announced every time (no episode stays open).
    fn one_shot(self) -> bool {
        matches!(self, Self::Flattened | Self::DailySummary)
    }
}

/// One observed condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Bot it concerns.
    pub bot_id: String,
    /// Trigger.
    pub kind: AlertKind,
    /// What it is about within the bot (a symbol, an exchange); empty for the whole bot.
    pub subject: String,
    /// One-line human text.
    pub message: String,
}

impl Alert {
    /// Builds an alert.
    pub fn new(
        bot_id: impl Into<String>,
        kind: AlertKind,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            bot_id: bot_id.into(),
            kind,
            subject: subject.into(),
            message: message.into(),
        }
    }

    /// Dedupe key: kind and subject (per bot, since each bot keeps its own book).
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.subject)
    }
}

/// Whether a message opens an episode or closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// First occurrence.
    Firing,
    /// The condition cleared.
    Resolved,
}

/// A message to deliver on every channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// The alert (for a resolution: the one that opened the episode).
    pub alert: Alert,
    /// Severity (a resolution is `Info`).
    pub severity: Severity,
    /// Firing or resolved.
    pub phase: Phase,
    /// Occurrences in the episode so far (1 when it opens).
    pub occurrences: u32,
    /// Episodes suppressed by the rate limit since the previous message.
    pub suppressed: u32,
    /// When the message was decided (ms).
    pub time_ms: i64,
}

/// Dedupe and rate-limit settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPolicy {
    /// Messages allowed per window per bot.
    pub max_per_window: u32,
    /// Rate-limit window (ms).
    pub window_ms: i64,
    /// An open episode not seen for this long is forgotten (the next occurrence announces again).
    pub stale_after_ms: i64,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        Self {
            max_per_window: 10,
            window_ms: 600_000,
            stale_after_ms: 6 * 3_600_000,
        }
    }
}

/// An open episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    /// The alert that opened it.
    pub alert: Alert,
    /// First occurrence (ms).
    pub first_ms: i64,
    /// Latest occurrence (ms).
    pub last_ms: i64,
    /// Occurrences.
    pub count: u32,
    /// Whether the opening message was sent (a suppressed episode resolves silently).
    pub announced: bool,
}

/// Per-bot alert state, stored by the bot with its flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertBook {
    /// Open episodes by key.
    pub open: BTreeMap<String, Episode>,
    /// Times of the messages sent in the current window.
    pub sent_ms: Vec<i64>,
    /// Episodes suppressed since the last message.
    pub suppressed: u32,
}

impl AlertBook {
    /// Records an occurrence; returns the message to send, if any.
    pub fn raise(&mut self, alert: Alert, policy: &AlertPolicy, now_ms: i64) -> Option<Outgoing> {
        let key = alert.key();
        if let Some(ep) = self.open.get_mut(&key) {
            if now_ms - ep.last_ms < policy.stale_after_ms {
                ep.count = ep.count.saturating_add(1);
                ep.last_ms = now_ms;
                return None;
            }
        }
        let announced = self.admit(policy, now_ms);
        let out = announced.then(|| {
            self.message(
                alert.clone(),
                alert.kind.severity(),
                Phase::Firing,
                1,
                now_ms,
            )
        });
        if !announced {
            self.suppressed = self.suppressed.saturating_add(1);
        }
        if !alert.kind.one_shot() {
            self.open.insert(
                key,
                Episode {
                    alert,
                    first_ms: now_ms,
                    last_ms: now_ms,
                    count: 1,
                    announced,
                },
            );
        }
        out
    }

    /// Closes the episode of `kind`/`subject`; returns the resolved message if it had been
    /// announced (resolutions bypass the rate limit: an operator must learn the storm ended).
    pub fn resolve(&mut self, kind: AlertKind, subject: &str, now_ms: i64) -> Option<Outgoing> {
        let key = format!("{}:{}", kind.as_str(), subject);
        let ep = self.open.remove(&key)?;
        if !ep.announced {
            return None;
        }
        self.sent_ms.push(now_ms);
        let mut alert = ep.alert;
        alert.message = format!(
            "resolved after {} occurrence(s): {}",
            ep.count, alert.message
        );
        Some(self.message(alert, Severity::Info, Phase::Resolved, ep.count, now_ms))
    }

    /// Whether an episode of `kind`/`subject` is open.
    pub fn is_open(&self, kind: AlertKind, subject: &str) -> bool {
        self.open
            .contains_key(&format!("{}:{}", kind.as_str(), subject))
    }

    fn admit(&mut self, policy: &AlertPolicy, now_ms: i64) -> bool {
        self.sent_ms.retain(|t| now_ms - t < policy.window_ms);
        if self.sent_ms.len() >= policy.max_per_window as usize {
            return false;
        }
        self.sent_ms.push(now_ms);
        true
    }

    fn message(
        &mut self,
        alert: Alert,
        severity: Severity,
        phase: Phase,
        occurrences: u32,
        now_ms: i64,
    ) -> Outgoing {
        let suppressed = std::mem::take(&mut self.suppressed);
        Outgoing {
            alert,
            severity,
            phase,
            occurrences,
            suppressed,
            time_ms: now_ms,
        }
    }
}

/// The body format of an outgoing webhook, chosen from its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// `{"bot_id", "kind", "severity", "phase", ...}`.
    Generic,
    /// Telegram Bot API `sendMessage` (`chat_id` from the URL's query).
    Telegram,
    /// Discord webhook (`content`).
    Discord,
    /// Slack incoming webhook (`text`).
    Slack,
}

impl WebhookFormat {
    /// Picks the format from the destination URL.
    pub fn for_url(url: &str) -> Self {
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or(url)
            .split(['/', '?'])
            .next()
            .unwrap_or("");
        if host == "api.telegram.org" {
            Self::Telegram
        } else if host.ends_with("discord.com") || host.ends_with("discordapp.com") {
            Self::Discord
        } else if host == "hooks.slack.com" {
            Self::Slack
        } else {
            Self::Generic
        }
    }
}

impl Outgoing {
    /// One-line summary: `[CRITICAL] bot btc: auto_paused — daily loss 120 > 100`.
    pub fn headline(&self) -> String {
        let sev = match (self.phase, self.severity) {
            (Phase::Resolved, _) => "RESOLVED",
            (_, Severity::Critical) => "CRITICAL",
            (_, Severity::Warning) => "WARNING",
            (_, Severity::Info) => "INFO",
        };
        let subject = if self.alert.subject.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.alert.subject)
        };
        let mut s = format!(
            "[{sev}] bot {}: {}{subject}: {}",
            self.alert.bot_id,
            self.alert.kind.as_str(),
            self.alert.message
        );
        if self.suppressed > 0 {
            s.push_str(&format!(
                " (+{} alert(s) suppressed by rate limit)",
                self.suppressed
            ));
        }
        s
    }

    /// The webhook body in the given format.
    pub fn webhook_body(&self, format: WebhookFormat, url: &str) -> Value {
        match format {
            WebhookFormat::Generic => json!({
                "bot_id": self.alert.bot_id, "kind": self.alert.kind, "subject": self.alert.subject,
                "severity": self.severity, "phase": self.phase, "message": self.alert.message,
                "occurrences": self.occurrences, "suppressed": self.suppressed, "time_ms": self.time_ms,
                "text": self.headline(),
            }),
            WebhookFormat::Telegram => {
                let chat = url
                    .split_once('?')
                    .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("chat_id=")))
                    .unwrap_or("");
                json!({"chat_id": chat, "text": clip(&self.headline(), TELEGRAM_MAX_CHARS), "disable_web_page_preview": true})
            }
            WebhookFormat::Discord => {
                json!({"content": clip(&self.headline(), DISCORD_MAX_CHARS), "allowed_mentions": {"parse": []}})
            }
            WebhookFormat::Slack => json!({"text": clip(&self.headline(), SLACK_MAX_CHARS)}),
        }
    }

    /// An RFC 5322 message (for the e-mail channel and the local spool). It carries the headers
    /// Cloudflare's `send_email` requires (`Message-ID`, a `From` equal to the envelope sender)
    /// and a `Date`; a non-ASCII subject is RFC 2047-encoded, since headers must be ASCII.
    pub fn email(&self, from: &str, to: &str) -> String {
        let subject: String = self
            .headline()
            .chars()
            .take(120)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let subject = if subject.is_ascii() {
            subject
        } else {
            format!("=?utf-8?B?{}?=", base64(subject.as_bytes()))
        };
        let domain = from.rsplit_once('@').map(|(_, d)| d).unwrap_or("localhost");
        let phase = match self.phase {
            Phase::Firing => "firing",
            Phase::Resolved => "resolved",
        };
        let key = short_hash(&format!(
            "{}|{}|{}|{}|{}",
            self.alert.bot_id,
            self.alert.kind.as_str(),
            self.alert.subject,
            phase,
            self.time_ms
        ));
        format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {}\r\nMessage-ID: <keel.{}.{key}@{domain}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n\r\nbot: {}\r\nkind: {}\r\nsubject: {}\r\nseverity: {:?}\r\nphase: {phase}\r\noccurrences: {}\r\nsuppressed: {}\r\ntime_ms: {}\r\n",
            rfc5322_date(self.time_ms),
            self.time_ms,
            self.headline(),
            self.alert.bot_id,
            self.alert.kind.as_str(),
            self.alert.subject,
            self.severity,
            self.occurrences,
            self.suppressed,
            self.time_ms,
        )
    }
}

/// Telegram `sendMessage` refuses a text longer than this.
const TELEGRAM_MAX_CHARS: usize = 4_096;
/// Discord refuses a `content` longer than this.
const DISCORD_MAX_CHARS: usize = 2_000;
/// Slack truncates (and advises against) longer `text`.
const SLACK_MAX_CHARS: usize = 4_000;

/// `s` cut to `max` characters (an ellipsis marks the cut), so a long exchange message never
/// makes a chat service refuse the whole alert.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// First 8 bytes of SHA-256, hex: distinguishes messages in a `Message-ID`.
fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(s.as_bytes())[..8])
}

/// `Tue, 24 Nov 2026 10:00:00 +0000` (RFC 5322 §3.3).
fn rfc5322_date(ms: i64) -> String {
    use crate::schedule::{date_of_day, day_of, Weekday};
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let day = day_of(ms);
    let date = date_of_day(day);
    let mut parts = date.splitn(3, '-');
    let (y, m, d) = (
        parts.next().unwrap_or("1970"),
        parts
            .next()
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(1),
        parts.next().unwrap_or("01"),
    );
    let wd = match Weekday::of_day(day) {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    };
    let secs = ms.rem_euclid(86_400_000) / 1000;
    format!(
        "{wd}, {d} {} {y} {:02}:{:02}:{:02} +0000",
        MONTHS.get(m.saturating_sub(1)).copied().unwrap_or("Jan"),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Standard base64 with padding (RFC 4648), for RFC 2047 encoded words (the `base64` crate).
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rej(subject: &str) -> Alert {
        Alert::new(
            "b1",
            AlertKind::OrderRejected,
            subject,
            "insufficient balance",
        )
    }

    #[test]
    fn a_storm_sends_one_message_and_one_resolution() {
        let p = AlertPolicy::default();
        let mut book = AlertBook::default();
        let mut sent = Vec::new();
        for t in 0..50 {
            sent.extend(book.raise(rej("BTCUSDT"), &p, t * 100));
        }
        sent.extend(book.resolve(AlertKind::OrderRejected, "BTCUSDT", 10_000));
        sent.extend(book.resolve(AlertKind::OrderRejected, "BTCUSDT", 10_001));
        assert_eq!(sent.len(), 2);
        assert_eq!(
            (sent[0].phase, sent[0].severity, sent[0].occurrences),
            (Phase::Firing, Severity::Warning, 1)
        );
        assert_eq!(
            (sent[1].phase, sent[1].severity, sent[1].occurrences),
            (Phase::Resolved, Severity::Info, 50)
        );
        assert!(sent[1].alert.message.starts_with("resolved after 50"));
    }

    #[test]
    fn table_of_sequences() {
        struct Case {
            name: &'static str,
            steps: Vec<(i64, Option<&'static str>)>, // (time, Some(subject)=raise, None=resolve BTC)
            expected_phases: Vec<Phase>,
        }
        let cases = [
            Case {
                name: "resolve without episode",
                steps: vec![(0, None)],
                expected_phases: vec![],
            },
            Case {
                name: "two subjects are two episodes",
                steps: vec![
                    (0, Some("BTCUSDT")),
                    (1, Some("ETHUSDT")),
                    (2, Some("BTCUSDT")),
                ],
                expected_phases: vec![Phase::Firing, Phase::Firing],
            },
            Case {
                name: "after resolution a new episode announces again",
                steps: vec![(0, Some("BTCUSDT")), (5, None), (6, Some("BTCUSDT"))],
                expected_phases: vec![Phase::Firing, Phase::Resolved, Phase::Firing],
            },
            Case {
                name: "stale episode re-announces",
                steps: vec![(0, Some("BTCUSDT")), (7 * 3_600_000, Some("BTCUSDT"))],
                expected_phases: vec![Phase::Firing, Phase::Firing],
            },
        ];
        for c in cases {
            let mut book = AlertBook::default();
            let p = AlertPolicy::default();
            let mut got = Vec::new();
            for (t, step) in c.steps {
                let out = match step {
                    Some(s) => book.raise(rej(s), &p, t),
                    None => book.resolve(AlertKind::OrderRejected, "BTCUSDT", t),
                };
                got.extend(out.map(|o| o.phase));
            }
            assert_eq!(got, c.expected_phases, "{}", c.name);
        }
    }

    #[test]
    fn rate_limit_suppresses_and_reports_the_count() {
        let p = AlertPolicy {
            max_per_window: 2,
            window_ms: 1_000,
            stale_after_ms: 1_000_000,
        };
        let mut book = AlertBook::default();
        let subjects = ["A", "B", "C", "D"];
        let sent: Vec<Outgoing> = subjects
            .iter()
            .enumerate()
            .filter_map(|(i, s)| book.raise(rej(s), &p, i as i64))
            .collect();
        assert_eq!(sent.len(), 2);
        // A suppressed episode resolves silently.
        assert!(book.resolve(AlertKind::OrderRejected, "C", 10).is_none());
        // After the window the next message carries the suppressed count.
        let next = book.raise(rej("E"), &p, 2_000).map(|o| o.suppressed);
        assert_eq!(next, Some(2));
    }

    #[test]
    fn one_shot_kinds_never_stay_open() {
        let p = AlertPolicy::default();
        let mut book = AlertBook::default();
        let a = Alert::new("b1", AlertKind::Flattened, "", "closed 2 positions");
        assert!(book.raise(a.clone(), &p, 0).is_some());
        assert!(book.raise(a, &p, 1).is_some());
        assert!(book.open.is_empty());
    }

    #[test]
    fn severities() {
        let cases = [
            (AlertKind::AutoPaused, Severity::Critical),
            (AlertKind::CircuitOpen, Severity::Critical),
            (AlertKind::ReconciliationMismatch, Severity::Critical),
            (AlertKind::OrderRejected, Severity::Warning),
            (AlertKind::OutboxLagging, Severity::Warning),
            (AlertKind::DailySummary, Severity::Info),
        ];
        for (k, s) in cases {
            assert_eq!(k.severity(), s, "{k:?}");
        }
    }

    #[test]
    fn webhook_formats() {
        let cases = [
            (
                "https://api.telegram.org/bot123:abc/sendMessage?chat_id=42",
                WebhookFormat::Telegram,
            ),
            (
                "https://discord.com/api/webhooks/1/x",
                WebhookFormat::Discord,
            ),
            (
                "https://hooks.slack.com/services/T/B/X",
                WebhookFormat::Slack,
            ),
            ("http://127.0.0.1:9000/hook", WebhookFormat::Generic),
        ];
        let mut book = AlertBook::default();
        let out = book.raise(
            Alert::new("b1", AlertKind::AutoPaused, "", "daily loss 120 > 100"),
            &AlertPolicy::default(),
            7,
        );
        let Some(out) = out else {
            panic!("first alert must be sent")
        };
        for (url, f) in cases {
            assert_eq!(WebhookFormat::for_url(url), f, "{url}");
        }
        let tg = out.webhook_body(WebhookFormat::Telegram, cases[0].0);
        assert_eq!(tg["chat_id"], "42");
        assert_eq!(
            tg["text"],
            "[CRITICAL] bot b1: auto_paused: daily loss 120 > 100"
        );
        assert_eq!(
            out.webhook_body(WebhookFormat::Discord, "")["content"],
            tg["text"]
        );
        assert_eq!(
            out.webhook_body(WebhookFormat::Slack, "")["text"],
            tg["text"]
        );
        assert_eq!(
            out.webhook_body(WebhookFormat::Discord, "")["allowed_mentions"]["parse"],
            json!([]),
            "an alert never pings @everyone"
        );
        let long = Outgoing {
            alert: Alert::new("b1", AlertKind::OrderRejected, "X", "e".repeat(10_000)),
            ..out.clone()
        };
        for (f, max) in [
            (WebhookFormat::Telegram, 4_096),
            (WebhookFormat::Discord, 2_000),
            (WebhookFormat::Slack, 4_000),
        ] {
            let body = long.webhook_body(f, cases[0].0);
            let text = body["text"]
                .as_str()
                .or(body["content"].as_str())
                .unwrap_or("");
            assert_eq!(text.chars().count(), max, "{f:?}");
            assert!(text.ends_with('…'));
        }
        let g = out.webhook_body(WebhookFormat::Generic, "");
        assert_eq!(
            (
                g["kind"].as_str(),
                g["severity"].as_str(),
                g["phase"].as_str()
            ),
            (Some("auto_paused"), Some("critical"), Some("firing"))
        );
        let mail = out.email("keel@example.com", "ops@example.com");
        assert!(mail.contains("To: ops@example.com\r\nSubject: [CRITICAL] bot b1: auto_paused"));
        assert!(mail.contains("\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
        assert!(mail.contains("\r\nMessage-ID: <keel.7."));
        assert!(mail.contains("@example.com>\r\n"));
        assert!(mail.contains("\r\n\r\n[CRITICAL] bot b1"));
    }

    #[test]
    fn email_headers_are_ascii_and_distinct() {
        let mut book = AlertBook::default();
        let p = AlertPolicy::default();
        let a = Alert::new(
            "b1",
            AlertKind::OrderRejected,
            "ÉTHUSDT",
            "refusé\r\nBcc: x@y.z",
        );
        let Some(fire) = book.raise(a, &p, 1_764_000_000_000) else {
            panic!("first alert must be sent")
        };
        let Some(done) = book.resolve(AlertKind::OrderRejected, "ÉTHUSDT", 1_764_000_000_000)
        else {
            panic!("resolution must be sent")
        };
        let (m1, m2) = (
            fire.email("k@x.io", "o@x.io"),
            done.email("k@x.io", "o@x.io"),
        );
        let headers = |m: &str| m.split("\r\n\r\n").next().unwrap_or("").to_string();
        assert!(headers(&m1).is_ascii());
        assert!(!headers(&m1).contains("Bcc"));
        assert!(headers(&m1).contains("Subject: =?utf-8?B?"));
        assert!(headers(&m1).contains("Date: Mon, 24 Nov 2025 16:00:00 +0000"));
        let id = |m: &str| {
            m.lines()
                .find(|l| l.starts_with("Message-ID:"))
                .unwrap_or("")
                .to_string()
        };
        assert_ne!(id(&m1), id(&m2));
    }

    #[test]
    fn base64_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }
}
