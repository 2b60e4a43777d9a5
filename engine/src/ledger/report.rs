//! Views of the ledger: the `GET /api/v1/bots/{id}/pnl` document (docs/admin-api.md, every decimal a
//! string), the risk engine's snapshot, per-strategy economics and breakeven.

use super::book::InstrumentBook;
use super::entry::PnlMethod;
use super::time::{date_string, day_index, rfc3339};
use super::{Ledger, LedgerError};
use crate::ids::Symbol;
use crate::model::Side;
use crate::position::breakeven::{BreakevenError, OpenPosition};
use crate::position::{add, div, mul, sub, PositionError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The P&L document (docs/admin-api.md). `net = realized + unrealized + funding − fees.total_quote`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PnlReport {
    /// Bot id.
    pub bot_id: String,
    /// Currency of every figure.
    pub quote_asset: String,
    /// `average_cost` or `fifo`.
    pub method: PnlMethod,
    /// Time of the report, `YYYY-MM-DDTHH:MM:SSZ`.
    pub as_of: String,
    /// Realized P&L (fees excluded).
    pub realized: Decimal,
    /// Unrealized P&L at the latest marks.
    pub unrealized: Decimal,
    /// Funding, positive received.
    pub funding: Decimal,
    /// Fees.
    pub fees: FeesPnl,
    /// Net P&L.
    pub net: Decimal,
    /// Per instrument.
    pub by_instrument: BTreeMap<String, InstrumentPnl>,
    /// Per UTC day, oldest first.
    pub by_day: Vec<DayPnl>,
}

/// Fees block of the P&L document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeesPnl {
    /// All fees valued in quote at their fills' times.
    pub total_quote: Decimal,
    /// Fees in their own assets.
    pub by_asset: BTreeMap<String, Decimal>,
}

/// One instrument in the P&L document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentPnl {
    /// Realized P&L.
    pub realized: Decimal,
    /// Unrealized P&L.
    pub unrealized: Decimal,
    /// Funding.
    pub funding: Decimal,
    /// Fees in quote.
    pub fees_quote: Decimal,
    /// Signed position quantity.
    pub position_qty: Decimal,
    /// Average entry price (average cost); `null` when flat.
    pub avg_entry_price: Option<Decimal>,
    /// The position is fee dust below the smallest tradable quantity: held and valued, but
    /// not an open position ([`super::InstrumentBook::is_dust`]). Omitted when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dust: bool,
}

/// One UTC day in the P&L document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayPnl {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Realized P&L booked that day.
    pub realized: Decimal,
    /// Fees in quote.
    pub fees_quote: Decimal,
    /// Funding.
    pub funding: Decimal,
}

/// What the risk engine needs from the ledger, at `as_of_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskSnapshot {
    /// Time of the snapshot.
    pub as_of_ms: i64,
    /// Net P&L (realized + unrealized + funding − fees) since 00:00 UTC, transfers excluded.
    pub daily_pnl: Decimal,
    /// Realized P&L booked today.
    pub realized_today: Decimal,
    /// Fees booked today, in quote.
    pub fees_today: Decimal,
    /// Funding booked today.
    pub funding_today: Decimal,
    /// Equity now.
    pub equity: Decimal,
    /// Peak equity (moved by transfers).
    pub peak_equity: Decimal,
    /// `peak_equity − equity` (≥ 0).
    pub drawdown: Decimal,
    /// Drawdown in percent of the peak; `None` while the peak is not positive.
    pub drawdown_pct: Option<Decimal>,
    /// Open positions.
    pub positions: BTreeMap<Symbol, Exposure>,
    /// Number of open positions.
    pub open_positions: usize,
    /// Σ notional of open positions.
    pub total_notional: Decimal,
    /// Fills booked today.
    pub fills_today: u64,
    /// Distinct orders that filled today.
    pub orders_today: u64,
}

/// One open position's exposure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exposure {
    /// Signed quantity.
    pub qty: Decimal,
    /// Average entry price.
    pub avg_entry_price: Option<Decimal>,
    /// Mark used.
    pub mark: Option<Decimal>,
    /// Absolute notional at the mark.
    pub notional: Decimal,
    /// Unrealized P&L at the mark.
    pub unrealized: Decimal,
    /// Fee dust below the smallest tradable quantity ([`super::InstrumentBook::is_dust`]): held
    /// and valued, so sizing sees the true holding, but not an open position (not counted in
    /// `open_positions`, not given to the risk rules, not flattened). Omitted when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dust: bool,
}

/// Economics of one strategy tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategyView {
    /// Strategy tag.
    pub strategy: String,
    /// Realized P&L of its fills (report method).
    pub realized: Decimal,
    /// Fees in quote.
    pub fees_quote: Decimal,
    /// `realized − fees_quote`.
    pub net: Decimal,
    /// Fills.
    pub fills: u64,
    /// Traded notional.
    pub volume_quote: Decimal,
    /// Capital allocated.
    pub allocated: Decimal,
    /// `net / allocated × 100`; `None` without a positive allocation.
    pub return_pct: Option<Decimal>,
}

/// What trading must earn before the bot is even: costs paid so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakeven {
    /// `fees − funding` over the whole history (positive = still to recover).
    pub costs_to_recover: Decimal,
    /// Per instrument.
    pub instruments: BTreeMap<Symbol, InstrumentBreakeven>,
}

/// Breakeven of one instrument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentBreakeven {
    /// Signed position.
    pub position_qty: Decimal,
    /// Average entry price.
    pub avg_entry_price: Option<Decimal>,
    /// `fees − funding` on this instrument.
    pub costs_to_recover: Decimal,
    /// Exit price at which the open position's P&L pays those costs:
    /// `avg + costs / qty` (`position::breakeven` without a close fee); `None` when flat, or for
    /// a short whose costs exceed its proceeds.
    pub breakeven_price: Option<Decimal>,
}

impl Ledger {
    fn realized_of(&self, avg: Decimal, fifo: Decimal) -> Decimal {
        match self.config.method {
            PnlMethod::AverageCost => avg,
            PnlMethod::Fifo => fifo,
        }
    }

    fn unrealized_of(
        &self,
        symbol: &Symbol,
        inst: &InstrumentBook,
    ) -> Result<Decimal, LedgerError> {
        let mark = self.mark(symbol);
        Ok(match self.config.method {
            PnlMethod::AverageCost => inst.unrealized(mark)?,
            PnlMethod::Fifo => match (self.lots.get(symbol), mark) {
                (Some(lots), Some(m)) => lots.unrealized(m)?,
                _ => Decimal::ZERO,
            },
        })
    }

    /// The P&L document (docs/admin-api.md) at `as_of_ms` (marks as held by the ledger).
    ///
    /// # Errors
    /// [`LedgerError::Position`] on overflow.
    pub fn pnl_report(&self, as_of_ms: i64) -> Result<PnlReport, LedgerError> {
        let mut by_instrument = BTreeMap::new();
        let mut unrealized = Decimal::ZERO;
        for (symbol, inst) in &self.instruments {
            let u = self.unrealized_of(symbol, inst)?;
            unrealized = add(unrealized, u, "unrealized")?;
            by_instrument.insert(
                symbol.to_string(),
                InstrumentPnl {
                    realized: self
                        .realized_of(inst.realized, inst.realized_fifo)
                        .normalize(),
                    unrealized: u.normalize(),
                    funding: inst.funding.normalize(),
                    fees_quote: inst.fees_quote.normalize(),
                    position_qty: inst.position.qty.normalize(),
                    avg_entry_price: inst.position.avg_entry_price().map(|p| p.normalize()),
                    dust: inst.is_dust(),
                },
            );
        }
        let t = &self.totals;
        let realized = self.realized_of(t.realized, t.realized_fifo);
        let net = sub(
            add(add(realized, unrealized, "net")?, t.funding, "net")?,
            t.fees_quote,
            "net",
        )?;
        let by_day = self
            .days
            .iter()
            .map(|(day, d)| DayPnl {
                date: date_string(*day),
                realized: self.realized_of(d.realized, d.realized_fifo).normalize(),
                fees_quote: d.fees_quote.normalize(),
                funding: d.funding.normalize(),
            })
            .collect();
        Ok(PnlReport {
            bot_id: self.config.bot_id.to_string(),
            quote_asset: self.config.quote_asset.clone(),
            method: self.config.method,
            as_of: rfc3339(as_of_ms),
            realized: realized.normalize(),
            unrealized: unrealized.normalize(),
            funding: t.funding.normalize(),
            fees: FeesPnl {
                total_quote: t.fees_quote.normalize(),
                by_asset: self
                    .fees_by_asset
                    .iter()
                    .map(|(a, v)| (a.clone(), v.normalize()))
                    .collect(),
            },
            net: net.normalize(),
            by_instrument,
            by_day,
        })
    }

    /// The risk engine's view at `now_ms`: daily P&L since 00:00 UTC, equity, peak, drawdown,
    /// exposure per symbol, and today's activity.
    ///
    /// # Errors
    /// [`LedgerError::Position`] on overflow.
    pub fn risk_snapshot(&self, now_ms: i64) -> Result<RiskSnapshot, LedgerError> {
        let today = day_index(now_ms);
        let equity = self.equity()?;
        let (daily_pnl, orders_today) = match &self.day_open {
            // Nothing booked since midnight: equity has not moved today.
            Some(open) if open.day == today => (
                sub(
                    sub(equity, open.equity, "daily_pnl")?,
                    open.transfers,
                    "daily_pnl",
                )?,
                open.order_ids.len() as u64,
            ),
            _ => (Decimal::ZERO, 0),
        };
        let d = self.days.get(&today).cloned().unwrap_or_default();
        let mut positions = BTreeMap::new();
        let mut total_notional = Decimal::ZERO;
        for (symbol, inst) in &self.instruments {
            if inst.position.is_flat() {
                continue;
            }
            let mark = self.mark(symbol);
            let px = mark.or(inst.position.avg_entry_price()).unwrap_or_default();
            let notional = inst.position.notional(px)?;
            total_notional = add(total_notional, notional, "total_notional")?;
            positions.insert(
                symbol.clone(),
                Exposure {
                    qty: inst.position.qty,
                    avg_entry_price: inst.position.avg_entry_price(),
                    mark,
                    notional,
                    unrealized: inst.unrealized(mark)?,
                    dust: inst.is_dust(),
                },
            );
        }
        let drawdown = sub(self.peak_equity, equity, "drawdown")?.max(Decimal::ZERO);
        let drawdown_pct = if self.peak_equity > Decimal::ZERO {
            Some(mul(
                div(drawdown, self.peak_equity, "drawdown_pct")?,
                Decimal::ONE_HUNDRED,
                "drawdown_pct",
            )?)
        } else {
            None
        };
        Ok(RiskSnapshot {
            as_of_ms: now_ms,
            daily_pnl,
            realized_today: d.realized,
            fees_today: d.fees_quote,
            funding_today: d.funding,
            equity,
            peak_equity: self.peak_equity,
            drawdown,
            drawdown_pct,
            open_positions: positions.values().filter(|p| !p.dust).count(),
            positions,
            total_notional,
            fills_today: d.fills,
            orders_today,
        })
    }

    /// Per-strategy economics, including capital allocated and return on it.
    ///
    /// # Errors
    /// [`LedgerError::Position`] on overflow.
    pub fn strategy_views(&self) -> Result<Vec<StrategyView>, LedgerError> {
        self.strategies
            .iter()
            .map(|(name, s)| {
                let realized = self.realized_of(s.realized, s.realized_fifo);
                let net = sub(realized, s.fees_quote, "net")?;
                let return_pct = if s.allocated > Decimal::ZERO {
                    Some(mul(
                        div(net, s.allocated, "return_pct")?,
                        Decimal::ONE_HUNDRED,
                        "return_pct",
                    )?)
                } else {
                    None
                };
                Ok(StrategyView {
                    strategy: name.clone(),
                    realized,
                    fees_quote: s.fees_quote,
                    net,
                    fills: s.fills,
                    volume_quote: s.volume_quote,
                    allocated: s.allocated,
                    return_pct,
                })
            })
            .collect()
    }

    /// Costs to recover (fees − funding), bot-wide and per instrument with breakeven prices.
    ///
    /// # Errors
    /// [`LedgerError::Position`] on overflow.
    pub fn breakeven(&self) -> Result<Breakeven, LedgerError> {
        let mut instruments = BTreeMap::new();
        for (symbol, inst) in &self.instruments {
            let costs = sub(inst.fees_quote, inst.funding, "costs_to_recover")?;
            let avg = inst.position.avg_entry_price();
            // The one breakeven rule (`position::breakeven`), with these costs and no close fee
            // (the ledger does not know the venue's rate): `avg + costs / qty`.
            let breakeven_price = match avg {
                Some(_) => match (OpenPosition {
                    side: if inst.position.qty > Decimal::ZERO {
                        Side::Buy
                    } else {
                        Side::Sell
                    },
                    qty: inst.position.qty.abs(),
                    entry_notional: inst.position.cost.abs(),
                    fees_paid: inst.fees_quote,
                    funding_paid: -inst.funding,
                    close_fee_rate: Decimal::ZERO,
                })
                .breakeven()
                {
                    Ok(b) => Some(b.price),
                    // A short whose costs exceed its proceeds: no positive price.
                    Err(BreakevenError::Unreachable) => None,
                    Err(_) => {
                        return Err(PositionError::Overflow {
                            field: "breakeven_price",
                        }
                        .into())
                    }
                },
                None => None,
            };
            instruments.insert(
                symbol.clone(),
                InstrumentBreakeven {
                    position_qty: inst.position.qty,
                    avg_entry_price: avg,
                    costs_to_recover: costs,
                    breakeven_price,
                },
            );
        }
        Ok(Breakeven {
            costs_to_recover: sub(
                self.totals.fees_quote,
                self.totals.funding,
                "costs_to_recover",
            )?,
            instruments,
        })
    }
}
