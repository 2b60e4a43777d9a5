//! The account's side of the user-data stream, sans-IO: when an account's Durable Object keeps a
//! stream open, where it connects, which bot a stream event belongs to, and the listenKey
//! requests. The AccountDO only moves bytes; these are its decisions, tested here.
//!
//! Why routing by client order id: the bots' exchange calls all pass through the AccountDO, so it
//! learns which bot owns each client order id from the calls it relays ([`client_ids`]). A stream
//! event is then a *trigger* for its owner's REST catch-up (the cron tick's path): the fill is
//! booked through the same single path as a polled one, exactly once by trade id, whichever comes
//! first. An event nobody claims (a fired exit's close order, a liquidation, funding) wakes every
//! bot of the account, so nothing is missed.

use crate::model::{Exchange, Market};
use crate::venue::endpoints::{default_base_urls, Environment};
use crate::venue::error::VenueError;
use crate::venue::http::{HttpRequest, Method};
use crate::venue::op::VenueOp;
use crate::venue::stream::{default_stream_base, StreamEvent};
use crate::venue::VenueSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// The stream stays open while a bot of the account relayed an exchange call within this time
/// (the cron ticks every bot each minute, so a bot in use keeps it open; an account nobody uses
/// any more closes its socket and stops paying for it).
pub const IDLE_AFTER_MS: i64 = 10 * 60_000;

/// Whether the account wants its user stream open at `now_ms`, given its last relayed call.
pub fn wanted(last_use_ms: Option<i64>, now_ms: i64) -> bool {
    last_use_ms.is_some_and(|t| now_ms.saturating_sub(t) < IDLE_AFTER_MS)
}

/// Whether the venue's user stream can be opened with the API key alone (no secret): Binance
/// USDⓈ-M's listenKey is created with the key header only. Binance Spot's WebSocket-API
/// subscription and Bybit's `auth` are signed with the secret, which only the bots hold.
pub fn opens_with_key_only(spec: &VenueSpec) -> bool {
    spec.exchange == Exchange::Binance && spec.market == Market::Linear
}

/// The header that carries the API key on the venue's signed REST calls.
pub fn api_key_header(exchange: Exchange) -> &'static str {
    match exchange {
        Exchange::Binance => "X-MBX-APIKEY",
        Exchange::Bybit => "X-BAPI-API-KEY",
    }
}

/// The API key of a relayed request (case-insensitive header name), if it carries one.
pub fn api_key_of(exchange: Exchange, request: &HttpRequest) -> Option<String> {
    let name = api_key_header(exchange);
    request
        .headers
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty())
        .map(|(_, v)| v.clone())
}

/// The stream host for an account whose REST calls go to `rest_base`: the exchange's own stream
/// host for a known exchange host (its environment read from the host), else the same host with
/// a `ws` scheme (a custom base URL such as the simulator serves its streams on its REST port).
pub fn stream_base(spec: &VenueSpec, rest_base: &str, user: bool) -> String {
    let rest = rest_base.trim_end_matches('/');
    for env in [Environment::Live, Environment::Testnet, Environment::Demo] {
        if default_base_urls(spec.exchange, spec.market, env).contains(&rest) {
            return default_stream_base(spec.exchange, spec.market, user, env).to_string();
        }
    }
    if let Some(host) = rest.strip_prefix("https://") {
        format!("wss://{host}")
    } else if let Some(host) = rest.strip_prefix("http://") {
        format!("ws://{host}")
    } else {
        rest.to_string()
    }
}

/// Every client order id named in an exchange call (orders, exits, OCO lists, queries, cancels),
/// so the account learns who owns which id from the calls it relays.
pub fn client_ids(op: &VenueOp) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, x) in map {
                    match (k.as_str(), x) {
                        ("client_order_id" | "list_client_order_id", Value::String(s))
                            if !s.is_empty() =>
                        {
                            out.push(s.clone());
                        }
                        _ => walk(x, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(op) {
        walk(&v, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// Which bots a batch of stream events wakes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    /// Bots that own an event's client order id.
    pub bots: BTreeSet<String>,
    /// An order, fill, trigger or funding event nobody claims: wake every bot of the account.
    pub everyone: bool,
    /// Events that concern the bots (orders, fills, triggers, funding).
    pub events: u32,
}

/// Routes events to the bots that own them; `owner` answers a client order id's bot.
pub fn route(events: &[StreamEvent], owner: impl Fn(&str) -> Option<String>) -> Routing {
    let mut r = Routing::default();
    for e in events {
        let id = match e {
            StreamEvent::Order(o) => o.client_order_id.as_ref().map(|c| c.as_str().to_string()),
            StreamEvent::Fill(f) => f.client_order_id.as_ref().map(|c| c.as_str().to_string()),
            StreamEvent::Trigger(t) => t.client_order_id.as_ref().map(|c| c.as_str().to_string()),
            StreamEvent::FundingHint { .. } => None,
            StreamEvent::Price(_)
            | StreamEvent::Kline { .. }
            | StreamEvent::Session(_)
            | StreamEvent::Ignored { .. } => continue,
        };
        r.events = r.events.saturating_add(1);
        match id.and_then(|c| owner(&c)) {
            Some(bot) => {
                r.bots.insert(bot);
            }
            None => r.everyone = true,
        }
    }
    r
}

/// `POST /fapi/v1/listenKey` (Binance USDⓈ-M): creates the account's listenKey, or returns the
/// live one and extends it by 60 minutes, so the same request is the keepalive (key header only).
pub fn listen_key_request(rest_base: &str, api_key: &str) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        base_url: rest_base.trim_end_matches('/').to_string(),
        path_and_query: "/fapi/v1/listenKey".into(),
        headers: vec![("X-MBX-APIKEY".into(), api_key.to_string())],
        body: String::new(),
        signed: None,
    }
}

/// The listenKey of a `POST /fapi/v1/listenKey` answer.
///
/// # Errors
/// [`VenueError::Parse`] when the answer is not `{"listenKey": "…"}` with a non-empty key
/// (an error answer's text is kept in the message).
pub fn parse_listen_key(status: u16, body: &str) -> Result<String, VenueError> {
    let v: Value = serde_json::from_str(body).map_err(|e| VenueError::parse("listenKey", e))?;
    match v.get("listenKey").and_then(Value::as_str) {
        Some(k) if status == 200 && !k.is_empty() => Ok(k.to_string()),
        _ => Err(VenueError::parse(
            "listenKey",
            format!(
                "status {status}: {}",
                body.chars().take(200).collect::<String>()
            ),
        )),
    }
}

#[cfg(test)]
#[path = "stream_account_tests.rs"]
mod tests;
