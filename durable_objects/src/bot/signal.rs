//! The signal path inside the bot: admit (auth, schema, freshness) → dedupe (24 h, never fails
//! open) → the bot machine (`keel_engine::bot::machine`: claim, whitelist, market facts, decide,
//! durable order intents, exchange, fills, ledger), driven by [`super::driver`].

use super::config::{load_config, StoredConfig};
use super::driver::{self, rejection_error, Driver};
use super::exchange::Link;
use super::{now_ms, BotDO};
use crate::db::{int, text};
use crate::http::{json, read_json, ApiError};
use keel_engine::audit::{Actor, AuditDraft, AuditEvent};
use keel_engine::bot::machine::{Answer, FactsInput, Machine, SignalInput, SignalOutcome};
use keel_engine::bot::{self, Inbound};
use keel_engine::signal::ParsedSignal;
use serde::Deserialize;
use serde_json::{json, Value};
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
    // Claim the id durably before any exchange call, with the received/accepted events (no
    // await since the dedupe read: a concurrent duplicate sees the claim); a symbol outside the
    // whitelist that the bot does not hold is refused at once, before waiting for the turn.
    let input = SignalInput {
        parsed: parsed.clone(),
        received_ms,
        actor: origin.actor.clone(),
        source: origin.source.clone(),
        facts: FactsInput::Fetch { cached_rules: None },
    };
    let snapshot = driver::snapshot(bot, config)?;
    let mut claim = Driver::new(bot, config, None, snapshot.flags.clone());
    let mut machine = Machine::new(config.clone(), snapshot, now_ms());
    let goes_on = machine.claim_signal(&input, now_ms());
    let refused = claim.run(&mut machine, Some(signal_id.clone())).await?;
    if !goes_on {
        return answer(&claim, refused);
    }
    // In the bot's turn: a machine on the state the turn found executes the claimed signal.
    let _live = super::InFlight::signal(bot, signal_id.as_str());
    let _turn = bot.exec.lock().await;
    let snapshot = driver::snapshot(bot, config)?;
    // A link that cannot open (storage, credentials) fails the execution's first call, so the
    // refusal is recorded like any other.
    let link = Link::open(bot, config, origin.actor.clone())
        .map_err(|e| worker::console_error!("exchange link: {}", e.message))
        .ok();
    let mut turn = Driver::new(bot, config, link, snapshot.flags.clone());
    let mut machine = Machine::new(config.clone(), snapshot, now_ms());
    let mut input = input;
    input.facts = FactsInput::Fetch {
        cached_rules: turn.cached_rules(parsed.signal.symbol.as_ref()),
    };
    machine.on_claimed_signal(input, now_ms());
    let executed = turn.run(&mut machine, Some(signal_id.clone())).await?;
    answer(&turn, executed)
}

/// The HTTP answer of a signal's machine answer.
fn answer(driver: &Driver<'_>, answer: Option<Answer>) -> Result<Value, ApiError> {
    match answer {
        Some(Answer::Signal { signal_id, outcome }) => match outcome.as_ref() {
            SignalOutcome::Rejected(rej) => Err(rejection_error(rej)),
            other => Ok(driver.render(&signal_id, other)),
        },
        Some(Answer::Flatten(_)) | None => Err(ApiError::internal(
            "the bot machine gave no answer to the signal",
        )),
    }
}
