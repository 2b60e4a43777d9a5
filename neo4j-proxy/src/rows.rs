//! Turning a shipped batch into the `$events` parameter of [`crate::cypher::WRITE_EVENTS`].
//!
//! Each event is checked first (its hash recomputed from `prev_hash ‖ body`, its body naming the
//! same bot and seq, seqs increasing and linked inside the batch), so a corrupted or forged event
//! is refused before it reaches Neo4j. The graph facts (signal, decision, order, fill, P&L,
//! config version) are read from the typed body; optional facts are 0- or 1-element lists so one
//! Cypher statement handles every kind with `FOREACH`. A body of a kind this build does not know
//! is still stored as an `Event`, just without graph facts.

use keel_engine::audit::{chain_hash, AuditEvent, AuditRecord, SealedEvent};
use keel_engine::model::OrderQty;
use serde_json::{json, Value};

/// Most events accepted in one `POST /events`.
pub const MAX_BATCH: usize = 5_000;

/// Why a batch was refused (permanent: resending it cannot help).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// No events.
    #[error("events must not be empty")]
    Empty,
    /// Too many events.
    #[error("at most {MAX_BATCH} events per batch, got {0}")]
    TooLarge(usize),
    /// `hash` is not `sha256(prev_hash ‖ body)`.
    #[error("event {bot_id}/{seq}: hash does not match sha256(prev_hash || body)")]
    HashMismatch {
        /// Bot.
        bot_id: String,
        /// Seq.
        seq: u64,
    },
    /// The body is not JSON naming this bot and seq.
    #[error("event {bot_id}/{seq}: body {detail}")]
    BadBody {
        /// Bot.
        bot_id: String,
        /// Seq.
        seq: u64,
        /// What is wrong.
        detail: String,
    },
    /// Seqs of one bot are not increasing, or consecutive events are not linked.
    #[error("event {bot_id}/{seq}: {detail}")]
    Order {
        /// Bot.
        bot_id: String,
        /// Seq.
        seq: u64,
        /// What is wrong.
        detail: String,
    },
}

/// Validates a batch and builds its parameter rows, in batch order.
///
/// # Errors
/// The first [`BatchError`] found.
pub fn batch_rows(events: &[SealedEvent]) -> Result<Vec<Value>, BatchError> {
    if events.is_empty() {
        return Err(BatchError::Empty);
    }
    if events.len() > MAX_BATCH {
        return Err(BatchError::TooLarge(events.len()));
    }
    let mut last: std::collections::HashMap<&str, (u64, &str)> = std::collections::HashMap::new();
    let mut rows = Vec::with_capacity(events.len());
    for ev in events {
        let bot = ev.bot_id.as_str();
        if let Some((seq, hash)) = last.get(bot) {
            let err = |detail: String| BatchError::Order {
                bot_id: bot.to_string(),
                seq: ev.seq,
                detail,
            };
            if ev.seq <= *seq {
                return Err(err(format!("seq not increasing after {seq}")));
            }
            if ev.seq == seq + 1 && ev.prev_hash != *hash {
                return Err(err(format!("prev_hash does not link to seq {seq}")));
            }
        }
        rows.push(event_row(ev)?);
        last.insert(bot, (ev.seq, ev.hash.as_str()));
    }
    Ok(rows)
}

/// One event's parameter row (see the module doc).
///
/// # Errors
/// [`BatchError::HashMismatch`] / [`BatchError::BadBody`].
pub fn event_row(ev: &SealedEvent) -> Result<Value, BatchError> {
    let bot_id = ev.bot_id.as_str().to_string();
    if chain_hash(&ev.prev_hash, &ev.body) != ev.hash {
        return Err(BatchError::HashMismatch {
            bot_id,
            seq: ev.seq,
        });
    }
    let bad = |detail: String| BatchError::BadBody {
        bot_id: bot_id.clone(),
        seq: ev.seq,
        detail,
    };
    let generic: Value =
        serde_json::from_str(&ev.body).map_err(|e| bad(format!("is not JSON: {e}")))?;
    if generic.get("bot_id").and_then(Value::as_str) != Some(ev.bot_id.as_str())
        || generic.get("seq").and_then(Value::as_u64) != Some(ev.seq)
    {
        return Err(bad("names another bot or seq".into()));
    }
    let text = |k: &str| generic.get(k).and_then(Value::as_str).map(str::to_string);
    let mut row = json!({
        "bot_id": bot_id, "seq": ev.seq, "hash": ev.hash, "prev_hash": ev.prev_hash, "body": ev.body,
        "kind": ev.kind, "time_ms": ev.time_ms, "actor": text("actor"), "mode": text("mode"),
        "signal_id": text("signal_id"), "client_order_id": text("client_order_id"),
        "signal": [], "decision": [], "order": [], "fill": [], "pnl": [], "config": [],
    });
    if let Ok(record) = serde_json::from_str::<AuditRecord>(&ev.body) {
        add_facts(&mut row, &record);
    }
    Ok(row)
}

fn opt_list<T: Into<Value>>(v: Option<T>) -> Value {
    Value::Array(v.into_iter().map(Into::into).collect())
}

fn add_facts(row: &mut Value, r: &AuditRecord) {
    let signal_id = r.signal_id.as_ref().map(|s| s.as_str().to_string());
    let cid = r.client_order_id.as_ref().map(|c| c.as_str().to_string());
    let (key, fact) = match &r.event {
        AuditEvent::SignalReceived { payload, source } => (
            "signal",
            signal_id.clone().map(|id| {
                let field = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_string);
                json!({"id": id, "props": {"source": source, "action": field("action"), "symbol": field("symbol"), "status": "received"}})
            }),
        ),
        AuditEvent::SignalAccepted { action, symbol } => (
            "signal",
            signal_id.clone().map(|id| json!({"id": id, "props": {"action": action, "symbol": symbol, "status": "accepted"}})),
        ),
        AuditEvent::SignalRejected { status, reason, field } => (
            "signal",
            signal_id.clone().map(|id| json!({"id": id, "props": {"status": "rejected", "reject_status": status, "reject_reason": reason, "reject_field": field}})),
        ),
        AuditEvent::RiskDecision { rule, limit, observed, outcome } => (
            "decision",
            Some(json!({"signal_ids": opt_list(signal_id.clone()), "props": {"rule": rule, "limit": limit, "observed": observed, "outcome": outcome, "signal_id": signal_id, "seq": r.seq, "time_ms": r.time_ms}})),
        ),
        AuditEvent::OrderIntent { exchange, market, order } => {
            let (unit, qty) = match order.qty {
                OrderQty::Base(q) => ("base", q),
                OrderQty::Quote(q) => ("quote", q),
            };
            (
                "order",
                Some(json!({
                    "client_order_id": order.client_order_id, "exchange": exchange, "market": market, "symbol": order.symbol,
                    "signal_ids": opt_list(signal_id.clone()),
                    "props": {"side": order.side, "order_type": order.order_type, "qty": qty, "qty_unit": unit, "price": order.price,
                              "time_in_force": order.time_in_force, "reduce_only": order.reduce_only, "signal_id": signal_id, "seq": r.seq, "time_ms": r.time_ms}
                })),
            )
        }
        AuditEvent::Fill { exchange, market, fill } => {
            let order_id = fill.client_order_id.as_ref().map(|c| c.as_str().to_string()).or(cid);
            (
                "fill",
                Some(json!({
                    "trade_id": fill.trade_id, "symbol": fill.symbol, "order_ids": opt_list(order_id),
                    "props": {"exchange": exchange, "market": market, "exchange_order_id": fill.order_id, "side": fill.side, "price": fill.price,
                              "qty": fill.qty, "fee": fill.fee, "fee_asset": fill.fee_asset, "time_ms": fill.time_ms, "is_maker": fill.is_maker, "seq": r.seq}
                })),
            )
        }
        AuditEvent::PnlBooked { symbol, trade_id, .. } => ("pnl", Some(json!({"symbol": symbol, "trade_ids": opt_list(trade_id.clone())}))),
        AuditEvent::ConfigChange { old_version, new_version, .. } => ("config", Some(json!({"version": new_version, "old_versions": opt_list(*old_version)}))),
        _ => return,
    };
    if let (Some(fact), Some(obj)) = (fact, row.as_object_mut()) {
        obj.insert(key.to_string(), Value::Array(vec![fact]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_engine::audit::{Actor, AuditChain, AuditDraft, DecisionOutcome, Redactor};
    use keel_engine::ids::{BotId, ClientOrderId, SignalId, Symbol};
    use keel_engine::model::{Exchange, Fill, Market, OrderRequest, OrderType, Side};
    use rust_decimal::Decimal;

    fn id<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| unreachable!("{e}"))
    }

    /// A small realistic chain: signal, decision, order, fill, P&L, config change.
    pub(crate) fn sample_chain(bot: &str) -> Vec<SealedEvent> {
        let mut chain = AuditChain::genesis(id(BotId::new(bot)));
        let sig = id(SignalId::new("tv-1"));
        let cid = id(ClientOrderId::new("k-abc-0"));
        let sym = id(Symbol::new("BTCUSDT"));
        let r = Redactor::new();
        let order = OrderRequest {
            client_order_id: cid.clone(),
            symbol: sym.clone(),
            side: Side::Buy,
            order_type: OrderType::Market,
            qty: OrderQty::Base(Decimal::new(1, 3)),
            price: None,
            time_in_force: None,
            reduce_only: false,
        };
        let fill = Fill {
            trade_id: "t-1".into(),
            order_id: "o-1".into(),
            client_order_id: Some(cid.clone()),
            symbol: sym.clone(),
            side: Side::Buy,
            price: Decimal::new(6500010, 2),
            qty: Decimal::new(1, 3),
            fee: Decimal::new(65, 3),
            fee_asset: "USDT".into(),
            time_ms: 4,
            is_maker: false,
        };
        let drafts = vec![
            AuditDraft::new(1, Actor::Webhook, AuditEvent::SignalReceived { payload: json!({"action": "buy", "symbol": "BTCUSDT", "secret": "s3cr3t-value"}), source: "webhook".into() }).signal(sig.clone()),
            AuditDraft::new(2, Actor::Webhook, AuditEvent::RiskDecision { rule: "max_order_notional".into(), limit: "500".into(), observed: "65.00".into(), outcome: DecisionOutcome::Pass }).signal(sig.clone()),
            AuditDraft::new(3, Actor::Webhook, AuditEvent::OrderIntent { exchange: Exchange::Binance, market: Market::Spot, order }).signal(sig.clone()).order(cid.clone()),
            AuditDraft::new(4, Actor::System, AuditEvent::Fill { exchange: Exchange::Binance, market: Market::Spot, fill }).signal(sig.clone()).order(cid.clone()).mode(keel_engine::model::BotMode::Testnet),
            AuditDraft::new(5, Actor::System, AuditEvent::PnlBooked { symbol: sym, trade_id: Some("t-1".into()), realized: Decimal::ZERO, fees_quote: Decimal::new(65, 3), funding: Decimal::ZERO, quote_asset: "USDT".into() }).order(cid),
            AuditDraft::new(6, Actor::Token("tok1".into()), AuditEvent::ConfigChange { old_version: Some(1), new_version: 2, diff: vec![] }),
        ];
        drafts
            .into_iter()
            .map(|d| id(chain.append(d, &r)))
            .collect()
    }

    #[test]
    fn rows_carry_graph_facts() {
        let rows = id(batch_rows(&sample_chain("b1")));
        assert_eq!(rows[0]["signal"][0]["props"]["action"], json!("buy"));
        assert!(!rows[0]["body"]
            .as_str()
            .unwrap_or_default()
            .contains("s3cr3t-value"));
        assert_eq!(rows[1]["decision"][0]["signal_ids"], json!(["tv-1"]));
        assert_eq!(rows[2]["order"][0]["props"]["qty"], json!("0.001"));
        assert_eq!(rows[2]["order"][0]["symbol"], json!("BTCUSDT"));
        assert_eq!(rows[3]["fill"][0]["order_ids"], json!(["k-abc-0"]));
        assert_eq!(rows[3]["fill"][0]["props"]["price"], json!("65000.10"));
        assert_eq!(rows[4]["pnl"][0]["trade_ids"], json!(["t-1"]));
        assert_eq!(
            rows[5]["config"][0],
            json!({"version": 2, "old_versions": [1]})
        );
        assert_eq!(rows[5]["actor"], json!("token:tok1"));
        // The bot's mode rides on the event row (an Event node property); absent when unrecorded.
        assert_eq!(rows[3]["mode"], json!("testnet"));
        assert_eq!(rows[5]["mode"], json!(null));
        assert_eq!(rows[5]["signal"], json!([]));
    }

    #[test]
    fn refuses_bad_batches() {
        let good = sample_chain("b1");
        assert_eq!(batch_rows(&[]), Err(BatchError::Empty));
        let mut tampered = good.clone();
        tampered[2].body = tampered[2].body.replace("0.001", "9.001");
        assert_eq!(
            batch_rows(&tampered),
            Err(BatchError::HashMismatch {
                bot_id: "b1".into(),
                seq: 3
            })
        );
        let mut swapped = good.clone();
        swapped.swap(1, 2);
        assert!(matches!(
            batch_rows(&swapped),
            Err(BatchError::Order { seq: 2, .. })
        ));
        let mut relinked = good.clone();
        relinked[3].prev_hash = relinked[1].hash.clone();
        relinked[3].hash = chain_hash(&relinked[3].prev_hash, &relinked[3].body);
        assert!(matches!(
            batch_rows(&relinked),
            Err(BatchError::Order { seq: 4, .. })
        ));
        let mut other_bot = sample_chain("b2");
        other_bot[0].bot_id = id(BotId::new("b1"));
        assert!(matches!(
            batch_rows(&other_bot[..1]),
            Err(BatchError::BadBody { seq: 1, .. })
        ));
        // Two bots interleaved, each in order, is fine; so is a batch starting mid-chain.
        let mixed: Vec<SealedEvent> = good[3..]
            .iter()
            .cloned()
            .chain(sample_chain("b2"))
            .collect();
        assert_eq!(batch_rows(&mixed).map(|r| r.len()), Ok(9));
    }
}
