//! The state the machine keeps between inputs: the bot's flags, ledger, working orders, exits
//! and the counters the risk rules read. The driver builds it once from storage
//! ([`Snapshot`]); afterwards only the machine changes it, and every change reaches storage as
//! a [`super::Record`] in a persisted batch.

use crate::bot::BotState;
use crate::ids::{ClientOrderId, SignalId, Symbol};
use crate::ledger::Ledger;
use crate::model::Side;
use crate::order::{Order, OrderStatus};
use crate::venue::{ExitKind, ExitTrigger};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Operational flags of a bot, stored under `flags` (the Durable Object's `Flags`, moved here
/// so the machine owns pause, halt and the rejection count; field names unchanged for storage).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    /// Paused: no new entries; cancels and reduce-only allowed.
    pub paused: bool,
    /// Why it is paused (operator reason or automatic rule).
    pub pause_reason: Option<String>,
    /// Platform halted (pushed by the ControlDO).
    pub halted: bool,
    /// A reconciliation mismatch or similar needs an operator.
    pub needs_attention: bool,
    /// Why attention is needed.
    pub attention_reason: Option<String>,
    /// Consecutive exchange rejections (auto-pause after a threshold).
    pub consecutive_rejections: u32,
}

/// Where an exchange-side exit stands. Serialised as the stored status names
/// (`trigger_open`, …), which no order loop re-queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitState {
    /// Resting at the exchange, watching the price.
    #[serde(rename = "trigger_open")]
    Open,
    /// Fired; fills of its closing order may still come.
    #[serde(rename = "trigger_fired")]
    Fired,
    /// Its close is booked.
    #[serde(rename = "trigger_filled")]
    Filled,
    /// Cancelled (by us before a close, or by the exchange).
    #[serde(rename = "trigger_cancelled")]
    Cancelled,
    /// Expired without firing.
    #[serde(rename = "trigger_expired")]
    Expired,
    /// Refused when placed.
    #[serde(rename = "trigger_rejected")]
    Rejected,
}

impl ExitState {
    /// Whether the exit may still produce a fill (the refresh looks at these).
    pub fn is_live(self) -> bool {
        matches!(self, ExitState::Open | ExitState::Fired)
    }
}

/// One exchange-side exit of the bot (an orders row with an exit status today).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// What was placed (client id, symbol, closing side, kind, trigger price, quantity).
    pub trigger: ExitTrigger,
    /// Where it stands.
    pub state: ExitState,
    /// The exchange's id of the exit, once known.
    pub order_id: Option<String>,
    /// The entry it protects.
    pub entry: ClientOrderId,
    /// The signal of that entry.
    pub signal_id: Option<SignalId>,
    /// Carried on the entry itself (Bybit TP/SL on create): no order of its own to cancel.
    pub attached: bool,
    /// The OCO list it is a leg of (Binance spot), cancelled as a whole.
    pub oco: Option<ClientOrderId>,
    /// When it was placed (executions are read from a little before).
    pub since_ms: i64,
    /// The exchange order its firing sent, once known (its fills are claimed for this exit).
    pub actual_order_id: Option<String>,
    /// Why it was refused or left out, when it was.
    pub error: Option<String>,
    /// When it was cancelled before a close, and why.
    pub cancelled: Option<(i64, String)>,
}

impl ExitRecord {
    /// A newly recorded exit.
    pub fn new(trigger: ExitTrigger, entry: ClientOrderId, signal_id: Option<SignalId>) -> Self {
        Self {
            trigger,
            state: ExitState::Open,
            order_id: None,
            entry,
            signal_id,
            attached: false,
            oco: None,
            since_ms: 0,
            actual_order_id: None,
            error: None,
            cancelled: None,
        }
    }

    /// Its client id.
    pub fn id(&self) -> &ClientOrderId {
        &self.trigger.client_order_id
    }

    /// Its symbol.
    pub fn symbol(&self) -> &Symbol {
        &self.trigger.symbol
    }

    /// Stop-loss or take-profit.
    pub fn kind(&self) -> ExitKind {
        self.trigger.kind
    }

    /// The side its closing order trades.
    pub fn close_side(&self) -> Side {
        self.trigger.close_side
    }
}

/// What the driver loads from storage to start a machine.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The bot's ledger (replayed).
    pub ledger: Ledger,
    /// Its flags.
    pub flags: Flags,
    /// Orders that may still trade or whose answer may be lost (sent, accepted, partially
    /// filled, cancel sent, unknown), with the signal of each.
    pub open_orders: Vec<(Order, Option<SignalId>)>,
    /// Exits that are not final (open or fired).
    pub live_exits: Vec<ExitRecord>,
    /// Every symbol the bot ever ordered (a `cancel_all` without a symbol covers them).
    pub traded_symbols: BTreeSet<Symbol>,
    /// Last placement time per symbol (cooldown rule), orders not rejected.
    pub last_trade_ms: BTreeMap<Symbol, i64>,
    /// Orders placed since the start of the current UTC day (trades-per-day rule).
    pub trades_today: u32,
    /// When reconciliation last ran (ms), if ever.
    pub last_reconcile_ms: Option<i64>,
}

impl Snapshot {
    /// A bot with nothing open or traded yet, over `ledger`, just reconciled at `now_ms`: how
    /// the backtester and the test harness start a machine (the Durable Object loads its rows).
    pub fn fresh(ledger: Ledger, now_ms: i64) -> Self {
        Self {
            ledger,
            flags: Flags::default(),
            open_orders: Vec::new(),
            live_exits: Vec::new(),
            traded_symbols: BTreeSet::new(),
            last_trade_ms: BTreeMap::new(),
            trades_today: 0,
            last_reconcile_ms: Some(now_ms),
        }
    }
}

/// Milliseconds per UTC day.
const DAY_MS: i64 = 86_400_000;

/// The machine's state.
#[derive(Debug, Clone)]
pub struct Book {
    pub(super) ledger: Ledger,
    pub(super) flags: Flags,
    pub(super) orders: BTreeMap<ClientOrderId, (Order, Option<SignalId>)>,
    pub(super) exits: BTreeMap<ClientOrderId, ExitRecord>,
    pub(super) traded: BTreeSet<Symbol>,
    pub(super) last_trade_ms: BTreeMap<Symbol, i64>,
    /// Orders of the current day counted before the machine started (not in `today`).
    pub(super) trades_base: u32,
    /// Orders the machine stored today: symbol, last update, whether they count.
    pub(super) today: BTreeMap<ClientOrderId, (Symbol, i64, bool)>,
    pub(super) trades_day: i64,
    pub(super) last_reconcile_ms: Option<i64>,
}

impl Book {
    /// The machine's state from a snapshot taken at `now_ms`.
    pub fn new(s: Snapshot, now_ms: i64) -> Self {
        let trades_day = now_ms.div_euclid(DAY_MS);
        // Open orders placed today are counted in the snapshot's figure; they are tracked from
        // here.
        let today: BTreeMap<ClientOrderId, (Symbol, i64, bool)> = s
            .open_orders
            .iter()
            .filter(|(o, _)| o.created_ms.div_euclid(DAY_MS) == trades_day)
            .map(|(o, _)| {
                let counts = !matches!(o.status, OrderStatus::Intent | OrderStatus::Rejected);
                (
                    o.request.client_order_id.clone(),
                    (o.request.symbol.clone(), o.created_ms, counts),
                )
            })
            .collect();
        let seeded = today.values().filter(|(_, _, c)| *c).count();
        let trades_base = s
            .trades_today
            .saturating_sub(u32::try_from(seeded).unwrap_or(u32::MAX));
        Self {
            ledger: s.ledger,
            flags: s.flags,
            orders: s
                .open_orders
                .into_iter()
                .map(|(o, sid)| (o.request.client_order_id.clone(), (o, sid)))
                .collect(),
            exits: s
                .live_exits
                .into_iter()
                .map(|e| (e.id().clone(), e))
                .collect(),
            traded: s.traded_symbols,
            last_trade_ms: s.last_trade_ms,
            trades_base,
            today,
            trades_day,
            last_reconcile_ms: s.last_reconcile_ms,
        }
    }

    /// The risk engine's view of the bot at `now_ms` (the DO's `bot_state`): a bot that needs
    /// attention opens nothing new until an operator resumes it.
    pub fn bot_state(&self, now_ms: i64) -> BotState {
        let counted = self.today.values().filter(|(_, _, c)| *c).count();
        let trades_today = if now_ms.div_euclid(DAY_MS) == self.trades_day {
            self.trades_base
                .saturating_add(u32::try_from(counted).unwrap_or(u32::MAX))
        } else {
            0
        };
        let mut last_trade_ms = self.last_trade_ms.clone();
        for (symbol, t, counts) in self.today.values() {
            if *counts {
                let e = last_trade_ms.entry(symbol.clone()).or_insert(*t);
                *e = (*e).max(*t);
            }
        }
        BotState {
            paused: self.flags.paused || self.flags.needs_attention,
            halted: self.flags.halted,
            last_trade_ms,
            trades_today,
        }
    }

    /// Keeps the machine's copy of an order (and the counters) in step with a stored row. An
    /// order counts for the cooldown and the daily count while its row is neither `intent` nor
    /// `rejected`, as of when it was placed: a later update (a poll of yesterday's order, a
    /// late fill) is no trade of today and restarts no cooldown.
    pub(super) fn track(&mut self, order: &Order, signal_id: Option<&SignalId>) {
        let coid = order.request.client_order_id.clone();
        let symbol = order.request.symbol.clone();
        self.traded.insert(symbol.clone());
        let counts = !matches!(order.status, OrderStatus::Intent | OrderStatus::Rejected);
        let placed_day = order.created_ms.div_euclid(DAY_MS);
        // The day rolls over with the clock, not with the order's placement.
        let today = self.trades_day.max(order.updated_ms.div_euclid(DAY_MS));
        if today > self.trades_day {
            // Yesterday's orders leave the daily count but keep their cooldown.
            for (symbol, t, counts) in std::mem::take(&mut self.today).into_values() {
                if counts {
                    let e = self.last_trade_ms.entry(symbol).or_insert(t);
                    *e = (*e).max(t);
                }
            }
            self.trades_day = today;
            self.trades_base = 0;
        }
        if placed_day == self.trades_day {
            self.today
                .insert(coid.clone(), (symbol, order.created_ms, counts));
        }
        if order.status.is_terminal() {
            self.orders.remove(&coid);
        } else {
            self.orders
                .insert(coid, (order.clone(), signal_id.cloned()));
        }
    }

    /// Keeps the machine's copy of an exit in step with a stored row (final exits drop out).
    pub(super) fn track_exit(&mut self, exit: &ExitRecord) {
        if exit.state.is_live() {
            self.exits.insert(exit.id().clone(), exit.clone());
        } else {
            self.exits.remove(exit.id());
        }
    }

    /// The bot's ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The bot's flags.
    pub fn flags(&self) -> &Flags {
        &self.flags
    }

    /// Orders that may still trade.
    pub fn open_orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values().map(|(o, _)| o)
    }

    /// Exits that may still fire.
    pub fn live_exits(&self) -> impl Iterator<Item = &ExitRecord> {
        self.exits.values()
    }
}
