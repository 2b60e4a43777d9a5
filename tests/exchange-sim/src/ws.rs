//! The user-data streams' WebSocket endpoints, on the simulator's HTTP port (hyper's upgrade,
//! tungstenite's codec): Binance Spot's WebSocket API (`/ws-api/v3`,
//! `userDataStream.subscribe.signature`), Binance USDⓈ-M's listenKey stream (`/private/ws`) and
//! Bybit's private stream (`/v5/private`, `auth` / `subscribe` / `ping`), each with the
//! exchange's own auth checks; and the market-data streams (Binance `/stream`,
//! `/market/stream`, Bybit `/v5/public/{spot,linear}`: book ticker, mark price, tickers, order
//! book level 1). Events come from [`crate::stream::Hub`]; faults act here.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::auth::hmac_hex;
use crate::binance::{by_step, fixed};
use crate::config::{Exchange, Venue};
use crate::http::Params;
use crate::stream::{tick_of, Feed, Push, Tick};
use crate::{lock, real_now_us, Sim};
use rust_decimal::Decimal;

/// Paths answered with a WebSocket.
pub fn is_stream_path(path: &str) -> bool {
    matches!(
        path,
        "/ws-api/v3"
            | "/private/ws"
            | "/v5/private"
            | "/stream"
            | "/market/stream"
            | "/public/stream"
            | "/v5/public/spot"
            | "/v5/public/linear"
    )
}

fn answer(status: u16, v: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json;charset=UTF-8")
        .body(Full::new(Bytes::from(v.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// Which protocol a connection speaks, with its own state.
#[derive(Debug)]
enum Proto {
    /// Binance Spot WebSocket API: subscription id once subscribed.
    Spot { next_id: u64, sub: Option<u64> },
    /// Binance USDⓈ-M listenKey stream: its key and the `events` asked for.
    Futures { key: String, events: Vec<String> },
    /// Bybit private: topics subscribed once authenticated.
    Bybit {
        conn_id: String,
        topics: Vec<String>,
    },
    /// Market data of one market: Binance stream names or Bybit public topics subscribed.
    Market { venue: Venue, subs: Vec<String> },
}

/// One connection: protocol state, the account it serves once known, and its event feed.
#[derive(Debug)]
struct Conn {
    sim: Arc<Sim>,
    proto: Proto,
    account: Option<usize>,
    rx: Option<broadcast::Receiver<Push>>,
    market: Option<broadcast::Receiver<Tick>>,
}

/// Handles a request to a stream path: checks the upgrade (and the listenKey), answers 101 and
/// serves the socket on its own task.
pub async fn upgrade(sim: Arc<Sim>, mut req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let query = Params::parse(req.uri().query().unwrap_or_default());
    let header = |k: &str| {
        req.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let is_ws = header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let (Some(key), true) = (header("sec-websocket-key"), is_ws) else {
        return answer(
            400,
            &json!({"code": -1, "msg": "this path only speaks WebSocket (Upgrade: websocket)"}),
        );
    };
    let now = sim.now_ms();
    let (proto, account, rx) = match path.as_str() {
        "/private/ws" => {
            let Some(lk) = query.get("listenKey") else {
                return answer(
                    400,
                    &json!({"code": -1102, "msg": "Mandatory parameter 'listenKey' was not sent, was empty/null, or malformed."}),
                );
            };
            let Some((account, _)) = sim.streams.key_owner(lk, now) else {
                return answer(
                    400,
                    &json!({"code": -1125, "msg": "This listenKey does not exist."}),
                );
            };
            let events = query
                .get("events")
                .map(|e| e.split('/').map(str::to_string).collect())
                .unwrap_or_default();
            // Subscribed before the 101: nothing placed after the client sees it open is missed.
            let rx = sim.streams.subscribe(account);
            (
                Proto::Futures {
                    key: lk.to_string(),
                    events,
                },
                Some(account),
                Some(rx),
            )
        }
        "/stream" | "/market/stream" | "/public/stream" | "/v5/public/spot"
        | "/v5/public/linear" => {
            let venue = match path.as_str() {
                "/stream" => Venue::BinanceSpot,
                "/v5/public/spot" => Venue::BybitSpot,
                "/v5/public/linear" => Venue::BybitLinear,
                _ => Venue::BinanceFutures,
            };
            // `?streams=a/b` subscribes in the URL (Binance combined streams).
            let subs: Vec<String> = query
                .get("streams")
                .map(|s| s.split('/').map(str::to_string).collect())
                .unwrap_or_default();
            if let Some(bad) = subs.iter().find(|s| !valid_binance_stream(&sim, venue, s)) {
                return answer(
                    400,
                    &json!({"code": -1121, "msg": format!("Invalid stream {bad}")}),
                );
            }
            (Proto::Market { venue, subs }, None, None)
        }
        "/ws-api/v3" => (
            Proto::Spot {
                next_id: 0,
                sub: None,
            },
            None,
            None,
        ),
        _ => (
            Proto::Bybit {
                conn_id: format!("sim-{}", real_now_us()),
                topics: Vec::new(),
            },
            None,
            None,
        ),
    };
    let accept = derive_accept_key(key.as_bytes());
    let on = hyper::upgrade::on(&mut req);
    // Counted from the 101 on, so the admin gauge is exact once the client sees the socket open.
    sim.streams.connections.fetch_add(1, Ordering::SeqCst);
    let gauge = Gauge(sim.clone());
    // Market connections listen from the 101 on, like the listenKey stream.
    let market = matches!(proto, Proto::Market { .. }).then(|| sim.streams.market());
    let conn = Conn {
        sim,
        proto,
        account,
        rx,
        market,
    };
    tokio::spawn(async move {
        let _gauge = gauge;
        if let Ok(up) = on.await {
            let ws = WebSocketStream::from_raw_socket(TokioIo::new(up), Role::Server, None).await;
            serve(conn, ws).await;
        }
    });
    Response::builder()
        .status(101)
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", accept)
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn next_tick(rx: &mut Option<broadcast::Receiver<Tick>>) -> Result<Tick, RecvError> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

async fn next_push(rx: &mut Option<broadcast::Receiver<Push>>) -> Result<Push, RecvError> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// Decrements the connection gauge however the task ends.
struct Gauge(Arc<Sim>);

impl Drop for Gauge {
    fn drop(&mut self) {
        self.0.streams.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve<S>(mut conn: Conn, mut ws: WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let sim = conn.sim.clone();
    let mut drops = sim.streams.drops();
    drops.borrow_and_update();
    let mut keys = sim.streams.keys_changed();
    keys.borrow_and_update();
    let mut shutdowns = sim.streams.shutdowns();
    shutdowns.borrow_and_update();
    loop {
        // USDⓈ-M: wake when the key would expire (a keepalive moves it; re-checked on wake).
        let key_deadline = match (&conn.proto, &conn.rx) {
            (Proto::Futures { key, .. }, Some(_)) => {
                let left = sim
                    .streams
                    .key_owner(key, sim.now_ms())
                    .map_or(0, |(_, exp)| exp - sim.now_ms());
                Some(Duration::from_millis(left.max(0) as u64))
            }
            _ => None,
        };
        let key_check = async {
            match key_deadline {
                Some(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = keys.changed() => {}
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = drops.changed() => return,
            _ = shutdowns.changed() => {
                if matches!(conn.proto, Proto::Spot { .. }) {
                    let notice = json!({"event": {"e": "serverShutdown", "E": sim.now_ms()}});
                    let _ = ws.send(Message::text(notice.to_string())).await;
                }
                let _ = ws.close(None).await;
                return;
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    for reply in conn.on_text(t.as_str()) {
                        if ws.send(Message::text(reply)).await.is_err() {
                            return;
                        }
                    }
                }
                // tungstenite queues the pong; flush sends it now.
                Some(Ok(Message::Ping(_))) => {
                    if ws.flush().await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            push = next_push(&mut conn.rx) => match push {
                Ok(p) => {
                    if let Some(text) = conn.frame(&p) {
                        tokio::select! {
                            _ = sim.streams.stall_wait() => {}
                            _ = drops.changed() => return,
                        }
                        if ws.send(Message::text(text)).await.is_err() {
                            return;
                        }
                    }
                }
                // Too far behind: cut, as the exchanges cut slow consumers.
                Err(RecvError::Lagged(_)) => return,
                Err(RecvError::Closed) => conn.rx = None,
            },
            tick = next_tick(&mut conn.market) => match tick {
                Ok(t) => {
                    for text in conn.tick_frames(&t) {
                        tokio::select! {
                            _ = sim.streams.stall_wait() => {}
                            _ = drops.changed() => return,
                        }
                        if ws.send(Message::text(text)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => return,
                Err(RecvError::Closed) => conn.market = None,
            },
            _ = key_check => {
                if let Some(text) = conn.expired_key() {
                    if ws.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Conn {
    /// The frame to send for a pushed event, if this connection wants it.
    fn frame(&self, p: &Push) -> Option<String> {
        match &self.proto {
            Proto::Spot { sub: Some(id), .. } if p.feed == Feed::BinanceSpot => {
                Some(json!({"subscriptionId": id, "event": p.message}).to_string())
            }
            Proto::Futures { events, .. } if p.feed == Feed::BinanceFutures => {
                let name = p.message["e"].as_str().unwrap_or("");
                (events.is_empty() || events.iter().any(|e| e == name))
                    .then(|| p.message.to_string())
            }
            Proto::Bybit { topics, .. } => {
                let base = match p.feed {
                    Feed::BybitOrder => "order",
                    Feed::BybitExecution => "execution",
                    _ => return None,
                };
                let scoped = format!("{base}.{}", p.category);
                topics
                    .iter()
                    .any(|t| *t == base || *t == scoped)
                    .then(|| p.message.to_string())
            }
            _ => None,
        }
    }

    /// USDⓈ-M: after the key expired or was deleted, `listenKeyExpired` once and no more events
    /// (the socket stays open, as on Binance).
    fn expired_key(&mut self) -> Option<String> {
        let Proto::Futures { key, .. } = &self.proto else {
            return None;
        };
        let now = self.sim.now_ms();
        if self.sim.streams.key_owner(key, now).is_some() {
            return None;
        }
        self.rx = None;
        Some(json!({"e": "listenKeyExpired", "E": now, "listenKey": key}).to_string())
    }

    fn on_text(&mut self, text: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        match &self.proto {
            Proto::Spot { .. } => self.spot_request(&v),
            Proto::Bybit { .. } => vec![self.bybit_request(&v)],
            Proto::Market { venue, .. } if venue.exchange() == Exchange::Binance => {
                self.binance_market_request(&v)
            }
            Proto::Market { .. } => self.bybit_public_request(&v),
            // The listenKey stream takes no requests (subscription is in the URL).
            Proto::Futures { .. } => Vec::new(),
        }
    }

    /// Binance WebSocket API request `{"id", "method", "params"}`.
    fn spot_request(&mut self, v: &Value) -> Vec<String> {
        let id = v.get("id").cloned().unwrap_or(Value::Null);
        let fail = |status: u16, code: i64, msg: &str| {
            vec![
                json!({"id": id, "status": status, "error": {"code": code, "msg": msg}})
                    .to_string(),
            ]
        };
        let method = v.get("method").and_then(Value::as_str).unwrap_or("");
        match method {
            "ping" => vec![json!({"id": id, "status": 200, "result": {}}).to_string()],
            "userDataStream.unsubscribe" => {
                let mut ended = None;
                if let Proto::Spot { sub, .. } = &mut self.proto {
                    ended = sub.take();
                }
                self.rx = None;
                let answer = json!({"id": id, "status": 200, "result": {}}).to_string();
                match ended {
                    // The subscription's last event says it ended, as Binance sends it.
                    Some(sid) => vec![answer, json!({"subscriptionId": sid, "event": {"e": "eventStreamTerminated", "E": self.sim.now_ms()}}).to_string()],
                    None => vec![answer],
                }
            }
            "userDataStream.subscribe.signature" => {
                let params = v.get("params").cloned().unwrap_or(Value::Null);
                let account = match self.verify_spot(&params) {
                    Ok(a) => a,
                    Err((status, code, msg)) => return fail(status, code, &msg),
                };
                let Proto::Spot { next_id, sub } = &mut self.proto else {
                    return fail(400, -1000, "not a WebSocket API connection");
                };
                let sid = *next_id;
                *next_id += 1;
                *sub = Some(sid);
                self.account = Some(account);
                self.rx = Some(self.sim.streams.subscribe(account));
                vec![
                    json!({"id": id, "status": 200, "result": {"subscriptionId": sid}}).to_string(),
                ]
            }
            "" => fail(400, -1102, "Mandatory parameter 'method' was not sent."),
            _ => fail(400, -1000, "Unsupported method."),
        }
    }

    /// Checks `{apiKey, timestamp, signature}` (+ `recvWindow`): the HMAC of the other params
    /// sorted by name, and the timestamp window, as for a SIGNED REST request.
    fn verify_spot(&self, params: &Value) -> Result<usize, (u16, i64, String)> {
        let Some(obj) = params.as_object() else {
            return Err((
                400,
                -1102,
                "Mandatory parameter 'params' was not sent.".into(),
            ));
        };
        let mandatory = |k: &str| {
            (
                400,
                -1102,
                format!("Mandatory parameter '{k}' was not sent, was empty/null, or malformed."),
            )
        };
        let key = obj
            .get("apiKey")
            .and_then(Value::as_str)
            .ok_or_else(|| mandatory("apiKey"))?;
        let sig = obj
            .get("signature")
            .and_then(Value::as_str)
            .ok_or_else(|| mandatory("signature"))?;
        let ts = obj
            .get("timestamp")
            .and_then(|t| as_text(t).parse::<i64>().ok())
            .ok_or_else(|| mandatory("timestamp"))?;
        let recv = match obj.get("recvWindow") {
            Some(r) => as_text(r)
                .parse::<i64>()
                .ok()
                .filter(|r| (1..=60_000).contains(r))
                .ok_or_else(|| mandatory("recvWindow"))?,
            None => 5000,
        };
        let st = lock(&self.sim.state);
        let account = st
            .account_by_key(key)
            .filter(|a| {
                st.accounts
                    .get(*a)
                    .is_some_and(|x| x.cfg.exchange == Exchange::Binance)
            })
            .ok_or((
                401,
                -2015,
                "Invalid API-key, IP, or permissions for action.".to_string(),
            ))?;
        let secret = st
            .accounts
            .get(account)
            .map(|a| a.cfg.api_secret.clone())
            .unwrap_or_default();
        let server = real_now_us() / 1000 + st.clock_offset_ms;
        drop(st);
        // serde_json's map is sorted by key: the payload Binance signs.
        let payload = obj
            .iter()
            .filter(|(k, _)| k.as_str() != "signature")
            .map(|(k, v)| format!("{k}={}", as_text(v)))
            .collect::<Vec<_>>()
            .join("&");
        if !hmac_hex(&secret, &payload).eq_ignore_ascii_case(sig) {
            return Err((
                400,
                -1022,
                "Signature for this request is not valid.".into(),
            ));
        }
        if ts >= server + 1000 {
            return Err((
                400,
                -1021,
                "Timestamp for this request was 1000ms ahead of the server's time.".into(),
            ));
        }
        if server - ts > recv {
            return Err((
                400,
                -1021,
                "Timestamp for this request is outside of the recvWindow.".into(),
            ));
        }
        Ok(account)
    }

    /// Bybit private request `{"req_id", "op", "args"}`.
    fn bybit_request(&mut self, v: &Value) -> String {
        let op = v
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let req_id = v.get("req_id").cloned().unwrap_or(Value::Null);
        let args: Vec<Value> = v
            .get("args")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let conn_id = match &self.proto {
            Proto::Bybit { conn_id, .. } => conn_id.clone(),
            _ => String::new(),
        };
        let reply = |ok: bool, msg: &str| {
            json!({"success": ok, "ret_msg": msg, "op": op, "conn_id": conn_id, "req_id": req_id})
                .to_string()
        };
        match op.as_str() {
            "ping" => json!({"req_id": req_id, "op": "pong", "args": [self.sim.now_ms().to_string()], "conn_id": conn_id})
                .to_string(),
            "auth" => match self.verify_bybit(&args) {
                Ok(account) => {
                    self.account = Some(account);
                    reply(true, "")
                }
                Err(msg) => reply(false, &msg),
            },
            "subscribe" | "unsubscribe" => {
                let Some(account) = self.account else {
                    return reply(false, "Request not authorized");
                };
                const TOPICS: [&str; 8] = [
                    "order",
                    "order.spot",
                    "order.linear",
                    "execution",
                    "execution.spot",
                    "execution.linear",
                    "position",
                    "wallet",
                ];
                let asked: Vec<String> = args.iter().map(as_text).collect();
                if let Some(bad) = asked.iter().find(|t| !TOPICS.contains(&t.as_str())) {
                    return reply(false, &format!("error:handler not found,topic:{bad}"));
                }
                if let Proto::Bybit { topics, .. } = &mut self.proto {
                    if op == "subscribe" {
                        topics.extend(asked);
                    } else {
                        topics.retain(|t| !asked.contains(t));
                    }
                }
                if self.rx.is_none() {
                    self.rx = Some(self.sim.streams.subscribe(account));
                }
                reply(true, "")
            }
            _ => reply(false, &format!("error:unknown op {op}")),
        }
    }

    /// `auth` args `[apiKey, expires, signature]`: signature = hex HMAC(secret,
    /// `GET/realtime{expires}`), `expires` in the future.
    fn verify_bybit(&self, args: &[Value]) -> Result<usize, String> {
        let (Some(key), Some(expires), Some(sig)) = (args.first(), args.get(1), args.get(2)) else {
            return Err("Params Error: args must be [apiKey, expires, signature]".into());
        };
        let key = as_text(key);
        let Ok(expires) = as_text(expires).parse::<i64>() else {
            return Err("Params Error: expires is not an integer".into());
        };
        let st = lock(&self.sim.state);
        let account = st
            .account_by_key(&key)
            .filter(|a| {
                st.accounts
                    .get(*a)
                    .is_some_and(|x| x.cfg.exchange == Exchange::Bybit)
            })
            .ok_or_else(|| "Invalid apikey".to_string())?;
        let secret = st
            .accounts
            .get(account)
            .map(|a| a.cfg.api_secret.clone())
            .unwrap_or_default();
        let server = real_now_us() / 1000 + st.clock_offset_ms;
        drop(st);
        if expires <= server {
            return Err("Params Error: expires is in the past".into());
        }
        if !hmac_hex(&secret, &format!("GET/realtime{expires}")).eq_ignore_ascii_case(&as_text(sig))
        {
            return Err("Signature verification failed".into());
        }
        Ok(account)
    }
}

/// A Binance stream name this simulator serves on `venue`: `{symbol}@bookTicker`,
/// `{symbol}@kline_{interval}` (accepted; candles are not pushed) and, on USDⓈ-M,
/// `{symbol}@markPrice[@1s]`, for a listed symbol.
fn valid_binance_stream(sim: &Sim, venue: Venue, name: &str) -> bool {
    let Some((sym, kind)) = name.split_once('@') else {
        return false;
    };
    let listed = lock(&sim.state)
        .instrument(venue, &sym.to_ascii_uppercase())
        .is_some();
    let futures = venue == Venue::BinanceFutures;
    listed
        && sym == sym.to_ascii_lowercase()
        && (kind == "bookTicker"
            || kind.starts_with("kline_")
            || (futures && (kind == "markPrice" || kind == "markPrice@1s")))
}

/// A Bybit public topic this simulator serves on `venue`: `orderbook.1.{SYMBOL}`,
/// `tickers.{SYMBOL}`, `kline.{interval}.{SYMBOL}` (accepted; candles are not pushed).
fn valid_bybit_topic(sim: &Sim, venue: Venue, topic: &str) -> bool {
    let symbol = topic.rsplit('.').next().unwrap_or("");
    let listed = lock(&sim.state).instrument(venue, symbol).is_some();
    listed
        && (topic == format!("orderbook.1.{symbol}")
            || topic == format!("tickers.{symbol}")
            || topic.starts_with("kline."))
}

fn plain(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The frame of one subscription for a price change, if the subscription is about it.
fn tick_frame(venue: Venue, sub: &str, t: &Tick) -> Option<String> {
    if venue.exchange() == Exchange::Binance {
        let lower = t.symbol.to_ascii_lowercase();
        let px = |d: Decimal| by_step(d, t.tick_size);
        let data = if sub == format!("{lower}@bookTicker") {
            let mut d = json!({"u": t.time_ms, "s": t.symbol, "b": px(t.bid), "B": "1", "a": px(t.ask), "A": "1"});
            if venue == Venue::BinanceFutures {
                d["e"] = json!("bookTicker");
                d["E"] = json!(t.time_ms);
                d["T"] = json!(t.time_ms);
            }
            d
        } else if sub.starts_with(&format!("{lower}@markPrice")) {
            let next_funding = (t.time_ms / 28_800_000 + 1) * 28_800_000;
            json!({"e": "markPriceUpdate", "E": t.time_ms, "s": t.symbol, "p": px(t.price), "i": px(t.price),
                "P": px(t.price), "r": fixed(t.funding_rate, 8), "T": next_funding})
        } else {
            return None;
        };
        return Some(json!({"stream": sub, "data": data}).to_string());
    }
    let data = if sub == format!("orderbook.1.{}", t.symbol) {
        json!({"s": t.symbol, "b": [[plain(t.bid), "1"]], "a": [[plain(t.ask), "1"]], "u": t.time_ms, "seq": t.time_ms})
    } else if sub == format!("tickers.{}", t.symbol) {
        let mut d = json!({"symbol": t.symbol, "lastPrice": plain(t.price), "bid1Price": plain(t.bid), "bid1Size": "1",
            "ask1Price": plain(t.ask), "ask1Size": "1"});
        if venue == Venue::BybitLinear {
            d["markPrice"] = json!(plain(t.price));
            d["indexPrice"] = json!(plain(t.price));
            d["fundingRate"] = json!(plain(t.funding_rate));
        }
        d
    } else {
        return None;
    };
    Some(
        json!({"topic": sub, "type": "snapshot", "ts": t.time_ms, "cs": t.time_ms, "data": data})
            .to_string(),
    )
}

impl Conn {
    /// Frames for a price change, one per matching subscription.
    fn tick_frames(&self, t: &Tick) -> Vec<String> {
        match &self.proto {
            Proto::Market { venue, subs } if *venue == t.venue => subs
                .iter()
                .filter_map(|s| tick_frame(*venue, s, t))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The current prices for new subscriptions (a snapshot first, as Bybit sends; Binance
    /// pushes on the next change, which the walk makes frequent: a snapshot spares the wait).
    fn snapshots(&self, new: &[String]) -> Vec<String> {
        let Proto::Market { venue, .. } = &self.proto else {
            return Vec::new();
        };
        let st = lock(&self.sim.state);
        let now = real_now_us() / 1000 + st.clock_offset_ms;
        let mut out = Vec::new();
        for sub in new {
            let symbol = if venue.exchange() == Exchange::Binance {
                sub.split('@').next().unwrap_or("").to_ascii_uppercase()
            } else {
                sub.rsplit('.').next().unwrap_or("").to_string()
            };
            if let Some(t) = tick_of(&st, *venue, &symbol, now) {
                out.extend(tick_frame(*venue, sub, &t));
            }
        }
        out
    }

    /// Binance `{"method": "SUBSCRIBE" | "UNSUBSCRIBE" | "LIST_SUBSCRIPTIONS", "params", "id"}`.
    fn binance_market_request(&mut self, v: &Value) -> Vec<String> {
        let id = v.get("id").cloned().unwrap_or(Value::Null);
        let Proto::Market { venue, subs } = &mut self.proto else {
            return Vec::new();
        };
        let venue = *venue;
        let names: Vec<String> = v
            .get("params")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(as_text).collect())
            .unwrap_or_default();
        match v.get("method").and_then(Value::as_str).unwrap_or("") {
            "SUBSCRIBE" => {
                if let Some(bad) = names
                    .iter()
                    .find(|n| !valid_binance_stream(&self.sim, venue, n))
                {
                    return vec![json!({"error": {"code": 2, "msg": format!("Invalid request: unknown stream {bad}")}, "id": id}).to_string()];
                }
                let new: Vec<String> = names.into_iter().filter(|n| !subs.contains(n)).collect();
                subs.extend(new.iter().cloned());
                let mut out = vec![json!({"result": null, "id": id}).to_string()];
                out.extend(self.snapshots(&new));
                out
            }
            "UNSUBSCRIBE" => {
                subs.retain(|s| !names.contains(s));
                vec![json!({"result": null, "id": id}).to_string()]
            }
            "LIST_SUBSCRIPTIONS" => vec![json!({"result": subs, "id": id}).to_string()],
            _ => vec![
                json!({"error": {"code": 2, "msg": "Invalid request: unknown method"}, "id": id})
                    .to_string(),
            ],
        }
    }

    /// Bybit public `{"req_id", "op": "subscribe" | "unsubscribe" | "ping", "args"}`.
    fn bybit_public_request(&mut self, v: &Value) -> Vec<String> {
        let op = v
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let req_id = v.get("req_id").cloned().unwrap_or(Value::Null);
        let conn_id = format!("sim-public-{}", self.sim.now_ms());
        let Proto::Market { venue, subs } = &mut self.proto else {
            return Vec::new();
        };
        let venue = *venue;
        let reply = |ok: bool, msg: &str| {
            json!({"success": ok, "ret_msg": msg, "conn_id": conn_id, "req_id": req_id, "op": op})
                .to_string()
        };
        let topics: Vec<String> = v
            .get("args")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(as_text).collect())
            .unwrap_or_default();
        match op.as_str() {
            "ping" => vec![reply(true, "pong")],
            "subscribe" => {
                if let Some(bad) = topics
                    .iter()
                    .find(|t| !valid_bybit_topic(&self.sim, venue, t))
                {
                    return vec![reply(false, &format!("Invalid topic: {bad}"))];
                }
                let new: Vec<String> = topics.into_iter().filter(|t| !subs.contains(t)).collect();
                subs.extend(new.iter().cloned());
                let mut out = vec![reply(true, "subscribe")];
                out.extend(self.snapshots(&new));
                out
            }
            "unsubscribe" => {
                subs.retain(|s| !topics.contains(s));
                vec![reply(true, "")]
            }
            _ => vec![reply(false, &format!("error:unknown op {op}"))],
        }
    }
}
