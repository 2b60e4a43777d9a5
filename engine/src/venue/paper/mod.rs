//! Paper venue: fills in-process at the market price the caller feeds in, with a configured fee
//! rate and deterministic ids (`PO<n>` orders, `P<n>` trades), so a paper bot and its backtest
//! produce identical books. It answers every [`VenueOp`] with [`Planned::Immediate`]; it has no
//! wire format, hence no `urls`/`models`/`query`/`parse` files like the live adapters.
//!
//! Behaviour, chosen to match the exchanges where it matters:
//! - market orders fill completely at the current price; marketable limits fill at the better of
//!   price and limit (taker fee); others rest and fill at their limit when [`PaperVenue::set_price`]
//!   crosses them (maker fee); IOC/FOK that cannot fill expire; post-only that would take expires;
//! - spot checks and locks balances ([`PaperVenue::deposit`] funds them) and charges the fee in the
//!   asset received (Binance's default); linear keeps average-cost positions, books realized P&L
//!   and fees to the quote balance, and has no margin check;
//! - orders must already satisfy the instrument rules (like the exchange, nothing is rounded);
//! - funding is applied explicitly with [`PaperVenue::apply_funding`].
//!
//! The whole venue is `Serialize`, so the Durable Object persists it between requests.

pub mod book;

use crate::ids::Symbol;
use crate::model::{Exchange, InstrumentRules, Market, OrderQty};
use crate::venue::error::VenueError;
use crate::venue::http::HttpResponse;
use crate::venue::limiter::OpCost;
use crate::venue::op::{
    FundingEvent, FundingPage, Ticker, TradeCursor, TradePage, VenueOp, VenueReply,
};
use crate::venue::rules::prepare_order;
use crate::venue::{BuildCtx, Observation, Planned, Venue};
use book::{Book, Fees};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the paper venue imitates and charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperConfig {
    /// Exchange imitated (reported by [`Venue::exchange`]).
    pub exchange: Exchange,
    /// Market imitated.
    pub market: Market,
    /// Taker fee rate (e.g. 0.001).
    pub taker_fee_rate: Decimal,
    /// Maker fee rate.
    pub maker_fee_rate: Decimal,
    /// Market orders fill this many basis points worse than the price fed in (buys above,
    /// sells below, rounded to the tick against the trader): a paper bot should not look better
    /// than the live book would have let it. Zero for callers modelling slippage themselves.
    #[serde(default)]
    pub slippage_bps: Decimal,
}

/// The paper venue's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperVenue {
    config: PaperConfig,
    prices: BTreeMap<Symbol, Decimal>,
    rules: BTreeMap<Symbol, InstrumentRules>,
    book: Book,
    funding: Vec<FundingEvent>,
}

fn seq_of(id: &str, prefix: &str) -> u64 {
    id.strip_prefix(prefix)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl PaperVenue {
    /// An empty paper account.
    pub fn new(config: PaperConfig) -> Self {
        Self {
            config,
            prices: BTreeMap::new(),
            rules: BTreeMap::new(),
            book: Book::default(),
            funding: Vec::new(),
        }
    }

    fn fees(&self) -> Fees {
        Fees {
            taker: self.config.taker_fee_rate,
            maker: self.config.maker_fee_rate,
        }
    }

    /// The price a market order fills at after [`PaperConfig::slippage_bps`].
    fn with_slippage(
        &self,
        rules: &InstrumentRules,
        req: &crate::model::OrderRequest,
        price: Decimal,
    ) -> Decimal {
        if req.order_type != crate::model::OrderType::Market {
            return price;
        }
        slipped_price(price, req.side, self.config.slippage_bps, rules.tick_size)
    }

    /// Bounds the stored book (see [`Book::prune`]).
    pub fn prune(&mut self, keep_orders: usize, keep_fills: usize) {
        self.book.prune(keep_orders, keep_fills);
    }

    /// Registers an instrument's rules (usually copied from the real exchange).
    pub fn set_rules(&mut self, rules: InstrumentRules) {
        self.rules.insert(rules.symbol.clone(), rules);
    }

    /// Credits an asset (starting balance).
    pub fn deposit(&mut self, asset: &str, amount: Decimal) {
        let h = self.book.holdings.entry(asset.to_string()).or_default();
        h.free = h.free.saturating_add(amount);
    }

    /// Sets the market price and fills any resting order it crosses; returns those fills.
    pub fn set_price(
        &mut self,
        symbol: &Symbol,
        price: Decimal,
        now_ms: i64,
    ) -> Vec<crate::model::Fill> {
        self.prices.insert(symbol.clone(), price);
        let fees = self.fees();
        match self.rules.get(symbol) {
            Some(rules) => self
                .book
                .on_price(self.config.market, rules, price, fees, now_ms),
            None => Vec::new(),
        }
    }

    /// Books one funding payment on a linear position: `amount = −qty × mark × rate` (longs pay a
    /// positive rate). Returns the event, or `None` without a position or price.
    pub fn apply_funding(
        &mut self,
        symbol: &Symbol,
        rate: Decimal,
        now_ms: i64,
    ) -> Option<FundingEvent> {
        let qty = self
            .book
            .positions
            .get(symbol)
            .map(|p| p.qty)
            .filter(|q| !q.is_zero())?;
        let mark = *self.prices.get(symbol)?;
        let asset = self.rules.get(symbol)?.quote_asset.clone();
        // Checked: the mark comes from an exchange answer (no funding beyond the exact range).
        let amount = -qty.checked_mul(mark)?.checked_mul(rate)?;
        let held = self.book.holdings.entry(asset.clone()).or_default();
        held.free = held.free.checked_add(amount)?;
        let event = FundingEvent {
            id: format!("F{}", self.funding.len()),
            symbol: symbol.clone(),
            amount,
            asset,
            time_ms: now_ms,
        };
        self.funding.push(event.clone());
        Some(event)
    }

    fn price_for(&self, symbol: &Symbol) -> Result<Decimal, VenueError> {
        self.prices
            .get(symbol)
            .copied()
            .filter(|p| *p > Decimal::ZERO)
            .ok_or_else(|| VenueError::Rejected {
                code: -1,
                msg: format!("paper venue has no price for {symbol}"),
            })
    }

    fn answer(&mut self, op: &VenueOp, now_ms: i64) -> Result<VenueReply, VenueError> {
        let market = self.config.market;
        Ok(match op {
            VenueOp::ServerTime => VenueReply::ServerTime(now_ms),
            VenueOp::Klines { .. } => {
                // Paper keeps no history: candles come from the real exchange's public endpoint.
                return Err(VenueError::Unsupported {
                    op: op.name(),
                    reason: "paper trading reads candles from the exchange".into(),
                });
            }
            VenueOp::PlaceProtectedOrder { .. }
            | VenueOp::PlaceExitTrigger(_)
            | VenueOp::PlaceOcoExit(_)
            | VenueOp::CancelExit(_)
            | VenueOp::QueryExitTrigger { .. }
            | VenueOp::ExitFills { .. } => {
                // Paper fills in-process and watches no trigger prices: refusing is honest,
                // accepting would report protection that does not exist.
                return Err(VenueError::Unsupported {
                    op: op.name(),
                    reason: "paper trading does not simulate exchange-side TP/SL".into(),
                });
            }
            VenueOp::Ticker { symbol } => {
                let price = self.price_for(symbol)?;
                let mark = (market == Market::Linear).then_some(price);
                VenueReply::Ticker(Ticker {
                    symbol: symbol.clone(),
                    price,
                    mark_price: mark,
                })
            }
            VenueOp::InstrumentRules { symbol } => VenueReply::Rules(
                self.rules
                    .values()
                    .filter(|r| symbol.as_ref().is_none_or(|s| *s == r.symbol))
                    .cloned()
                    .collect(),
            ),
            VenueOp::PlaceOrder(req) => {
                if req.reduce_only && market == Market::Spot {
                    return Err(VenueError::Unsupported {
                        op: op.name(),
                        reason: "spot has no reduce-only".into(),
                    });
                }
                if matches!(req.qty, OrderQty::Quote(_)) && market == Market::Linear {
                    return Err(VenueError::Unsupported {
                        op: op.name(),
                        reason: "no quote-quantity orders on linear".into(),
                    });
                }
                let price = self.price_for(&req.symbol)?;
                let fees = self.fees();
                // Borrowed from its own field, so the book can change below without a copy.
                let rules = self
                    .rules
                    .get(&req.symbol)
                    .ok_or_else(|| unknown_symbol(&req.symbol))?;
                let prepared = prepare_order(rules, req, price)?;
                if prepared.qty != req.qty || prepared.price != req.price {
                    return Err(VenueError::Filter {
                        which: "LOT_SIZE/PRICE_FILTER".into(),
                        msg: "quantity or price not on the instrument's step/tick".into(),
                    });
                }
                let price = self.with_slippage(rules, req, price);
                VenueReply::Order(self.book.place(market, rules, req, price, fees, now_ms)?)
            }
            VenueOp::CancelOrder {
                symbol,
                client_order_id,
            } => {
                let rules = self.rules.get(symbol).cloned();
                VenueReply::Order(self.book.cancel(
                    market,
                    rules.as_ref(),
                    client_order_id,
                    now_ms,
                )?)
            }
            VenueOp::CancelAll { symbol } => {
                let rules = self.rules.get(symbol).cloned();
                let open: Vec<_> = self
                    .book
                    .orders
                    .iter()
                    .filter(|(_, o)| &o.req.symbol == symbol && !o.report.status.is_final())
                    .map(|(id, _)| id.clone())
                    .collect();
                let mut out = Vec::new();
                for id in open {
                    out.push(self.book.cancel(market, rules.as_ref(), &id, now_ms)?);
                }
                VenueReply::Orders(out)
            }
            VenueOp::QueryOrder {
                client_order_id, ..
            }
            | VenueOp::QueryOrderHistory {
                client_order_id, ..
            } => {
                let o = self.book.orders.get(client_order_id).ok_or_else(|| {
                    VenueError::UnknownOrder {
                        msg: "Order does not exist.".into(),
                    }
                })?;
                VenueReply::Order(o.report.clone())
            }
            VenueOp::OpenOrders { symbol } => VenueReply::Orders(
                self.book
                    .orders
                    .values()
                    .filter(|o| !o.report.status.is_final())
                    .filter(|o| symbol.as_ref().is_none_or(|s| *s == o.req.symbol))
                    .map(|o| o.report.clone())
                    .collect(),
            ),
            VenueOp::Balances => VenueReply::Balances(self.book.balances()),
            VenueOp::Positions { symbol } => {
                if market == Market::Spot {
                    return Err(VenueError::Unsupported {
                        op: op.name(),
                        reason: "spot has no positions".into(),
                    });
                }
                let mut all = self.book.position_reports(&self.prices);
                all.retain(|p| symbol.as_ref().is_none_or(|s| *s == p.symbol));
                VenueReply::Positions(all)
            }
            VenueOp::Trades { symbol, cursor } => {
                let from = cursor.token.as_deref().map_or(0, |t| seq_of(t, ""));
                let fills: Vec<_> = self
                    .book
                    .fills
                    .iter()
                    .filter(|f| {
                        &f.symbol == symbol
                            && f.time_ms >= cursor.start_ms
                            && seq_of(&f.trade_id, "P") >= from
                    })
                    .cloned()
                    .collect();
                let next = fills.last().map_or_else(
                    || cursor.clone(),
                    |f| TradeCursor {
                        start_ms: f.time_ms,
                        token: Some((seq_of(&f.trade_id, "P") + 1).to_string()),
                    },
                );
                VenueReply::Trades(TradePage {
                    fills,
                    next,
                    caught_up: true,
                })
            }
            VenueOp::Funding { symbol, cursor } => {
                let from = cursor.token.as_deref().map_or(0, |t| seq_of(t, ""));
                let events: Vec<_> = self
                    .funding
                    .iter()
                    .filter(|e| symbol.as_ref().is_none_or(|s| *s == e.symbol))
                    .filter(|e| e.time_ms >= cursor.start_ms && seq_of(&e.id, "F") >= from)
                    .cloned()
                    .collect();
                let next = events.last().map_or_else(
                    || cursor.clone(),
                    |e| TradeCursor {
                        start_ms: e.time_ms,
                        token: Some((seq_of(&e.id, "F") + 1).to_string()),
                    },
                );
                VenueReply::Funding(FundingPage {
                    events,
                    next,
                    caught_up: true,
                })
            }
        })
    }
}

impl Venue for PaperVenue {
    fn exchange(&self) -> Exchange {
        self.config.exchange
    }

    fn market(&self) -> Market {
        self.config.market
    }

    /// Paper calls cost the real account nothing.
    fn cost(&self, _op: &VenueOp) -> OpCost {
        OpCost {
            weight: 0,
            orders: 0,
            endpoint: "paper".into(),
            exit: true,
        }
    }

    fn needs_clock(&self, _op: &VenueOp) -> bool {
        false
    }

    fn build(&mut self, op: &VenueOp, ctx: &BuildCtx<'_>) -> Result<Planned, VenueError> {
        self.answer(op, ctx.now_ms).map(Planned::Immediate)
    }

    fn parse(&self, op: &VenueOp, _resp: &HttpResponse) -> Result<VenueReply, VenueError> {
        Err(VenueError::Unsupported {
            op: op.name(),
            reason: "the paper venue answers in build()".into(),
        })
    }

    fn observe(&self, _op: &VenueOp, _resp: &HttpResponse) -> Observation {
        Observation::default()
    }
}

/// The price a market order pays after `slippage_bps`: moved against the order (up for a buy,
/// down for a sell), then put on the `tick` rounding against the trader, as a real book would.
/// One function for the paper venue, the live strategy bot's sizing and the backtester, so all
/// three agree on every fill price to the tick.
pub fn slipped_price(
    price: Decimal,
    side: crate::model::Side,
    slippage_bps: Decimal,
    tick: Decimal,
) -> Decimal {
    if slippage_bps.is_zero() {
        return price;
    }
    // Checked throughout: the price and tick come from an exchange answer, and `Decimal`'s
    // operators panic on overflow. A figure beyond the exact range (no real market) keeps the
    // last representable step: the unrounded slipped price, else the reference price.
    let factor = slippage_bps
        .checked_div(Decimal::from(10_000))
        .unwrap_or(Decimal::ZERO);
    let moved = price.checked_mul(factor).unwrap_or(Decimal::ZERO);
    let (raw, up) = match side {
        crate::model::Side::Buy => (price.checked_add(moved), true),
        crate::model::Side::Sell => (price.checked_sub(moved), false),
    };
    let Some(raw) = raw else {
        return price;
    };
    if tick.is_zero() {
        return raw;
    }
    raw.checked_div(tick)
        .map(|steps| if up { steps.ceil() } else { steps.floor() })
        .and_then(|steps| steps.checked_mul(tick))
        .unwrap_or(raw)
}

/// The exchange's answer for a symbol it does not list (Binance `-1121`).
fn unknown_symbol(symbol: &Symbol) -> VenueError {
    VenueError::Rejected {
        code: -1121,
        msg: format!("Invalid symbol {symbol}."),
    }
}

#[cfg(test)]
mod tests;
