//! Views computed from the ledger and flags: positions, P&L (docs/admin-api.md shape), health, the
//! summary the overview lists, and the equity history for the dashboard chart.

use super::config::load_config;
use super::{ledger, now_ms, outbox, BotDO};
use crate::http::ApiError;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// Number of non-flat positions.
pub fn open_positions(bot: &BotDO) -> Result<i64, ApiError> {
    let Some(stored) = super::store::kv_get::<super::config::StoredConfig>(&bot.db, "config")?
    else {
        return Ok(0);
    };
    let l = ledger::load(bot, &stored.config)?;
    let snap = l
        .risk_snapshot(now_ms())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(snap.open_positions as i64)
}

/// Renders ledger-backed views.
///
/// # Errors
/// 404 for unknown views.
pub fn view(bot: &BotDO, name: &str, query: Option<&str>) -> Result<Value, ApiError> {
    let stored = load_config(bot)?;
    let config = &stored.config;
    let l = ledger::load(bot, config)?;
    let now = now_ms();
    let internal = |e: keel_engine::ledger::LedgerError| ApiError::internal(e.to_string());
    match name {
        "pnl" => {
            // docs/admin-api.md shape, plus the first economics views: per strategy (with allocated
            // capital) and breakeven (fees + funding still to recover).
            let mut v = serde_json::to_value(l.pnl_report(now).map_err(internal)?)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            v["by_strategy"] = serde_json::to_value(l.strategy_views().map_err(internal)?)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            v["breakeven"] = serde_json::to_value(l.breakeven().map_err(internal)?)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            Ok(v)
        }
        "positions" => {
            let snap = l.risk_snapshot(now).map_err(internal)?;
            Ok(Value::Array(
                snap.positions
                    .iter()
                    .filter(|(_, p)| !p.qty.is_zero() && !p.dust)
                    .map(|(s, p)| json!({"symbol": s.as_str(), "qty": p.qty, "avg_entry_price": p.avg_entry_price,
                        "mark_price": p.mark, "notional": p.notional, "unrealized": p.unrealized}))
                    .collect(),
            ))
        }
        "health" => health(bot, &stored, &l),
        "summary" => {
            let snap = l.risk_snapshot(now).map_err(internal)?;
            let flags = bot.flags()?;
            let out = outbox::state(bot)?;
            let last_signal = last_signal_ms(bot)?;
            let venue: Option<super::exchange::VenueState> =
                super::store::kv_get(&bot.db, "venue_state")?;
            Ok(json!({
                "id": config.id.as_str(), "name": config.name, "mode": config.mode, "exchange": config.exchange,
                "market": config.market, "state": state_name(&flags), "flags": flags,
                "pnl_today": snap.daily_pnl, "equity": snap.equity, "quote_asset": l.config.quote_asset,
                "open_positions": snap.open_positions,
                "last_signal_ms": last_signal, "circuit": venue.map(|v| v.circuit.state(now)),
                "outbox_depth": outbox::last_seq(bot).saturating_sub(out.shipped_seq),
            }))
        }
        "pnl_history" => {
            #[derive(serde::Deserialize)]
            struct Row {
                time_ms: i64,
                equity: String,
                drawdown: String,
            }
            let rows: Vec<Row> = bot.db.rows(
                "SELECT time_ms, equity, drawdown FROM equity ORDER BY time_ms",
                vec![],
            )?;
            Ok(Value::Array(
                rows.into_iter()
                    .map(|r| json!({"time": r.time_ms, "equity": r.equity, "drawdown": r.drawdown}))
                    .collect(),
            ))
        }
        "reconciliation" => Ok(super::store::kv_get::<Value>(&bot.db, "reconciliation")?
            .unwrap_or(json!({"status": "never_run"}))),
        "metrics" => super::metrics::view(bot),
        "analytics" => super::analytics::view(bot, config, query),
        other => Err(ApiError::not_found("no_view", format!("no view {other:?}"))),
    }
}

/// `running | paused | halted | needs_attention`.
pub fn state_name(flags: &super::Flags) -> &'static str {
    if flags.halted {
        "halted"
    } else if flags.paused {
        "paused"
    } else if flags.needs_attention {
        "needs_attention"
    } else {
        "running"
    }
}

fn last_signal_ms(bot: &BotDO) -> Result<Option<i64>, ApiError> {
    #[derive(serde::Deserialize)]
    struct R {
        t: Option<i64>,
    }
    let r: Option<R> = bot
        .db
        .row("SELECT MAX(received_ms) AS t FROM signals", vec![])?;
    Ok(r.and_then(|r| r.t))
}

fn last_signal(bot: &BotDO) -> Result<Option<Value>, ApiError> {
    #[derive(serde::Deserialize)]
    struct R {
        id: String,
        received_ms: i64,
        status: i64,
        outcome: String,
    }
    let r: Option<R> = bot.db.row(
        "SELECT id, received_ms, status, outcome FROM signals ORDER BY received_ms DESC LIMIT 1",
        vec![],
    )?;
    Ok(r.map(|r| {
        json!({"signal_id": r.id, "received_ms": r.received_ms, "status": r.status,
        "outcome": serde_json::from_str::<Value>(&r.outcome).unwrap_or(Value::Null)})
    }))
}

fn health(
    bot: &BotDO,
    stored: &super::config::StoredConfig,
    l: &keel_engine::ledger::Ledger,
) -> Result<Value, ApiError> {
    #[derive(serde::Deserialize)]
    struct Body {
        body: String,
    }
    let now = now_ms();
    let flags = bot.flags()?;
    let out = outbox::state(bot)?;
    let venue: Option<super::exchange::VenueState> = super::store::kv_get(&bot.db, "venue_state")?;
    let last_order: Option<Body> = bot.db.row(
        "SELECT body FROM orders ORDER BY updated_ms DESC LIMIT 1",
        vec![],
    )?;
    let last_error: Option<Body> = bot.db.row("SELECT body FROM orders WHERE status IN ('rejected','unknown') ORDER BY updated_ms DESC LIMIT 1", vec![])?;
    let open_orders: Vec<Body> = bot.db.rows("SELECT body FROM orders WHERE status IN ('intent','sent','accepted','partially_filled','cancel_sent','unknown')", vec![])?;
    let snap = l
        .risk_snapshot(now)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let risk = &stored.config.risk;
    let used_loss = (-snap.daily_pnl).max(Decimal::ZERO);
    let depth = outbox::last_seq(bot).saturating_sub(out.shipped_seq);
    let parse = |b: &Option<Body>| {
        b.as_ref()
            .and_then(|b| serde_json::from_str::<Value>(&b.body).ok())
    };
    Ok(json!({
        "bot_id": stored.config.id.as_str(),
        "state": state_name(&flags),
        "flags": flags,
        "last_signal_ms": last_signal_ms(bot)?,
        "last_signal": last_signal(bot)?,
        "last_order": parse(&last_order),
        "last_error": parse(&last_error),
        "open_orders": open_orders.len(),
        "circuit": venue.as_ref().map(|v| v.circuit.state(now)),
        "clock_offset_ms": venue.as_ref().map(|v| v.clock.offset_ms()),
        "outbox": {"depth": depth, "shipped_seq": out.shipped_seq, "failures": out.failures, "last_error": out.last_error, "parked": out.parked},
        "reconciliation": super::store::kv_get::<Value>(&bot.db, "reconciliation")?.unwrap_or(json!({"status": "never_run"})),
        "last_tick": super::store::kv_get::<Value>(&bot.db, "last_tick")?,
        "why": {"paused": flags.pause_reason, "halted": flags.halted.then_some("platform halted by an operator (see the platform audit)"), "needs_attention": flags.attention_reason},
        "alerts": {"open": super::alerts::load(bot)?.book.open.values().map(|e| json!({"kind": e.alert.kind, "subject": e.alert.subject, "since_ms": e.first_ms, "count": e.count})).collect::<Vec<_>>()},
        "risk_usage": {
            "max_daily_loss": {"used": used_loss, "limit": risk.max_daily_loss},
            "max_drawdown_pct": {"used": snap.drawdown_pct, "limit": risk.max_drawdown_pct},
            "max_open_positions": {"used": snap.open_positions, "limit": risk.max_open_positions},
            "max_trades_per_day": {"used": snap.orders_today, "limit": risk.max_trades_per_day},
        },
    }))
}
