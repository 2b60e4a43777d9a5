//! The DO's call loop, driven on a virtual clock against scripted Binance responses.

use super::*;
use crate::ids::{ClientOrderId, Symbol};
use crate::model::{Market, OrderQty, OrderRequest, OrderType, Side};
use crate::venue::binance::Binance;
use crate::venue::circuit::CircuitConfig;
use crate::venue::error::{retry_decision, AmbiguousOrder, Resolution, RetryDecision};
use crate::venue::limiter::LimiterConfig;
use crate::venue::sign::Credentials;
use crate::venue::{BuildCtx, Planned};
use rust_decimal::Decimal;

struct Harness {
    venue: Binance,
    clock: ServerClock,
    limiter: AccountLimiter,
    circuit: CircuitBreaker,
    creds: Credentials,
}

impl Harness {
    fn new() -> Self {
        Self {
            venue: Binance::new(Market::Spot, 5000),
            clock: ServerClock::new(),
            limiter: AccountLimiter::new(LimiterConfig::binance_spot()),
            circuit: CircuitBreaker::new(CircuitConfig {
                failure_threshold: 3,
                slow_call_ms: 5_000,
                open_ms: 30_000,
            }),
            creds: Credentials::new("k", "s"),
        }
    }

    fn gate(&mut self, op: &VenueOp, now: i64) -> Gate {
        let mut g = Guards {
            clock: &mut self.clock,
            limiter: &mut self.limiter,
            circuit: &mut self.circuit,
        };
        g.gate(&self.venue, op, now)
    }

    fn call(
        &mut self,
        op: &VenueOp,
        now: i64,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
        rtt: i64,
    ) -> Result<VenueReply, VenueError> {
        let ctx = BuildCtx {
            creds: Some(&self.creds),
            clock: &self.clock,
            now_ms: now,
            base_url: "http://127.0.0.1:9",
        };
        let Ok(Planned::Http(_req)) = self.venue.build(op, &ctx) else {
            panic!("build")
        };
        let resp = HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_string(),
            received_ms: now + rtt,
        };
        let mut g = Guards {
            clock: &mut self.clock,
            limiter: &mut self.limiter,
            circuit: &mut self.circuit,
        };
        g.absorb(&self.venue, op, now, &resp)
    }
}

fn place(reduce_only: bool) -> VenueOp {
    VenueOp::PlaceOrder(OrderRequest {
        client_order_id: ClientOrderId::new("keel-x-1").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        order_type: OrderType::Market,
        qty: OrderQty::Base(Decimal::ONE),
        price: None,
        time_in_force: None,
        reduce_only,
    })
}

const T0: i64 = 1_700_000_000_000;

#[test]
fn timestamp_error_resyncs_once_then_succeeds() {
    let mut h = Harness::new();
    let op = place(false);
    assert_eq!(h.gate(&op, T0), Gate::SyncClockFirst);
    assert_eq!(h.gate(&VenueOp::ServerTime, T0), Gate::Send);
    // Server is 3 s ahead.
    let r = h.call(
        &VenueOp::ServerTime,
        T0,
        200,
        &[],
        &format!(r#"{{"serverTime":{}}}"#, T0 + 3_050),
        100,
    );
    assert_eq!(r, Ok(VenueReply::ServerTime(T0 + 3_050)));
    assert_eq!(h.clock.offset_ms(), 3_000);
    assert_eq!(h.gate(&op, T0 + 200), Gate::Send);
    let err = h.call(&op, T0 + 200, 400, &[], r#"{"code":-1021,"msg":"Timestamp for this request was 1000ms ahead of the server's time."}"#, 50).unwrap_err();
    assert_eq!(
        retry_decision(&op, &err, 0),
        RetryDecision::ResyncClockThenRetry
    );
    assert_eq!(
        h.gate(&op, T0 + 300),
        Gate::SyncClockFirst,
        "stale clock blocks signed calls"
    );
    h.call(
        &VenueOp::ServerTime,
        T0 + 300,
        200,
        &[],
        &format!(r#"{{"serverTime":{}}}"#, T0 + 3_350),
        0,
    )
    .unwrap();
    assert_eq!(h.gate(&op, T0 + 400), Gate::Send);
    // A second timestamp failure is not retried again.
    assert_eq!(retry_decision(&op, &err, 1), RetryDecision::GiveUp);
}

#[test]
fn rate_limit_and_ban_hold_every_caller() {
    let mut h = Harness::new();
    h.clock.observe_sync(T0, T0, T0);
    let op = VenueOp::Balances;
    assert_eq!(h.gate(&op, T0), Gate::Send);
    let err = h
        .call(
            &op,
            T0,
            429,
            &[("Retry-After", "3")],
            r#"{"code":-1003,"msg":"Too many requests."}"#,
            10,
        )
        .unwrap_err();
    assert_eq!(
        err,
        VenueError::RateLimited {
            retry_after_ms: 3_000
        }
    );
    assert_eq!(h.gate(&place(false), T0 + 1_010), Gate::Wait { ms: 2_000 });
    assert_eq!(h.gate(&op, T0 + 3_010), Gate::Send);
    let banned = h
        .call(
            &op,
            T0 + 3_010,
            418,
            &[("Retry-After", "120")],
            r#"{"code":-1003,"msg":"IP banned"}"#,
            0,
        )
        .unwrap_err();
    assert_eq!(
        banned,
        VenueError::Banned {
            until_ms: T0 + 123_010
        }
    );
    assert_eq!(
        h.gate(
            &VenueOp::CancelAll {
                symbol: Symbol::new("BTCUSDT").unwrap()
            },
            T0 + 4_000
        ),
        Gate::Banned {
            until_ms: T0 + 123_010
        }
    );
}

#[test]
fn open_circuit_refuses_entries_but_not_exits() {
    let mut h = Harness::new();
    h.clock.observe_sync(T0, T0, T0);
    for i in 0..3 {
        let _ = h.call(&VenueOp::Balances, T0 + i, 502, &[], "Bad Gateway", 5);
    }
    assert_eq!(
        h.gate(&place(false), T0 + 100),
        Gate::CircuitOpen {
            retry_at_ms: T0 + 30_007
        }
    );
    let cancel = VenueOp::CancelOrder {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        client_order_id: ClientOrderId::new("a").unwrap(),
    };
    assert_eq!(h.gate(&cancel, T0 + 100), Gate::Send);
    assert_eq!(
        h.gate(&place(true), T0 + 100),
        Gate::Send,
        "reduce-only is an exit"
    );
    // After open_ms one entry probes; its success closes the circuit.
    assert_eq!(h.gate(&place(false), T0 + 30_010), Gate::Send);
    assert!(matches!(
        h.gate(&place(false), T0 + 30_011),
        Gate::CircuitOpen { .. }
    ));
    h.call(
        &VenueOp::ServerTime,
        T0 + 30_012,
        200,
        &[],
        &format!(r#"{{"serverTime":{T0}}}"#),
        20,
    )
    .unwrap();
    assert_eq!(h.gate(&place(false), T0 + 30_100), Gate::Send);
}

#[test]
fn dropped_order_response_is_resolved_by_query_never_resent() {
    let mut h = Harness::new();
    h.clock.observe_sync(T0, T0, T0);
    let op = place(false);
    let ctx = BuildCtx {
        creds: Some(&h.creds),
        clock: &h.clock,
        now_ms: T0,
        base_url: "http://127.0.0.1:9",
    };
    let Ok(Planned::Http(req)) = h.venue.build(&op, &ctx) else {
        panic!()
    };
    let window = req.signed.unwrap();
    let err = {
        let mut g = Guards {
            clock: &mut h.clock,
            limiter: &mut h.limiter,
            circuit: &mut h.circuit,
        };
        g.connection_failed(T0 + 10_000)
    };
    let RetryDecision::ResolveByQuery {
        symbol,
        client_order_id,
    } = retry_decision(&op, &err, 0)
    else {
        panic!("must resolve")
    };
    let amb = AmbiguousOrder {
        symbol: symbol.clone(),
        client_order_id: client_order_id.clone(),
        settles_at_server_ms: window.expires_at_ms(),
    };
    let query = VenueOp::QueryOrder {
        symbol,
        client_order_id,
    };
    // Found: adopt it.
    let body = r#"{"symbol":"BTCUSDT","orderId":9,"clientOrderId":"keel-x-1","price":"0","origQty":"1","executedQty":"1","cummulativeQuoteQty":"50000","status":"FILLED","side":"BUY","time":1,"updateTime":2}"#;
    let found = match h.call(&query, T0 + 10_100, 200, &[], body, 10) {
        Ok(VenueReply::Order(o)) => Ok(o),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e),
    };
    assert!(matches!(
        amb.resolve(found, h.clock.server_now(T0 + 10_110)),
        Ok(Resolution::Placed(_))
    ));
    // Not found before the receive window ends: ask again later; after it: safe to resend.
    let unknown = || {
        Err(VenueError::UnknownOrder {
            msg: "Order does not exist.".into(),
        })
    };
    assert_eq!(
        amb.resolve(unknown(), window.expires_at_ms() - 1),
        Ok(Resolution::QueryAgainAt {
            server_ms: window.expires_at_ms() + 1
        })
    );
    assert_eq!(
        amb.resolve(unknown(), window.expires_at_ms() + 1),
        Ok(Resolution::NotPlaced)
    );
}
