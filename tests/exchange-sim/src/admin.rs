//! Admin API under `/__admin/` (JSON): reset, prices and random walk, state, request log, fault
//! injection, clock skew, funding, rate-limit parameters and balances. Never logged.

use std::sync::atomic::Ordering;

use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::config::{RateLimitConfig, SimConfig, Venue};
use crate::faults::{Fault, Faults};
use crate::http::{Params, Req, Resp};
use crate::log::RequestLog;
use crate::ratelimit::RateLimiter;
use crate::state::State;
use crate::{lock, Sim};

fn bad(msg: impl Into<String>) -> Resp {
    Resp::json(400, &json!({"error": msg.into()}))
}

fn ok(v: Value) -> Resp {
    Resp::json(200, &v)
}

fn body(req: &Req) -> Result<Value, Resp> {
    if req.body.trim().is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_str(&req.body).map_err(|e| bad(format!("body is not JSON: {e}")))
}

fn dec(v: &Value, k: &str) -> Result<Decimal, Resp> {
    let raw = match &v[k] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(bad(format!("field '{k}' (decimal string) is required"))),
    };
    raw.parse()
        .map_err(|_| bad(format!("field '{k}' is not a decimal: {raw}")))
}

fn venues(v: &Value, default: &[Venue]) -> Result<Vec<Venue>, Resp> {
    match v.get("venue") {
        None | Some(Value::Null) => Ok(default.to_vec()),
        Some(x) => serde_json::from_value::<Venue>(x.clone())
            .map(|v| vec![v])
            .map_err(|e| bad(format!("field 'venue': {e}"))),
    }
}

const ALL: [Venue; 4] = [
    Venue::BinanceSpot,
    Venue::BinanceFutures,
    Venue::BybitSpot,
    Venue::BybitLinear,
];

/// Handles one admin request.
pub fn handle(sim: &Sim, req: &Req) -> Resp {
    let r = route(sim, req);
    r.unwrap_or_else(|e| e)
}

fn route(sim: &Sim, req: &Req) -> Result<Resp, Resp> {
    let q = Params::parse(&req.query);
    let now = sim.now_ms();
    Ok(
        match (req.method.as_str(), req.path.trim_end_matches('/')) {
            ("GET", "/__admin/health") => ok(json!({"ok": true})),
            ("GET", "/__admin/config") => {
                ok(serde_json::to_value(&lock(&sim.state).cfg).map_err(|e| bad(e.to_string()))?)
            }
            ("POST", "/__admin/reset") => {
                let b = body(req)?;
                let cfg: SimConfig = match b.get("config") {
                    Some(c) => serde_json::from_value(c.clone())
                        .map_err(|e| bad(format!("config: {e}")))?,
                    None => sim.initial.0.clone(),
                };
                let seed = b
                    .get("seed")
                    .and_then(Value::as_u64)
                    .unwrap_or(sim.initial.1);
                *lock(&sim.limits) = RateLimiter::new(cfg.rate_limits.clone());
                *lock(&sim.state) = State::new(cfg, seed);
                *lock(&sim.faults) = Faults::default();
                *lock(&sim.log) = RequestLog::default();
                sim.walk.store(false, Ordering::Relaxed);
                ok(json!({"ok": true}))
            }
            ("POST", "/__admin/price") => {
                let b = body(req)?;
                let symbol = b["symbol"]
                    .as_str()
                    .ok_or_else(|| bad("field 'symbol' is required"))?
                    .to_string();
                let price = if b.get("price").is_some() {
                    Some(dec(&b, "price")?)
                } else {
                    None
                };
                let liquidity = match b.get("liquidity") {
                    None => None,
                    Some(Value::Null) => Some(None),
                    Some(_) => Some(Some(dec(&b, "liquidity")?)),
                };
                let mut st = lock(&sim.state);
                let mut n = 0;
                for v in venues(&b, &ALL)? {
                    let Some(inst) = st.instruments.get_mut(&(v, symbol.clone())) else {
                        continue;
                    };
                    if let Some(l) = liquidity {
                        inst.liquidity = l;
                    }
                    let p = price.unwrap_or(inst.price);
                    st.set_price(v, &symbol, p, now);
                    n += 1;
                }
                if n == 0 {
                    return Err(bad(format!("unknown symbol {symbol}")));
                }
                ok(json!({"ok": true, "venues": n}))
            }
            ("POST", "/__admin/klines") => {
                let load: crate::klines::AdminLoad =
                    serde_json::from_value(body(req)?).map_err(|e| bad(format!("klines: {e}")))?;
                let mut st = lock(&sim.state);
                ok(crate::klines::admin_load(&mut st, load, now).map_err(bad)?)
            }
            ("GET", "/__admin/klines") => {
                let symbol = q
                    .get("symbol")
                    .ok_or_else(|| bad("query 'symbol' is required"))?;
                ok(crate::klines::admin_dump(&lock(&sim.state), symbol))
            }
            ("POST", "/__admin/walk") => {
                let b = body(req)?;
                if let Some(e) = b.get("enabled").and_then(Value::as_bool) {
                    sim.walk.store(e, Ordering::Relaxed);
                }
                let steps = b.get("steps").and_then(Value::as_u64).unwrap_or(0);
                let mut st = lock(&sim.state);
                for _ in 0..steps {
                    st.walk_step(now);
                }
                ok(json!({"ok": true, "enabled": sim.walk.load(Ordering::Relaxed)}))
            }
            ("GET", "/__admin/state") => {
                let st = lock(&sim.state);
                let account = match q.get("account") {
                    Some(name) => Some(
                        st.account_by_name(name)
                            .ok_or_else(|| bad(format!("unknown account {name}")))?,
                    ),
                    None => None,
                };
                ok(st.snapshot(account))
            }
            ("GET", "/__admin/requests") => {
                let since = q.get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
                ok(json!({"requests": lock(&sim.log).since(since)}))
            }
            ("DELETE", "/__admin/requests") => {
                lock(&sim.log).clear();
                ok(json!({"ok": true}))
            }
            ("POST", "/__admin/faults") => {
                let b = body(req)?;
                let list: Vec<Fault> = if b.is_array() {
                    serde_json::from_value(b)
                } else {
                    serde_json::from_value(b).map(|f| vec![f])
                }
                .map_err(|e| bad(format!("fault: {e}")))?;
                let mut f = lock(&sim.faults);
                f.armed.extend(list);
                ok(json!({"armed": f.armed}))
            }
            ("GET" | "POST", "/__admin/streams") => crate::stream::admin(sim, req),
            ("GET", "/__admin/faults") => ok(json!({"armed": lock(&sim.faults).armed})),
            ("DELETE", "/__admin/faults") => {
                lock(&sim.faults).armed.clear();
                ok(json!({"ok": true}))
            }
            ("POST", "/__admin/clock") => {
                let b = body(req)?;
                let off = b["offset_ms"]
                    .as_i64()
                    .ok_or_else(|| bad("field 'offset_ms' (integer) is required"))?;
                lock(&sim.state).clock_offset_ms = off;
                ok(json!({"ok": true, "offset_ms": off}))
            }
            ("POST", "/__admin/funding") => {
                let b = body(req)?;
                let symbol = b["symbol"]
                    .as_str()
                    .ok_or_else(|| bad("field 'symbol' is required"))?
                    .to_string();
                let rate = dec(&b, "rate")?;
                let mut st = lock(&sim.state);
                let mut paid = 0;
                for v in venues(&b, &[Venue::BinanceFutures, Venue::BybitLinear])? {
                    paid += st.funding(v, &symbol, rate, now);
                }
                ok(json!({"ok": true, "positions_paid": paid}))
            }
            ("POST", "/__admin/ratelimit") => {
                let b = body(req)?;
                let mut l = lock(&sim.limits);
                let mut cur = serde_json::to_value(&l.cfg).map_err(|e| bad(e.to_string()))?;
                if let (Some(c), Some(n)) = (cur.as_object_mut(), b.as_object()) {
                    for (k, v) in n {
                        c.insert(k.clone(), v.clone());
                    }
                }
                let cfg: RateLimitConfig =
                    serde_json::from_value(cur).map_err(|e| bad(format!("ratelimit: {e}")))?;
                lock(&sim.state).cfg.rate_limits = cfg.clone();
                *l = RateLimiter::new(cfg.clone());
                ok(json!({"ok": true, "rate_limits": cfg}))
            }
            ("POST", "/__admin/balance") => {
                let b = body(req)?;
                let name = b["account"]
                    .as_str()
                    .ok_or_else(|| bad("field 'account' is required"))?;
                let asset = b["asset"]
                    .as_str()
                    .ok_or_else(|| bad("field 'asset' is required"))?;
                let amount = dec(&b, "free")?;
                let mut st = lock(&sim.state);
                let i = st
                    .account_by_name(name)
                    .ok_or_else(|| bad(format!("unknown account {name}")))?;
                let acc = st
                    .accounts
                    .get_mut(i)
                    .ok_or_else(|| bad("unknown account"))?;
                let w = if b["wallet"].as_str() == Some("futures") {
                    &mut acc.futures
                } else {
                    &mut acc.spot
                };
                w.assets.entry(asset.to_string()).or_default().free = amount;
                if let Some(bnb) = b.get("bnb_fee_discount").and_then(Value::as_bool) {
                    acc.cfg.bnb_fee_discount = bnb;
                }
                ok(json!({"ok": true}))
            }
            ("POST", "/__admin/account") => {
                let b = body(req)?;
                let name = b["account"]
                    .as_str()
                    .ok_or_else(|| bad("field 'account' is required"))?;
                let mut st = lock(&sim.state);
                let i = st
                    .account_by_name(name)
                    .ok_or_else(|| bad(format!("unknown account {name}")))?;
                let acc = st
                    .accounts
                    .get_mut(i)
                    .ok_or_else(|| bad("unknown account"))?;
                if let Some(bnb) = b.get("bnb_fee_discount").and_then(Value::as_bool) {
                    acc.cfg.bnb_fee_discount = bnb;
                }
                ok(json!({"ok": true, "bnb_fee_discount": acc.cfg.bnb_fee_discount}))
            }
            _ => Resp::json(
                404,
                &json!({"error": format!("no admin route {} {}", req.method, req.path)}),
            ),
        },
    )
}
