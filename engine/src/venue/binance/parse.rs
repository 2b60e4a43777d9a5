//! Binance response parsers: wire structs (`models`) into Keel's reply types.

use super::enums::{parse_binance_side, parse_binance_status};
use super::models::{
    BnAccount, BnExchangeInfo, BnFuturesBalance, BnIncome, BnOrder, BnPosition, BnPremiumIndex,
    BnSymbol, BnTickerPrice, BnTime, BnTrade,
};
use super::urls::{trade_window_ms, PAGE_LIMIT};
use crate::ids::Symbol;
use crate::model::{Fill, InstrumentRules, Market, Side};
use crate::venue::error::VenueError;
use crate::venue::op::{
    Balance, FundingEvent, FundingPage, OrderReport, OrderStatus, PositionReport, Ticker,
    TradeCursor, TradePage,
};
use crate::venue::wire::{client_id, dec, json, symbol};
use rust_decimal::Decimal;

/// `GET /time`.
///
/// # Errors
/// [`VenueError::Parse`].
pub fn parse_time(body: &str) -> Result<i64, VenueError> {
    Ok(json::<BnTime>("time", body)?.server_time)
}

/// One order from any order endpoint.
///
/// # Errors
/// [`VenueError::Parse`] naming the field.
pub fn parse_order(o: BnOrder) -> Result<OrderReport, VenueError> {
    let sym = symbol(&o.symbol)?;
    let side = o.side.as_deref().map(parse_binance_side).transpose()?;
    let status = match o.status.as_deref() {
        Some(s) => parse_binance_status(s)?,
        None => OrderStatus::Acknowledged,
    };
    let client = o
        .orig_client_order_id
        .as_deref()
        .map_or_else(|| client_id(&o.client_order_id), client_id);
    let updated_ms = o.update_time.or(o.transact_time).or(o.time).unwrap_or(0);
    let mut fills = Vec::with_capacity(o.fills.len());
    for f in &o.fills {
        fills.push(Fill {
            trade_id: f.trade_id.to_string(),
            order_id: o.order_id.to_string(),
            client_order_id: client.clone(),
            symbol: sym.clone(),
            side: side
                .ok_or_else(|| VenueError::parse("side", "missing on an order with fills"))?,
            price: dec("fills.price", &f.price)?,
            qty: dec("fills.qty", &f.qty)?,
            fee: dec("fills.commission", &f.commission)?,
            fee_asset: f.commission_asset.clone(),
            time_ms: updated_ms,
            // Fills returned with the new order are the immediate (taking) part.
            is_maker: false,
        });
    }
    let cum_quote = match o
        .cummulative_quote_qty
        .as_deref()
        .or(o.cum_quote.as_deref())
    {
        Some(v) => Some(dec("cummulativeQuoteQty", v)?),
        None => None,
    };
    Ok(OrderReport {
        order_id: o.order_id.to_string(),
        client_order_id: client,
        symbol: sym,
        side,
        status,
        orig_qty: dec("origQty", o.orig_qty.as_deref().unwrap_or(""))?,
        executed_qty: dec("executedQty", o.executed_qty.as_deref().unwrap_or(""))?,
        cum_quote,
        price: dec("price", o.price.as_deref().unwrap_or(""))?,
        fills,
        updated_ms,
    })
}

/// A list of orders (open orders, spot cancel-all).
///
/// # Errors
/// [`VenueError::Parse`].
pub fn parse_orders(body: &str) -> Result<Vec<OrderReport>, VenueError> {
    // Spot cancel-all may include order-list (OCO) entries without `orderId`; skip those.
    let raw: Vec<serde_json::Value> = json("orders", body)?;
    let mut out = Vec::new();
    for v in raw {
        if v.get("orderId").is_none() {
            continue;
        }
        let o: BnOrder = serde_json::from_value(v).map_err(|e| VenueError::parse("order", e))?;
        out.push(parse_order(o)?);
    }
    Ok(out)
}

/// Trades page; the next cursor continues from the last trade id.
///
/// # Errors
/// [`VenueError::Parse`].
pub fn parse_trades(
    market: Market,
    body: &str,
    cursor: &TradeCursor,
    received_ms: i64,
) -> Result<TradePage, VenueError> {
    let mut raw: Vec<BnTrade> = json("trades", body)?;
    raw.sort_by_key(|t| t.id);
    let full = raw.len() >= PAGE_LIMIT;
    let mut fills = Vec::with_capacity(raw.len());
    for t in &raw {
        let buyer = t
            .is_buyer
            .or(t.buyer)
            .ok_or_else(|| VenueError::parse("isBuyer", "missing"))?;
        fills.push(Fill {
            trade_id: t.id.to_string(),
            order_id: t.order_id.to_string(),
            client_order_id: None,
            symbol: symbol(&t.symbol)?,
            side: if buyer { Side::Buy } else { Side::Sell },
            price: dec("price", &t.price)?,
            qty: dec("qty", &t.qty)?,
            fee: dec("commission", &t.commission)?,
            fee_asset: t.commission_asset.clone(),
            time_ms: t.time,
            is_maker: t.is_maker.or(t.maker).unwrap_or(false),
        });
    }
    let (next, caught_up) = match raw.last() {
        Some(last) => (
            TradeCursor {
                start_ms: last.time,
                token: Some(last.id.saturating_add(1).to_string()),
            },
            !full,
        ),
        None if cursor.token.is_some() => (cursor.clone(), true),
        None => {
            // Empty time window: move past it unless it reaches the present.
            let end = cursor.start_ms.saturating_add(trade_window_ms(market));
            if end < received_ms {
                (TradeCursor::from_time(end.saturating_add(1)), false)
            } else {
                (cursor.clone(), true)
            }
        }
    };
    Ok(TradePage {
        fills,
        next,
        caught_up,
    })
}

/// Spot balances.
///
/// # Errors
/// [`VenueError::Parse`].
pub fn parse_spot_balances(body: &str) -> Result<Vec<Balance>, VenueError> {
    let acct: BnAccount = json("account", body)?;
    acct.balances
        .into_iter()
        .map(|b| {
            Ok(Balance {
                free: dec("free", &b.free)?,
                locked: dec("locked", &b.locked)?,
                asset: b.asset,
            })
        })
        .collect()
}

/// Futures balances: free = available; locked = the rest of the wallet balance.
///
/// # Errors
/// [`VenueError::Parse`].
pub fn parse_futures_balances(body: &str) -> Result<Vec<Balance>, VenueError> {
    let rows: Vec<BnFuturesBalance> = json("balance", body)?;
    rows.into_iter()
        .map(|b| {
            let total = dec("balance", &b.balance)?;
            let free = dec("availableBalance", &b.available_balance)?;
            // Checked: `Decimal`'s `-` panics on overflow, and these are the exchange's figures.
            let locked = total
                .checked_sub(free)
                .ok_or_else(|| VenueError::parse("balance", "out of range"))?;
            Ok(Balance {
                asset: b.asset,
                free,
                locked: locked.max(Decimal::ZERO),
            })
        })
        .collect()
}

/// Non-zero futures positions.
///
/// # Errors
/// [`VenueError::Parse`].
pub fn parse_positions(body: &str) -> Result<Vec<PositionReport>, VenueError> {
    let rows: Vec<BnPosition> = json("positionRisk", body)?;
    let mut out = Vec::new();
    for p in rows {
        let qty = dec("positionAmt", &p.position_amt)?;
        if qty.is_zero() {
            continue;
        }
        out.push(PositionReport {
            symbol: symbol(&p.symbol)?,
            qty,
            entry_price: dec("entryPrice", &p.entry_price)?,
            mark_price: dec("markPrice", &p.mark_price)?,
            unrealized_pnl: dec("unRealizedProfit", &p.un_realized_profit)?,
            leverage: p
                .leverage
                .as_deref()
                .map(|l| dec("leverage", l))
                .transpose()?,
        });
    }
    Ok(out)
}

/// Funding income page.
///
/// # Errors
/// [`VenueError::Parse`].
pub fn parse_funding(body: &str, cursor: &TradeCursor) -> Result<FundingPage, VenueError> {
    let mut rows: Vec<BnIncome> = json("income", body)?;
    rows.retain(|r| r.income_type == "FUNDING_FEE");
    rows.sort_by_key(|r| (r.time, r.tran_id));
    let full = rows.len() >= PAGE_LIMIT;
    let mut events = Vec::with_capacity(rows.len());
    for r in &rows {
        events.push(FundingEvent {
            id: r.tran_id.to_string(),
            symbol: symbol(&r.symbol)?,
            amount: dec("income", &r.income)?,
            asset: r.asset.clone(),
            time_ms: r.time,
        });
    }
    // Resume at the last time (inclusive; consumers dedupe on id).
    let next = rows
        .last()
        .map_or_else(|| cursor.clone(), |r| TradeCursor::from_time(r.time));
    Ok(FundingPage {
        events,
        next,
        caught_up: !full,
    })
}

/// Reference price.
///
/// # Errors
/// [`VenueError::Parse`].
pub fn parse_ticker(market: Market, body: &str) -> Result<Ticker, VenueError> {
    match market {
        Market::Spot => {
            let t: BnTickerPrice = json("ticker/price", body)?;
            Ok(Ticker {
                symbol: symbol(&t.symbol)?,
                price: dec("price", &t.price)?,
                mark_price: None,
            })
        }
        Market::Linear => {
            let t: BnPremiumIndex = json("premiumIndex", body)?;
            let mark = dec("markPrice", &t.mark_price)?;
            Ok(Ticker {
                symbol: symbol(&t.symbol)?,
                price: mark,
                mark_price: Some(mark),
            })
        }
    }
}

/// Instrument rules from `exchangeInfo` filters (futures MIN_NOTIONAL uses key `notional`).
///
/// # Errors
/// [`VenueError::Parse`].
pub fn parse_rules(body: &str, only: Option<&Symbol>) -> Result<Vec<InstrumentRules>, VenueError> {
    let info: BnExchangeInfo = json("exchangeInfo", body)?;
    info.symbols
        .iter()
        .filter(|s| only.is_none_or(|o| o.as_str() == s.symbol))
        .map(parse_symbol_rules)
        .collect()
}

fn field(f: &serde_json::Map<String, serde_json::Value>, key: &str) -> Result<Decimal, VenueError> {
    match f.get(key) {
        Some(serde_json::Value::String(s)) => dec(key, s),
        Some(serde_json::Value::Number(n)) => dec(key, &n.to_string()),
        _ => Ok(Decimal::ZERO),
    }
}

fn parse_symbol_rules(s: &BnSymbol) -> Result<InstrumentRules, VenueError> {
    let mut r = InstrumentRules {
        symbol: symbol(&s.symbol)?,
        base_asset: s.base_asset.clone(),
        quote_asset: s.quote_asset.clone(),
        tick_size: Decimal::ZERO,
        step_size: Decimal::ZERO,
        min_qty: Decimal::ZERO,
        max_qty: Decimal::ZERO,
        max_market_qty: Decimal::ZERO,
        min_notional: Decimal::ZERO,
        min_price: Decimal::ZERO,
        max_price: Decimal::ZERO,
    };
    for f in &s.filters {
        match f.get("filterType").and_then(|v| v.as_str()) {
            Some("PRICE_FILTER") => {
                r.tick_size = field(f, "tickSize")?;
                r.min_price = field(f, "minPrice")?;
                r.max_price = field(f, "maxPrice")?;
            }
            Some("LOT_SIZE") => {
                r.step_size = field(f, "stepSize")?;
                r.min_qty = field(f, "minQty")?;
                r.max_qty = field(f, "maxQty")?;
            }
            Some("MARKET_LOT_SIZE") => r.max_market_qty = field(f, "maxQty")?,
            // Spot MIN_NOTIONAL / NOTIONAL use `minNotional`; futures MIN_NOTIONAL uses `notional`.
            Some("MIN_NOTIONAL") | Some("NOTIONAL") => {
                let spot = field(f, "minNotional")?;
                let fut = field(f, "notional")?;
                r.min_notional = r.min_notional.max(spot).max(fut);
            }
            _ => {}
        }
    }
    Ok(r)
}
