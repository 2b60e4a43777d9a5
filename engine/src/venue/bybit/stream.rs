//! Bybit V5 streams (docs/exchanges.md, streams): the private stream (`/v5/private`, HMAC auth
//! `GET/realtime{expires}`, topics `order` and `execution`, an application ping every 20 s) and
//! the public ones (`/v5/public/{spot|linear}`: `orderbook.1` for spot's best bid/ask, `tickers`
//! for linear's bid/ask/mark, `kline`).
//!
//! The `order` and `execution` rows have the REST fields, so they are read by the REST models and
//! mappers ([`parse_order`], [`fill_of`]): a fill is booked once whichever path saw it first.

use crate::model::Market;
use crate::venue::bybit::models::{ByExecution, ByOrder};
use crate::venue::bybit::parse::{fill_of, parse_order};
use crate::venue::error::VenueError;
use crate::venue::op::Kline;
use crate::venue::sign::{hmac_sha256_hex, Credentials};
use crate::venue::stream::{
    Channel, PriceUpdate, SessionSignal, StreamEvent, StreamPlan, StreamVenue,
};
use crate::venue::wire::{dec, int, json, symbol};
use serde_json::Value;

/// Reconnect before the 24 h that long-lived connections are given.
const MAX_LIFE_MS: i64 = 23 * 3_600_000 + 50 * 60_000;
/// Bybit cuts a connection without a ping for 10 min; it recommends one every 20 s.
const PING_EVERY_MS: i64 = 20_000;
/// How far ahead the auth frame's `expires` is.
const AUTH_EXPIRES_MS: i64 = 10_000;

/// The stream side of the Bybit adapter.
#[derive(Debug, Clone, Copy)]
pub struct BybitStream {
    /// Spot or linear.
    pub market: Market,
}

fn category(market: Market) -> &'static str {
    match market {
        Market::Spot => "spot",
        Market::Linear => "linear",
    }
}

fn text_of(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn opt_dec(v: &Value, key: &str) -> Result<Option<rust_decimal::Decimal>, VenueError> {
    let t = text_of(v, key);
    if t.is_empty() {
        Ok(None)
    } else {
        dec(key, &t).map(Some)
    }
}

/// The first price of a book side `[[price, size], …]`.
fn top(v: &Value, side: &str) -> Result<Option<rust_decimal::Decimal>, VenueError> {
    match v
        .get(side)
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        Some(level) => match level.get(0).and_then(Value::as_str) {
            Some(p) => dec(side, p).map(Some),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

fn rows(v: &Value) -> Vec<Value> {
    match v.get("data") {
        Some(Value::Array(a)) => a.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    }
}

fn topic_event(topic: &str, v: &Value) -> Result<Vec<StreamEvent>, VenueError> {
    let mut out = Vec::new();
    let head = topic.split('.').next().unwrap_or("");
    match head {
        "order" => {
            for row in rows(v) {
                let o: ByOrder =
                    serde_json::from_value(row).map_err(|e| VenueError::parse("order", e))?;
                out.push(StreamEvent::Order(parse_order(o)?));
            }
        }
        "execution" if !topic.starts_with("execution.fast") => {
            for row in rows(v) {
                let e: ByExecution =
                    serde_json::from_value(row).map_err(|e| VenueError::parse("execution", e))?;
                match e.exec_type.as_str() {
                    "Trade" | "AdlTrade" | "BustTrade" | "" => {
                        out.push(StreamEvent::Fill(fill_of(&e)?))
                    }
                    // `execFee` positive = paid: the balance change is its negative.
                    "Funding" => out.push(StreamEvent::FundingHint {
                        asset: e.fee_currency.clone(),
                        amount: -dec("execFee", &e.exec_fee)?,
                        time_ms: int("execTime", &e.exec_time)?,
                    }),
                    other => out.push(StreamEvent::Ignored {
                        kind: format!("execution/{other}"),
                    }),
                }
            }
        }
        "orderbook" | "tickers" => {
            let d = v.get("data").cloned().unwrap_or(Value::Null);
            let time_ms = v.get("ts").and_then(Value::as_i64).unwrap_or(0);
            let (sym, bid, ask, mark, last) = if head == "orderbook" {
                (text_of(&d, "s"), top(&d, "b")?, top(&d, "a")?, None, None)
            } else {
                (
                    text_of(&d, "symbol"),
                    opt_dec(&d, "bid1Price")?,
                    opt_dec(&d, "ask1Price")?,
                    opt_dec(&d, "markPrice")?,
                    opt_dec(&d, "lastPrice")?,
                )
            };
            out.push(StreamEvent::Price(PriceUpdate {
                symbol: symbol(&sym)?,
                bid,
                ask,
                mark,
                last,
                time_ms,
            }));
        }
        "kline" => {
            // `kline.{interval}.{symbol}`
            let mut parts = topic.splitn(3, '.');
            let (_, interval, sym) = (
                parts.next(),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            for row in rows(v) {
                out.push(StreamEvent::Kline {
                    symbol: symbol(sym)?,
                    interval: interval.to_string(),
                    kline: Kline {
                        open_time_ms: row.get("start").and_then(Value::as_i64).unwrap_or(0),
                        open: dec("open", &text_of(&row, "open"))?,
                        high: dec("high", &text_of(&row, "high"))?,
                        low: dec("low", &text_of(&row, "low"))?,
                        close: dec("close", &text_of(&row, "close"))?,
                        volume: dec("volume", &text_of(&row, "volume"))?,
                    },
                    closed: row.get("confirm").and_then(Value::as_bool).unwrap_or(false),
                });
            }
        }
        _ => out.push(StreamEvent::Ignored {
            kind: topic.to_string(),
        }),
    }
    Ok(out)
}

impl StreamVenue for BybitStream {
    fn stream_plan(
        &self,
        channel: &Channel,
        base: &str,
        creds: Option<&Credentials>,
        now_ms: i64,
    ) -> Result<StreamPlan, VenueError> {
        let base = base.trim_end_matches('/');
        let plan = |url: String, open_frames: Vec<String>| StreamPlan {
            url,
            open_frames,
            ping_every_ms: PING_EVERY_MS,
            max_life_ms: MAX_LIFE_MS,
            needs_listen_key: false,
            keepalive_every_ms: 0,
        };
        match channel {
            Channel::User { .. } => {
                let c = creds.ok_or_else(|| {
                    VenueError::parse("credentials", "a user stream needs the API key")
                })?;
                let expires = now_ms.saturating_add(AUTH_EXPIRES_MS);
                let sig = hmac_sha256_hex(&c.api_secret, &format!("GET/realtime{expires}"));
                let auth = serde_json::json!({"req_id": "keel-auth", "op": "auth", "args": [c.api_key, expires, sig]});
                let sub = serde_json::json!({"req_id": "keel-sub", "op": "subscribe", "args": ["order", "execution"]});
                Ok(plan(
                    format!("{base}/v5/private"),
                    vec![auth.to_string(), sub.to_string()],
                ))
            }
            Channel::Market {
                symbols,
                kline_interval,
            } => {
                let mut args = Vec::new();
                for s in symbols {
                    args.push(match self.market {
                        Market::Spot => format!("orderbook.1.{}", s.as_str()),
                        Market::Linear => format!("tickers.{}", s.as_str()),
                    });
                    if let Some(i) = kline_interval {
                        args.push(format!("kline.{i}.{}", s.as_str()));
                    }
                }
                let sub =
                    serde_json::json!({"req_id": "keel-sub", "op": "subscribe", "args": args});
                Ok(plan(
                    format!("{base}/v5/public/{}", category(self.market)),
                    vec![sub.to_string()],
                ))
            }
        }
    }

    fn parse_frame(&self, _channel: &Channel, text: &str) -> Result<Vec<StreamEvent>, VenueError> {
        let v: Value = json("stream frame", text)?;
        if let Some(topic) = v.get("topic").and_then(Value::as_str) {
            return topic_event(topic, &v);
        }
        let op = v.get("op").and_then(Value::as_str).unwrap_or("");
        let success = v.get("success").and_then(Value::as_bool);
        let signal = match (op, success) {
            ("pong", _) | ("ping", Some(true)) => SessionSignal::Pong,
            (_, Some(false)) => SessionSignal::Refused {
                reason: format!("{op}: {}", text_of(&v, "ret_msg")),
            },
            ("auth", Some(true)) => SessionSignal::Authenticated,
            ("subscribe", Some(true)) => SessionSignal::Subscribed,
            _ => {
                return Ok(vec![StreamEvent::Ignored {
                    kind: if op.is_empty() {
                        "unknown".into()
                    } else {
                        op.to_string()
                    },
                }])
            }
        };
        Ok(vec![StreamEvent::Session(signal)])
    }

    fn ping_frame(&self, now_ms: i64) -> Option<String> {
        Some(serde_json::json!({"req_id": format!("keel-ping-{now_ms}"), "op": "ping"}).to_string())
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
