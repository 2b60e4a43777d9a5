//! User-data streams (issue 25): what the simulator pushes when an order changes or fills, the
//! per-account broadcast that carries it to the WebSocket connections (the `ws` module), USDⓈ-M
//! listenKeys, and the stream faults (drop every connection, stall, duplicate, reorder).
//!
//! Why it is rendered here, from the matching engine's own records: the matching engine records
//! each order change in [`State::outbox`]; [`crate::Sim::publish`] drains it under the state lock
//! and renders it with the REST renderers' values (same trade ids, prices, quantities, fees), so a
//! client that reads a fill from the stream and from REST books the same numbers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::binance::{by_step, fixed, side_str, status_str, tif_str};
use crate::conditional::{Conditional, ExitKind, TriggerStatus};
use crate::config::Venue;
use crate::http::{Req, Resp};
use crate::model::{OrdType, OrderChange, Side, Status};
use crate::state::State;
use crate::{lock, Sim};
use rust_decimal::Decimal;

/// A USDⓈ-M listenKey lives 60 minutes from its creation or last keepalive.
pub const LISTEN_KEY_LIFE_MS: i64 = 60 * 60_000;
/// Events a connection may fall behind by before it is dropped (a slow consumer is cut, as the
/// exchanges do).
const BACKLOG: usize = 4096;

/// Which protocol a pushed event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// Binance Spot `executionReport` (WebSocket API subscription).
    BinanceSpot,
    /// Binance USDⓈ-M `ORDER_TRADE_UPDATE` (listenKey stream).
    BinanceFutures,
    /// Bybit `order` topic.
    BybitOrder,
    /// Bybit `execution` topic.
    BybitExecution,
}

/// An instrument's prices after a change, for the market-data streams.
#[derive(Clone, Debug)]
pub struct Tick {
    /// Market.
    pub venue: Venue,
    /// Symbol.
    pub symbol: String,
    /// Best bid (the price a taker sells at).
    pub bid: Decimal,
    /// Best ask (the price a taker buys at).
    pub ask: Decimal,
    /// Last / mark price.
    pub price: Decimal,
    /// Tick size (Binance renders prices with its decimals).
    pub tick_size: Decimal,
    /// Funding rate (USDⓈ-M mark price events).
    pub funding_rate: Decimal,
    /// Server time, ms.
    pub time_ms: i64,
}

/// The current prices of an instrument, if it exists.
pub fn tick_of(st: &State, venue: Venue, symbol: &str, now: i64) -> Option<Tick> {
    let inst = st.instrument(venue, symbol)?;
    Some(Tick {
        venue,
        symbol: symbol.to_string(),
        bid: st.taker_price(venue, symbol, Side::Sell)?,
        ask: st.taker_price(venue, symbol, Side::Buy)?,
        price: inst.price,
        tick_size: inst.cfg.tick_size,
        funding_rate: inst.funding_rate,
        time_ms: now,
    })
}

/// Instruments whose price changed since last pushed (admin price, random walk, klines load).
pub fn price_updates(st: &mut State, now: i64) -> Vec<Tick> {
    let changed: Vec<(Venue, String, Decimal)> = st
        .instruments
        .iter()
        .filter(|(k, i)| st.prices_pushed.get(k) != Some(&i.price))
        .map(|((v, s), i)| (*v, s.clone(), i.price))
        .collect();
    let mut out = Vec::new();
    for (venue, symbol, price) in changed {
        st.prices_pushed.insert((venue, symbol.clone()), price);
        out.extend(tick_of(st, venue, &symbol, now));
    }
    out
}

/// One event for an account's connections.
#[derive(Clone, Debug)]
pub struct Push {
    /// Protocol and topic.
    pub feed: Feed,
    /// Bybit category (`spot` / `linear`) for `topic.category` subscriptions; empty on Binance.
    pub category: &'static str,
    /// The message (Binance Spot connections wrap it in their subscription envelope).
    pub message: Value,
}

#[derive(Clone, Debug)]
struct ListenKey {
    account: usize,
    expires_ms: i64,
}

/// The streams' shared state: one broadcast per account, listenKeys and armed faults.
#[derive(Debug)]
pub struct Hub {
    accounts: Mutex<BTreeMap<usize, broadcast::Sender<Push>>>,
    market: broadcast::Sender<Tick>,
    listen_keys: Mutex<BTreeMap<String, ListenKey>>,
    keys_changed: watch::Sender<u64>,
    drops: watch::Sender<u64>,
    shutdowns: watch::Sender<u64>,
    stall_until: Mutex<Option<Instant>>,
    duplicate: AtomicU64,
    reorder: AtomicU64,
    held: Mutex<BTreeMap<usize, Push>>,
    next_key: AtomicU64,
    /// Open WebSocket connections (a gauge for the admin API).
    pub connections: AtomicU64,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            accounts: Mutex::new(BTreeMap::new()),
            market: broadcast::channel(BACKLOG).0,
            listen_keys: Mutex::new(BTreeMap::new()),
            keys_changed: watch::Sender::new(0),
            drops: watch::Sender::new(0),
            shutdowns: watch::Sender::new(0),
            stall_until: Mutex::new(None),
            duplicate: AtomicU64::new(0),
            reorder: AtomicU64::new(0),
            held: Mutex::new(BTreeMap::new()),
            next_key: AtomicU64::new(1),
            connections: AtomicU64::new(0),
        }
    }
}

impl Hub {
    fn sender(&self, account: usize) -> broadcast::Sender<Push> {
        lock(&self.accounts)
            .entry(account)
            .or_insert_with(|| broadcast::channel(BACKLOG).0)
            .clone()
    }

    /// A receiver of everything pushed for `account` from now on.
    pub fn subscribe(&self, account: usize) -> broadcast::Receiver<Push> {
        self.sender(account).subscribe()
    }

    /// Sends one event to the account's connections (twice while the duplicate fault is armed;
    /// held back and sent after the account's next event while the reorder fault is armed).
    pub fn publish(&self, account: usize, push: Push) {
        let tx = self.sender(account);
        let mut held = lock(&self.held);
        if let Some(earlier) = held.remove(&account) {
            self.send(&tx, push);
            self.send(&tx, earlier);
            return;
        }
        let swap = self
            .reorder
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if swap {
            held.insert(account, push);
            return;
        }
        drop(held);
        self.send(&tx, push);
    }

    fn send(&self, tx: &broadcast::Sender<Push>, push: Push) {
        let dup = self
            .duplicate
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if dup {
            let _ = tx.send(push.clone());
        }
        // No connection listening is not an error: the event is on REST anyway.
        let _ = tx.send(push);
    }

    /// Fault: the next `n` events each swap places with the account's event after them.
    pub fn reorder_next(&self, n: u64) {
        self.reorder.store(n, Ordering::SeqCst);
    }

    /// Receives every price change from now on (market-data connections).
    pub fn market(&self) -> broadcast::Receiver<Tick> {
        self.market.subscribe()
    }

    /// Sends a price change to the market-data connections (none listening is fine).
    pub fn publish_tick(&self, tick: Tick) {
        let _ = self.market.send(tick);
    }

    /// Fault: closes every stream connection without a close frame.
    pub fn drop_all(&self) {
        self.drops.send_modify(|g| *g += 1);
    }

    /// Fault: no connection pushes anything for `ms` (events wait, in order).
    pub fn stall(&self, ms: u64) {
        *lock(&self.stall_until) = Some(Instant::now() + std::time::Duration::from_millis(ms));
    }

    /// Fault: the next `n` events are pushed twice.
    pub fn duplicate_next(&self, n: u64) {
        self.duplicate.store(n, Ordering::SeqCst);
    }

    /// Fault: a planned server shutdown: Binance Spot WebSocket API connections get
    /// `serverShutdown`, then every stream connection is closed with a close frame.
    pub fn shutdown_all(&self) {
        self.shutdowns.send_modify(|g| *g += 1);
    }

    /// Watches the shutdown fault (a change = announce and close now).
    pub fn shutdowns(&self) -> watch::Receiver<u64> {
        self.shutdowns.subscribe()
    }

    /// Watches the drop fault (a change = drop now).
    pub fn drops(&self) -> watch::Receiver<u64> {
        self.drops.subscribe()
    }

    /// Watches listenKey deletions and expiries forced over the admin API.
    pub fn keys_changed(&self) -> watch::Receiver<u64> {
        self.keys_changed.subscribe()
    }

    /// Waits out an armed stall.
    pub async fn stall_wait(&self) {
        let until = *lock(&self.stall_until);
        if let Some(t) = until {
            tokio::time::sleep_until(t).await;
        }
    }

    /// `POST /fapi/v1/listenKey`: the account's active key, extended, or a new one.
    pub fn create_key(&self, account: usize, now_ms: i64) -> String {
        let mut keys = lock(&self.listen_keys);
        let expires_ms = now_ms.saturating_add(LISTEN_KEY_LIFE_MS);
        if let Some((k, v)) = keys
            .iter_mut()
            .find(|(_, v)| v.account == account && v.expires_ms > now_ms)
        {
            v.expires_ms = expires_ms;
            return k.clone();
        }
        let n = self.next_key.fetch_add(1, Ordering::SeqCst);
        let key = crate::auth::hmac_hex("sim-listen-key", &format!("{account}:{n}:{now_ms}"));
        keys.insert(
            key.clone(),
            ListenKey {
                account,
                expires_ms,
            },
        );
        key
    }

    /// The account's live key (or the named one, which must be the account's), if any.
    fn live_key(&self, account: usize, named: Option<&str>, now_ms: i64) -> Option<String> {
        lock(&self.listen_keys)
            .iter()
            .find(|(k, v)| {
                v.account == account
                    && v.expires_ms > now_ms
                    && named.is_none_or(|n| n == k.as_str())
            })
            .map(|(k, _)| k.clone())
    }

    /// `PUT /fapi/v1/listenKey`: extends the key 60 minutes; `None` when there is none (-1125).
    pub fn keepalive(&self, account: usize, named: Option<&str>, now_ms: i64) -> Option<String> {
        let key = self.live_key(account, named, now_ms)?;
        if let Some(v) = lock(&self.listen_keys).get_mut(&key) {
            v.expires_ms = now_ms.saturating_add(LISTEN_KEY_LIFE_MS);
        }
        Some(key)
    }

    /// `DELETE /fapi/v1/listenKey`: invalidates the key; false when there is none.
    pub fn close_key(&self, account: usize, named: Option<&str>, now_ms: i64) -> bool {
        let Some(key) = self.live_key(account, named, now_ms) else {
            return false;
        };
        lock(&self.listen_keys).remove(&key);
        self.keys_changed.send_modify(|g| *g += 1);
        true
    }

    /// Fault: every listenKey expires now.
    pub fn expire_keys(&self) {
        lock(&self.listen_keys).clear();
        self.keys_changed.send_modify(|g| *g += 1);
    }

    /// The account and expiry of a live key.
    pub fn key_owner(&self, key: &str, now_ms: i64) -> Option<(usize, i64)> {
        lock(&self.listen_keys)
            .get(key)
            .filter(|v| v.expires_ms > now_ms)
            .map(|v| (v.account, v.expires_ms))
    }

    /// Live listenKeys (admin gauge).
    pub fn key_count(&self, now_ms: i64) -> usize {
        lock(&self.listen_keys)
            .values()
            .filter(|v| v.expires_ms > now_ms)
            .count()
    }
}

/// Binance's execution type of a change.
fn exec_type(ch: &OrderChange) -> &'static str {
    if ch.trade.is_some() {
        return "TRADE";
    }
    match ch.order.status {
        Status::Canceled => "CANCELED",
        Status::Expired => "EXPIRED",
        _ => "NEW",
    }
}

fn futures_event(st: &State, ch: &OrderChange, now: i64) -> Value {
    let o = &ch.order;
    let (tick, step) = st
        .instrument(o.venue, &o.symbol)
        .map(|i| (i.cfg.tick_size, i.cfg.step_size))
        .unwrap_or_default();
    let typ = if o.kind == OrdType::Market {
        "MARKET"
    } else {
        "LIMIT"
    };
    let mut e = json!({"s": o.symbol, "c": o.client_id, "S": side_str(o.side), "o": typ, "f": tif_str(o.tif),
        "q": by_step(o.orig_qty, step), "p": if o.kind == OrdType::Market { "0".to_string() } else { by_step(o.price, tick) },
        "ap": fixed(o.avg_price(), 5), "sp": "0", "x": exec_type(ch), "X": status_str(o.status), "i": o.id,
        "l": "0", "z": by_step(o.executed_qty, step), "L": "0", "T": o.update_time, "t": 0,
        "b": "0", "a": "0", "m": false, "R": o.reduce_only, "wt": "CONTRACT_PRICE", "ot": typ, "ps": "BOTH",
        "cp": false, "rp": "0", "pP": false, "si": 0, "ss": 0, "V": "EXPIRE_MAKER", "pm": "NONE", "gtd": 0});
    if let Some(t) = &ch.trade {
        e["l"] = json!(by_step(t.qty, step));
        e["L"] = json!(by_step(t.price, tick));
        e["N"] = json!(t.commission_asset);
        e["n"] = json!(fixed(t.commission, 8));
        e["T"] = json!(t.time);
        e["t"] = json!(t.id);
        e["m"] = json!(t.is_maker);
        e["rp"] = json!(fixed(t.realized_pnl, 8));
    }
    let time = ch.trade.as_ref().map_or(o.update_time, |t| t.time);
    json!({"e": "ORDER_TRADE_UPDATE", "E": now, "T": time, "o": e})
}

fn spot_event(ch: &OrderChange, now: i64) -> Value {
    let o = &ch.order;
    let typ = match (o.kind, o.limit_maker) {
        (OrdType::Market, _) => "MARKET",
        (OrdType::Limit, true) => "LIMIT_MAKER",
        (OrdType::Limit, false) => "LIMIT",
    };
    // A cancel's report names the cancel request in `c` and the order in `C`, as Binance does.
    let (c, orig) = if o.status == Status::Canceled {
        (format!("simcancel{}", o.id), o.client_id.clone())
    } else {
        (o.client_id.clone(), String::new())
    };
    let mut e = json!({"e": "executionReport", "E": now, "s": o.symbol, "c": c, "S": side_str(o.side), "o": typ,
        "f": if o.kind == OrdType::Market { "GTC" } else { tif_str(o.tif) }, "q": fixed(o.orig_qty, 8),
        "p": fixed(if o.kind == OrdType::Market { Decimal::ZERO } else { o.price }, 8),
        "P": "0.00000000", "F": "0.00000000", "g": -1, "C": orig, "x": exec_type(ch), "X": status_str(o.status),
        "r": "NONE", "i": o.id, "l": "0.00000000", "z": fixed(o.executed_qty, 8), "L": "0.00000000", "n": "0",
        "N": null, "T": o.update_time, "t": -1, "I": 0, "w": o.status.is_open(), "m": false, "M": false,
        "O": o.time, "Z": fixed(o.cum_quote, 8), "Y": "0.00000000", "Q": fixed(o.quote_qty, 8), "W": o.time,
        "V": "EXPIRE_MAKER"});
    if let Some(t) = &ch.trade {
        e["l"] = json!(fixed(t.qty, 8));
        e["L"] = json!(fixed(t.price, 8));
        e["n"] = json!(fixed(t.commission, 8));
        e["N"] = json!(t.commission_asset);
        e["T"] = json!(t.time);
        e["t"] = json!(t.id);
        e["m"] = json!(t.is_maker);
        e["M"] = json!(true);
        e["Y"] = json!(fixed(t.quote_qty, 8));
    }
    e
}

/// The events one order change pushes (Bybit: the `order` row, then the `execution` row).
pub fn render(st: &State, ch: &OrderChange, now: i64) -> Vec<Push> {
    let push = |feed, category, message| Push {
        feed,
        category,
        message,
    };
    match ch.order.venue {
        Venue::BinanceFutures => vec![push(Feed::BinanceFutures, "", futures_event(st, ch, now))],
        Venue::BinanceSpot => vec![push(Feed::BinanceSpot, "", spot_event(ch, now))],
        Venue::BybitSpot | Venue::BybitLinear => {
            let category = if ch.order.venue == Venue::BybitSpot {
                "spot"
            } else {
                "linear"
            };
            let mut row = crate::bybit_trade::order_json(st, &ch.order);
            row["category"] = json!(category);
            let mut out = vec![push(
                Feed::BybitOrder,
                category,
                json!({"id": format!("sim-order-{}-{}", ch.order.id, ch.order.update_time), "topic": "order",
                    "creationTime": now, "data": [row]}),
            )];
            if let Some(t) = &ch.trade {
                let mut row = crate::bybit_trade::execution_row(st, ch.order.venue, t);
                row["category"] = json!(category);
                out.push(push(
                    Feed::BybitExecution,
                    category,
                    json!({"id": format!("sim-exec-{}", t.id), "topic": "execution", "creationTime": now, "data": [row]}),
                ));
            }
            out
        }
    }
}

/// Binance USDⓈ-M triggers (algo orders) whose state changed since last pushed, as
/// `ALGO_UPDATE` events (statuses as `GET /fapi/v1/algoOrder` reports them: `NEW`, `FINISHED`
/// once fired, with `ai` = the close order, `CANCELED`), with the accounts they belong to.
pub fn trigger_updates(st: &mut State, now: i64) -> Vec<(usize, Push)> {
    let changed: Vec<Conditional> = st
        .conditionals
        .iter()
        .filter(|c| c.venue == Venue::BinanceFutures)
        .filter(|c| st.triggers_pushed.get(&c.id) != Some(&c.status))
        .cloned()
        .collect();
    let mut out = Vec::new();
    for c in changed {
        st.triggers_pushed.insert(c.id, c.status);
        let status = match c.status {
            TriggerStatus::Untriggered => "NEW",
            TriggerStatus::Triggered => "FINISHED",
            TriggerStatus::Deactivated => "CANCELED",
        };
        let order_type = match c.kind {
            ExitKind::StopLoss => "STOP_MARKET",
            ExitKind::TakeProfit => "TAKE_PROFIT_MARKET",
        };
        let close = c.order_id.and_then(|o| st.order(o));
        let (avg, filled) = close.map_or((Decimal::ZERO, Decimal::ZERO), |o| {
            (o.avg_price(), o.executed_qty)
        });
        let message = json!({"e": "ALGO_UPDATE", "T": now, "E": now, "o": {"caid": c.client_id, "aid": c.id,
            "at": "CONDITIONAL", "o": order_type, "s": c.symbol, "S": side_str(c.close_side), "ps": "BOTH", "f": "GTC",
            "q": "0", "X": status, "ai": c.order_id.map(|o| o.to_string()).unwrap_or_default(),
            "ap": avg.normalize().to_string(), "aq": filled.normalize().to_string(), "act": "0",
            "tp": c.trigger.normalize().to_string(), "p": "0", "V": "EXPIRE_MAKER", "wt": "MARK_PRICE",
            "pm": "NONE", "cp": true, "pP": false, "R": true, "tt": 0, "gtd": 0}});
        out.push((
            c.account,
            Push {
                feed: Feed::BinanceFutures,
                category: "",
                message,
            },
        ));
    }
    out
}

/// Funding settled since last pushed: Binance USDⓈ-M `ACCOUNT_UPDATE` (`m` = `FUNDING_FEE`,
/// `bc` = the `FUNDING_FEE` income row's amount), Bybit linear an `execution` row with
/// `execType` `Funding` (the same row `execution/list` serves), with the accounts they belong to.
pub fn funding_updates(st: &mut State, now: i64) -> Vec<(usize, Push)> {
    let start = st.income_pushed.min(st.income.len());
    st.income_pushed = st.income.len();
    let mut out = Vec::new();
    for i in st.income.get(start..).unwrap_or_default() {
        let push = match (i.venue, i.kind) {
            (Venue::BinanceFutures, "FUNDING_FEE") => Push {
                feed: Feed::BinanceFutures,
                category: "",
                message: json!({"e": "ACCOUNT_UPDATE", "E": now, "T": i.time, "a": {"m": "FUNDING_FEE",
                    "B": [{"a": i.asset, "wb": fixed(i.balance_after, 8), "cw": fixed(i.balance_after, 8),
                           "bc": fixed(i.income, 8)}], "P": []}}),
            },
            (Venue::BybitLinear, "SETTLEMENT") => {
                let mut row = crate::bybit_trade::funding_execution(i);
                row["category"] = json!("linear");
                Push {
                    feed: Feed::BybitExecution,
                    category: "linear",
                    message: json!({"id": format!("sim-funding-{}", i.tran_id), "topic": "execution",
                        "creationTime": now, "data": [row]}),
                }
            }
            _ => continue,
        };
        out.push((i.account, push));
    }
    out
}

/// `POST`/`PUT`/`DELETE /fapi/v1/listenKey`: API-key auth (no signature), weight 1; `-1125`
/// when there is no live key to extend or close.
pub fn listen_key(sim: &Sim, req: &Req) -> Resp {
    let ep = crate::binance::Endpoint {
        futures: true,
        weight: 1,
        signed: false,
    };
    crate::binance::run(sim, req, ep, |st, _, p, now| {
        let Some(key) = req.header("x-mbx-apikey") else {
            return crate::binance::err(401, -2014, "API-key format invalid.");
        };
        let account = st.account_by_key(key).filter(|a| {
            st.accounts
                .get(*a)
                .is_some_and(|x| x.cfg.exchange == crate::config::Exchange::Binance)
        });
        let Some(account) = account else {
            return crate::binance::err(
                401,
                -2015,
                "Invalid API-key, IP, or permissions for action.",
            );
        };
        let named = p.get("listenKey");
        let missing = || crate::binance::err(400, -1125, "This listenKey does not exist.");
        match req.method.as_str() {
            "POST" => Resp::json(
                200,
                &json!({"listenKey": sim.streams.create_key(account, now)}),
            ),
            "PUT" => match sim.streams.keepalive(account, named, now) {
                Some(k) => Resp::json(200, &json!({"listenKey": k})),
                None => missing(),
            },
            _ => {
                if sim.streams.close_key(account, named, now) {
                    Resp::json(200, &json!({}))
                } else {
                    missing()
                }
            }
        }
    })
}

/// Admin: `GET /__admin/streams` (connections, live listenKeys) and `POST /__admin/streams`
/// with `{"action": "drop"}`, `{"action": "shutdown"}`, `{"action": "stall", "ms": N}`, `{"action": "duplicate",
/// "count": N}`, `{"action": "reorder", "count": N}` or `{"action": "expire_listen_keys"}`.
pub fn admin(sim: &Sim, req: &Req) -> Resp {
    let now = sim.now_ms();
    if req.method == "GET" {
        return Resp::json(
            200,
            &json!({"connections": sim.streams.connections.load(Ordering::SeqCst),
                "listen_keys": sim.streams.key_count(now)}),
        );
    }
    let b: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
    let n = |k: &str| b.get(k).and_then(Value::as_u64);
    match (b.get("action").and_then(Value::as_str), n("ms"), n("count")) {
        (Some("drop"), _, _) => sim.streams.drop_all(),
        (Some("shutdown"), _, _) => sim.streams.shutdown_all(),
        (Some("stall"), Some(ms), _) => sim.streams.stall(ms),
        (Some("duplicate"), _, Some(count)) => sim.streams.duplicate_next(count),
        (Some("reorder"), _, Some(count)) => sim.streams.reorder_next(count),
        (Some("expire_listen_keys"), _, _) => sim.streams.expire_keys(),
        _ => {
            return Resp::json(
                400,
                &json!({"error": "body must be {\"action\": \"drop\" | \"shutdown\"}, {\"action\": \"stall\", \"ms\": N}, {\"action\": \"duplicate\" | \"reorder\", \"count\": N} or {\"action\": \"expire_listen_keys\"}"}),
            )
        }
    }
    Resp::json(200, &json!({"ok": true}))
}
