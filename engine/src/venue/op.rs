//! What a caller can ask of a venue ([`VenueOp`]) and what it gets back ([`VenueReply`]), in
//! Keel's own vocabulary. Every adapter accepts the same operations and returns the same reply
//! types, so the bot engine never learns an exchange's spelling.

use crate::ids::{ClientOrderId, Symbol};
use crate::market::{Bar, Timeframe};
use crate::model::{Fill, InstrumentRules, OrderRequest, Side};
use crate::venue::rules::round_price;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One operation against an exchange account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum VenueOp {
    /// Place an order (its client order id makes a retry safe).
    PlaceOrder(OrderRequest),
    /// Place an entry order that carries its own exchange-side stop-loss / take-profit, so the
    /// protection lives on the exchange and survives our outage (Bybit `stopLoss`/`takeProfit`
    /// on create). Venues that cannot attach protection to the entry refuse it as unsupported;
    /// they protect after the fill instead.
    PlaceProtectedOrder {
        /// The entry order.
        order: OrderRequest,
        /// Trigger prices, already rounded to tick.
        protection: Protection,
    },
    /// Place an exchange-side exit trigger that closes the whole position when the mark price
    /// crosses it (Binance USDⓈ-M conditional `STOP_MARKET` / `TAKE_PROFIT_MARKET` with
    /// `closePosition`), after the entry filled. Venues without such an order refuse it.
    PlaceExitTrigger(ExitTrigger),
    /// Place a one-cancels-the-other exit pair for a spot holding after its entry filled
    /// (Binance spot `POST /api/v3/orderList/oco`): a take-profit limit-maker and a stop-loss;
    /// the exchange cancels one when the other fills. Other venues refuse it.
    PlaceOcoExit(OcoExit),
    /// Cancel one of the bot's own resting exits before a close, so it neither locks the
    /// holding a spot close must sell nor outlives the position: Binance spot the whole OCO list
    /// (`DELETE /api/v3/orderList`), Binance USDⓈ-M the algo trigger (`DELETE
    /// /fapi/v1/algoOrder`, which cancel-all-open-orders does not touch), Bybit spot the TP/SL
    /// order (`orderFilter=tpslOrder`). An exit already gone answers
    /// [`crate::venue::VenueError::UnknownOrder`].
    CancelExit(ExitRef),
    /// Look up an exit trigger placed with [`VenueOp::PlaceExitTrigger`] by its client id: still
    /// watching, fired (and which order it sent: the fill of a stop-out belongs to that order,
    /// not to the trigger), or gone. Binance USDⓈ-M Algo Service only.
    QueryExitTrigger {
        /// Symbol.
        symbol: Symbol,
        /// Our id of the trigger.
        client_order_id: ClientOrderId,
    },
    /// Fills of orders the exchange itself created from our exit protection (a fired stop-loss
    /// or take-profit): they carry a new exchange order id and no client id of ours, so the
    /// ordinary trade lookups cannot tell them apart from someone else's trades. With
    /// `order_id` (Binance: the fired trigger's `actualOrderId`) the fills of that order; without
    /// it (Bybit) every TP/SL-created execution of the symbol since `since_ms`.
    ExitFills {
        /// Symbol.
        symbol: Symbol,
        /// Earliest execution time of interest, ms.
        since_ms: i64,
        /// Exchange id of the order the trigger sent, when the venue reports it.
        order_id: Option<String>,
    },
    /// Cancel one order by client order id.
    CancelOrder {
        /// Symbol.
        symbol: Symbol,
        /// Our id of the order.
        client_order_id: ClientOrderId,
    },
    /// Cancel every open order on one symbol.
    CancelAll {
        /// Symbol.
        symbol: Symbol,
    },
    /// Look an order up by client order id (also how ambiguous outcomes are resolved).
    QueryOrder {
        /// Symbol.
        symbol: Symbol,
        /// Our id of the order.
        client_order_id: ClientOrderId,
    },
    /// Second step of a lookup on venues whose recent-orders view can miss finished orders
    /// (Bybit after a server restart): search the order history. Adapters ask for it themselves
    /// through [`VenueReply::FollowUp`]; callers need not build it.
    QueryOrderHistory {
        /// Symbol.
        symbol: Symbol,
        /// Our id of the order.
        client_order_id: ClientOrderId,
    },
    /// Open orders, of one symbol or (costlier) all.
    OpenOrders {
        /// Symbol filter.
        symbol: Option<Symbol>,
    },
    /// Asset balances of the account (spot wallet, futures wallet, or Bybit unified wallet).
    Balances,
    /// Open positions (linear only).
    Positions {
        /// Symbol filter.
        symbol: Option<Symbol>,
    },
    /// Our trades (executions) from a cursor on, with fee and fee asset.
    Trades {
        /// Symbol (both exchanges want one).
        symbol: Symbol,
        /// Where to resume.
        cursor: TradeCursor,
    },
    /// Funding payments (linear only) from a time on.
    Funding {
        /// Symbol filter.
        symbol: Option<Symbol>,
        /// Resume point.
        cursor: TradeCursor,
    },
    /// Trading rules of one symbol or all symbols of the market.
    InstrumentRules {
        /// Symbol filter.
        symbol: Option<Symbol>,
    },
    /// Reference price: last price on spot, mark price on linear.
    Ticker {
        /// Symbol.
        symbol: Symbol,
    },
    /// Server time (clock sync and health probe).
    ServerTime,
    /// Candles of one symbol (public market data): what a strategy bot decides on. The adapter
    /// answers oldest first whatever the exchange's order; the newest may still be forming.
    Klines {
        /// Symbol.
        symbol: Symbol,
        /// Bar interval.
        interval: Timeframe,
        /// Earliest open time wanted, ms (inclusive).
        start_ms: Option<i64>,
        /// Latest open time wanted, ms (inclusive).
        end_ms: Option<i64>,
        /// Most bars in the answer (the exchange's page limit applies).
        limit: u32,
    },
}

impl VenueOp {
    /// Whether the operation can change exchange state. A mutation whose outcome was not heard
    /// is ambiguous and is resolved by a query, never by re-sending.
    pub fn is_mutation(&self) -> bool {
        matches!(
            self,
            VenueOp::PlaceOrder(_)
                | VenueOp::PlaceProtectedOrder { .. }
                | VenueOp::PlaceExitTrigger(_)
                | VenueOp::PlaceOcoExit(_)
                | VenueOp::CancelExit(_)
                | VenueOp::CancelOrder { .. }
                | VenueOp::CancelAll { .. }
        )
    }

    /// Whether the operation opens or grows exposure. An open circuit and a tight rate-limit
    /// budget refuse these first; cancels and reduce-only orders still go.
    pub fn is_entry(&self) -> bool {
        match self {
            VenueOp::PlaceOrder(req) | VenueOp::PlaceProtectedOrder { order: req, .. } => {
                !req.reduce_only
            }
            _ => false,
        }
    }

    /// Whether the operation needs API credentials.
    pub fn is_signed(&self) -> bool {
        !matches!(
            self,
            VenueOp::InstrumentRules { .. }
                | VenueOp::Ticker { .. }
                | VenueOp::ServerTime
                | VenueOp::Klines { .. }
        )
    }

    /// Short stable name for logs, audit and rate-limit accounting.
    pub fn name(&self) -> &'static str {
        match self {
            VenueOp::PlaceOrder(_) => "place_order",
            VenueOp::PlaceProtectedOrder { .. } => "place_protected_order",
            VenueOp::PlaceExitTrigger(_) => "place_exit_trigger",
            VenueOp::PlaceOcoExit(_) => "place_oco_exit",
            VenueOp::CancelExit(_) => "cancel_exit",
            VenueOp::QueryExitTrigger { .. } => "query_exit_trigger",
            VenueOp::ExitFills { .. } => "exit_fills",
            VenueOp::CancelOrder { .. } => "cancel_order",
            VenueOp::CancelAll { .. } => "cancel_all",
            VenueOp::QueryOrder { .. } => "query_order",
            VenueOp::QueryOrderHistory { .. } => "query_order_history",
            VenueOp::OpenOrders { .. } => "open_orders",
            VenueOp::Balances => "balances",
            VenueOp::Positions { .. } => "positions",
            VenueOp::Trades { .. } => "trades",
            VenueOp::Funding { .. } => "funding",
            VenueOp::InstrumentRules { .. } => "instrument_rules",
            VenueOp::Ticker { .. } => "ticker",
            VenueOp::ServerTime => "server_time",
            VenueOp::Klines { .. } => "klines",
        }
    }
}

/// Exchange-side exit triggers of a position: where it is stopped out and where profit is
/// taken. Prices are trigger prices, already rounded to the instrument's tick; at least one is
/// set (an empty protection is refused by the builders, it would protect nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protection {
    /// Stop-loss trigger price.
    pub stop_loss: Option<Decimal>,
    /// Take-profit trigger price.
    pub take_profit: Option<Decimal>,
}

impl Protection {
    /// Whether neither trigger is set.
    pub fn is_empty(&self) -> bool {
        self.stop_loss.is_none() && self.take_profit.is_none()
    }

    /// The triggers on the instrument's tick, rounded so protection never loosens: for a long
    /// entry (`entry_side` buy) the stop rounds up and the target down, for a short the reverse.
    /// The exchange refuses off-tick trigger prices.
    pub fn on_tick(&self, tick: Decimal, entry_side: Side) -> Protection {
        let exit_side = match entry_side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        };
        Protection {
            stop_loss: self.stop_loss.map(|p| round_price(p, tick, exit_side)),
            take_profit: self.take_profit.map(|p| round_price(p, tick, entry_side)),
        }
    }
}

/// One resting exit of ours to cancel, named by our ids: the trigger's (or leg's) client id and,
/// for a leg of a one-cancels-the-other list, the list's client id (the list is cancelled as a
/// whole: cancelling one leg would leave the exchange to cancel the other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRef {
    /// Symbol.
    pub symbol: Symbol,
    /// Our id of the exit (trigger, TP/SL order or OCO leg).
    pub client_order_id: ClientOrderId,
    /// Our id of the OCO list the exit is a leg of.
    pub list_client_order_id: Option<ClientOrderId>,
}

/// Which exit a trigger is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitKind {
    /// Fires when the price moves against the position.
    StopLoss,
    /// Fires when the price moves in favour of the position.
    TakeProfit,
}

/// A close-the-whole-position trigger placed after an entry filled. Its client id is derived
/// from the entry's (so a retry is recognised as a duplicate, never a second trigger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitTrigger {
    /// Our id of the trigger.
    pub client_order_id: ClientOrderId,
    /// Symbol.
    pub symbol: Symbol,
    /// Side of the closing order (opposite of the entry).
    pub close_side: Side,
    /// Stop-loss or take-profit.
    pub kind: ExitKind,
    /// Trigger price on the mark price, already rounded to tick.
    pub trigger_price: Decimal,
    /// Quantity the trigger sells when it does not close a whole position (Bybit spot
    /// `tpslOrder`: the holding, on the step); `None` for close-position triggers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qty: Option<Decimal>,
}

/// One leg of an [`OcoExit`]: our id for it and its price (take-profit: the limit price; stop-loss:
/// the stop price, filled at market once touched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcoLeg {
    /// Our id of the leg.
    pub client_order_id: ClientOrderId,
    /// Price, already on the tick.
    pub price: Decimal,
}

/// A one-cancels-the-other exit pair protecting a spot holding. Ids derive from the entry's
/// `(bot, signal)`, so a retry is a duplicate the exchange refuses, never a second pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcoExit {
    /// Our id of the order list.
    pub list_client_order_id: ClientOrderId,
    /// Symbol.
    pub symbol: Symbol,
    /// Side of both legs (opposite of the entry).
    pub close_side: Side,
    /// Quantity both legs close (the entry's net holding, on the step).
    pub qty: Decimal,
    /// Take-profit leg (a limit-maker).
    pub take_profit: OcoLeg,
    /// Stop-loss leg (a stop-market).
    pub stop_loss: OcoLeg,
}

/// Where an exchange-side exit trigger stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerState {
    /// Watching the price.
    Working,
    /// Fired: it sent its closing order (whose fills are the stop-out).
    Fired,
    /// Cancelled (by us, or by the exchange when the position it closed is gone).
    Cancelled,
    /// Expired without firing.
    Expired,
    /// Refused by the exchange.
    Rejected,
}

impl TriggerState {
    /// Whether the trigger can no longer fire.
    pub fn is_final(self) -> bool {
        !matches!(self, TriggerState::Working)
    }
}

/// An exit trigger as the venue reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerReport {
    /// Exchange id of the trigger (Binance `algoId`).
    pub trigger_id: String,
    /// Our id of the trigger.
    pub client_order_id: Option<ClientOrderId>,
    /// State.
    pub state: TriggerState,
    /// Exchange id of the order the trigger sent when it fired (Binance `actualOrderId`).
    pub actual_order_id: Option<String>,
    /// Whether the venue reports the fired order as done (Binance `FINISHED`): no further fills.
    pub finished: bool,
    /// Last update time reported, ms.
    pub updated_ms: i64,
}

/// A fill of an order the exchange created from exit protection, with which exit it was when
/// the venue says so (Bybit `createType` / `stopOrderType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitFill {
    /// Stop-loss or take-profit, when reported.
    pub kind: Option<ExitKind>,
    /// The fill.
    pub fill: Fill,
}

/// Resume point of a paged history (trades, funding). `start_ms` is inclusive; `token` is the
/// venue's own opaque continuation (Binance: next `fromId`; Bybit: `nextPageCursor` plus the
/// window end). Callers store it and hand it back; they never interpret `token`. Pages may
/// overlap at the edges: consumers dedupe on trade id (the ledger does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeCursor {
    /// Earliest time of interest, ms since the Unix epoch.
    pub start_ms: i64,
    /// Venue continuation token, if inside a paged walk.
    pub token: Option<String>,
}

impl TradeCursor {
    /// A fresh cursor from a point in time.
    pub fn from_time(start_ms: i64) -> Self {
        Self {
            start_ms,
            token: None,
        }
    }
}

/// Order status in Keel's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted by the API; the venue acknowledges asynchronously (Bybit create/cancel), so the
    /// real state must be queried.
    Acknowledged,
    /// Resting, nothing filled.
    New,
    /// Partly filled, still working.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled (possibly after partial fills).
    Cancelled,
    /// Refused by the matching engine.
    Rejected,
    /// Expired (IOC/FOK remainder, self-trade prevention, post-only that would take).
    Expired,
}

impl OrderStatus {
    /// Whether no further fills can happen.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled
                | OrderStatus::Cancelled
                | OrderStatus::Rejected
                | OrderStatus::Expired
        )
    }
}

/// An order as the venue reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReport {
    /// Exchange order id.
    pub order_id: String,
    /// Our client order id, when the venue echoes it back.
    pub client_order_id: Option<ClientOrderId>,
    /// Symbol.
    pub symbol: Symbol,
    /// Side, when reported.
    pub side: Option<Side>,
    /// Status.
    pub status: OrderStatus,
    /// Ordered quantity in base (zero when the order was sized in quote and not yet reported).
    pub orig_qty: Decimal,
    /// Filled quantity in base.
    pub executed_qty: Decimal,
    /// Filled value in quote (Σ price × qty), when reported.
    pub cum_quote: Option<Decimal>,
    /// Limit price (zero for market orders).
    pub price: Decimal,
    /// Fills carried in the response itself (Binance spot `FULL`); others arrive via [`VenueOp::Trades`].
    pub fills: Vec<Fill>,
    /// Last update time reported, ms (0 when the venue gives none).
    pub updated_ms: i64,
}

/// One asset balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Asset (`USDT`).
    pub asset: String,
    /// Available to trade or sell.
    pub free: Decimal,
    /// Held by open orders (or margin).
    pub locked: Decimal,
}

/// A linear position (one-way mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionReport {
    /// Symbol.
    pub symbol: Symbol,
    /// Signed size in base/contracts: positive long, negative short.
    pub qty: Decimal,
    /// Average entry price.
    pub entry_price: Decimal,
    /// Mark price at report time.
    pub mark_price: Decimal,
    /// Unrealized P&L in the settle asset.
    pub unrealized_pnl: Decimal,
    /// Leverage, when reported.
    pub leverage: Option<Decimal>,
}

/// A page of our trades.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradePage {
    /// Fills in this page, oldest first.
    pub fills: Vec<Fill>,
    /// Cursor for the next call.
    pub next: TradeCursor,
    /// True when the walk has reached the present (no need to call again right away).
    pub caught_up: bool,
}

/// One funding payment; `amount` positive = received, negative = paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingEvent {
    /// Venue id of the payment (tranId / execId), for dedupe.
    pub id: String,
    /// Symbol.
    pub symbol: Symbol,
    /// Signed amount from our point of view.
    pub amount: Decimal,
    /// Settlement asset.
    pub asset: String,
    /// Time, ms.
    pub time_ms: i64,
}

/// A page of funding payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingPage {
    /// Payments, oldest first.
    pub events: Vec<FundingEvent>,
    /// Cursor for the next call.
    pub next: TradeCursor,
    /// True when the walk has reached the present.
    pub caught_up: bool,
}

/// Reference price of a symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticker {
    /// Symbol.
    pub symbol: Symbol,
    /// Last traded price (spot) or mark price (linear): the price sizing and notional checks use.
    pub price: Decimal,
    /// Mark price, on linear markets.
    pub mark_price: Option<Decimal>,
}

/// One candle as the exchange reports it (exact decimals). Strategies read it as a [`Bar`]
/// (`f64`, indicator maths); money never comes from here except through the exact close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kline {
    /// Interval start, ms since the epoch.
    pub open_time_ms: i64,
    /// First price.
    pub open: Decimal,
    /// Highest price.
    pub high: Decimal,
    /// Lowest price.
    pub low: Decimal,
    /// Last price.
    pub close: Decimal,
    /// Base volume.
    pub volume: Decimal,
}

impl Kline {
    /// The candle as a strategy bar.
    pub fn to_bar(&self) -> Bar {
        use rust_decimal::prelude::ToPrimitive;
        let f = |d: Decimal| d.to_f64().unwrap_or(f64::NAN);
        Bar {
            open_time_ms: self.open_time_ms,
            open: f(self.open),
            high: f(self.high),
            low: f(self.low),
            close: f(self.close),
            volume: f(self.volume),
        }
    }
}

/// A parsed answer to one [`VenueOp`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reply")]
pub enum VenueReply {
    /// One order (place, cancel, query).
    Order(OrderReport),
    /// Several orders (open orders, cancel all).
    Orders(Vec<OrderReport>),
    /// Balances.
    Balances(Vec<Balance>),
    /// Positions (non-zero only).
    Positions(Vec<PositionReport>),
    /// Trades page.
    Trades(TradePage),
    /// Funding page.
    Funding(FundingPage),
    /// Instrument rules.
    Rules(Vec<InstrumentRules>),
    /// Reference price.
    Ticker(Ticker),
    /// Server time, ms.
    ServerTime(i64),
    /// An exit trigger's state.
    Trigger(TriggerReport),
    /// Fills of exchange-created exit orders.
    ExitFills(Vec<ExitFill>),
    /// Candles, oldest first.
    Klines(Vec<Kline>),
    /// The answer is not known yet: run this operation next and use its reply instead.
    FollowUp(Box<VenueOp>),
}
