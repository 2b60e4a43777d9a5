//! The bot's alert channel. The trading path only *stages* an alert: the policy
//! ([`keel_engine::alert::AlertBook`]: dedupe, rate limit, resolution) runs in memory and the
//! resulting messages are queued in the same storage commit as the state change that caused
//! them. The object's alarm delivers the queue afterwards, so a slow or failing receiver can never
//! block or fail an order.
//!
//! Destinations: the bot's `alerts.webhook` / `alerts.email`, plus the global recipients in the
//! env (`KEEL_ALERT_WEBHOOK`, `KEEL_ALERT_EMAIL`, comma-separated). E-mail goes through the
//! `SEND_EMAIL` binding (`[[send_email]]` in wrangler.toml; `wrangler dev` writes each message to
//! a file on disk), or, without it, is POSTed as raw RFC 5322 text to `KEEL_ALERT_EMAIL_SINK`.

use super::store::{kv_get, Journal};
use super::{now_ms, BotDO};
use crate::http::ApiError;
use keel_engine::alert::{
    Alert, AlertBook, AlertKind, AlertPolicy, Outgoing, Severity, WebhookFormat,
};
use keel_engine::audit::{Actor, AuditDraft, AuditEvent};
use serde::{Deserialize, Serialize};
use worker::{Fetch, Headers, Method, Request, RequestInit};

/// Delivery attempts before a message is dropped (logged).
const MAX_ATTEMPTS: u32 = 8;
/// Retry delay of a failed delivery.
const RETRY_MS: u64 = 5_000;

/// A policy input: an observed condition or its end.
#[derive(Debug, Clone)]
pub enum Signal {
    /// The condition was observed.
    Raise(Alert),
    /// The condition cleared (`kind`, `subject`).
    Resolve(AlertKind, String),
}

/// One message waiting for delivery, with the destinations still to reach.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Queued {
    /// The message.
    pub out: Outgoing,
    /// `webhook:<url>` / `email:<addr>` not yet delivered.
    pub pending: Vec<String>,
    /// Attempts so far.
    pub attempts: u32,
}

/// Stored alert state (`alerts` key): the policy book and the delivery queue.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AlertState {
    /// Open episodes and the rate-limit window.
    pub book: AlertBook,
    /// Messages to deliver.
    pub queue: Vec<Queued>,
    /// Messages delivered (all destinations) since the bot was created.
    pub delivered: u64,
}

/// The stored state.
///
/// # Errors
/// Storage failures.
pub fn load(bot: &BotDO) -> Result<AlertState, ApiError> {
    Ok(kv_get::<AlertState>(&bot.db, "alerts")?.unwrap_or_default())
}

fn destinations(bot: &BotDO) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some(stored)) = kv_get::<super::config::StoredConfig>(&bot.db, "config") {
        if let Some(w) = &stored.config.alerts.webhook {
            out.push(format!("webhook:{w}"));
        }
        if let Some(e) = &stored.config.alerts.email {
            out.push(format!("email:{e}"));
        }
    }
    for (var, prefix) in [
        ("KEEL_ALERT_WEBHOOK", "webhook:"),
        ("KEEL_ALERT_EMAIL", "email:"),
    ] {
        if let Ok(v) = bot.env.var(var) {
            for d in v
                .to_string()
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
            {
                let d = format!("{prefix}{d}");
                if !out.contains(&d) {
                    out.push(d);
                }
            }
        }
    }
    out
}

/// Applies policy inputs and stages the resulting messages in `j` (call once per journal).
/// Returns how many messages were queued.
///
/// # Errors
/// Storage failures.
pub fn stage(bot: &BotDO, j: &mut Journal, signals: Vec<Signal>) -> Result<usize, ApiError> {
    if signals.is_empty() {
        return Ok(0);
    }
    let mut st = load(bot)?;
    let now = now_ms();
    let policy = AlertPolicy::default();
    let dests = destinations(bot);
    let mut queued = 0;
    let mut changed = false;
    for s in signals {
        let out = match s {
            Signal::Raise(a) => {
                changed = true;
                st.book.raise(a, &policy, now)
            }
            Signal::Resolve(kind, subject) if st.book.is_open(kind, &subject) => {
                changed = true;
                st.book.resolve(kind, &subject, now)
            }
            Signal::Resolve(..) => None,
        };
        if let Some(out) = out {
            worker::console_log!("alert: {}", out.headline());
            if !dests.is_empty() {
                st.queue.push(Queued {
                    out,
                    pending: dests.clone(),
                    attempts: 0,
                });
                queued += 1;
            }
        }
    }
    if changed {
        j.put("alerts", &st)?;
    }
    Ok(queued)
}

/// Stages and commits on its own (for callers without a journal at hand). Never fails the
/// caller's work: errors are logged.
pub async fn emit(bot: &BotDO, signals: Vec<Signal>) {
    let result = async {
        let mut j = bot.journal()?;
        stage(bot, &mut j, signals)?;
        bot.commit(j).await
    }
    .await;
    if let Err(e) = result {
        worker::console_error!("alerts: cannot stage: {}", e.message);
    }
}

/// Public entry for reconciliation: marks the bot `needs_attention` and raises a critical
/// alert, durably and audited; `mismatch = None` clears the flag and resolves the alert.
///
/// # Errors
/// Storage failures.
pub async fn reconciliation_result(bot: &BotDO, mismatch: Option<String>) -> Result<(), ApiError> {
    let bot_id = bot.bot_id()?;
    let mut flags = bot.flags()?;
    let mut j = bot.journal()?;
    let signal = match &mismatch {
        Some(why) => {
            flags.needs_attention = true;
            flags.attention_reason = Some(format!("reconciliation mismatch: {why}"));
            Signal::Raise(Alert::new(
                bot_id.as_str(),
                AlertKind::ReconciliationMismatch,
                "",
                why.clone(),
            ))
        }
        None => {
            if flags
                .attention_reason
                .as_deref()
                .is_some_and(|r| r.starts_with("reconciliation"))
            {
                flags.needs_attention = false;
                flags.attention_reason = None;
            }
            Signal::Resolve(AlertKind::ReconciliationMismatch, String::new())
        }
    };
    j.put("flags", &flags)?;
    stage(bot, &mut j, vec![signal])?;
    bot.commit(j).await
}

/// Records what an exchange said about the bot's credentials (called by the exchange link after
/// every signed call): a refusal (`Err`: invalid key, signature, permission) raises the critical
/// `credentials_failing` alert (deduped: a storm of refusals is one message), an accepted signed
/// call resolves an open episode. Never fails the caller: errors are logged.
pub async fn credentials_observed(bot: &BotDO, refusal: Option<String>) {
    let Ok(bot_id) = bot.bot_id() else { return };
    let signal = match refusal {
        Some(why) => Signal::Raise(Alert::new(
            bot_id.as_str(),
            AlertKind::CredentialsFailing,
            "",
            format!("the exchange refused the bot's API credentials: {why}"),
        )),
        None => match load(bot) {
            Ok(st) if st.book.is_open(AlertKind::CredentialsFailing, "") => {
                Signal::Resolve(AlertKind::CredentialsFailing, String::new())
            }
            _ => return,
        },
    };
    emit(bot, vec![signal]).await;
}

/// The channel name of a destination, for logs and audit (never the URL: a Telegram URL holds the
/// bot token).
fn channel(dest: &str) -> &'static str {
    if dest.starts_with("email:") {
        "email"
    } else {
        "webhook"
    }
}

/// Delivers queued messages (alarm). Each delivery and each message dropped after
/// [`MAX_ATTEMPTS`] is audited (`AlertSent`, channel only). Returns the delay after which the
/// alarm must run again while messages remain.
///
/// # Errors
/// Storage failures.
pub async fn deliver(bot: &BotDO) -> Result<Option<u64>, ApiError> {
    let mut st = load(bot)?;
    if st.queue.is_empty() {
        return Ok(None);
    }
    let mut queue = std::mem::take(&mut st.queue);
    let mut trail = Vec::new();
    for q in queue.iter_mut() {
        let mut still = Vec::new();
        for d in std::mem::take(&mut q.pending) {
            match send(bot, &d, &q.out).await {
                Ok(()) => trail.push((channel(&d), q.out.clone(), None)),
                Err(e) => {
                    worker::console_error!("alert delivery ({}): {e}", channel(&d));
                    if q.attempts + 1 >= MAX_ATTEMPTS {
                        trail.push((channel(&d), q.out.clone(), Some(e)));
                    }
                    still.push(d);
                }
            }
        }
        q.pending = still;
        q.attempts += 1;
    }
    let before = queue.len();
    queue.retain(|q| {
        let keep = !q.pending.is_empty() && q.attempts < MAX_ATTEMPTS;
        if !q.pending.is_empty() && !keep {
            worker::console_error!(
                "alert dropped after {} attempts: {}",
                q.attempts,
                q.out.headline()
            );
        }
        keep
    });
    // Re-read: the trading path may have staged more while we were sending.
    let mut fresh = load(bot)?;
    let delivered = (before - queue.len()) as u64;
    fresh.delivered += delivered;
    // Messages staged during delivery are the tail of `fresh.queue` beyond what we took.
    let newer: Vec<Queued> = fresh.queue.into_iter().skip(before).collect();
    queue.extend(newer);
    fresh.queue = queue;
    let retry = (!fresh.queue.is_empty()).then_some(RETRY_MS);
    if bot.bot_id().is_ok() {
        let mut j = bot.journal()?;
        for (channel, out, failure) in trail {
            let message = match failure {
                None => out.headline(),
                Some(e) => format!(
                    "undelivered after {MAX_ATTEMPTS} attempts ({e}): {}",
                    out.headline()
                ),
            };
            j.audit(AuditDraft::new(
                now_ms(),
                Actor::System,
                AuditEvent::AlertSent {
                    channel: channel.into(),
                    severity: severity_name(out.severity).into(),
                    message,
                },
            ))?;
        }
        j.put("alerts", &fresh)?;
        bot.commit(j).await?;
    } else {
        let mut b = crate::db::WriteBatch::new();
        b.push(
            "INSERT INTO kv (key, value) VALUES ('alerts', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![crate::db::text(serde_json::to_string(&fresh).map_err(|e| ApiError::internal(e.to_string()))?)],
        );
        bot.db.commit(b)?;
    }
    Ok(retry)
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

async fn send(bot: &BotDO, dest: &str, out: &Outgoing) -> Result<(), String> {
    if let Some(url) = dest.strip_prefix("webhook:") {
        let body = out.webhook_body(WebhookFormat::for_url(url), url);
        return post(url, "application/json", &body.to_string()).await;
    }
    if let Some(to) = dest.strip_prefix("email:") {
        let from = bot
            .env
            .var("KEEL_ALERT_FROM")
            .map(|v| v.to_string())
            .unwrap_or_else(|_| "keel-alerts@localhost".into());
        let raw = out.email(&from, to);
        if let Ok(binding) = bot.env.send_email("SEND_EMAIL") {
            let msg = worker::EmailMessage::new(&from, to, &raw).map_err(|e| format!("{e:?}"))?;
            return binding
                .send(&msg)
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:?}"));
        }
        if let Ok(sink) = bot.env.var("KEEL_ALERT_EMAIL_SINK") {
            return post(&sink.to_string(), "message/rfc822", &raw).await;
        }
        return Err("no SEND_EMAIL binding and no KEEL_ALERT_EMAIL_SINK".into());
    }
    Err(format!("unknown destination {dest:?}"))
}

async fn post(url: &str, content_type: &str, body: &str) -> Result<(), String> {
    let headers = Headers::new();
    headers
        .set("Content-Type", content_type)
        .map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let req = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let resp = Fetch::Request(req)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match resp.status_code() {
        200..=299 => Ok(()),
        s => Err(format!("HTTP {s}")),
    }
}
