//! Exchange WebSocket streams, sans-IO: what a frame means ([`StreamEvent`]) and how to open a
//! stream ([`StreamPlan`]), per venue behind one trait ([`StreamVenue`]), so the account's Durable
//! Object only moves frames.
//!
//! Why the events reuse the REST types: a fill seen on the stream must be booked through the same
//! path as the same fill seen by a REST poll, exactly once whichever arrives first. So a stream
//! execution is a [`Fill`] with the exchange's trade id (the ledger dedupes on it), an order update
//! is an [`OrderReport`], an algo trigger's change a [`TriggerReport`].
//!
//! Funding is different: the stream only says *that* funding was paid (Binance `ACCOUNT_UPDATE`
//! `FUNDING_FEE` carries no income id), so it is a [`StreamEvent::FundingHint`] that asks for the
//! REST funding walk now; the walk books it with its id, once.

use crate::ids::Symbol;
use crate::model::{Exchange, Fill, Market};
use crate::venue::endpoints::Environment;
use crate::venue::error::VenueError;
use crate::venue::op::{Kline, OrderReport, TriggerReport};
use crate::venue::sign::Credentials;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Which stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Channel {
    /// The account's private events (orders, executions, funding).
    User {
        /// Binance USDⓈ-M's listenKey (from `POST /fapi/v1/listenKey`); other venues sign the
        /// connection instead.
        #[serde(default)]
        listen_key: Option<String>,
    },
    /// Public prices (and klines) for some symbols.
    Market {
        /// Symbols.
        symbols: Vec<Symbol>,
        /// Kline interval to stream as well (the venue's label, e.g. `1m` / `1`), if any.
        #[serde(default)]
        kline_interval: Option<String>,
    },
}

/// How to open a stream: the URL, the frames to send once it is open (auth, subscribe), and its
/// heartbeat and lifetime rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPlan {
    /// `wss://…` URL.
    pub url: String,
    /// Text frames to send, in order, after the socket opens.
    pub open_frames: Vec<String>,
    /// Send [`StreamVenue::ping_frame`] this often (0: the server pings and the runtime pongs).
    pub ping_every_ms: i64,
    /// Reconnect before the server's forced disconnect (24 h on both exchanges).
    pub max_life_ms: i64,
    /// A listenKey must be fetched (REST) before this plan can be built.
    pub needs_listen_key: bool,
    /// Renew the listenKey this often (REST keepalive); 0 when there is none.
    pub keepalive_every_ms: i64,
}

/// Best bid/ask and/or mark price of a symbol, from a market stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceUpdate {
    /// Symbol.
    pub symbol: Symbol,
    /// Best bid.
    pub bid: Option<Decimal>,
    /// Best ask.
    pub ask: Option<Decimal>,
    /// Mark price (linear).
    pub mark: Option<Decimal>,
    /// Last traded price, when the message has it.
    pub last: Option<Decimal>,
    /// Exchange time of the update, ms (0 when the message has none, e.g. Binance spot
    /// `bookTicker`: the receiver stamps it).
    pub time_ms: i64,
}

/// What the session learns about itself from a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum SessionSignal {
    /// The subscription (or auth + subscription) was accepted: the stream is live.
    Subscribed,
    /// Authentication accepted (Bybit).
    Authenticated,
    /// The exchange refused auth or a subscription: reconnecting will not help until fixed.
    Refused {
        /// The exchange's words.
        reason: String,
    },
    /// An answer to our ping.
    Pong,
    /// The exchange will close the connection (Binance `serverShutdown`): reconnect now.
    ServerShutdown,
    /// The subscription ended (Binance `eventStreamTerminated`).
    Terminated,
    /// Binance USDⓈ-M `listenKeyExpired`: no more events until a new key is used.
    ListenKeyExpired,
}

/// One meaning of a frame. A frame can carry several (a Binance execution report is both an
/// order update and, for a trade, a fill).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StreamEvent {
    /// An order's state: reconcile it with the order record (same as a REST order query).
    Order(OrderReport),
    /// One execution: booked like a REST trade (deduped by trade id).
    Fill(Fill),
    /// An exchange-side trigger (Binance algo order) changed state.
    Trigger(TriggerReport),
    /// Funding was paid or received: run the REST funding walk now (it books with ids).
    FundingHint {
        /// Settlement asset.
        asset: String,
        /// Balance change (positive received), as the stream says it.
        amount: Decimal,
        /// Event time, ms.
        time_ms: i64,
    },
    /// A price.
    Price(PriceUpdate),
    /// A kline (updating, or closed when `closed`).
    Kline {
        /// Symbol.
        symbol: Symbol,
        /// The venue's interval label.
        interval: String,
        /// The candle.
        kline: Kline,
        /// Final for its interval.
        closed: bool,
    },
    /// About the connection itself.
    Session(SessionSignal),
    /// A frame Keel does not use (balance snapshots, position pushes…), named for the metrics.
    Ignored {
        /// Its type as the exchange names it.
        kind: String,
    },
}

/// A venue's streams.
pub trait StreamVenue {
    /// How to open `channel` on the stream host `base` (`wss://…`, or the simulator's `ws://…`)
    /// at `now_ms` on the exchange's clock (signing uses the credentials).
    ///
    /// # Errors
    /// [`VenueError`] when the channel cannot be opened (a user stream without credentials, a
    /// USDⓈ-M user stream without its listenKey).
    fn stream_plan(
        &self,
        channel: &Channel,
        base: &str,
        creds: Option<&Credentials>,
        now_ms: i64,
    ) -> Result<StreamPlan, VenueError>;

    /// Parses one text frame of `channel`.
    ///
    /// # Errors
    /// [`VenueError::Parse`] for a frame that is not the exchange's JSON; the session counts it
    /// and goes on (one bad frame does not drop the stream).
    fn parse_frame(&self, channel: &Channel, text: &str) -> Result<Vec<StreamEvent>, VenueError>;

    /// The application-level ping to send every [`StreamPlan::ping_every_ms`] (`None` when the
    /// protocol uses WebSocket ping frames only).
    fn ping_frame(&self, now_ms: i64) -> Option<String>;
}

/// Stream hosts per exchange, market, channel kind (user or market) and environment
/// (docs/exchanges.md; the simulator's are its own `ws://` base).
pub fn default_stream_base(
    exchange: Exchange,
    market: Market,
    user: bool,
    env: Environment,
) -> &'static str {
    use Environment::{Demo, Live, Testnet};
    match (exchange, market, user, env) {
        (Exchange::Binance, Market::Spot, true, Live | Demo) => "wss://ws-api.binance.com:443",
        (Exchange::Binance, Market::Spot, true, Testnet) => "wss://ws-api.testnet.binance.vision",
        (Exchange::Binance, Market::Spot, false, Live | Demo) => "wss://stream.binance.com:443",
        (Exchange::Binance, Market::Spot, false, Testnet) => "wss://stream.testnet.binance.vision",
        (Exchange::Binance, Market::Linear, _, Live | Demo) => "wss://fstream.binance.com",
        (Exchange::Binance, Market::Linear, _, Testnet) => "wss://fstream.binancefuture.com",
        (Exchange::Bybit, _, _, Live | Demo) => "wss://stream.bybit.com",
        (Exchange::Bybit, _, _, Testnet) => "wss://stream-testnet.bybit.com",
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::venue::binance::stream::BinanceStream;
    use crate::venue::bybit::stream::BybitStream;
    use proptest::prelude::*;

    /// Real frames with one field's value replaced: the parsers' deepest paths.
    const TEMPLATES: &[&str] = &[
        r#"{"subscriptionId":0,"event":{"e":"executionReport","s":"BTCUSDT","c":"kabc","S":"BUY","q":"1","p":"2","x":"TRADE","X":"FILLED","i":1,"l":"1","z":"1","L":"2","n":"0","N":"BNB","T":1,"t":5,"m":false,"Z":"2"}}"#,
        r#"{"e":"ORDER_TRADE_UPDATE","E":1,"T":1,"o":{"s":"BTCUSDT","c":"k1","S":"SELL","q":"1","p":"0","ap":"3","x":"TRADE","X":"FILLED","i":2,"l":"1","z":"1","L":"3","N":"USDT","n":"0.1","T":1,"t":9,"m":true}}"#,
        r#"{"e":"ALGO_UPDATE","T":1,"E":1,"o":{"caid":"k-sl","aid":3,"X":"TRIGGERED","ai":"4"}}"#,
        r#"{"e":"ACCOUNT_UPDATE","T":1,"a":{"m":"FUNDING_FEE","B":[{"a":"USDT","bc":"-1"}]}}"#,
        r#"{"topic":"execution","data":[{"symbol":"BTCUSDT","orderId":"o","orderLinkId":"k","side":"Buy","execPrice":"1","execQty":"1","execFee":"0","feeCurrency":"USDT","execId":"e","execType":"Trade","execTime":"1","isMaker":false}]}"#,
        r#"{"topic":"order","data":[{"orderId":"o","orderLinkId":"k","symbol":"BTCUSDT","price":"1","qty":"1","side":"Buy","orderStatus":"New","cumExecQty":"0","cumExecValue":"0","updatedTime":"1"}]}"#,
        r#"{"topic":"kline.1.BTCUSDT","data":[{"start":1,"open":"1","high":"1","low":"1","close":"1","volume":"1","confirm":true}]}"#,
        r#"{"stream":"btcusdt@bookTicker","data":{"s":"BTCUSDT","b":"1","a":"2"}}"#,
    ];

    proptest! {
        #![proptest_config(crate::prop_seed::config(3000))]

        /// Arbitrary Unicode, and real frames with a value replaced by arbitrary text, never
        /// panic either parser: they answer events or a parse error.
        #[test]
        fn no_frame_panics_a_parser(text in "\\PC*", pick in 0_usize..8, cut in 0_usize..400, value in "\\PC{0,12}") {
            let channels = [Channel::User { listen_key: None }, Channel::Market { symbols: vec![], kline_interval: None }];
            let venues: Vec<Box<dyn StreamVenue>> = vec![
                Box::new(BinanceStream { market: Market::Spot }),
                Box::new(BinanceStream { market: Market::Linear }),
                Box::new(BybitStream { market: Market::Linear }),
            ];
            let template = TEMPLATES[pick];
            // Replace the quoted value after the `cut`-th character boundary with `value`.
            let at = template.char_indices().map(|(i, _)| i).nth(cut % template.chars().count()).unwrap_or(0);
            let mutated = match template[at..].find('"') {
                Some(q) => {
                    let start = at + q + 1;
                    let end = template[start..].find('"').map_or(start, |e| start + e);
                    format!("{}{}{}", &template[..start], value.replace('"', "'"), &template[end..])
                }
                None => template.to_string(),
            };
            for v in &venues {
                for c in &channels {
                    let _ = v.parse_frame(c, &text);
                    let _ = v.parse_frame(c, &mutated);
                }
            }
        }
    }
}
