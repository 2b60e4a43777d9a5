//! What the bot reads from its exchange to decide and to book: an instrument's price and rules
//! (rules cached for an hour under `rules:{symbol}`) and the valuation of fees paid in a third
//! asset. A low layer over the [`Link`]: the signal path, order placement, exits and
//! reconciliation all read the market through here, none of them through another.

use super::exchange::Link;
use super::{now_ms, BotDO};
use crate::db::text;
use keel_engine::bot::MarketFacts;
use keel_engine::ids::Symbol;
use keel_engine::model::InstrumentRules;
use keel_engine::venue::CallFailure;
use keel_engine::venue::{VenueOp, VenueReply};

/// Price and rules of a symbol (rules cached for an hour).
pub async fn market_facts(
    bot: &BotDO,
    link: &mut Link<'_>,
    symbol: &keel_engine::ids::Symbol,
) -> Result<MarketFacts, CallFailure> {
    let key = format!("rules:{symbol}");
    let cached: Option<(i64, InstrumentRules)> = super::store::kv_get(&bot.db, &key).ok().flatten();
    let rules = match cached {
        Some((at, r)) if now_ms() - at < 3_600_000 => r,
        _ => {
            let reply = link
                .call(&VenueOp::InstrumentRules {
                    symbol: Some(symbol.clone()),
                })
                .await?;
            let VenueReply::Rules(list) = reply else {
                return Err(CallFailure::Internal(
                    "instrument rules: unexpected reply".into(),
                ));
            };
            let r = list
                .into_iter()
                .find(|r| &r.symbol == symbol)
                .ok_or_else(|| {
                    CallFailure::Venue(keel_engine::venue::VenueError::Rejected {
                        code: -1121,
                        msg: format!("unknown symbol {symbol}"),
                    })
                })?;
            let mut b = crate::db::WriteBatch::new();
            b.push(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                vec![text(key), text(serde_json::to_string(&(now_ms(), &r)).unwrap_or_default())],
            );
            if let Err(e) = bot.db.commit(b) {
                worker::console_error!("rules cache: {e}");
            }
            r
        }
    };
    let price = match link
        .call(&VenueOp::Ticker {
            symbol: symbol.clone(),
        })
        .await?
    {
        VenueReply::Ticker(t) => t.mark_price.unwrap_or(t.price),
        _ => return Err(CallFailure::Internal("ticker: unexpected reply".into())),
    };
    link.prime_paper(&rules, price);
    Ok(MarketFacts {
        price,
        rules,
        free_base: None,
    })
}

/// Valuations of fees paid in a third asset (e.g. BNB) at each trade's own time, decided by
/// [`keel_engine::ledger::value_fee_asset`]: fills carried by the answer to the order itself
/// (`answer`) may take the fee asset's ticker read now, in the same round trip; fills learnt later
/// (`late`: a poll of a resting order, reconciliation, a fired exit) take the open of the fee
/// asset's 1-minute candle covering the trade, never the ticker at booking time. A fill whose fee
/// cannot be valued is left out; the ledger then refuses it and the next poll tries again (never
/// a guess).
pub async fn fee_asset_prices(
    link: &mut Link<'_>,
    answer: &[keel_engine::model::Fill],
    late: &[keel_engine::model::Fill],
    rules: &InstrumentRules,
) -> keel_engine::ledger::FeePrices {
    use keel_engine::ledger::{kline_windows, value_fee_asset, FeePrices, TickerReading};
    use std::collections::BTreeMap;
    let third = |f: &keel_engine::model::Fill| {
        !f.fee.is_zero() && f.fee_asset != rules.base_asset && f.fee_asset != rules.quote_asset
    };
    // Per fee asset: (fills from the answer, fills learnt late).
    type Batch<'f> = (
        Vec<&'f keel_engine::model::Fill>,
        Vec<&'f keel_engine::model::Fill>,
    );
    let mut by_asset: BTreeMap<&str, Batch<'_>> = BTreeMap::new();
    for f in answer.iter().filter(|f| third(f)) {
        by_asset.entry(f.fee_asset.as_str()).or_default().0.push(f);
    }
    for f in late.iter().filter(|f| third(f)) {
        by_asset.entry(f.fee_asset.as_str()).or_default().1.push(f);
    }
    let mut out = FeePrices::none();
    for (asset, (now_fills, late_fills)) in by_asset {
        let Ok(symbol) = Symbol::new(format!("{}{}", asset, rules.quote_asset)) else {
            continue;
        };
        let reading = if now_fills.is_empty() {
            None
        } else {
            match link
                .call(&VenueOp::Ticker {
                    symbol: symbol.clone(),
                })
                .await
            {
                Ok(VenueReply::Ticker(t)) => Some(TickerReading {
                    price: t.price,
                    observed_ms: link.server_now(),
                }),
                _ => None,
            }
        };
        let mut pending = Vec::new();
        for f in now_fills {
            match value_fee_asset(symbol.as_str(), f.time_ms, reading, &[]) {
                Ok(v) => out.insert(f, v),
                Err(_) => pending.push(f),
            }
        }
        pending.extend(late_fills);
        if pending.is_empty() {
            continue;
        }
        let times: Vec<i64> = pending.iter().map(|f| f.time_ms).collect();
        let mut candles = Vec::new();
        for (start, end, limit) in kline_windows(&times) {
            let op = VenueOp::Klines {
                symbol: symbol.clone(),
                interval: keel_engine::market::Timeframe::M1,
                start_ms: Some(start),
                end_ms: Some(end),
                limit,
            };
            if let Ok(VenueReply::Klines(mut k)) = link.call(&op).await {
                candles.append(&mut k);
            }
        }
        for f in pending {
            match value_fee_asset(symbol.as_str(), f.time_ms, None, &candles) {
                Ok(v) => out.insert(f, v),
                Err(e) => worker::console_error!("fee of trade {}: {e}", f.trade_id),
            }
        }
    }
    out
}
