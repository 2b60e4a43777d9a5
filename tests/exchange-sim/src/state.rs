//! The simulator's whole mutable exchange state: instruments with their current price, accounts,
//! orders, trades and ledger. One value behind one mutex, so every request sees a consistent book.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::accounts::Account;
use crate::conditional::Conditional;
use crate::config::{InstrumentConfig, SimConfig, Venue};
use crate::model::{Income, Order, OrderChange, Trade, FIRST_ORDER_ID};

/// An instrument at run time.
#[derive(Clone, Debug)]
pub struct Instrument {
    /// Rules.
    pub cfg: InstrumentConfig,
    /// Current (last / mark) price.
    pub price: Decimal,
    /// Quantity that can fill per price tick; `None` = unlimited.
    pub liquidity: Option<Decimal>,
    /// Liquidity left in the current tick.
    pub liquidity_left: Option<Decimal>,
    /// Next trade id for this symbol.
    pub next_trade_id: u64,
    /// Last funding rate applied (futures).
    pub funding_rate: Decimal,
}

/// Whole exchange state.
#[derive(Debug)]
pub struct State {
    /// Configuration it was built from.
    pub cfg: SimConfig,
    /// Instruments by (venue, symbol).
    pub instruments: BTreeMap<(Venue, String), Instrument>,
    /// Accounts.
    pub accounts: Vec<Account>,
    /// All orders; index = id - FIRST_ORDER_ID.
    pub orders: Vec<Order>,
    /// All trades.
    pub trades: Vec<Trade>,
    /// Futures ledger.
    pub income: Vec<Income>,
    /// Stored stop-loss / take-profit triggers.
    pub conditionals: Vec<Conditional>,
    /// Binance spot OCO lists by client id: (account, `listClientOrderId`, list id = stop id).
    pub oco_lists: Vec<(usize, String, u64)>,
    /// Next ledger id.
    pub next_tran_id: u64,
    /// Server clock offset (fault: clock skew), ms.
    pub clock_offset_ms: i64,
    /// Random-walk generator state.
    pub rng: u64,
    /// Candle history per symbol (served by the kline endpoints).
    pub klines: BTreeMap<String, crate::klines::Series>,
    /// Every price a venue's symbol has had since the state began, for the candles of symbols
    /// with no loaded history (a real exchange serves klines of every listed symbol).
    pub tapes: BTreeMap<(Venue, String), crate::klines::Tape>,
    /// Wall-clock ms when the state began (the first derived candle opens at it).
    pub epoch_ms: i64,
    /// Order changes not yet pushed to the user-data streams, in the order they happened
    /// ([`crate::Sim::publish`] drains it under the same lock, so streams and REST agree).
    pub outbox: Vec<OrderChange>,
    /// The last state of each Binance USDⓈ-M trigger pushed as `ALGO_UPDATE` (a trigger whose
    /// state differs is pushed at the next [`crate::Sim::publish`]).
    pub triggers_pushed: BTreeMap<u64, crate::conditional::TriggerStatus>,
    /// How many [`State::income`] rows the streams have seen (funding rows after it are pushed).
    pub income_pushed: usize,
    /// The last price of each instrument pushed on the market-data streams.
    pub prices_pushed: BTreeMap<(Venue, String), Decimal>,
}

impl State {
    /// Fresh state from a configuration and a random-walk seed.
    pub fn new(cfg: SimConfig, seed: u64) -> Self {
        let instruments: BTreeMap<(Venue, String), Instrument> = cfg
            .instruments
            .iter()
            .map(|i| {
                let inst = Instrument {
                    cfg: i.clone(),
                    price: i.price,
                    liquidity: None,
                    liquidity_left: None,
                    next_trade_id: 100_001,
                    funding_rate: Decimal::new(1, 4),
                };
                ((i.venue, i.symbol.clone()), inst)
            })
            .collect();
        let accounts = cfg.accounts.iter().map(Account::new).collect();
        State {
            cfg,
            accounts,
            orders: Vec::new(),
            trades: Vec::new(),
            income: Vec::new(),
            conditionals: Vec::new(),
            oco_lists: Vec::new(),
            next_tran_id: 9_000_001,
            clock_offset_ms: 0,
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
            klines: BTreeMap::new(),
            tapes: BTreeMap::new(),
            epoch_ms: crate::real_now_us() / 1000,
            outbox: Vec::new(),
            triggers_pushed: BTreeMap::new(),
            income_pushed: 0,
            // The starting prices are no change: only moves are pushed.
            prices_pushed: instruments
                .iter()
                .map(|(k, i)| (k.clone(), i.price))
                .collect(),
            instruments,
        }
    }

    /// Instrument lookup.
    pub fn instrument(&self, venue: Venue, symbol: &str) -> Option<&Instrument> {
        self.instruments.get(&(venue, symbol.to_string()))
    }

    /// Account index owning an API key, if any.
    pub fn account_by_key(&self, key: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.cfg.api_key == key)
    }

    /// Account index by admin name.
    pub fn account_by_name(&self, name: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.cfg.name == name)
    }

    /// Records an order's change (and its fill) for the user-data streams.
    pub fn record_change(&mut self, id: u64, trade: Option<Trade>) {
        if let Some(order) = self.order(id).cloned() {
            self.outbox.push(OrderChange { order, trade });
        }
    }

    /// Order by exchange id.
    pub fn order(&self, id: u64) -> Option<&Order> {
        id.checked_sub(FIRST_ORDER_ID)
            .and_then(|i| self.orders.get(i as usize))
    }

    /// Order id by client id for an account on a venue; the newest wins (ids may be reused).
    pub fn order_by_client_id(&self, account: usize, venue: Venue, client_id: &str) -> Option<u64> {
        self.orders
            .iter()
            .rev()
            .find(|o| o.account == account && o.venue == venue && o.client_id == client_id)
            .map(|o| o.id)
    }

    /// Next pseudo-random number (splitmix64): deterministic walks per seed.
    pub fn next_rand(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Moves every symbol's price by a random step of at most `walk_step_bps`, same step on all
    /// venues of a symbol so spot and futures stay together, then matches resting orders.
    pub fn walk_step(&mut self, now: i64) {
        let symbols: Vec<String> = {
            let mut s: Vec<String> = self.instruments.keys().map(|(_, s)| s.clone()).collect();
            s.dedup();
            s.sort();
            s.dedup();
            s
        };
        let max_bps = i64::from(self.cfg.walk_step_bps.max(1));
        for sym in symbols {
            let r = (self.next_rand() % (2 * max_bps as u64 + 1)) as i64 - max_bps;
            let factor = Decimal::ONE + Decimal::new(r, 4);
            let venues: Vec<Venue> = self
                .instruments
                .keys()
                .filter(|(_, s)| *s == sym)
                .map(|(v, _)| *v)
                .collect();
            for v in venues {
                if let Some(inst) = self.instruments.get(&(v, sym.clone())) {
                    let p = inst.price * factor;
                    self.set_price(v, &sym, p, now);
                }
            }
        }
    }

    /// JSON snapshot for the admin API, optionally for one account.
    pub fn snapshot(&self, account: Option<usize>) -> Value {
        let want = |a: usize| account.is_none_or(|x| x == a);
        let accounts: Vec<Value> = self
            .accounts
            .iter()
            .enumerate()
            .filter(|(i, _)| want(*i))
            .map(|(_, a)| {
                json!({"name": a.cfg.name, "exchange": a.cfg.exchange, "api_key": a.cfg.api_key,
                       "spot": a.spot, "futures": a.futures, "positions": a.positions, "leverage": a.leverage})
            })
            .collect();
        let prices: Vec<Value> = self
            .instruments
            .values()
            .map(|i| json!({"venue": i.cfg.venue, "symbol": i.cfg.symbol, "price": i.price, "liquidity": i.liquidity, "funding_rate": i.funding_rate}))
            .collect();
        let name = |a: usize| {
            self.accounts
                .get(a)
                .map(|x| x.cfg.name.clone())
                .unwrap_or_default()
        };
        let orders: Vec<Value> = self
            .orders
            .iter()
            .filter(|o| want(o.account))
            .map(|o| {
                let mut v = json!(o);
                v["account"] = json!(name(o.account));
                v
            })
            .collect();
        let trades: Vec<Value> = self
            .trades
            .iter()
            .filter(|t| want(t.account))
            .map(|t| {
                let mut v = json!(t);
                v["account"] = json!(name(t.account));
                v
            })
            .collect();
        let income: Vec<&Income> = self.income.iter().filter(|i| want(i.account)).collect();
        let conditionals: Vec<Value> = self
            .conditionals
            .iter()
            .filter(|c| want(c.account))
            .map(|c| {
                let mut v = json!(c);
                v["account"] = json!(name(c.account));
                v
            })
            .collect();
        json!({"clock_offset_ms": self.clock_offset_ms, "prices": prices, "accounts": accounts,
               "orders": orders, "trades": trades, "income": income, "conditionals": conditionals})
    }
}
