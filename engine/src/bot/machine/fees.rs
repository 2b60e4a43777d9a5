//! Valuing fees paid in a third asset (e.g. BNB) before booking (the DO's `fee_asset_prices`):
//! fills carried by the answer to the order itself may take the fee asset's ticker read now;
//! fills learnt later take the open of the 1-minute candle covering the trade
//! ([`crate::ledger::value_fee_asset`]). A fee that cannot be valued is left out (never a guess).

use super::ctx::{Ctx, Event, Step};
use crate::ids::Symbol;
use crate::ledger::{kline_windows, value_fee_asset, FeePrices, TickerReading};
use crate::market::Timeframe;
use crate::model::{Fill, InstrumentRules};
use crate::venue::{Kline, VenueOp, VenueReply};
use std::collections::VecDeque;

/// One fee asset to value: its quote symbol, fills learnt in the answer, fills learnt late.
#[derive(Debug)]
struct Asset {
    symbol: Symbol,
    now_fills: Vec<Fill>,
    late: Vec<Fill>,
    windows: VecDeque<(i64, i64, u32)>,
    candles: Vec<Kline>,
    ticker_asked: bool,
}

/// Prices the third-asset fees of a batch of fills.
#[derive(Debug)]
pub struct Fees {
    assets: VecDeque<Asset>,
    prices: FeePrices,
}

impl Fees {
    /// The fees of `answer` (fills in the answer to the order request) and `late` (fills learnt
    /// later) that need a price.
    pub fn new(answer: &[Fill], late: &[Fill], rules: &InstrumentRules) -> Self {
        let third = |f: &Fill| {
            !f.fee.is_zero() && f.fee_asset != rules.base_asset && f.fee_asset != rules.quote_asset
        };
        let mut by_asset: std::collections::BTreeMap<String, (Vec<Fill>, Vec<Fill>)> =
            std::collections::BTreeMap::new();
        for f in answer.iter().filter(|f| third(f)) {
            by_asset
                .entry(f.fee_asset.clone())
                .or_default()
                .0
                .push(f.clone());
        }
        for f in late.iter().filter(|f| third(f)) {
            by_asset
                .entry(f.fee_asset.clone())
                .or_default()
                .1
                .push(f.clone());
        }
        let assets = by_asset
            .into_iter()
            .filter_map(|(asset, (now_fills, late))| {
                let symbol = Symbol::new(format!("{asset}{}", rules.quote_asset)).ok()?;
                Some(Asset {
                    symbol,
                    now_fills,
                    late,
                    windows: VecDeque::new(),
                    candles: Vec::new(),
                    ticker_asked: false,
                })
            })
            .collect();
        Self {
            assets,
            prices: FeePrices::none(),
        }
    }

    /// Advances the pricing; ends with the valuations found.
    pub fn step(&mut self, cx: &mut Ctx<'_>, ev: Event) -> Step<FeePrices> {
        let mut reply = match ev {
            Event::Reply(r) => Some(r),
            _ => None,
        };
        loop {
            let Some(a) = self.assets.front_mut() else {
                return Step::Done(std::mem::take(&mut self.prices));
            };
            if !a.ticker_asked {
                a.ticker_asked = true;
                if !a.now_fills.is_empty() {
                    cx.io.send(VenueOp::Ticker {
                        symbol: a.symbol.clone(),
                    });
                    return Step::Pending;
                }
                // No fill of now: straight to the candles.
                let times: Vec<i64> = a.late.iter().map(|f| f.time_ms).collect();
                a.windows = kline_windows(&times).into();
            } else if let Some(r) = reply.take() {
                match r.result {
                    Ok(VenueReply::Ticker(t)) if a.windows.is_empty() && a.candles.is_empty() => {
                        let reading = TickerReading {
                            price: t.price,
                            observed_ms: r.at_ms,
                        };
                        let mut pending = Vec::new();
                        for f in std::mem::take(&mut a.now_fills) {
                            match value_fee_asset(a.symbol.as_str(), f.time_ms, Some(reading), &[])
                            {
                                Ok(v) => self.prices.insert(&f, v),
                                Err(_) => pending.push(f),
                            }
                        }
                        pending.append(&mut a.late);
                        a.late = pending;
                        let times: Vec<i64> = a.late.iter().map(|f| f.time_ms).collect();
                        a.windows = kline_windows(&times).into();
                    }
                    Ok(VenueReply::Klines(mut k)) => a.candles.append(&mut k),
                    _ => {
                        // A failed ticker read leaves every fill to the candles.
                        if !a.now_fills.is_empty() {
                            let mut now = std::mem::take(&mut a.now_fills);
                            now.append(&mut a.late);
                            a.late = now;
                            let times: Vec<i64> = a.late.iter().map(|f| f.time_ms).collect();
                            a.windows = kline_windows(&times).into();
                        }
                    }
                }
            }
            if let Some((start, end, limit)) = a.windows.pop_front() {
                cx.io.send(VenueOp::Klines {
                    symbol: a.symbol.clone(),
                    interval: Timeframe::M1,
                    start_ms: Some(start),
                    end_ms: Some(end),
                    limit,
                });
                return Step::Pending;
            }
            for f in std::mem::take(&mut a.late) {
                if let Ok(v) = value_fee_asset(a.symbol.as_str(), f.time_ms, None, &a.candles) {
                    self.prices.insert(&f, v);
                }
            }
            self.assets.pop_front();
        }
    }
}
