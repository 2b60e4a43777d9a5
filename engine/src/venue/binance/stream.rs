//! Binance streams (docs/exchanges.md, streams): the Spot user-data subscription over the
//! WebSocket API (`userDataStream.subscribe.signature`, any key type), the USDⓈ-M user stream on
//! its listenKey (`/private/ws?listenKey=…&events=…`), and the market streams (book ticker, mark
//! price, klines) as combined streams.
//!
//! Frames become [`StreamEvent`]s with the same types as REST answers: an `executionReport` /
//! `ORDER_TRADE_UPDATE` is an [`OrderReport`] and, for a trade, a [`Fill`] whose trade id is the
//! REST `myTrades` / `userTrades` id, so the ledger books it once whichever path sees it first.

use crate::ids::Symbol;
use crate::model::{Fill, Market};
use crate::venue::binance::algo::algo_state;
use crate::venue::binance::enums::{parse_binance_side, parse_binance_status};
use crate::venue::error::VenueError;
use crate::venue::op::{Kline, OrderReport, TriggerReport};
use crate::venue::sign::{hmac_sha256_hex, Credentials};
use crate::venue::stream::{
    Channel, PriceUpdate, SessionSignal, StreamEvent, StreamPlan, StreamVenue,
};
use crate::venue::wire::{client_id, dec, json, symbol};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

/// Both exchanges force a reconnect after 24 h; reconnect a little before.
const MAX_LIFE_MS: i64 = 23 * 3_600_000 + 50 * 60_000;
/// USDⓈ-M listenKeys live 60 min; renewing every 30 keeps one missed renewal harmless.
const LISTEN_KEY_KEEPALIVE_MS: i64 = 30 * 60_000;

/// The stream side of the Binance adapter.
#[derive(Debug, Clone, Copy)]
pub struct BinanceStream {
    /// Spot or USDⓈ-M.
    pub market: Market,
}

/// A JSON number or string as text (ids are numbers on Binance's streams).
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn int_of(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn dec_of(v: &Value, key: &str) -> Result<Decimal, VenueError> {
    match v.get(key) {
        Some(Value::String(s)) => dec(key, s),
        Some(Value::Number(n)) => dec(key, &n.to_string()),
        _ => Ok(Decimal::ZERO),
    }
}

fn opt_dec(v: &Value, key: &str) -> Result<Option<Decimal>, VenueError> {
    match v.get(key) {
        Some(Value::String(s)) if !s.is_empty() => dec(key, s).map(Some),
        Some(Value::Number(n)) => dec(key, &n.to_string()).map(Some),
        _ => Ok(None),
    }
}

/// An order update (and its trade, if it is one) from the fields Spot's `executionReport` and
/// USDⓈ-M's `ORDER_TRADE_UPDATE.o` share: `s c S q p x X i l z L n N T t m`.
fn order_and_fill(o: &Value, cum_quote: Option<Decimal>) -> Result<Vec<StreamEvent>, VenueError> {
    // A cancel's report carries the cancel request's id in `c` and the order's in `C` (Spot).
    let client = match str_of(o, "C") {
        "" => str_of(o, "c"),
        original => original,
    };
    let sym: Symbol = symbol(str_of(o, "s"))?;
    let side = parse_binance_side(str_of(o, "S"))?;
    let order_id = o
        .get("i")
        .and_then(id_text)
        .ok_or_else(|| VenueError::parse("i", "missing order id"))?;
    let time_ms = int_of(o, "T");
    let report = OrderReport {
        order_id: order_id.clone(),
        client_order_id: client_id(client),
        symbol: sym.clone(),
        side: Some(side),
        status: parse_binance_status(str_of(o, "X"))?,
        orig_qty: dec_of(o, "q")?,
        executed_qty: dec_of(o, "z")?,
        cum_quote,
        price: dec_of(o, "p")?,
        fills: Vec::new(),
        updated_ms: time_ms,
    };
    let mut out = vec![StreamEvent::Order(report)];
    if str_of(o, "x") == "TRADE" {
        let trade_id = o
            .get("t")
            .and_then(id_text)
            .filter(|t| t != "-1")
            .ok_or_else(|| VenueError::parse("t", "a trade without a trade id"))?;
        out.push(StreamEvent::Fill(Fill {
            trade_id,
            order_id,
            client_order_id: client_id(client),
            symbol: sym,
            side,
            price: dec_of(o, "L")?,
            qty: dec_of(o, "l")?,
            fee: dec_of(o, "n")?,
            fee_asset: str_of(o, "N").to_string(),
            time_ms,
            is_maker: o.get("m").and_then(Value::as_bool).unwrap_or(false),
        }));
    }
    Ok(out)
}

/// One user-data event (the object with `e`), Spot or USDⓈ-M.
fn user_event(e: &Value) -> Result<Vec<StreamEvent>, VenueError> {
    let kind = str_of(e, "e");
    Ok(match kind {
        "executionReport" => order_and_fill(e, opt_dec(e, "Z")?)?,
        "ORDER_TRADE_UPDATE" => {
            let o = e
                .get("o")
                .ok_or_else(|| VenueError::parse("o", "ORDER_TRADE_UPDATE without its order"))?;
            // USDⓈ-M reports the average price; the cumulative quote is avg × filled.
            let cum = opt_dec(o, "ap")?
                .zip(opt_dec(o, "z")?)
                .and_then(|(ap, z)| ap.checked_mul(z));
            order_and_fill(o, cum)?
        }
        "ALGO_UPDATE" => {
            let o = e
                .get("o")
                .ok_or_else(|| VenueError::parse("o", "ALGO_UPDATE without its order"))?;
            let (state, finished) = algo_state(str_of(o, "X"))?;
            vec![StreamEvent::Trigger(TriggerReport {
                trigger_id: o
                    .get("aid")
                    .and_then(id_text)
                    .ok_or_else(|| VenueError::parse("aid", "missing algo id"))?,
                client_order_id: client_id(str_of(o, "caid")),
                state,
                actual_order_id: o
                    .get("ai")
                    .and_then(id_text)
                    .filter(|a| !a.is_empty() && a != "0"),
                finished,
                updated_ms: int_of(e, "T"),
            })]
        }
        "ACCOUNT_UPDATE" => {
            let a = e.get("a").cloned().unwrap_or(Value::Null);
            if str_of(&a, "m") != "FUNDING_FEE" {
                return Ok(vec![StreamEvent::Ignored {
                    kind: format!("ACCOUNT_UPDATE/{}", str_of(&a, "m")),
                }]);
            }
            let mut out = Vec::new();
            for b in a.get("B").and_then(Value::as_array).into_iter().flatten() {
                let amount = dec_of(b, "bc")?;
                if !amount.is_zero() {
                    out.push(StreamEvent::FundingHint {
                        asset: str_of(b, "a").to_string(),
                        amount,
                        time_ms: int_of(e, "T"),
                    });
                }
            }
            out
        }
        "listenKeyExpired" => vec![StreamEvent::Session(SessionSignal::ListenKeyExpired)],
        "eventStreamTerminated" => vec![StreamEvent::Session(SessionSignal::Terminated)],
        "serverShutdown" => vec![StreamEvent::Session(SessionSignal::ServerShutdown)],
        other => vec![StreamEvent::Ignored {
            kind: other.to_string(),
        }],
    })
}

/// A market-data payload (the `data` of a combined stream, or a raw one).
fn market_event(d: &Value, stream: &str) -> Result<Vec<StreamEvent>, VenueError> {
    let kind = str_of(d, "e");
    let book = kind == "bookTicker" || (kind.is_empty() && stream.ends_with("@bookTicker"));
    if book {
        return Ok(vec![StreamEvent::Price(PriceUpdate {
            symbol: symbol(str_of(d, "s"))?,
            bid: opt_dec(d, "b")?,
            ask: opt_dec(d, "a")?,
            mark: None,
            last: None,
            time_ms: int_of(d, "E"),
        })]);
    }
    Ok(match kind {
        "markPriceUpdate" => vec![StreamEvent::Price(PriceUpdate {
            symbol: symbol(str_of(d, "s"))?,
            bid: None,
            ask: None,
            mark: opt_dec(d, "p")?,
            last: None,
            time_ms: int_of(d, "E"),
        })],
        "kline" => {
            let k = d
                .get("k")
                .ok_or_else(|| VenueError::parse("k", "kline event without its candle"))?;
            vec![StreamEvent::Kline {
                symbol: symbol(str_of(d, "s"))?,
                interval: str_of(k, "i").to_string(),
                kline: Kline {
                    open_time_ms: int_of(k, "t"),
                    open: dec_of(k, "o")?,
                    high: dec_of(k, "h")?,
                    low: dec_of(k, "l")?,
                    close: dec_of(k, "c")?,
                    volume: dec_of(k, "v")?,
                },
                closed: k.get("x").and_then(Value::as_bool).unwrap_or(false),
            }]
        }
        other => vec![StreamEvent::Ignored {
            kind: if other.is_empty() {
                stream.to_string()
            } else {
                other.to_string()
            },
        }],
    })
}

/// A WebSocket-API / SUBSCRIBE answer: `{"id", "status", "result" | "error"}`.
#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    status: Option<i64>,
    #[serde(default)]
    error: Option<Value>,
}

impl StreamVenue for BinanceStream {
    fn stream_plan(
        &self,
        channel: &Channel,
        base: &str,
        creds: Option<&Credentials>,
        now_ms: i64,
    ) -> Result<StreamPlan, VenueError> {
        let base = base.trim_end_matches('/');
        match (channel, self.market) {
            (Channel::User { .. }, Market::Spot) => {
                let c = creds.ok_or_else(|| VenueError::parse("credentials", "a user stream needs the API key"))?;
                let payload = format!("apiKey={}&timestamp={now_ms}", c.api_key);
                let signature = hmac_sha256_hex(&c.api_secret, &payload);
                let frame = serde_json::json!({
                    "id": format!("keel-uds-{now_ms}"),
                    "method": "userDataStream.subscribe.signature",
                    "params": {"apiKey": c.api_key, "timestamp": now_ms, "signature": signature},
                });
                Ok(StreamPlan {
                    url: format!("{base}/ws-api/v3"),
                    open_frames: vec![frame.to_string()],
                    ping_every_ms: 0,
                    max_life_ms: MAX_LIFE_MS,
                    needs_listen_key: false,
                    keepalive_every_ms: 0,
                })
            }
            (Channel::User { listen_key }, Market::Linear) => match listen_key {
                Some(key) => Ok(StreamPlan {
                    url: format!(
                        "{base}/private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/ALGO_UPDATE"
                    ),
                    open_frames: Vec::new(),
                    ping_every_ms: 0,
                    max_life_ms: MAX_LIFE_MS,
                    needs_listen_key: false,
                    keepalive_every_ms: LISTEN_KEY_KEEPALIVE_MS,
                }),
                None => Ok(StreamPlan {
                    url: String::new(),
                    open_frames: Vec::new(),
                    ping_every_ms: 0,
                    max_life_ms: MAX_LIFE_MS,
                    needs_listen_key: true,
                    keepalive_every_ms: LISTEN_KEY_KEEPALIVE_MS,
                }),
            },
            (
                Channel::Market {
                    symbols,
                    kline_interval,
                },
                market,
            ) => {
                let mut streams = Vec::new();
                for s in symbols {
                    let lower = s.as_str().to_ascii_lowercase();
                    streams.push(format!("{lower}@bookTicker"));
                    if market == Market::Linear {
                        streams.push(format!("{lower}@markPrice@1s"));
                    }
                    if let Some(i) = kline_interval {
                        streams.push(format!("{lower}@kline_{i}"));
                    }
                }
                let path = match market {
                    Market::Spot => "/stream",
                    // USDⓈ-M splits hosts by kind since 2026-04-23; book tickers are `/public`.
                    Market::Linear => "/market/stream",
                };
                let frame = serde_json::json!({"method": "SUBSCRIBE", "params": streams, "id": 1});
                Ok(StreamPlan {
                    url: format!("{base}{path}"),
                    open_frames: vec![frame.to_string()],
                    ping_every_ms: 0,
                    max_life_ms: MAX_LIFE_MS,
                    needs_listen_key: false,
                    keepalive_every_ms: 0,
                })
            }
        }
    }

    fn parse_frame(&self, channel: &Channel, text: &str) -> Result<Vec<StreamEvent>, VenueError> {
        let v: Value = json("stream frame", text)?;
        // Answers to our requests (subscribe) carry an `id`.
        if v.get("id").is_some() && v.get("e").is_none() {
            let a: Answer =
                serde_json::from_value(v.clone()).map_err(|e| VenueError::parse("answer", e))?;
            let refused = a.error.is_some() || a.status.is_some_and(|s| s != 200);
            return Ok(vec![StreamEvent::Session(if refused {
                SessionSignal::Refused {
                    reason: a
                        .error
                        .map_or_else(|| format!("status {:?}", a.status), |e| e.to_string()),
                }
            } else {
                SessionSignal::Subscribed
            })]);
        }
        match channel {
            Channel::User { .. } => match v.get("event") {
                // Spot WebSocket API envelope `{"subscriptionId", "event"}`.
                Some(e) => user_event(e),
                None => user_event(&v),
            },
            Channel::Market { .. } => match v.get("data") {
                Some(d) => market_event(d, str_of(&v, "stream")),
                None => market_event(&v, ""),
            },
        }
    }

    fn ping_frame(&self, _now_ms: i64) -> Option<String> {
        // Binance pings with WebSocket frames; the runtime answers them.
        None
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
