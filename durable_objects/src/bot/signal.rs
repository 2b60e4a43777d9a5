//! The signal path inside the bot: admit (auth, schema, freshness) → dedupe (24 h, never fails
//! open) → market facts → decide (sizing + risk) → durable order intents → exchange → fills →
//! ledger, each step's state change committed with its audit events.

use super::config::{load_config, StoredConfig};
use super::exchange::Link;
use super::{ledger, now_ms, BotDO};
use crate::db::{int, text};
use crate::http::{json, read_json, ApiError};
use keel_engine::audit::{Actor, AuditDraft, AuditEvent};
use keel_engine::bot::{self, BotState, Inbound, Rejection};
use keel_engine::ids::SignalId;
use keel_engine::signal::{Action, ParsedSignal};
use keel_engine::venue::CallFailure;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use worker::{Request, Response};

/// How long a signal id is remembered.
pub const DEDUPE_WINDOW_MS: i64 = 24 * 3_600 * 1_000;

#[derive(Debug, Deserialize)]
struct Envelope {
    body: String,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    received_ms: i64,
}

#[derive(Debug, Deserialize)]
struct SeenRow {
    status: i64,
    outcome: String,
}

fn rejection_error(r: &Rejection) -> ApiError {
    let mut e = ApiError::new(r.status, r.code.clone(), r.message.clone());
    e.field = r.field.clone();
    e.detail = r.detail.as_deref().cloned();
    e
}

/// `POST /signal`.
///
/// # Errors
/// The rejection of docs/trading.md, as an [`ApiError`].
pub async fn handle(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let env: Envelope = read_json(req).await?;
    let stored = load_config(bot)?;
    let config = &stored.config;
    let secret: String = super::store::kv_get(&bot.db, "webhook_secret")?
        .ok_or_else(|| ApiError::not_found("unknown_bot", "no such bot"))?;
    let inbound = Inbound {
        body: env.body.as_bytes(),
        signature: env.signature.as_deref(),
        ip: env.ip.as_deref(),
        received_ms: env.received_ms,
    };
    // Refusals name the mode too, like executed answers (design: mode on every response).
    let with_mode = |mut e: ApiError| {
        e.mode = serde_json::to_value(config.mode).ok();
        e
    };
    // During a rotation's grace period the previous secret is tried too, and only when the
    // current one did not authenticate (a bad secret or signature).
    let admitted = match bot::admit(&inbound, config, &secret) {
        Err(rej) if matches!(rej.code.as_str(), "bad_secret" | "bad_signature") => {
            match super::secrets::previous_secret(bot, super::now_ms())? {
                // The old secret proves the sender; any later refusal (freshness) is its own.
                Some(prev) => match bot::admit(&inbound, config, &prev) {
                    Err(again) if matches!(again.code.as_str(), "bad_secret" | "bad_signature") => {
                        Err(rej)
                    }
                    other => other,
                },
                None => Err(rej),
            }
        }
        other => other,
    };
    let parsed = match admitted {
        Ok(p) => p,
        Err(rej) => {
            // Not (yet) proven to be the owner's: answered with capped text and recorded
            // coalesced, so a flood of these costs no storage per request.
            let rej = super::refusals::capped(&rej);
            let err = match super::refusals::record(bot, &rej, env.received_ms, 1).await {
                Ok(()) => rejection_error(&rej),
                Err(e) => e,
            };
            return Err(with_mode(err));
        }
    };
    let origin = Origin::webhook(env.ip.clone());
    let result = process(bot, &stored, &parsed, env.received_ms, &origin)
        .await
        .map_err(with_mode);
    // A/B: the paper shadows get the same admitted signal once this bot has handled it.
    let fed = super::shadow_feed::forward(bot, &env.body, env.received_ms).await;
    let mut outcome = result?;
    if !fed.is_empty() {
        outcome["shadows"] = Value::Array(fed);
    }
    Ok(json(200, &outcome)?)
}

/// Where an admitted signal came from: the actor of its audit events and the `source` its
/// `signal_received` event records (`webhook` callers' address, or `strategy:<version>`).
#[derive(Debug, Clone)]
pub struct Origin {
    /// Actor on the audit events.
    pub actor: Actor,
    /// Recorded source.
    pub source: String,
}

impl Origin {
    fn webhook(ip: Option<String>) -> Self {
        Self {
            actor: Actor::Webhook,
            source: ip.unwrap_or_else(|| "unknown".into()),
        }
    }
}

/// Runs an admitted signal through dedupe → whitelist → risk → execution, every step audited:
/// the one path of webhook alerts and of strategy decisions (the `strategy` module calls it;
/// this module does not know it).
///
/// # Errors
/// The rejection (duplicate 409, whitelist/risk 422, exchange 503…), already audited.
pub async fn process(
    bot: &BotDO,
    stored: &StoredConfig,
    parsed: &ParsedSignal,
    received_ms: i64,
    origin: &Origin,
) -> Result<Value, ApiError> {
    let config = &stored.config;
    let signal_id = parsed.signal_id.clone();
    // Dedupe: a storage failure here refuses the signal (503) rather than risking a double.
    let seen: Option<SeenRow> = bot
        .db
        .row(
            "SELECT status, outcome FROM signals WHERE id = ? AND received_ms > ?",
            vec![
                text(signal_id.as_str()),
                int(received_ms - DEDUPE_WINDOW_MS),
            ],
        )
        .map_err(|e| {
            ApiError::unavailable(
                "dedupe_unavailable",
                format!("cannot prove the signal is new: {e}"),
            )
        })?;
    if let Some(first) = seen {
        let outcome: Value = serde_json::from_str(&first.outcome).unwrap_or(Value::Null);
        let msg = if first.status == 0 {
            "this signal is still being executed"
        } else {
            "this signal was already handled"
        };
        let mut j = bot.journal()?;
        j.audit(
            AuditDraft::new(
                now_ms(),
                origin.actor.clone(),
                AuditEvent::SignalRejected {
                    status: 409,
                    reason: "duplicate".into(),
                    field: Some("id".into()),
                },
            )
            .signal(signal_id.clone()),
        )?;
        bot.commit(j).await?;
        return Err(ApiError::conflict("duplicate_signal", msg)
            .with_detail(json!({"signal_id": signal_id.as_str(), "first_status": first.status, "first_outcome": outcome})));
    }
    // Claim the id durably before any exchange call, with the received/accepted events; while
    // this execution lives, the refresh leaves the claimed signal to it.
    let _live = super::InFlight::signal(bot, signal_id.as_str());
    let mut j = bot.journal()?;
    j.exec(
        "INSERT INTO signals (id, received_ms, status, outcome) VALUES (?, ?, 0, ?)",
        vec![
            text(signal_id.as_str()),
            int(received_ms),
            text(json!({"status": "processing"}).to_string()),
        ],
    );
    let payload = serde_json::to_value(&parsed.signal).unwrap_or(Value::Null);
    j.audit(
        AuditDraft::new(
            received_ms,
            origin.actor.clone(),
            AuditEvent::SignalReceived {
                payload,
                source: origin.source.clone(),
            },
        )
        .signal(signal_id.clone()),
    )?;
    j.audit(
        AuditDraft::new(
            now_ms(),
            origin.actor.clone(),
            AuditEvent::SignalAccepted {
                action: parsed.signal.action.as_str().into(),
                symbol: parsed.signal.symbol.clone(),
            },
        )
        .signal(signal_id.clone()),
    )?;
    bot.commit(j).await?;
    // A symbol outside the whitelist that the bot does not hold is refused before waiting for
    // the bot's turn: nothing about it depends on the market (holdings may still be closed; the
    // risk engine's whitelist rule decides those).
    let held = |symbol: &keel_engine::ids::Symbol| {
        ledger::load(bot, config)
            .ok()
            .and_then(|l| l.risk_snapshot(now_ms()).ok())
            .and_then(|s| s.positions.get(symbol).map(|p| !p.qty.is_zero() && !p.dust))
            .unwrap_or(false)
    };
    if let Some(rej) = bot::whitelist_refusal(config, &parsed.signal, held) {
        return Err(reject(bot, Some(&signal_id), &rej, received_ms, Vec::new(), origin).await);
    }
    let executed = {
        let _turn = bot.exec.lock().await;
        execute(bot, stored, parsed, &origin.actor).await
    };
    match executed {
        Ok(outcome) => {
            finish(bot, &signal_id, 200, &outcome).await?;
            Ok(outcome)
        }
        Err((rej, drafts)) => {
            Err(reject(bot, Some(&signal_id), &rej, received_ms, drafts, origin).await)
        }
    }
}

async fn finish(bot: &BotDO, id: &SignalId, status: u16, outcome: &Value) -> Result<(), ApiError> {
    let mut j = bot.journal()?;
    j.exec(
        "UPDATE signals SET status = ?, outcome = json_patch(outcome, ?) WHERE id = ?",
        vec![
            int(i64::from(status)),
            text(outcome.to_string()),
            text(id.as_str()),
        ],
    );
    bot.commit(j).await
}

/// Records a refusal (with the checks made) and returns the error to answer.
async fn reject(
    bot: &BotDO,
    id: Option<&SignalId>,
    rej: &Rejection,
    received_ms: i64,
    drafts: Vec<AuditDraft>,
    origin: &Origin,
) -> ApiError {
    match record_rejection(bot, id, rej, received_ms, drafts, origin).await {
        Ok(()) => rejection_error(rej),
        Err(e) => e,
    }
}

async fn record_rejection(
    bot: &BotDO,
    id: Option<&SignalId>,
    rej: &Rejection,
    received_ms: i64,
    drafts: Vec<AuditDraft>,
    origin: &Origin,
) -> Result<(), ApiError> {
    let now = now_ms();
    let mut j = bot.journal()?;
    for d in drafts {
        j.audit(d)?;
    }
    if let Some(id) = id {
        for d in bot::risk_drafts(&rej.checks, now, id) {
            j.audit(d)?;
        }
    }
    let mut draft = AuditDraft::new(
        now,
        origin.actor.clone(),
        AuditEvent::SignalRejected {
            status: rej.status,
            reason: format!("{}: {}", rej.code, rej.message),
            field: rej.field.clone(),
        },
    );
    if let Some(id) = id {
        draft = draft.signal(id.clone());
    }
    j.audit(draft)?;
    let outcome = json!({"status": "rejected", "code": rej.code, "message": rej.message, "field": rej.field, "detail": rej.detail});
    match id {
        Some(id) => {
            j.exec(
                "UPDATE signals SET status = ?, outcome = json_patch(outcome, ?) WHERE id = ?",
                vec![
                    int(i64::from(rej.status)),
                    text(outcome.to_string()),
                    text(id.as_str()),
                ],
            );
        }
        None => super::refusals::insert_rejected(&mut j, received_ms, rej, &outcome),
    };
    bot.commit(j).await
}

type Failure = (Rejection, Vec<AuditDraft>);

fn call_failure(e: CallFailure, trail: Vec<AuditDraft>) -> Failure {
    let api: ApiError = e.into();
    (Rejection::new(api.status, &api.code, api.message), trail)
}

/// Runs an admitted signal to its outcome.
async fn execute(
    bot: &BotDO,
    stored: &StoredConfig,
    parsed: &ParsedSignal,
    actor: &Actor,
) -> Result<Value, Failure> {
    let config = &stored.config;
    let signal = &parsed.signal;
    let mut link = Link::open(bot, config, actor.clone())
        .map_err(|e| (Rejection::new(e.status, &e.code, e.message), vec![]))?;
    if signal.action == Action::CancelAll {
        return super::orders::cancel_all(
            bot,
            &mut link,
            signal.symbol.clone(),
            Some(&parsed.signal_id),
        )
        .await
        .map_err(|e| call_failure(e, std::mem::take(&mut link.trail)));
    }
    let Some(symbol) = signal.symbol.clone() else {
        return Err((
            Rejection::new(422, "missing_symbol", "this action needs a symbol")
                .with_field("symbol"),
            vec![],
        ));
    };
    let facts = match super::facts::market_facts(bot, &mut link, &symbol).await {
        Ok(f) => f,
        Err(e) => {
            // Keep what the failures taught (circuit breaker, clock): without this, failures
            // before any order never count and the circuit can never open on market data.
            let trail = std::mem::take(&mut link.trail);
            if let Err(save) = super::exchange::save_link(bot, &mut link, None).await {
                worker::console_error!("venue state not saved: {save}");
            }
            return Err(call_failure(e, trail));
        }
    };
    // After a long outage (or never), reconcile with the exchange before trading again.
    if config.mode != keel_engine::model::BotMode::Paper {
        let stale = super::reconcile::last_run_ms(bot)
            .map(|t| t.is_none_or(|t| now_ms() - t > super::reconcile::STALE_AFTER_MS))
            .unwrap_or(true);
        let has_history = bot
            .db
            .row::<Value>("SELECT client_order_id FROM orders LIMIT 1", vec![])
            .ok()
            .flatten()
            .is_some();
        if stale && has_history {
            super::reconcile::run(bot, Actor::System)
                .await
                .map_err(|e| (Rejection::new(e.status, &e.code, e.message), vec![]))?;
            link.reload_state()
                .map_err(|e| (Rejection::new(e.status, &e.code, e.message), vec![]))?;
        }
    }
    // A bot that missed the halt push must not trade: it confirms the platform state itself.
    let platform = super::platform_state::sync(bot)
        .await
        .map_err(|e| (Rejection::new(e.status, &e.code, e.message), vec![]))?;
    let mut flags = bot.flags().map_err(|e| {
        (
            Rejection::new(503, "storage_unavailable", e.to_string()),
            vec![],
        )
    })?;
    flags.halted |= platform.halted();
    let ledger = ledger::load(bot, config)
        .map_err(|e| (Rejection::new(e.status, &e.code, e.message), vec![]))?;
    let state = bot_state(bot, &flags)
        .map_err(|e| (Rejection::new(e.status, &e.code, e.message), vec![]))?;
    let now = now_ms();
    let bot_id = config.id.clone();
    let decision = match bot::decide(&bot_id, config, parsed, &facts, &ledger, &state, now) {
        Ok(d) => d,
        Err(rej) => return Err((rej, std::mem::take(&mut link.trail))),
    };
    if decision.orders.is_empty() {
        let _ = super::exchange::save_link(bot, &mut link, None).await;
        return Ok(
            json!({"signal_id": parsed.signal_id.as_str(), "mode": config.mode, "status": "nothing_to_do",
            "message": "already at the requested position", "orders": []}),
        );
    }
    // The bot's own resting exits go before what sells the holding / ends the position.
    let position = ledger.position(&symbol).map(|p| p.qty).unwrap_or_default();
    let exits = super::exit_cancel::before_close(
        bot,
        &mut link,
        config,
        &symbol,
        position,
        &decision.orders,
        Some(&parsed.signal_id),
    )
    .await
    .map_err(|e| {
        (
            Rejection::new(e.status, &e.code, e.message),
            std::mem::take(&mut link.trail),
        )
    })?;
    let mut results = Vec::new();
    for (approved, checks) in decision.orders.into_iter().zip(decision.checks) {
        let r = super::orders::place(
            bot,
            &mut link,
            approved,
            &checks,
            &facts.rules,
            &parsed.signal_id,
            config,
        )
        .await;
        results.push(r);
    }
    let placed: Vec<Value> = results.iter().map(|r| r.summary.clone()).collect();
    let all_failed = results.iter().all(|r| r.failed.is_some());
    if all_failed {
        if let Some(Some(err)) = results.into_iter().map(|r| r.failed).next() {
            let mut rej = Rejection::new(err.status, &err.code, err.message.clone());
            rej.detail = Some(Box::new(json!({"orders": placed})));
            return Err((rej, vec![]));
        }
    }
    let mut answer = json!({"signal_id": parsed.signal_id.as_str(), "mode": config.mode, "status": "executed", "orders": placed});
    if let Some(x) = exits {
        answer["exits_cancelled"] = x;
    }
    Ok(answer)
}

fn bot_state(bot: &BotDO, flags: &super::Flags) -> Result<BotState, ApiError> {
    #[derive(Deserialize)]
    struct Last {
        symbol: String,
        t: i64,
    }
    #[derive(Deserialize)]
    struct N {
        n: i64,
    }
    let day_start = now_ms() - now_ms().rem_euclid(86_400_000);
    // By placement time: a later update (a poll of yesterday's order, a late fill) is no trade
    // of today and restarts no cooldown. Exit rows have no `created_ms`: their row time counts.
    let last: Vec<Last> = bot.db.rows(
        "SELECT symbol, MAX(COALESCE(json_extract(body, '$.created_ms'), updated_ms)) AS t FROM orders \
         WHERE status NOT IN ('rejected','intent') GROUP BY symbol",
        vec![],
    )?;
    let n: Option<N> = bot.db.row(
        "SELECT COUNT(*) AS n FROM orders WHERE status NOT IN ('rejected','intent') \
         AND COALESCE(json_extract(body, '$.created_ms'), updated_ms) >= ?",
        vec![int(day_start)],
    )?;
    Ok(BotState {
        // A bot that needs attention (reconciliation mismatch) opens nothing new until an operator
        // resumes it; closes still go through.
        paused: flags.paused || flags.needs_attention,
        halted: flags.halted,
        last_trade_ms: last
            .into_iter()
            .filter_map(|l| {
                keel_engine::ids::Symbol::new(l.symbol)
                    .ok()
                    .map(|s| (s, l.t))
            })
            .collect::<BTreeMap<_, _>>(),
        trades_today: n.map(|n| n.n as u32).unwrap_or(0),
    })
}
