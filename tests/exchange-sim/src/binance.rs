//! Shared Binance machinery for spot and USDⓈ-M: the request pipeline (weight, signature,
//! timestamp), error bodies, new-order parsing with the exact codes, and order lookup.

use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::config::Venue;
use crate::filters::{self, FilterFail};
use crate::http::{Params, Req, Resp};
use crate::matching::{NewOrder, Reject};
use crate::model::{OrdType, Side, Status, Tif};
use crate::state::State;
use crate::{auth, lock, Sim};

/// Binance error body `{"code":..,"msg":..}` with a status.
pub fn err(status: u16, code: i64, msg: impl Into<String>) -> Resp {
    Resp::json(status, &json!({"code": code, "msg": msg.into()}))
}

/// `-1102` for a missing mandatory parameter.
pub fn mandatory(name: &str) -> Resp {
    err(
        400,
        -1102,
        format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
    )
}

/// Required string parameter.
///
/// # Errors
/// `-1102` when absent.
pub fn required<'a>(p: &'a Params, name: &str) -> Result<&'a str, Resp> {
    p.get(name).ok_or_else(|| mandatory(name))
}

/// Optional decimal parameter.
///
/// # Errors
/// `-1100` when it is not a plain non-negative decimal.
pub fn decimal(p: &Params, name: &str) -> Result<Option<Decimal>, Resp> {
    let Some(v) = p.get(name) else {
        return Ok(None);
    };
    let ok = !v.is_empty()
        && v.chars().all(|c| c.is_ascii_digit() || c == '.')
        && v.matches('.').count() <= 1;
    match v.parse::<Decimal>() {
        Ok(d) if ok => Ok(Some(d)),
        _ => Err(err(400, -1100, format!("Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'."))),
    }
}

/// Optional integer parameter.
///
/// # Errors
/// `-1100` when it is not an integer.
pub fn integer(p: &Params, name: &str) -> Result<Option<i64>, Resp> {
    match p.get(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| err(400, -1100, format!("Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."))),
    }
}

/// What an endpoint needs from the pipeline.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    /// Futures (separate weight budget) or spot.
    pub futures: bool,
    /// Request weight.
    pub weight: u64,
    /// SIGNED (TRADE / USER_DATA).
    pub signed: bool,
}

/// Runs an endpoint: counts weight (429/418 with `Retry-After`), verifies the signature and
/// timestamp for SIGNED endpoints, then calls `f` with the state locked.
pub fn run(
    sim: &Sim,
    req: &Req,
    ep: Endpoint,
    f: impl FnOnce(&mut State, usize, &Params, i64) -> Resp,
) -> Resp {
    let params = Params::from_req(req);
    let now = sim.now_ms();
    let (headers, limited) = lock(&sim.limits).binance_weight(ep.futures, ep.weight, now);
    let mut resp = match limited {
        Some(l) => err(l.status, l.code, l.msg).with_header("Retry-After", l.retry_after),
        None => {
            let mut st = lock(&sim.state);
            let account = if ep.signed {
                auth::binance(&st, req, &params, now)
            } else {
                Ok(usize::MAX)
            };
            match account {
                Ok(a) => f(&mut st, a, &params, now),
                Err((status, code, msg)) => err(status, code, msg),
            }
        }
    };
    resp.headers.extend(headers);
    resp
}

/// Symbol parameter that must exist on `venue`.
///
/// # Errors
/// `-1102` when absent, `-1121` when unknown.
pub fn symbol(st: &State, venue: Venue, p: &Params) -> Result<String, Resp> {
    let s = required(p, "symbol")?;
    if st.instrument(venue, s).is_none() {
        return Err(err(400, -1121, "Invalid symbol."));
    }
    Ok(s.to_string())
}

fn valid_client_id(s: &str) -> bool {
    (1..=36).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:/".contains(c))
}

/// Generates a Binance-looking client order id when the client sent none.
pub fn auto_client_id(st: &mut State) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..22)
        .map(|_| A[(st.next_rand() % A.len() as u64) as usize] as char)
        .collect()
}

pub(crate) fn filter_error(
    venue: Venue,
    f: FilterFail,
    qty: Option<Decimal>,
    price: Option<Decimal>,
    min_notional: Decimal,
) -> Resp {
    if venue == Venue::BinanceSpot {
        let over8 = |d: Option<Decimal>| d.is_some_and(|d| d.normalize().scale() > 8);
        let name = match f {
            FilterFail::PricePrecision if over8(price) => {
                return err(400, -1111, "Parameter 'price' has too much precision.")
            }
            FilterFail::QtyPrecision if over8(qty) => {
                return err(400, -1111, "Parameter 'quantity' has too much precision.")
            }
            FilterFail::PricePrecision | FilterFail::PriceTick | FilterFail::PriceRange => {
                "PRICE_FILTER"
            }
            FilterFail::QtyPrecision
            | FilterFail::QtyStep
            | FilterFail::QtyMin
            | FilterFail::QtyMax => "LOT_SIZE",
            FilterFail::MarketQtyMax => "MARKET_LOT_SIZE",
            FilterFail::Notional => "NOTIONAL",
        };
        return err(400, -1013, format!("Filter failure: {name}"));
    }
    match f {
        FilterFail::PricePrecision | FilterFail::QtyPrecision => err(
            400,
            -1111,
            "Precision is over the maximum defined for this asset.",
        ),
        FilterFail::PriceTick => err(400, -4014, "Price not increased by tick size."),
        FilterFail::PriceRange => err(400, -4013, "Price less than min price."),
        FilterFail::QtyStep => err(400, -4023, "Qty not increased by step size."),
        FilterFail::QtyMin => err(400, -4004, "Quantity less than min quantity."),
        FilterFail::QtyMax | FilterFail::MarketQtyMax => {
            err(400, -4005, "Quantity greater than max quantity.")
        }
        FilterFail::Notional => err(
            400,
            -4164,
            format!(
                "Order's notional must be no smaller than {} (unless you choose reduce only).",
                min_notional.normalize()
            ),
        ),
    }
}

/// Parses and validates `POST order` parameters into an engine request.
///
/// # Errors
/// The Binance error response (`-1102`, `-1100`, `-1106`, `-1116`, `-1117`, `-1115`, `-1121`,
/// `-1013`/`-4xxx` filter failures, `-4061`).
pub fn parse_new_order(
    st: &mut State,
    venue: Venue,
    account: usize,
    p: &Params,
    now: i64,
) -> Result<NewOrder, Resp> {
    let symbol = symbol(st, venue, p)?;
    let side = match required(p, "side")? {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        _ => return Err(err(400, -1117, "Invalid side.")),
    };
    let futures = venue == Venue::BinanceFutures;
    let typ = required(p, "type")?;
    let (kind, limit_maker) = match typ {
        "MARKET" => (OrdType::Market, false),
        "LIMIT" => (OrdType::Limit, false),
        "LIMIT_MAKER" if !futures => (OrdType::Limit, true),
        _ => return Err(err(400, -1116, "Invalid orderType.")),
    };
    let qty = decimal(p, "quantity")?;
    let quote_qty = if futures {
        None
    } else {
        decimal(p, "quoteOrderQty")?
    };
    let price = decimal(p, "price")?;
    let tif = match (kind, limit_maker) {
        (OrdType::Market, _) => {
            if !futures && p.get("timeInForce").is_some() {
                return Err(err(
                    400,
                    -1106,
                    "Parameter 'timeInForce' sent when not required.",
                ));
            }
            if !futures && price.is_some() {
                return Err(err(400, -1106, "Parameter 'price' sent when not required."));
            }
            match (qty, quote_qty) {
                (None, None) => return Err(err(
                    400,
                    -1102,
                    "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
                )),
                (Some(_), Some(_)) => {
                    return Err(err(
                        400,
                        -1106,
                        "Parameter 'quoteOrderQty' sent when not required.",
                    ))
                }
                _ => Tif::Ioc,
            }
        }
        (OrdType::Limit, true) => {
            if p.get("timeInForce").is_some() {
                return Err(err(
                    400,
                    -1106,
                    "Parameter 'timeInForce' sent when not required.",
                ));
            }
            Tif::PostOnly
        }
        (OrdType::Limit, false) => match required(p, "timeInForce")? {
            "GTC" => Tif::Gtc,
            "IOC" => Tif::Ioc,
            "FOK" => Tif::Fok,
            "GTX" if futures => Tif::PostOnly,
            _ => return Err(err(400, -1115, "Invalid timeInForce.")),
        },
    };
    if kind == OrdType::Limit {
        if qty.is_none() {
            return Err(mandatory("quantity"));
        }
        if price.is_none() {
            return Err(mandatory("price"));
        }
    }
    if qty.is_some_and(|q| q.is_zero()) || quote_qty.is_some_and(|q| q.is_zero()) {
        return Err(err(400, -1013, "Invalid quantity."));
    }
    if price.is_some_and(|x| x.is_zero()) && kind == OrdType::Limit {
        return Err(err(400, -1013, "Invalid price."));
    }
    let reduce_only = futures && p.get("reduceOnly") == Some("true");
    if futures && p.get("positionSide").is_some_and(|s| s != "BOTH") {
        return Err(err(
            400,
            -4061,
            "Order's position side does not match user's setting.",
        ));
    }
    let client_id = match p.get("newClientOrderId") {
        Some(c) if valid_client_id(c) => c.to_string(),
        Some(_) => return Err(err(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")),
        None => auto_client_id(st),
    };
    let Some(inst) = st.instrument(venue, &symbol) else {
        return Err(err(400, -1121, "Invalid symbol."));
    };
    let ref_price = st.taker_price(venue, &symbol, side).unwrap_or(inst.price);
    let cfg = &inst.cfg;
    let mut check = filters::check(cfg, kind, price, qty, quote_qty, ref_price);
    if reduce_only && check == Err(FilterFail::Notional) {
        check = Ok(());
    }
    if let Err(f) = check {
        return Err(filter_error(venue, f, qty, price, cfg.min_notional));
    }
    Ok(NewOrder {
        venue,
        account,
        symbol,
        side,
        kind,
        tif,
        limit_maker,
        qty: qty.unwrap_or_default(),
        quote_qty,
        price: if kind == OrdType::Limit { price } else { None },
        client_id,
        reduce_only,
        now,
    })
}

/// Engine refusal → Binance error.
pub fn reject_error(venue: Venue, r: Reject) -> Resp {
    let futures = venue == Venue::BinanceFutures;
    match r {
        Reject::InsufficientBalance if futures => err(400, -2019, "Margin is insufficient."),
        Reject::InsufficientBalance => err(400, -2010, "Account has insufficient balance for requested action."),
        Reject::DuplicateClientId if futures => err(400, -4116, "clientOrderId is duplicated"),
        Reject::DuplicateClientId => err(400, -2010, "Duplicate order sent."),
        Reject::WouldTake if futures => err(400, -5022, "Due to the order could not be executed as maker, the Post Only order will be rejected."),
        Reject::WouldTake => err(400, -2010, "Order would immediately match and take."),
        Reject::ReduceOnly => err(400, -2022, "ReduceOnly Order is rejected."),
        Reject::UnknownSymbol => err(400, -1121, "Invalid symbol."),
        Reject::ZeroQty => err(400, -1013, "Filter failure: LOT_SIZE"),
    }
}

/// Finds the order named by `orderId` or `origClientOrderId` (orderId wins).
///
/// # Errors
/// `-1102` when neither is sent; `not_found` when no such order belongs to the account.
pub fn find_order(
    st: &State,
    venue: Venue,
    account: usize,
    symbol: &str,
    p: &Params,
    not_found: fn() -> Resp,
) -> Result<u64, Resp> {
    let found = if let Some(id) = integer(p, "orderId")? {
        st.order(id as u64)
            .filter(|o| o.account == account && o.venue == venue && o.symbol == symbol)
            .map(|o| o.id)
    } else if let Some(c) = p.get("origClientOrderId") {
        st.order_by_client_id(account, venue, c)
            .filter(|id| st.order(*id).is_some_and(|o| o.symbol == symbol))
    } else {
        return Err(err(
            400,
            -1102,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        ));
    };
    found.ok_or_else(not_found)
}

/// Binance status string.
pub fn status_str(s: Status) -> &'static str {
    match s {
        Status::New => "NEW",
        Status::PartiallyFilled => "PARTIALLY_FILLED",
        Status::Filled => "FILLED",
        Status::Canceled => "CANCELED",
        Status::Expired => "EXPIRED",
    }
}

/// Binance time-in-force string.
pub fn tif_str(t: Tif) -> &'static str {
    match t {
        Tif::Gtc => "GTC",
        Tif::Ioc => "IOC",
        Tif::Fok => "FOK",
        Tif::PostOnly => "GTX",
    }
}

/// Binance side string.
pub fn side_str(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// Decimal with a fixed number of decimals, as Binance renders numbers.
pub fn fixed(d: Decimal, dp: u32) -> String {
    format!("{:.*}", dp as usize, d.round_dp(dp))
}

/// Fixed-decimals rendering using the scale of a step (e.g. tick `0.10` → 1 decimal... `0.01` → 2).
pub fn by_step(d: Decimal, step: Decimal) -> String {
    fixed(d, step.scale())
}

/// Filters `[startTime, endTime]` and `limit` applied to a time-ordered list.
pub fn window<T: Clone>(
    items: Vec<T>,
    time: impl Fn(&T) -> i64,
    p: &Params,
    default_limit: usize,
    max: usize,
) -> Result<Vec<T>, Resp> {
    let start = integer(p, "startTime")?;
    let end = integer(p, "endTime")?;
    let limit = integer(p, "limit")?
        .map(|l| (l.max(1) as usize).min(max))
        .unwrap_or(default_limit);
    let mut v: Vec<T> = items
        .into_iter()
        .filter(|t| start.is_none_or(|s| time(t) >= s) && end.is_none_or(|e| time(t) <= e))
        .collect();
    if start.is_some() {
        v.truncate(limit);
    } else if v.len() > limit {
        v = v.split_off(v.len() - limit);
    }
    Ok(v)
}

/// JSON array helper.
pub fn arr(v: Vec<Value>) -> Value {
    Value::Array(v)
}
