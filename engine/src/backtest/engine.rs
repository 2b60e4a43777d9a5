//! The bar loop: strategy on each close → target signal → `bot::decide` → paper venue →
//! `bot::book_fill` → ledger.

use super::driven::{Committed, DriveError, Driven};
use super::metrics::{self, Metrics};
use crate::bot::FillLedgerBooking;
use crate::bot::{self, BotState, MarketFacts};
use crate::config::BotConfig;
use crate::ids::{IdError, SignalId, Symbol};
use crate::ledger::{
    Booked, Effect, Ledger, LedgerConfig, LedgerEntry, LedgerError, MarkPrice, PnlMethod,
    PnlReport, Transfer,
};
use crate::market::{Bar, Timeframe};
use crate::model::{Fill, InstrumentRules, Market, OrderType};
use crate::signal::{Action, ParsedSignal, Signal};
use crate::strategy::live::{size_target, ExactTarget};
use crate::strategy::{Context, Intent, Strategy, Target};
use crate::venue::clock::ServerClock;
use crate::venue::error::VenueError;
use crate::venue::op::{ExitFill, ExitKind, ExitRef, Protection, VenueOp, VenueReply};
use crate::venue::paper::exits::BarPrices;
use crate::venue::paper::{Observed, PaperConfig, PaperVenue};
use crate::venue::{protect, BuildCtx, Planned, Venue};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use serde::Serialize;

/// When an intent decided on a bar's close is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FillAt {
    /// At the next bar's open (no look-ahead; the default).
    NextOpen,
    /// At the same bar's close (optimistic: assumes trading at the price just seen).
    Close,
}

/// Everything a backtest needs besides the strategy and the bars.
#[derive(Debug, Clone)]
pub struct BacktestConfig {
    /// The bot's config: market, sizing and **risk limits** apply as live.
    pub bot: BotConfig,
    /// Instrument rules (tick, step, minimums), as the exchange publishes them.
    pub rules: InstrumentRules,
    /// Paper venue fee rates (taker for market orders).
    pub taker_fee_rate: Decimal,
    /// Maker fee rate.
    pub maker_fee_rate: Decimal,
    /// Starting capital in quote, booked as a transfer.
    pub initial_capital: Decimal,
    /// Fill timing.
    pub fill_at: FillAt,
    /// Adverse price move applied to every fill, in basis points.
    pub slippage_bps: Decimal,
    /// Bar interval (for annualising and close times).
    pub timeframe: Timeframe,
    /// Rebalance when the held exposure drifts this far from the target (fraction of equity;
    /// 0 = only when the strategy changes its target).
    pub rebalance_band: f64,
}

/// A signal the live path refused (risk limit, sizing filter), as it would be audited.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    /// When.
    pub time_ms: i64,
    /// HTTP status the live bot would answer.
    pub status: u16,
    /// Rejection code (`risk_max_drawdown`, `below_min_notional`…).
    pub code: String,
}

/// A fill that was an exit (stop-loss or take-profit), named by its trade id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExitRecord {
    /// Trade id of the fill (as in [`BacktestReport::fills`]).
    pub trade_id: String,
    /// When, ms.
    pub time_ms: i64,
    /// Why the position was closed: `stop_loss` or `take_profit`.
    pub reason: ExitKind,
}

/// A backtest's results.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestReport {
    /// Strategy version id every fill is attributed to.
    pub strategy: String,
    /// Fill model: timing.
    pub fill_at: FillAt,
    /// Fill model: slippage in bps.
    pub slippage_bps: Decimal,
    /// Fill model: taker fee rate.
    pub taker_fee_rate: Decimal,
    /// Bars processed.
    pub bars: usize,
    /// Every fill, in order (exact).
    pub fills: Vec<Fill>,
    /// The fills that were exits, with their reason (empty without `exits` in the config).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exits: Vec<ExitRecord>,
    /// Signals refused by the live path.
    pub rejected: Vec<Rejected>,
    /// Equity after each bar's close, in quote (`f64`, for charts and ratios; exact at each
    /// booking, interpolated with the position at the close between them).
    pub equity_curve: Vec<(i64, f64)>,
    /// The ledger's P&L document at the last close (exact).
    pub pnl: PnlReport,
    /// Final equity from the ledger (exact).
    pub final_equity: Decimal,
    /// Ratios.
    pub metrics: Metrics,
}

/// Why a backtest stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BacktestError {
    /// No bars.
    #[error("bars: at least one bar is needed")]
    NoBars,
    /// A price that cannot be represented exactly (NaN, infinite, out of range).
    #[error("bar {index}: field {field} = {value} is not a usable price")]
    BadPrice {
        /// Bar index.
        index: usize,
        /// Field.
        field: &'static str,
        /// Value.
        value: f64,
    },
    /// The ledger refused an entry (a bug in the data or the engine: never silently skipped).
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// The paper venue refused an approved order.
    #[error("paper venue: {0}")]
    Venue(#[from] VenueError),
    /// An identifier could not be built.
    #[error("id: {0}")]
    Id(#[from] IdError),
    /// Decimal overflow converting a target.
    #[error("field {0} overflowed")]
    Overflow(&'static str),
    /// Multi-series bars or rules that do not match the strategy's feeds.
    #[error("feeds: {0}")]
    Feeds(String),
    /// The bot machine refused an input of the driver or did not settle (a bug, never skipped).
    #[error("bot machine: {0}")]
    Machine(String),
}

impl From<DriveError> for BacktestError {
    fn from(e: DriveError) -> Self {
        BacktestError::Machine(e.0)
    }
}

/// What the loop carries between bars.
struct Sim<'a> {
    cfg: &'a BacktestConfig,
    symbol: Symbol,
    ledger: Ledger,
    venue: PaperVenue,
    clock: ServerClock,
    state: BotState,
    day: i64,
    fills: Vec<Fill>,
    exits: Vec<ExitRecord>,
    rejected: Vec<Rejected>,
    realized_trades: Vec<Decimal>,
    /// Strategy version id every fill is tagged with.
    tag: String,
    /// Market facts handed to `bot::decide` (rules fixed, price and balance per execution).
    facts: MarketFacts,
    position: Decimal,
    equity: Decimal,
    /// f64 view for the curve: equity at `mark`, position.
    eq0: f64,
    mark: f64,
    qty: f64,
    /// One lot as `f64`: a remainder below it (a spot sell leaves the base fee's sliver) cannot
    /// be traded and is not exposure.
    lot: f64,
    /// Whether the position counts as exposure (at least one lot), for the exposure metric.
    exposed: bool,
    /// The bot machine that executes each signal when the bot has exits (see [`super::driven`]);
    /// `None`: the direct path (decide, place, book), which trades identically without exits.
    driven: Option<Driven>,
}

fn to_dec(x: f64, index: usize, field: &'static str) -> Result<Decimal, BacktestError> {
    Decimal::from_f64(x)
        .filter(|d| *d > Decimal::ZERO)
        .ok_or(BacktestError::BadPrice {
            index,
            field,
            value: x,
        })
}

fn on_tick(p: Decimal, tick: Decimal) -> Decimal {
    if tick > Decimal::ZERO {
        ((p / tick).round() * tick).normalize()
    } else {
        p
    }
}

impl Sim<'_> {
    /// Trades to `target` at `price` (before slippage), through the live path.
    fn execute(
        &mut self,
        strategy: &mut dyn Strategy,
        target: Target,
        price: f64,
        index: usize,
        now_ms: i64,
    ) -> Result<(), BacktestError> {
        let tick = self.facts.rules.tick_size;
        let reference = on_tick(to_dec(price, index, "price")?, tick);
        let target_in = target;
        let target = ExactTarget::of(target).ok_or(BacktestError::Overflow("target"))?;
        // Equity for sizing is marked at this bar's price, not at the last fill's.
        let marked = self.mark(reference, now_ms)?;
        self.refresh_exact(&marked)?;
        // Sized as the live strategy bot sizes: direction at the reference, quantity at the same
        // slipped price the paper venue fills at (against the trader, on the tick), so a fully
        // invested spot buy fits the cash.
        let sized = size_target(
            target,
            &self.cfg.bot.sizing,
            self.equity,
            self.position,
            reference,
            self.cfg.slippage_bps,
            &self.facts.rules,
        )
        .ok_or(BacktestError::Overflow("target"))?;
        if sized.qty == self.position {
            self.refresh_view(reference);
            return Ok(());
        }
        let (qty, fill_price) = (sized.qty, sized.fill_price);
        let day = now_ms.div_euclid(86_400_000);
        if day != self.day {
            self.day = day;
            self.state.trades_today = 0;
        }
        // The latest booking, whose effect carries the ledger's equity after it.
        let mut last = self.mark(fill_price, now_ms)?;
        let signal_id = SignalId::new(format!("bt-{index}"))?;
        // Exits are asked for by an order that adds exposure, at distances from its fill price.
        let protection = match self.cfg.bot.exits {
            Some(x) => protect::for_target(
                self.position,
                qty,
                fill_price,
                x.stop_loss_pct,
                x.take_profit_pct,
                tick,
            ),
            None => Protection {
                stop_loss: None,
                take_profit: None,
            },
        };
        // The venue moves the market order by the slippage itself, as a paper bot's does: fed
        // the reference, it fills at `fill_price` (the same rounding as the sizing's).
        let observed = self.venue.observe_jump(&self.symbol, reference, now_ms);
        if self.book_exits(strategy, observed, now_ms)? {
            // Sized against what the exits left, as the live bot sizes after they filled.
            return self.execute(strategy, target_in, price, index, now_ms);
        }
        let parsed = ParsedSignal {
            signal: Signal {
                id: None,
                action: Action::Target,
                symbol: Some(self.symbol.clone()),
                sizing: None,
                target_position: Some(qty),
                order_type: OrderType::Market,
                price: Some(fill_price),
                stop_loss: protection.stop_loss,
                take_profit: protection.take_profit,
                time_ms: Some(now_ms),
            },
            secret: None,
            signal_id,
        };
        let free_base = match self.cfg.bot.market {
            Market::Spot => {
                let base = self.facts.rules.base_asset.clone();
                Some(self.free(&base, now_ms)?)
            }
            Market::Linear => None,
        };
        self.facts.price = fill_price;
        self.facts.free_base = free_base;
        if self.driven.is_some() {
            return self.execute_driven(strategy, parsed, fill_price, now_ms);
        }
        let decision = match bot::decide(
            &self.cfg.bot.id,
            &self.cfg.bot,
            &parsed,
            &self.facts,
            &self.ledger,
            &self.state,
            now_ms,
        ) {
            Ok(d) => d,
            Err(r) => {
                self.rejected.push(Rejected {
                    time_ms: now_ms,
                    status: r.status,
                    code: r.code.clone(),
                });
                self.refresh_view(reference);
                return Ok(());
            }
        };
        let realized_before = self.ledger.totals.realized - self.ledger.totals.fees_quote;
        for order in decision.orders {
            let proposed = order.into_inner();
            let req = proposed.request;
            // Exits that would outlive (or lock) what this order closes go first, as live.
            if self.cfg.bot.exits.is_some()
                && protect::clears_exits(self.cfg.bot.market, self.position, &req)
            {
                self.clear_exits(now_ms)?;
            }
            let op = protect::entry_op(
                self.cfg.bot.exchange,
                self.cfg.bot.market,
                &req,
                proposed.stop_loss,
                proposed.take_profit,
                tick,
            );
            let reply = match self.place(op, now_ms) {
                Ok(r) => r,
                // The exchange refusing an approved order is recorded, as the live bot does.
                Err(BacktestError::Venue(e)) => {
                    self.rejected.push(Rejected {
                        time_ms: now_ms,
                        status: 502,
                        code: format!("venue: {e}"),
                    });
                    break;
                }
                Err(e) => return Err(e),
            };
            let fills = bot::into_fills(reply);
            // `bot::book_fill` is `bot::book_fills` per fill without the audit drafts a
            // backtest has nowhere to keep.
            let no_third_assets = crate::ledger::FeePrices::none();
            for fill in &fills {
                let booked = bot::book_fill(
                    &mut self.ledger,
                    fill,
                    &self.facts.rules,
                    &no_third_assets,
                    Some(self.tag.as_str()),
                )?;
                if let Some(FillLedgerBooking {
                    applied: Some((_, effect)),
                    ..
                }) = booked
                {
                    last = Booked::Applied(effect);
                }
            }
            self.state.trades_today += 1;
            for f in &fills {
                strategy.on_fill(f);
            }
            let protection = Protection {
                stop_loss: proposed.stop_loss,
                take_profit: proposed.take_profit,
            };
            if !protection.is_empty() && !fills.is_empty() {
                self.place_exits(&req, &protection, &fills, &parsed.signal_id, now_ms)?;
            }
            self.fills.extend(fills);
        }
        // The ledger and `self.fills` hold the history; the paper book only needs its working
        // orders (market orders never rest), so finished orders and fills are dropped as a
        // long-running paper bot does. Keeps each placement O(1) over a million bars.
        self.venue.prune(0, 0);
        self.state.last_trade_ms.insert(self.symbol.clone(), now_ms);
        let realized_after = self.ledger.totals.realized - self.ledger.totals.fees_quote;
        self.realized_trades.push(realized_after - realized_before);
        self.refresh(&last, fill_price)
    }

    /// After an entry filled, the exits the live bot would place on this exchange and market
    /// (close-position triggers, a spot OCO pair or TP/SL order; Bybit linear carries them on
    /// the entry). A refused exit is recorded, the entry stands, as live.
    fn place_exits(
        &mut self,
        entry: &crate::model::OrderRequest,
        protection: &Protection,
        fills: &[Fill],
        signal: &SignalId,
        now_ms: i64,
    ) -> Result<(), BacktestError> {
        let (exchange, market) = (self.cfg.bot.exchange, self.cfg.bot.market);
        let rules = &self.facts.rules;
        let filled: Decimal = fills.iter().map(|f| f.qty).sum();
        let mut fees = std::collections::BTreeMap::new();
        for f in fills {
            *fees.entry(f.fee_asset.clone()).or_insert(Decimal::ZERO) += f.fee;
        }
        let held = protect::net_holding(filled, &fees, &rules.base_asset, rules.step_size);
        let bot = &self.cfg.bot.id;
        let tick = rules.tick_size;
        let mut ops: Vec<VenueOp> =
            protect::exit_triggers(exchange, market, bot, signal, entry, protection, tick)?
                .into_iter()
                .map(VenueOp::PlaceExitTrigger)
                .collect();
        if let Some(oco) =
            protect::oco_exit(exchange, market, bot, signal, entry, protection, tick, held)?
        {
            ops.push(VenueOp::PlaceOcoExit(oco));
        } else if let Some(t) =
            protect::spot_tpsl(exchange, market, bot, signal, entry, protection, tick, held)?
        {
            ops.push(VenueOp::PlaceExitTrigger(t));
        }
        for op in ops {
            match self.place(op, now_ms) {
                Ok(_) => {}
                Err(BacktestError::Venue(e)) => self.rejected.push(Rejected {
                    time_ms: now_ms,
                    status: 502,
                    code: format!("exit: {e}"),
                }),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Cancels the bot's own resting exits on the symbol (those riding on a position end with
    /// it), one cancel per exit or OCO list, as the live bot does before a close.
    fn clear_exits(&mut self, now_ms: i64) -> Result<(), BacktestError> {
        let refs: Vec<ExitRef> = self
            .venue
            .working_exits(&self.symbol)
            .into_iter()
            .filter(|e| !e.attached)
            .filter_map(|e| {
                Some(ExitRef {
                    symbol: e.symbol.clone(),
                    client_order_id: e.client_order_id.clone()?,
                    list_client_order_id: e.group.clone(),
                })
            })
            .collect();
        let mut done: Vec<Option<crate::ids::ClientOrderId>> = Vec::new();
        for x in refs {
            if x.list_client_order_id.is_some() && done.contains(&x.list_client_order_id) {
                continue;
            }
            done.push(x.list_client_order_id.clone());
            match self.place(VenueOp::CancelExit(x), now_ms) {
                Ok(_) | Err(BacktestError::Venue(VenueError::UnknownOrder { .. })) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Books the fills a price observation produced (exits that fired, resting orders) through
    /// the live path, tells the strategy, and records each exit's reason.
    fn book_exits(
        &mut self,
        strategy: &mut dyn Strategy,
        observed: Observed,
        now_ms: i64,
    ) -> Result<bool, BacktestError> {
        if observed.exits.is_empty() && observed.fills.is_empty() {
            return Ok(false);
        }
        if self.driven.is_some() {
            return self.book_exits_driven(strategy, now_ms);
        }
        let realized_before = self.ledger.totals.realized - self.ledger.totals.fees_quote;
        let mut last = None;
        let plain = observed
            .fills
            .into_iter()
            .map(|fill| ExitFill { kind: None, fill });
        let mut mark = Decimal::ZERO;
        for ExitFill { kind, fill } in observed.exits.into_iter().chain(plain) {
            let booked = bot::book_fill(
                &mut self.ledger,
                &fill,
                &self.facts.rules,
                &crate::ledger::FeePrices::none(),
                Some(self.tag.as_str()),
            )?;
            if let Some(FillLedgerBooking {
                applied: Some((_, effect)),
                ..
            }) = booked
            {
                last = Some(Booked::Applied(effect));
            }
            strategy.on_fill(&fill);
            if let Some(reason) = kind {
                self.exits.push(ExitRecord {
                    trade_id: fill.trade_id.clone(),
                    time_ms: now_ms,
                    reason,
                });
            }
            mark = fill.price;
            self.fills.push(fill);
        }
        self.venue.prune(0, 0);
        let realized_after = self.ledger.totals.realized - self.ledger.totals.fees_quote;
        self.realized_trades.push(realized_after - realized_before);
        self.refresh(&last.unwrap_or(Booked::Duplicate), mark)?;
        Ok(true)
    }

    /// Marks the position at `price`: booked by the machine when it runs the bot (its loss
    /// limits see the mark, as a live bot's tick), then into the backtest's ledger.
    fn mark(&mut self, price: Decimal, now_ms: i64) -> Result<Booked, BacktestError> {
        let entry = LedgerEntry::Mark(MarkPrice {
            symbol: self.symbol.clone(),
            price,
            time_ms: now_ms,
        });
        match self.driven.as_mut() {
            None => Ok(self.ledger.book(&entry)?),
            Some(d) => {
                let committed = d.book(&mut self.venue, vec![entry], now_ms)?;
                self.commit(None, committed, now_ms)
            }
        }
    }

    /// Books what the machine committed into the backtest's ledger in the machine's order (so
    /// the two ledgers stay equal), lists its fills (exits with their reason) and refusals, and
    /// tells the strategy of each fill. Returns the last applied booking.
    fn commit(
        &mut self,
        mut strategy: Option<&mut dyn Strategy>,
        committed: Committed,
        now_ms: i64,
    ) -> Result<Booked, BacktestError> {
        let mut last = Booked::Duplicate;
        for e in &committed.entries {
            if let b @ Booked::Applied(_) = self.ledger.book(e)? {
                last = b;
            }
        }
        for (fill, reason) in committed.fills {
            if let Some(s) = strategy.as_mut() {
                s.on_fill(&fill);
            }
            if let Some(reason) = reason {
                self.exits.push(ExitRecord {
                    trade_id: fill.trade_id.clone(),
                    time_ms: now_ms,
                    reason,
                });
            }
            self.fills.push(fill);
        }
        for (status, code) in committed.refused {
            self.rejected.push(Rejected {
                time_ms: now_ms,
                status,
                code,
            });
        }
        Ok(last)
    }

    /// Runs the signal through the bot machine (decide, clear exits before a close, place,
    /// book, protect the entry, count rejections) against the paper venue.
    fn execute_driven(
        &mut self,
        strategy: &mut dyn Strategy,
        parsed: ParsedSignal,
        fill_price: Decimal,
        now_ms: i64,
    ) -> Result<(), BacktestError> {
        let Some(d) = self.driven.as_mut() else {
            return Ok(());
        };
        let realized_before = self.ledger.totals.realized - self.ledger.totals.fees_quote;
        let committed = d.signal(&mut self.venue, parsed, self.facts.clone(), now_ms)?;
        let traded = !committed.fills.is_empty();
        let last = self.commit(Some(strategy), committed, now_ms)?;
        if traded {
            // As the direct path: the ledger and `self.fills` hold the history.
            self.venue.prune(0, 0);
            let realized_after = self.ledger.totals.realized - self.ledger.totals.fees_quote;
            self.realized_trades.push(realized_after - realized_before);
        }
        self.refresh(&last, fill_price)
    }

    /// The venue's prices fired exits: the machine's refresh finds and books them (by the
    /// venue's queries, as live). Whether anything was booked.
    fn book_exits_driven(
        &mut self,
        strategy: &mut dyn Strategy,
        now_ms: i64,
    ) -> Result<bool, BacktestError> {
        let Some(d) = self.driven.as_mut() else {
            return Ok(false);
        };
        let realized_before = self.ledger.totals.realized - self.ledger.totals.fees_quote;
        let committed = d.exits_moved(&mut self.venue, now_ms)?;
        let Some(mark) = committed.fills.last().map(|(f, _)| f.price) else {
            return Ok(false);
        };
        let last = self.commit(Some(strategy), committed, now_ms)?;
        self.venue.prune(0, 0);
        let realized_after = self.ledger.totals.realized - self.ledger.totals.fees_quote;
        self.realized_trades.push(realized_after - realized_before);
        self.refresh(&last, mark)?;
        Ok(true)
    }

    /// A bar's prices on the tick.
    fn bar_prices(&self, bar: &Bar, index: usize) -> Result<BarPrices, BacktestError> {
        let tick = self.facts.rules.tick_size;
        Ok(BarPrices {
            open: on_tick(to_dec(bar.open, index, "open")?, tick),
            high: on_tick(to_dec(bar.high, index, "high")?, tick),
            low: on_tick(to_dec(bar.low, index, "low")?, tick),
            close: on_tick(to_dec(bar.close, index, "close")?, tick),
        })
    }

    /// The jump to a bar's open on the paper venue (see [`crate::venue::paper::exits`]): exits
    /// it touches fire at the open, before any order placed at it. Whether anything filled.
    fn observe_open(
        &mut self,
        strategy: &mut dyn Strategy,
        bar: &Bar,
        index: usize,
        now_ms: i64,
    ) -> Result<bool, BacktestError> {
        let open = self.bar_prices(bar, index)?.open;
        let observed = self.venue.observe_jump(&self.symbol, open, now_ms);
        self.book_exits(strategy, observed, now_ms)
    }

    /// The rest of a bar after its open, by the same rule: the walk to the extreme that hurts
    /// the position first, the other extreme and the close. Whether anything filled.
    fn observe_rest(
        &mut self,
        strategy: &mut dyn Strategy,
        bar: &Bar,
        index: usize,
        now_ms: i64,
    ) -> Result<bool, BacktestError> {
        let prices = self.bar_prices(bar, index)?;
        let long = self
            .ledger
            .position(&self.symbol)
            .is_none_or(|p| p.qty >= Decimal::ZERO);
        let mut observed = Observed::default();
        for p in prices.walk(long) {
            let o = self.venue.observe_walk(&self.symbol, p, now_ms);
            observed.fills.extend(o.fills);
            observed.exits.extend(o.exits);
        }
        self.book_exits(strategy, observed, now_ms)
    }

    fn place(&mut self, op: VenueOp, now_ms: i64) -> Result<VenueReply, BacktestError> {
        let ctx = BuildCtx {
            creds: None,
            clock: &self.clock,
            now_ms,
            base_url: "",
        };
        match self.venue.build(&op, &ctx)? {
            Planned::Immediate(reply) => Ok(reply),
            Planned::Http(_) => Err(BacktestError::Venue(VenueError::Unsupported {
                op: op.name(),
                reason: "paper venue asked for HTTP".into(),
            })),
        }
    }

    /// What the bot may sell of `asset`: the free balance plus what its own exits hold (the
    /// only orders that rest in a backtest; a close cancels them first, as live).
    fn free(&mut self, asset: &str, now_ms: i64) -> Result<Decimal, BacktestError> {
        Ok(match self.place(VenueOp::Balances, now_ms)? {
            VenueReply::Balances(b) => b
                .iter()
                .find(|x| x.asset == asset)
                .map_or(Decimal::ZERO, |x| x.free + x.locked),
            _ => Decimal::ZERO,
        })
    }

    /// Equity and position from the ledger (what sizing needs), the equity as the last booking
    /// reported it when it did.
    fn refresh_exact(&mut self, last: &Booked) -> Result<(), BacktestError> {
        self.equity = match last {
            Booked::Applied(Effect {
                equity: Some(e), ..
            }) => *e,
            _ => self.ledger.equity()?,
        };
        self.position = self
            .ledger
            .position(&self.symbol)
            .map_or(Decimal::ZERO, |p| p.qty);
        Ok(())
    }

    /// [`Self::refresh_exact`] plus the `f64` view.
    fn refresh(&mut self, last: &Booked, mark: Decimal) -> Result<(), BacktestError> {
        self.refresh_exact(last)?;
        self.refresh_view(mark);
        Ok(())
    }

    /// The `f64` view the per-bar equity curve is drawn from, at `mark`, from the exact
    /// equity and position last read (converted only when the loop is about to use them).
    fn refresh_view(&mut self, mark: Decimal) {
        self.eq0 = self.equity.to_f64().unwrap_or(f64::NAN);
        self.qty = self.position.to_f64().unwrap_or(f64::NAN);
        self.mark = mark.to_f64().unwrap_or(f64::NAN);
        self.exposed = self.qty != 0.0 && self.qty.abs() >= self.lot;
    }
}

/// Runs `strategy` over `bars` (one instrument: `config.rules.symbol`).
///
/// # Errors
/// [`BacktestError`]: no bars, an unusable price, or a ledger/venue failure (never skipped).
pub fn run(
    config: &BacktestConfig,
    strategy: &mut dyn Strategy,
    bars: &[Bar],
) -> Result<BacktestReport, BacktestError> {
    run_with(config, strategy, bars, RunOptions::default())
}

/// How [`run_with`] runs (tests).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RunOptions {
    /// The venue refuses the first this many placements (a rejection storm).
    pub refuse_places: u32,
    /// Through the bot machine even without exits.
    pub machine: bool,
}

/// [`run`] with test options (the machine path is taken when the bot has exits or `opts`
/// asks for it).
pub(super) fn run_with(
    config: &BacktestConfig,
    strategy: &mut dyn Strategy,
    bars: &[Bar],
    opts: RunOptions,
) -> Result<BacktestReport, BacktestError> {
    let first = bars.first().ok_or(BacktestError::NoBars)?;
    let symbol = config.rules.symbol.clone();
    let quote = config.rules.quote_asset.clone();
    let mut ledger = Ledger::new(LedgerConfig {
        bot_id: config.bot.id.clone(),
        quote_asset: quote.clone(),
        market: config.bot.market,
        method: PnlMethod::AverageCost,
    });
    ledger.book(&LedgerEntry::Transfer(Transfer {
        id: "backtest-capital".into(),
        amount: config.initial_capital,
        time_ms: first.open_time_ms,
    }))?;
    let mut venue = PaperVenue::new(PaperConfig {
        exchange: config.bot.exchange,
        market: config.bot.market,
        taker_fee_rate: config.taker_fee_rate,
        maker_fee_rate: config.maker_fee_rate,
        // The venue slips market orders (entries and triggered exits alike), as a paper bot's.
        slippage_bps: config.slippage_bps,
    });
    venue.set_rules(config.rules.clone());
    venue.deposit(&quote, config.initial_capital);
    let mut driven = (config.bot.exits.is_some() || opts.machine).then(|| {
        Driven::new(
            &config.bot,
            &strategy.version().id,
            ledger.clone(),
            first.open_time_ms,
        )
    });
    if let Some(d) = driven.as_mut() {
        d.refuse_places = opts.refuse_places;
    }
    let mut sim = Sim {
        cfg: config,
        symbol: symbol.clone(),
        ledger,
        venue,
        clock: ServerClock::new(),
        state: BotState::default(),
        day: i64::MIN,
        fills: Vec::new(),
        exits: Vec::new(),
        rejected: Vec::new(),
        realized_trades: Vec::new(),
        tag: strategy.version().id.clone(),
        facts: MarketFacts {
            price: Decimal::ZERO,
            rules: config.rules.clone(),
            free_base: None,
        },
        position: Decimal::ZERO,
        equity: config.initial_capital,
        eq0: config.initial_capital.to_f64().unwrap_or(f64::NAN),
        mark: first.open,
        qty: 0.0,
        lot: config.rules.step_size.to_f64().unwrap_or(0.0),
        exposed: false,
        driven,
    };
    let tf = config.timeframe.ms();
    let mut curve = Vec::with_capacity(bars.len());
    let mut stats = metrics::CurveStats::default();
    let mut exposed_bars = 0usize;
    let mut wanted: Option<Target> = None;
    let mut pending: Option<Target> = None;
    // A target the live path refused (risk, filters, the venue) is tried again on the next
    // decision, as the live strategy bot does: a refusal never leaves the bot flat for good.
    let mut refused = false;
    // Built once: only the bars move each bar; position and equity change only on execution.
    let mut ctx = Context {
        symbol: &symbol,
        bars: &bars[..1],
        position: sim.position,
        equity: sim.equity,
    };
    // Exits are watched only when the config asks for them: a run without pays one branch.
    let watch = config.bot.exits.is_some();
    for (i, bar) in bars.iter().enumerate() {
        if watch && sim.observe_open(strategy, bar, i, bar.open_time_ms)? {
            (ctx.position, ctx.equity) = (sim.position, sim.equity);
        }
        if let Some(t) = pending.take() {
            let before = sim.rejected.len();
            sim.execute(strategy, t, bar.open, i, bar.open_time_ms)?;
            refused = sim.rejected.len() > before;
            (ctx.position, ctx.equity) = (sim.position, sim.equity);
        }
        if watch && sim.observe_rest(strategy, bar, i, bar.open_time_ms + tf)? {
            (ctx.position, ctx.equity) = (sim.position, sim.equity);
        }
        ctx.bars = &bars[..=i];
        let mut changed = std::mem::take(&mut refused);
        for intent in strategy.on_bar(&ctx) {
            match intent {
                Intent::Target { symbol: s, target } if s == symbol => {
                    changed |= wanted != Some(target);
                    wanted = Some(target);
                }
                Intent::Order {
                    symbol: s,
                    side,
                    qty,
                } if s == symbol => {
                    let base = match wanted {
                        Some(Target::Qty(q)) => q,
                        _ => sim.position,
                    };
                    let t = Target::Qty(if side == crate::model::Side::Buy {
                        base + qty
                    } else {
                        base - qty
                    });
                    wanted = Some(t);
                    changed = true;
                }
                _ => {}
            }
        }
        // The band is a run constant: tested first, so a run without one pays a single branch.
        if config.rebalance_band > 0.0 && !changed {
            if let Some(Target::Exposure(e)) = wanted {
                let eq = sim.eq0 + sim.qty * (bar.close - sim.mark);
                let held = if eq > 0.0 {
                    sim.qty * bar.close / eq
                } else {
                    0.0
                };
                changed = (held - e).abs() > config.rebalance_band;
            }
        }
        if changed {
            if let Some(t) = wanted {
                match config.fill_at {
                    FillAt::NextOpen => pending = Some(t),
                    FillAt::Close => {
                        let before = sim.rejected.len();
                        sim.execute(strategy, t, bar.close, i, bar.open_time_ms + tf)?;
                        refused = sim.rejected.len() > before;
                        (ctx.position, ctx.equity) = (sim.position, sim.equity);
                    }
                }
            }
        }
        if sim.exposed {
            exposed_bars += 1;
        }
        let equity = sim.eq0 + sim.qty * (bar.close - sim.mark);
        stats.push(equity);
        curve.push((bar.open_time_ms + tf, equity));
    }
    let (last_i, last) = (bars.len() - 1, bars[bars.len() - 1]);
    let close = on_tick(to_dec(last.close, last_i, "close")?, config.rules.tick_size);
    let end_ms = last.open_time_ms + tf;
    sim.ledger.book(&LedgerEntry::Mark(MarkPrice {
        symbol,
        price: close,
        time_ms: end_ms,
    }))?;
    let run = Finished {
        bars: bars.len(),
        end_ms,
        curve,
        stats,
        exposed_bars,
    };
    run.report(config, strategy, sim)
}

/// What a run's loop leaves behind once its last bar is marked: the report of [`run`] and
/// [`run_multi`] alike is built from it.
struct Finished {
    bars: usize,
    end_ms: i64,
    curve: Vec<(i64, f64)>,
    stats: metrics::CurveStats,
    exposed_bars: usize,
}

impl Finished {
    /// The P&L at the end, the final equity, the metrics and the fills of `sim`'s ledger.
    fn report(
        self,
        config: &BacktestConfig,
        strategy: &dyn Strategy,
        sim: Sim<'_>,
    ) -> Result<BacktestReport, BacktestError> {
        let pnl = sim.ledger.pnl_report(self.end_ms)?;
        let final_equity = sim.ledger.equity()?;
        let metrics = metrics::compute_with(
            &self.stats,
            &self.curve,
            config.timeframe,
            &sim.realized_trades,
            sim.ledger.totals.volume_quote,
            sim.ledger.totals.fees_quote,
            self.exposed_bars,
        );
        Ok(BacktestReport {
            strategy: strategy.version().id.clone(),
            fill_at: config.fill_at,
            slippage_bps: config.slippage_bps,
            taker_fee_rate: config.taker_fee_rate,
            bars: self.bars,
            fills: sim.fills,
            exits: sim.exits,
            rejected: sim.rejected,
            equity_curve: self.curve,
            pnl,
            final_equity,
            metrics,
        })
    }
}

/// Runs a multi-series strategy ([`Strategy::feeds`] non-empty) over one bar series per feed
/// (`feeds[k]` for `strategy.feeds()[k]`, each oldest first at the strategy's base timeframe,
/// `rules[k]` its instrument rules) on one ledger and one paper venue, as one live bot trading
/// several instruments: the steps are the open times present in every feed; after each step
/// the feeds whose target changed (or was refused last time) trade in feed order through the
/// same live path as [`run`] (sizing, risk, paper venue, ledger). `config.rules` is not used,
/// nor `config.rebalance_band` (a target trades when it changes, as the live bot trades it).
///
/// # Errors
/// [`BacktestError`]: no aligned bars, a feed or rules list that does not match the strategy's
/// feeds, an unusable price, or a ledger/venue failure.
pub fn run_multi(
    config: &BacktestConfig,
    rules: &[InstrumentRules],
    strategy: &mut dyn Strategy,
    feeds: &[Vec<Bar>],
) -> Result<BacktestReport, BacktestError> {
    let symbols: Vec<Symbol> = strategy.feeds().to_vec();
    let n = symbols.len();
    if n == 0 || feeds.len() != n || rules.len() != n {
        return Err(BacktestError::Feeds(format!(
            "the strategy reads {n} instrument(s); {} bar series and {} rules given",
            feeds.len(),
            rules.len()
        )));
    }
    if let Some((k, r)) = rules
        .iter()
        .enumerate()
        .find(|(k, r)| symbols.get(*k) != Some(&r.symbol))
    {
        return Err(BacktestError::Feeds(format!(
            "rules[{k}] is for {} but feed {k} is {}",
            r.symbol,
            symbols.get(k).map_or("", |s| s.as_str())
        )));
    }
    let slices: Vec<&[Bar]> = feeds.iter().map(Vec::as_slice).collect();
    let steps = crate::strategy::live::align(&slices);
    let first_t = steps
        .first()
        .and_then(|i| feeds.first()?.get(*i))
        .map(|b| b.open_time_ms)
        .ok_or(BacktestError::NoBars)?;
    let quote = rules[0].quote_asset.clone();
    let mut ledger = Ledger::new(LedgerConfig {
        bot_id: config.bot.id.clone(),
        quote_asset: quote.clone(),
        market: config.bot.market,
        method: PnlMethod::AverageCost,
    });
    ledger.book(&LedgerEntry::Transfer(Transfer {
        id: "backtest-capital".into(),
        amount: config.initial_capital,
        time_ms: first_t,
    }))?;
    let mut venue = PaperVenue::new(PaperConfig {
        exchange: config.bot.exchange,
        market: config.bot.market,
        taker_fee_rate: config.taker_fee_rate,
        maker_fee_rate: config.maker_fee_rate,
        // The venue slips market orders (entries and triggered exits alike), as a paper bot's.
        slippage_bps: config.slippage_bps,
    });
    for r in rules {
        venue.set_rules(r.clone());
    }
    venue.deposit(&quote, config.initial_capital);
    let driven = config
        .bot
        .exits
        .is_some()
        .then(|| Driven::new(&config.bot, &strategy.version().id, ledger.clone(), first_t));
    let lots: Vec<f64> = rules
        .iter()
        .map(|r| r.step_size.to_f64().unwrap_or(0.0))
        .collect();
    let mut sim = Sim {
        cfg: config,
        symbol: symbols[0].clone(),
        ledger,
        venue,
        clock: ServerClock::new(),
        state: BotState::default(),
        day: i64::MIN,
        fills: Vec::new(),
        exits: Vec::new(),
        rejected: Vec::new(),
        realized_trades: Vec::new(),
        tag: strategy.version().id.clone(),
        facts: MarketFacts {
            price: Decimal::ZERO,
            rules: rules[0].clone(),
            free_base: None,
        },
        position: Decimal::ZERO,
        equity: config.initial_capital,
        eq0: config.initial_capital.to_f64().unwrap_or(f64::NAN),
        mark: 0.0,
        qty: 0.0,
        lot: lots[0],
        exposed: false,
        driven,
    };
    let tf = config.timeframe.ms();
    let count = steps.len() / n;
    let mut curve = Vec::with_capacity(count);
    let mut stats = metrics::CurveStats::default();
    let mut exposed_bars = 0usize;
    let mut wanted: Vec<Option<Target>> = vec![None; n];
    let mut pending: Vec<Option<Target>> = vec![None; n];
    let mut refused = vec![false; n];
    let (mut marks, mut qtys) = (vec![0.0f64; n], vec![0.0f64; n]);
    let mut latest: Vec<Bar> = Vec::with_capacity(n);
    let mut held: Vec<Option<f64>> = Vec::with_capacity(n);
    // Trades feed `k` to `t` at `price`, keeping the per-feed f64 view for the curve.
    let trade = |sim: &mut Sim,
                 strategy: &mut dyn Strategy,
                 k: usize,
                 t: Target,
                 price: f64,
                 step: usize,
                 now_ms: i64,
                 marks: &mut [f64],
                 qtys: &mut [f64]|
     -> Result<bool, BacktestError> {
        sim.symbol = symbols[k].clone();
        sim.facts.rules = rules[k].clone();
        sim.lot = lots[k];
        let before = sim.rejected.len();
        sim.execute(strategy, t, price, step * n + k, now_ms)?;
        marks[k] = sim.mark;
        qtys[k] = sim.qty;
        Ok(sim.rejected.len() > before)
    };
    for (step, idx) in steps.chunks(n).enumerate() {
        latest.clear();
        for (k, i) in idx.iter().enumerate() {
            if let Some(b) = feeds.get(k).and_then(|f| f.get(*i)) {
                latest.push(*b);
            }
        }
        let Some(t_open) = latest.first().map(|b| b.open_time_ms) else {
            continue;
        };
        let watch = config.bot.exits.is_some();
        for k in 0..n {
            if watch {
                sim.symbol = symbols[k].clone();
                sim.facts.rules = rules[k].clone();
                sim.lot = lots[k];
                let b = latest[k];
                let at = idx.get(k).copied().unwrap_or(0);
                let mut filled = sim.observe_open(strategy, &b, at, t_open)?;
                if let Some(t) = pending[k].take() {
                    refused[k] = trade(
                        &mut sim, strategy, k, t, b.open, step, t_open, &mut marks, &mut qtys,
                    )?;
                }
                filled |= sim.observe_rest(strategy, &b, at, t_open + tf)?;
                if filled {
                    marks[k] = sim.mark;
                    qtys[k] = sim.qty;
                }
                continue;
            }
            if let Some(t) = pending[k].take() {
                let open = latest[k].open;
                refused[k] = trade(
                    &mut sim, strategy, k, t, open, step, t_open, &mut marks, &mut qtys,
                )?;
            }
        }
        held.clear();
        held.extend_from_slice(strategy.on_step(&latest));
        for k in 0..n {
            let Some(x) = held.get(k).copied().flatten() else {
                continue;
            };
            let t = Target::Exposure(x);
            let changed = std::mem::take(&mut refused[k]) || wanted[k] != Some(t);
            wanted[k] = Some(t);
            if !changed {
                continue;
            }
            match config.fill_at {
                FillAt::NextOpen => pending[k] = Some(t),
                FillAt::Close => {
                    let close = latest[k].close;
                    refused[k] = trade(
                        &mut sim,
                        strategy,
                        k,
                        t,
                        close,
                        step,
                        t_open + tf,
                        &mut marks,
                        &mut qtys,
                    )?;
                }
            }
        }
        let mut equity = sim.eq0;
        let mut exposed = false;
        for k in 0..n {
            equity += qtys[k] * (latest[k].close - marks[k]);
            exposed |= qtys[k] != 0.0 && qtys[k].abs() >= lots[k];
        }
        if exposed {
            exposed_bars += 1;
        }
        stats.push(equity);
        curve.push((t_open + tf, equity));
    }
    let last_idx = steps.chunks(n).last().ok_or(BacktestError::NoBars)?;
    let mut end_ms = first_t;
    for (k, i) in last_idx.iter().enumerate() {
        let Some(last) = feeds.get(k).and_then(|f| f.get(*i)) else {
            continue;
        };
        let close = on_tick(to_dec(last.close, *i, "close")?, rules[k].tick_size);
        end_ms = last.open_time_ms + tf;
        sim.ledger.book(&LedgerEntry::Mark(MarkPrice {
            symbol: symbols[k].clone(),
            price: close,
            time_ms: end_ms,
        }))?;
    }
    let run = Finished {
        bars: count,
        end_ms,
        curve,
        stats,
        exposed_bars,
    };
    run.report(config, strategy, sim)
}
