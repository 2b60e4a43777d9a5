//! Before the bot closes a holding (a `close` signal, a reducing order, flatten), it cancels its
//! own resting exits on that symbol: a Binance spot OCO list and a Bybit spot TP/SL order lock
//! the base asset the close must sell, and Binance USDⓈ-M algo triggers survive
//! cancel-all-open-orders, so they would outlive the position. Each cancel is one
//! [`VenueOp::CancelExit`] (the adapter knows the exchange's endpoint); the rows and the
//! request trail are committed together, after the calls (a journal never spans an await).

use super::exchange::Link;
use super::protection::stage_row;
use super::{now_ms, BotDO};
use crate::db::text;
use crate::http::ApiError;
use keel_engine::config::BotConfig;
use keel_engine::ids::{ClientOrderId, SignalId, Symbol};
use keel_engine::model::Market;
use keel_engine::risk::{Approved, ProposedOrder};
use keel_engine::venue::CallFailure;
use keel_engine::venue::{protect, ExitRef, VenueError, VenueOp, VenueReply};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

/// What clearing a symbol's exits did.
#[derive(Debug, Default)]
pub struct Cleared {
    /// Rows of exits now cancelled at the exchange.
    pub cancelled: Vec<Value>,
    /// Exits the exchange no longer knows (fired or ended); the protection refresh books them.
    pub gone: Vec<String>,
    /// Exits still resting because their cancel failed, with the reason.
    pub failed: Vec<String>,
}

impl Cleared {
    /// The answer's summary of the clearing, `None` when there was nothing to clear.
    pub fn summary(&self) -> Option<Value> {
        if self.cancelled.is_empty() && self.gone.is_empty() && self.failed.is_empty() {
            return None;
        }
        let ids: Vec<&Value> = self
            .cancelled
            .iter()
            .map(|b| &b["client_order_id"])
            .collect();
        Some(json!({"cancelled": ids, "gone": self.gone, "failed": self.failed}))
    }
}

#[derive(Debug, Deserialize)]
struct Row {
    client_order_id: String,
    signal_id: Option<String>,
    body: String,
}

/// Cancels the bot's own resting exits on `symbol` (exits riding on an entry or a position,
/// Bybit's attached TP/SL, have no order of their own and end with the position). A paper bot's
/// exits rest on its paper venue and are cancelled the same way.
///
/// # Errors
/// Storage failures only; exchange failures are reported in [`Cleared::failed`].
pub async fn clear_exits(
    bot: &BotDO,
    link: &mut Link<'_>,
    symbol: &Symbol,
    signal_id: Option<&SignalId>,
) -> Result<Cleared, ApiError> {
    let mut out = Cleared::default();
    let rows: Vec<Row> = bot.db.rows(
        "SELECT client_order_id, signal_id, body FROM orders WHERE status = 'trigger_open' AND symbol = ? ORDER BY updated_ms",
        vec![text(symbol.as_str())],
    )?;
    // One cancel per exit, or per OCO list for its legs.
    let mut calls: Vec<(ExitRef, Vec<(Row, Value)>)> = Vec::new();
    for r in rows {
        let Ok(body) = serde_json::from_str::<Value>(&r.body) else {
            continue;
        };
        if body["attached"].as_bool() == Some(true) {
            continue;
        }
        let Ok(coid) = ClientOrderId::new(r.client_order_id.clone()) else {
            continue;
        };
        let list = body["oco"]
            .as_str()
            .and_then(|l| ClientOrderId::new(l).ok());
        match calls
            .iter_mut()
            .find(|(x, _)| list.is_some() && x.list_client_order_id == list)
        {
            Some((_, legs)) => legs.push((r, body)),
            None => calls.push((
                ExitRef {
                    symbol: symbol.clone(),
                    client_order_id: coid,
                    list_client_order_id: list,
                },
                vec![(r, body)],
            )),
        }
    }
    if calls.is_empty() {
        return Ok(out);
    }
    let mut done: Vec<(Row, Value)> = Vec::new();
    for (x, legs) in calls {
        match link.call(&VenueOp::CancelExit(x.clone())).await {
            Ok(VenueReply::Trigger(_)) => done.extend(legs),
            Err(CallFailure::Venue(VenueError::UnknownOrder { .. })) => {
                out.gone.push(x.client_order_id.to_string());
            }
            Ok(other) => out
                .failed
                .push(format!("{}: unexpected reply {other:?}", x.client_order_id)),
            Err(e) => out.failed.push(format!(
                "{}: {}",
                x.client_order_id,
                ApiError::from(e).message
            )),
        }
    }
    let now = now_ms();
    let mut j = bot.journal()?;
    for mut d in std::mem::take(&mut link.trail) {
        if let Some(s) = signal_id {
            d = d.signal(s.clone());
        }
        j.audit(d)?;
    }
    for (r, mut body) in done {
        body["status"] = json!("trigger_cancelled");
        body["cancelled_ms"] = json!(now);
        body["cancel_reason"] = json!("closing the position");
        stage_row(
            &mut j,
            &r.client_order_id,
            r.signal_id.as_deref(),
            symbol.as_str(),
            "trigger_cancelled",
            &body,
        );
        out.cancelled.push(body);
    }
    link.stage(&mut j)?;
    bot.commit(j).await?;
    Ok(out)
}

/// Clears the symbol's exits when one of `orders` sells the holding (spot) or ends the position
/// (linear), before any of them is sent. Returns the answer's summary of what was cleared.
///
/// # Errors
/// Storage failures; on spot, an exit whose cancel failed (it still locks what the close must
/// sell, so the close is not sent and the answer says why). On linear the close goes anyway:
/// a reduce-only close is safe with a trigger still resting, which the summary names.
pub async fn before_close(
    bot: &BotDO,
    link: &mut Link<'_>,
    config: &BotConfig,
    symbol: &Symbol,
    position: Decimal,
    orders: &[Approved<ProposedOrder>],
    signal_id: Option<&SignalId>,
) -> Result<Option<Value>, ApiError> {
    if !orders
        .iter()
        .any(|o| protect::clears_exits(config.market, position, &o.get().request))
    {
        return Ok(None);
    }
    let cleared = clear_exits(bot, link, symbol, signal_id).await?;
    if config.market == Market::Spot && !cleared.failed.is_empty() {
        return Err(ApiError::new(
            502,
            "exits_not_cancelled",
            format!(
                "the close of {symbol} was not sent: this bot's resting exits lock the balance it must sell and cancelling them failed ({})",
                cleared.failed.join("; ")
            ),
        ));
    }
    Ok(cleared.summary())
}
