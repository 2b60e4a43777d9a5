//! The books the ledger keeps (bot totals, per instrument, per strategy, per day) and how one
//! entry changes them. Each `apply_*` computes every new value with checked arithmetic first and
//! only then writes, so a refused entry leaves the ledger untouched.

use super::entry::{Allocation, FillBooking, FundingPayment, LedgerEntry, MarkPrice, Transfer};
use super::{DayOpen, Effect, Ledger, LedgerError};
use crate::ids::Symbol;
use crate::model::{Market, Side};
use crate::position::{add, mul, FifoLots, Position, PositionError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Strategy key for fills that carry no strategy tag.
pub const UNTAGGED: &str = "untagged";

/// Bot-wide running totals, in quote.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Realized P&L, average cost (fees excluded).
    pub realized: Decimal,
    /// Realized P&L, FIFO lots.
    pub realized_fifo: Decimal,
    /// Funding: positive received, negative paid.
    pub funding: Decimal,
    /// Fees valued in quote at fill time (rebates negative).
    pub fees_quote: Decimal,
    /// Net capital transferred in.
    pub transfers: Decimal,
    /// Number of fills booked.
    pub fills: u64,
    /// Traded notional, Σ price × qty.
    pub volume_quote: Decimal,
}

/// One instrument's position and totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentBook {
    /// Average-cost position.
    pub position: Position,
    /// Base asset (`BTC`); empty if only funding was booked.
    pub base_asset: String,
    /// Realized P&L, average cost.
    pub realized: Decimal,
    /// Realized P&L, FIFO.
    pub realized_fifo: Decimal,
    /// Funding.
    pub funding: Decimal,
    /// Fees in quote.
    pub fees_quote: Decimal,
    /// Fills booked.
    pub fills: u64,
    /// Traded notional.
    pub volume_quote: Decimal,
    /// The smallest tradable quantity last booked with a fill ([`super::FillBooking::min_lot`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_lot: Option<Decimal>,
}

impl InstrumentBook {
    fn new(symbol: Symbol, base_asset: String) -> Self {
        Self {
            position: Position::flat(symbol),
            base_asset,
            realized: Decimal::ZERO,
            realized_fifo: Decimal::ZERO,
            funding: Decimal::ZERO,
            fees_quote: Decimal::ZERO,
            fills: 0,
            volume_quote: Decimal::ZERO,
            min_lot: None,
        }
    }

    /// Whether the position is dust: not flat, but smaller than the smallest quantity the
    /// exchange trades (what a spot sell of the whole sellable balance leaves once fees were
    /// paid in the base asset). No order can close it, so it is held, valued and reported,
    /// but it is not an open position: it does not count against `max_open_positions`, an
    /// entry on its instrument opens a new position, and summaries do not list it.
    #[must_use]
    pub fn is_dust(&self) -> bool {
        match self.min_lot {
            Some(lot) => !self.position.is_flat() && self.position.qty.abs() < lot,
            None => false,
        }
    }

    /// Whether the instrument holds an open position: neither flat nor [dust](Self::is_dust).
    #[must_use]
    pub fn is_open(&self) -> bool {
        !self.position.is_flat() && !self.is_dust()
    }

    /// Unrealized P&L at `mark` (zero when flat or no mark is known).
    ///
    /// # Errors
    /// [`PositionError::Overflow`].
    pub fn unrealized(&self, mark: Option<Decimal>) -> Result<Decimal, PositionError> {
        match mark {
            Some(m) if !self.position.is_flat() => self.position.unrealized(m),
            _ => Ok(Decimal::ZERO),
        }
    }
}

/// One strategy's totals.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StrategyBook {
    /// Realized P&L (average cost) of the strategy's closing fills.
    pub realized: Decimal,
    /// Realized P&L, FIFO.
    pub realized_fifo: Decimal,
    /// Fees in quote.
    pub fees_quote: Decimal,
    /// Fills booked.
    pub fills: u64,
    /// Traded notional.
    pub volume_quote: Decimal,
    /// Capital allocated.
    pub allocated: Decimal,
}

/// One UTC day's totals.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DayBook {
    /// Realized P&L, average cost.
    pub realized: Decimal,
    /// Realized P&L, FIFO.
    pub realized_fifo: Decimal,
    /// Fees in quote.
    pub fees_quote: Decimal,
    /// Funding.
    pub funding: Decimal,
    /// Fills booked.
    pub fills: u64,
    /// Net transfers.
    pub transfers: Decimal,
}

/// What one fill adds to every book it touches.
struct Sums {
    realized: Decimal,
    realized_fifo: Decimal,
    fee_quote: Decimal,
}

impl Sums {
    fn add_to(
        &self,
        realized: &mut Decimal,
        realized_fifo: &mut Decimal,
        fees_quote: &mut Decimal,
    ) -> Result<(), PositionError> {
        let r = add(*realized, self.realized, "realized")?;
        let rf = add(*realized_fifo, self.realized_fifo, "realized_fifo")?;
        let fq = add(*fees_quote, self.fee_quote, "fees_quote")?;
        (*realized, *realized_fifo, *fees_quote) = (r, rf, fq);
        Ok(())
    }
}

fn opposite_of_fee(fee: Decimal) -> Side {
    // Paying a fee in base gives base away (a sale); a rebate in base receives it (a purchase).
    if fee.is_sign_positive() {
        Side::Sell
    } else {
        Side::Buy
    }
}

/// Sets `map[key] = value`, in place when the key exists (one search, no key copy).
fn put<K: Ord + Clone, V>(map: &mut BTreeMap<K, V>, key: &K, value: V) {
    match map.get_mut(key) {
        Some(slot) => *slot = value,
        None => {
            map.insert(key.clone(), value);
        }
    }
}

impl Ledger {
    /// Applies one new (not duplicate) entry atomically.
    pub(super) fn apply(
        &mut self,
        entry: &LedgerEntry,
        day: i64,
        new_open: Option<DayOpen>,
    ) -> Result<Effect, LedgerError> {
        let effect = match entry {
            LedgerEntry::Fill(b) => self.apply_fill(b, day, new_open),
            LedgerEntry::Funding(f) => self.apply_funding(f, day, new_open),
            LedgerEntry::Transfer(t) => self.apply_transfer(t, day, new_open),
            LedgerEntry::Allocation(a) => self.apply_allocation(a, new_open),
            LedgerEntry::Mark(m) => self.apply_mark(m, new_open),
        }?;
        // Fills and marks move the held mark, only after everything else of the entry applied.
        self.observe_mark(entry);
        Ok(effect)
    }

    fn fee_price(&self, b: &FillBooking) -> Result<Decimal, LedgerError> {
        let f = &b.fill;
        let price = if f.fee_asset == self.config.quote_asset {
            Decimal::ONE
        } else if f.fee.is_zero() {
            Decimal::ZERO
        } else if f.fee_asset == b.base_asset {
            b.fee_asset_price.unwrap_or(f.price)
        } else {
            b.fee_asset_price
                .ok_or_else(|| LedgerError::MissingFeePrice {
                    trade_id: f.trade_id.clone(),
                    asset: f.fee_asset.clone(),
                })?
        };
        if price.is_sign_negative() || (price.is_zero() && !f.fee.is_zero()) {
            return Err(LedgerError::NonPositive {
                field: "fee_asset_price",
                value: price,
            });
        }
        Ok(price)
    }

    fn apply_fill(
        &mut self,
        b: &FillBooking,
        day: i64,
        new_open: Option<DayOpen>,
    ) -> Result<Effect, LedgerError> {
        let f = &b.fill;
        if b.quote_asset != self.config.quote_asset {
            return Err(LedgerError::QuoteMismatch {
                field: "quote_asset",
                expected: self.config.quote_asset.clone(),
                got: b.quote_asset.clone(),
            });
        }
        let fee_price = self.fee_price(b)?;
        let base_fee =
            self.config.market == Market::Spot && f.fee_asset == b.base_asset && !f.fee.is_zero();
        let fee_side = opposite_of_fee(f.fee);
        let mut inst = match self.instruments.get(&f.symbol) {
            Some(i) => i.clone(),
            None => InstrumentBook::new(f.symbol.clone(), b.base_asset.clone()),
        };
        if b.min_lot.is_some() {
            inst.min_lot = b.min_lot;
        }
        let mut realized = inst.position.apply(f.side, f.qty, f.price)?.realized;
        if base_fee {
            let r = inst
                .position
                .apply(fee_side, f.fee.abs(), fee_price)?
                .realized;
            realized = add(realized, r, "realized")?;
        }
        let fee_quote = mul(f.fee, fee_price, "fee_quote")?;
        let notional = mul(f.price, f.qty, "volume_quote")?;
        let tag: &str = b.strategy.as_deref().unwrap_or(UNTAGGED);

        // FIFO lots can be long (spot accumulation): they change in place, and are undone if
        // anything after fails, instead of being cloned for every fill.
        let mut fresh = FifoLots::default();
        let known = self.lots.contains_key(&f.symbol);
        let lots = self.lots.get_mut(&f.symbol).unwrap_or(&mut fresh);
        let (r, undo) = lots.apply_undoable(f.side, f.qty, f.price)?;
        let mut undos = vec![undo];
        let planned = (|| {
            let mut realized_fifo = r;
            if base_fee {
                let (r, undo) = lots.apply_undoable(fee_side, f.fee.abs(), fee_price)?;
                undos.push(undo);
                realized_fifo = add(realized_fifo, r, "realized_fifo")?;
            }
            let sums = Sums {
                realized,
                realized_fifo,
                fee_quote,
            };
            sums.add_to(
                &mut inst.realized,
                &mut inst.realized_fifo,
                &mut inst.fees_quote,
            )?;
            inst.volume_quote = add(inst.volume_quote, notional, "volume_quote")?;
            inst.fills += 1;
            let mut totals = self.totals.clone();
            sums.add_to(
                &mut totals.realized,
                &mut totals.realized_fifo,
                &mut totals.fees_quote,
            )?;
            totals.volume_quote = add(totals.volume_quote, notional, "volume_quote")?;
            totals.fills += 1;
            let mut strat = self.strategies.get(tag).cloned().unwrap_or_default();
            sums.add_to(
                &mut strat.realized,
                &mut strat.realized_fifo,
                &mut strat.fees_quote,
            )?;
            strat.volume_quote = add(strat.volume_quote, notional, "volume_quote")?;
            strat.fills += 1;
            let mut d = self.days.get(&day).cloned().unwrap_or_default();
            sums.add_to(&mut d.realized, &mut d.realized_fifo, &mut d.fees_quote)?;
            d.fills += 1;
            let prior_fee = self
                .fees_by_asset
                .get(&f.fee_asset)
                .copied()
                .unwrap_or_default();
            let fee_asset_total = add(prior_fee, f.fee, "fees_by_asset")?;
            Ok::<_, LedgerError>((totals, strat, d, fee_asset_total))
        })();
        let (totals, strat, d, fee_asset_total) = match planned {
            Ok(p) => p,
            Err(e) => {
                for undo in undos.into_iter().rev() {
                    lots.undo(undo);
                }
                return Err(e);
            }
        };

        // Commit: nothing below can fail.
        if !known {
            self.lots.insert(f.symbol.clone(), fresh);
        }
        let position_qty = inst.position.qty;
        put(&mut self.instruments, &f.symbol, inst);
        self.totals = totals;
        // Existing keys are updated in place: no key string is allocated for a known strategy,
        // fee asset or order.
        match self.strategies.get_mut(tag) {
            Some(s) => *s = strat,
            None => {
                self.strategies.insert(tag.to_string(), strat);
            }
        }
        put(&mut self.days, &day, d);
        match self.fees_by_asset.get_mut(&f.fee_asset) {
            Some(total) => *total = fee_asset_total,
            None => {
                self.fees_by_asset
                    .insert(f.fee_asset.clone(), fee_asset_total);
            }
        }
        if new_open.is_some() {
            self.day_open = new_open;
        }
        if let Some(o) = self.day_open.as_mut().filter(|o| o.day == day) {
            if !o.order_ids.contains(&f.order_id) {
                o.order_ids.insert(f.order_id.clone());
            }
        }
        Ok(Effect {
            realized,
            fee_quote,
            position_qty,
            ..Effect::default()
        })
    }

    fn apply_funding(
        &mut self,
        p: &FundingPayment,
        day: i64,
        new_open: Option<DayOpen>,
    ) -> Result<Effect, LedgerError> {
        if p.asset != self.config.quote_asset {
            return Err(LedgerError::QuoteMismatch {
                field: "asset",
                expected: self.config.quote_asset.clone(),
                got: p.asset.clone(),
            });
        }
        let mut inst = match self.instruments.get(&p.symbol) {
            Some(i) => i.clone(),
            None => InstrumentBook::new(p.symbol.clone(), String::new()),
        };
        inst.funding = add(inst.funding, p.amount, "funding")?;
        let funding = add(self.totals.funding, p.amount, "funding")?;
        let mut d = self.days.get(&day).cloned().unwrap_or_default();
        d.funding = add(d.funding, p.amount, "funding")?;
        let position_qty = inst.position.qty;
        put(&mut self.instruments, &p.symbol, inst);
        self.totals.funding = funding;
        put(&mut self.days, &day, d);
        if new_open.is_some() {
            self.day_open = new_open;
        }
        Ok(Effect {
            funding: p.amount,
            position_qty,
            ..Effect::default()
        })
    }

    fn apply_transfer(
        &mut self,
        t: &Transfer,
        day: i64,
        new_open: Option<DayOpen>,
    ) -> Result<Effect, LedgerError> {
        let transfers = add(self.totals.transfers, t.amount, "transfers")?;
        let peak = add(self.peak_equity, t.amount, "peak_equity")?;
        let mut d = self.days.get(&day).cloned().unwrap_or_default();
        d.transfers = add(d.transfers, t.amount, "transfers")?;
        let mut open = new_open.or_else(|| self.day_open.clone());
        if let Some(o) = open.as_mut().filter(|o| o.day == day) {
            o.transfers = add(o.transfers, t.amount, "transfers")?;
        }
        self.totals.transfers = transfers;
        // A deposit is not a gain: the peak moves with capital so drawdown measures trading only.
        self.peak_equity = peak;
        put(&mut self.days, &day, d);
        self.day_open = open;
        Ok(Effect::default())
    }

    fn apply_allocation(
        &mut self,
        a: &Allocation,
        new_open: Option<DayOpen>,
    ) -> Result<Effect, LedgerError> {
        let mut strat = self
            .strategies
            .get(&a.strategy)
            .cloned()
            .unwrap_or_default();
        strat.allocated = add(strat.allocated, a.amount, "allocated")?;
        self.strategies.insert(a.strategy.clone(), strat);
        if new_open.is_some() {
            self.day_open = new_open;
        }
        Ok(Effect::default())
    }

    fn apply_mark(
        &mut self,
        m: &MarkPrice,
        new_open: Option<DayOpen>,
    ) -> Result<Effect, LedgerError> {
        if m.price <= Decimal::ZERO {
            return Err(LedgerError::NonPositive {
                field: "price",
                value: m.price,
            });
        }
        if new_open.is_some() {
            self.day_open = new_open;
        }
        let position_qty = self.instruments.get(&m.symbol).map(|i| i.position.qty);
        Ok(Effect {
            position_qty: position_qty.unwrap_or_default(),
            ..Effect::default()
        })
    }
}
