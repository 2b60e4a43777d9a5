//! Scenario tests of the exchange call on a virtual clock: a scripted exchange answers each
//! request the machine asks for, the clock moves only by the script's round trips and the
//! machine's waits, and every test reads back what was sent where.

use super::*;
use crate::ids::Symbol;
use crate::model::{Exchange, Market, OrderQty, OrderRequest, OrderType, Side};
use crate::venue::binance::Binance;
use crate::venue::bybit::Bybit;
use crate::venue::circuit::{CallOutcome, CircuitState};
use crate::venue::endpoints::Environment;
use crate::venue::testing::fixture;
use proptest::prelude::*;
use rust_decimal::Decimal;

const T0: i64 = 1_700_000_000_000;
/// Round trip of every scripted answer.
const RTT: i64 = 10;
/// The simulator-style single host most tests use.
const HOST: &str = "http://127.0.0.1:9";
/// Steps after which a call that has not finished is a failed test (the machine must end).
const MAX_STEPS: usize = 200;

/// What the machine asked for, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Send {
        op: &'static str,
        host: String,
        path: String,
    },
    Sync,
    Wait(i64),
}

fn send(op: &'static str, path: &str) -> Seen {
    Seen::Send {
        op,
        host: HOST.into(),
        path: path.into(),
    }
}

struct Harness {
    venue: Box<dyn Venue>,
    state: CallState,
    creds: Credentials,
    now: i64,
    seen: Vec<Seen>,
    trail: Vec<AuditDraft>,
}

impl Harness {
    /// Binance spot on one host, clock already synced (offset 0).
    fn new() -> Self {
        let mut h = Self::fresh(
            Box::new(Binance::new(Market::Spot, 5_000)),
            BaseUrls::resolve(
                Exchange::Binance,
                Market::Spot,
                Environment::Live,
                Some(HOST),
            ),
        );
        h.state.clock.observe_sync(T0, T0, T0);
        h
    }

    /// Never synced.
    fn fresh(venue: Box<dyn Venue>, urls: BaseUrls) -> Self {
        Self {
            venue,
            state: CallState::new(urls),
            creds: Credentials::new("key", "secret"),
            now: T0,
            seen: Vec::new(),
            trail: Vec::new(),
        }
    }

    /// Drives one call to its end; `exchange` answers every request at the current time.
    fn run(
        &mut self,
        op: VenueOp,
        mut exchange: impl FnMut(&Outgoing, i64) -> Transport,
    ) -> Finished {
        let mut call = ExchangeCall::new(op, Actor::System);
        for _ in 0..MAX_STEPS {
            let mut ctx = CallContext {
                venue: self.venue.as_mut(),
                state: &mut self.state,
                creds: Some(&self.creds),
            };
            let step = call.poll(&mut ctx, self.now);
            self.trail.extend(call.take_trail());
            let out = match step {
                Step::Done(finished) => return finished,
                Step::Wait { ms } => {
                    assert!(ms > 0, "a wait moves the clock");
                    self.seen.push(Seen::Wait(ms));
                    self.now += ms;
                    continue;
                }
                Step::SyncClock(out) => {
                    self.seen.push(Seen::Sync);
                    out
                }
                Step::Send(out) => {
                    let path = out.request.path_and_query.split('?').next().unwrap_or("");
                    self.seen.push(Seen::Send {
                        op: out.op.name(),
                        host: out.host().to_string(),
                        path: path.to_string(),
                    });
                    out
                }
            };
            let reply = exchange(&out, self.now);
            if let Transport::Answered { response, .. } = &reply {
                self.now = response.received_ms;
            }
            let mut ctx = CallContext {
                venue: self.venue.as_mut(),
                state: &mut self.state,
                creds: Some(&self.creds),
            };
            call.on_reply(&mut ctx, reply, self.now);
        }
        panic!(
            "the call did not finish in {MAX_STEPS} steps: {:?}",
            self.seen
        )
    }

    fn sends(&self, op: &str) -> usize {
        self.seen
            .iter()
            .filter(|s| matches!(s, Seen::Send { op: o, .. } if *o == op))
            .count()
    }
}

/// An answer received one round trip after `now`.
fn answer(now: i64, status: u16, headers: &[(&str, &str)], body: &str) -> Transport {
    Transport::Answered {
        response: HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_string(),
            received_ms: now + RTT,
        },
        latency_ms: RTT,
    }
}

fn server_time(now: i64, offset: i64) -> Transport {
    answer(
        now,
        200,
        &[],
        &format!(r#"{{"serverTime":{}}}"#, now + RTT / 2 + offset),
    )
}

fn order_filled() -> String {
    fixture("binance/spot_order_full.json")
}

const QUERY_FOUND: &str = r#"{"symbol":"BTCUSDT","orderId":9,"clientOrderId":"keel-x-1","price":"0","origQty":"1","executedQty":"1","cummulativeQuoteQty":"50000","status":"FILLED","side":"BUY","time":1,"updateTime":2}"#;
const UNKNOWN_ORDER: &str = r#"{"code":-2013,"msg":"Order does not exist."}"#;
const TIMESTAMP: &str =
    r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#;
const UNAVAILABLE: &str =
    r#"{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}"#;
const BALANCES: &str = r#"{"balances":[{"asset":"USDT","free":"100","locked":"0"}]}"#;

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

fn query() -> VenueOp {
    VenueOp::QueryOrder {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        client_order_id: ClientOrderId::new("keel-x-1").unwrap(),
    }
}

fn is_order(f: &Finished) -> bool {
    matches!(f.result, Ok(VenueReply::Order(_)))
}

// ---- clock ----

#[test]
fn a_never_synced_clock_is_synced_before_the_first_signed_request() {
    let mut h = Harness::fresh(
        Box::new(Binance::new(Market::Spot, 5_000)),
        BaseUrls::resolve(
            Exchange::Binance,
            Market::Spot,
            Environment::Live,
            Some(HOST),
        ),
    );
    let done = h.run(place(false), |out, now| match out.op {
        VenueOp::ServerTime => server_time(now, 3_000),
        _ => answer(now, 200, &[], &order_filled()),
    });
    assert!(is_order(&done), "{done:?}");
    assert_eq!(h.seen, [Seen::Sync, send("place_order", "/api/v3/order")]);
    assert_eq!(h.state.clock.offset_ms(), 3_000);
}

#[test]
fn clock_skew_resyncs_once_then_the_order_succeeds() {
    let mut h = Harness::new();
    let mut rejected = false;
    let done = h.run(place(false), |out, now| match out.op {
        VenueOp::ServerTime => server_time(now, 20_000),
        _ if !rejected => {
            rejected = true;
            answer(now, 400, &[], TIMESTAMP)
        }
        _ => answer(now, 200, &[], &order_filled()),
    });
    assert!(is_order(&done), "{done:?}");
    assert_eq!(
        h.seen,
        [
            send("place_order", "/api/v3/order"),
            Seen::Sync,
            send("place_order", "/api/v3/order"),
        ]
    );
    assert_eq!(h.state.clock.offset_ms(), 20_000);
    assert!(!h.state.clock.needs_sync(h.now));
}

#[test]
fn a_failing_resync_does_not_loop_and_the_second_timestamp_error_is_reported() {
    let mut h = Harness::new();
    let done = h.run(place(false), |out, now| match out.op {
        VenueOp::ServerTime => Transport::ConnectFailed {
            message: "refused".into(),
        },
        _ => answer(now, 400, &[], TIMESTAMP),
    });
    assert_eq!(
        done.result,
        Err(CallFailure::Venue(VenueError::Timestamp { code: -1021 }))
    );
    assert_eq!(
        h.seen,
        [
            send("place_order", "/api/v3/order"),
            Seen::Sync,
            send("place_order", "/api/v3/order"),
        ],
        "one sync per attempt, one retry after a timestamp error"
    );
    assert!(
        h.state.clock.needs_sync(h.now),
        "still stale: the next call syncs first"
    );
}

// ---- circuit ----

#[test]
fn the_circuit_opens_after_n_venue_failures_and_half_opens_after_its_cool_down() {
    let mut h = Harness::new();
    // A read meets three 503s (first try + two backoff retries): two reads make six failures,
    // and the default breaker opens at five.
    for _ in 0..2 {
        let done = h.run(VenueOp::Balances, |_, now| {
            answer(now, 503, &[], UNAVAILABLE)
        });
        assert!(matches!(
            done.result,
            Err(CallFailure::Venue(VenueError::Unavailable {
                status: 503,
                ..
            }))
        ));
    }
    let open_until = match h.state.circuit.state(h.now) {
        CircuitState::Open { until_ms } => until_ms,
        other => panic!("expected open, got {other:?}"),
    };
    h.seen.clear();
    let refused = h.run(place(false), |_, now| {
        answer(now, 200, &[], &order_filled())
    });
    assert_eq!(
        refused.result,
        Err(CallFailure::CircuitOpen {
            retry_at_ms: open_until
        })
    );
    assert!(h.seen.is_empty(), "an entry is refused without a request");

    let cancel = VenueOp::CancelOrder {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        client_order_id: ClientOrderId::new("keel-x-0").unwrap(),
    };
    let exit = h.run(cancel, |_, now| {
        answer(now, 200, &[], &fixture("binance/spot_cancel_order.json"))
    });
    assert!(exit.result.is_ok(), "an exit still goes: {exit:?}");

    h.now = open_until;
    h.seen.clear();
    let probe = h.run(place(false), |_, now| {
        answer(now, 200, &[], &order_filled())
    });
    assert!(
        is_order(&probe),
        "the first entry after the cool-down is the probe"
    );
    assert_eq!(
        h.state.circuit.state(h.now),
        CircuitState::Closed {
            consecutive_failures: 0
        }
    );
}

#[test]
fn business_rejections_rate_limits_and_auth_failures_never_trip_the_circuit() {
    let mut h = Harness::new();
    for _ in 0..10 {
        let done = h.run(place(false), |_, now| {
            answer(
                now,
                400,
                &[],
                r#"{"code":-2010,"msg":"Account has insufficient balance for requested action."}"#,
            )
        });
        assert!(matches!(
            done.result,
            Err(CallFailure::Venue(VenueError::InsufficientBalance { .. }))
        ));
        let _ = h.run(VenueOp::Balances, |_, now| {
            answer(
                now,
                401,
                &[],
                r#"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#,
            )
        });
    }
    assert_eq!(
        h.state.circuit.state(h.now),
        CircuitState::Closed {
            consecutive_failures: 0
        }
    );
}

/// The one rule the breaker counts by (`CallOutcome::of_reply`): the typed reply decides, not
/// the HTTP status.
#[test]
fn one_rule_decides_what_the_circuit_counts() {
    struct Case {
        reply: Result<VenueReply, VenueError>,
        expected: CallOutcome,
    }
    let answered = CallOutcome::Answered { latency_ms: 7 };
    let cases = [
        Case {
            reply: Ok(VenueReply::ServerTime(1)),
            expected: answered,
        },
        Case {
            reply: Err(VenueError::Unavailable {
                status: 503,
                msg: String::new(),
            }),
            expected: CallOutcome::Failed,
        },
        Case {
            // Binance -1007 "status unknown" on a 408: the exchange is struggling.
            reply: Err(VenueError::Unavailable {
                status: 408,
                msg: String::new(),
            }),
            expected: CallOutcome::Failed,
        },
        Case {
            reply: Err(VenueError::Rejected {
                code: -2010,
                msg: String::new(),
            }),
            expected: answered,
        },
        Case {
            reply: Err(VenueError::RateLimited {
                retry_after_ms: 1_000,
            }),
            expected: answered,
        },
        Case {
            reply: Err(VenueError::Auth {
                code: -2015,
                msg: String::new(),
            }),
            expected: answered,
        },
        Case {
            reply: Err(VenueError::parse("body", "eof")),
            expected: answered,
        },
    ];
    for case in cases {
        assert_eq!(
            CallOutcome::of_reply(&case.reply, 7),
            case.expected,
            "{:?}",
            case.reply
        );
    }
    // Each adapter maps a 5xx to `Unavailable`, so the rule covers every server error.
    let venues: [Box<dyn Venue>; 2] = [
        Box::new(Binance::new(Market::Spot, 5_000)),
        Box::new(Bybit::new(Market::Linear, 5_000)),
    ];
    for venue in venues {
        for (status, body) in [
            (500, "oops"),
            (502, "<html>Bad Gateway</html>"),
            (
                503,
                r#"{"retCode":10016,"retMsg":"Internal server error."}"#,
            ),
        ] {
            let reply = venue.parse(
                &VenueOp::Balances,
                &crate::venue::testing::response(status, &[], body),
            );
            assert_eq!(
                CallOutcome::of_reply(&reply, 1),
                CallOutcome::Failed,
                "{:?} {status} {body}: {reply:?}",
                venue.exchange()
            );
        }
    }
}

// ---- hosts ----

#[test]
fn a_read_fails_over_through_the_hosts_in_order_and_the_one_that_worked_sticks() {
    let mut h = Harness::new();
    h.state.urls = BaseUrls::resolve(Exchange::Binance, Market::Spot, Environment::Live, None);
    let down = ["https://api.binance.com", "https://api1.binance.com"];
    let done = h.run(VenueOp::Balances, |out, now| {
        if down.contains(&out.host()) {
            Transport::ConnectFailed {
                message: "connection refused".into(),
            }
        } else {
            answer(now, 200, &[], BALANCES)
        }
    });
    assert!(
        matches!(done.result, Ok(VenueReply::Balances(_))),
        "{done:?}"
    );
    let hosts: Vec<_> = h
        .seen
        .iter()
        .filter_map(|s| match s {
            Seen::Send { host, .. } => Some(host.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        hosts,
        [
            "https://api.binance.com",
            "https://api1.binance.com",
            "https://api2.binance.com"
        ]
    );
    assert_eq!(h.state.urls.current(), "https://api2.binance.com");

    h.seen.clear();
    let all_down = h.run(VenueOp::Balances, |_, _| Transport::ConnectFailed {
        message: "connection refused".into(),
    });
    assert!(matches!(
        all_down.result,
        Err(CallFailure::Venue(VenueError::Unavailable {
            status: 0,
            ..
        }))
    ));
    assert_eq!(
        h.sends("balances") as u32,
        MAX_ATTEMPTS,
        "gives up after its attempts"
    );
}

#[test]
fn a_placement_whose_connection_failed_is_queried_on_the_same_host_never_resent_elsewhere() {
    let mut h = Harness::new();
    h.state.urls = BaseUrls::resolve(Exchange::Binance, Market::Spot, Environment::Live, None);
    let done = h.run(place(false), |out, now| match out.op {
        VenueOp::PlaceOrder(_) => Transport::ConnectFailed {
            message: "connection reset".into(),
        },
        _ => answer(now, 200, &[], QUERY_FOUND),
    });
    assert!(is_order(&done), "{done:?}");
    assert_eq!(
        h.seen
            .iter()
            .map(|s| match s {
                Seen::Send { op, host, .. } => format!("{op}@{host}"),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>(),
        [
            "place_order@https://api.binance.com",
            "query_order@https://api.binance.com"
        ]
    );
}

// ---- rate limits and bans ----

#[test]
fn a_429_with_a_short_retry_after_waits_and_retries_once() {
    let mut h = Harness::new();
    let mut limited = false;
    let done = h.run(VenueOp::Balances, |_, now| {
        if limited {
            answer(now, 200, &[], BALANCES)
        } else {
            limited = true;
            answer(
                now,
                429,
                &[("Retry-After", "1")],
                r#"{"code":-1003,"msg":"Too many requests."}"#,
            )
        }
    });
    assert!(
        matches!(done.result, Ok(VenueReply::Balances(_))),
        "{done:?}"
    );
    assert_eq!(
        h.seen,
        [
            send("balances", "/api/v3/account"),
            Seen::Wait(1_000),
            send("balances", "/api/v3/account"),
        ]
    );
}

#[test]
fn a_long_retry_after_or_a_second_429_is_reported_not_waited() {
    let mut h = Harness::new();
    let long = h.run(VenueOp::Balances, |_, now| {
        answer(now, 429, &[("Retry-After", "30")], "")
    });
    assert_eq!(
        long.result,
        Err(CallFailure::Venue(VenueError::RateLimited {
            retry_after_ms: 30_000
        }))
    );
    assert_eq!(h.sends("balances"), 1);

    h.seen.clear();
    let twice = h.run(VenueOp::Balances, |_, now| {
        answer(now, 429, &[("Retry-After", "1")], "")
    });
    assert!(matches!(
        twice.result,
        Err(CallFailure::Venue(VenueError::RateLimited { .. }))
    ));
    assert_eq!(h.sends("balances"), 2, "one retry only");
}

#[test]
fn the_accounts_budget_wait_is_taken_when_short_and_reported_when_long() {
    let mut h = Harness::new();
    let mut first = true;
    let done = h.run(VenueOp::Balances, |_, now| {
        if std::mem::take(&mut first) {
            Transport::Throttled { ms: 400 }
        } else {
            answer(now, 200, &[], BALANCES)
        }
    });
    assert!(matches!(done.result, Ok(VenueReply::Balances(_))));
    assert!(h.seen.contains(&Seen::Wait(400)));
    let long = h.run(VenueOp::Balances, |_, _| Transport::Throttled { ms: 5_000 });
    assert_eq!(
        long.result,
        Err(CallFailure::Venue(VenueError::RateLimited {
            retry_after_ms: 5_000
        }))
    );
}

#[test]
fn a_418_ban_stops_every_call_until_its_time() {
    let mut h = Harness::new();
    let banned = h.run(VenueOp::Balances, |_, now| {
        answer(
            now,
            418,
            &[("Retry-After", "120")],
            r#"{"code":-1003,"msg":"Way too many requests; IP banned."}"#,
        )
    });
    let until = T0 + RTT + 120_000;
    assert_eq!(
        banned.result,
        Err(CallFailure::Venue(VenueError::Banned { until_ms: until }))
    );
    assert_eq!(h.state.banned_until_ms, Some(until));

    h.seen.clear();
    h.now += 60_000;
    for op in [place(false), place(true), VenueOp::Balances] {
        let refused = h.run(op, |_, now| answer(now, 200, &[], BALANCES));
        assert_eq!(
            refused.result,
            Err(CallFailure::Venue(VenueError::Banned { until_ms: until }))
        );
    }
    assert!(h.seen.is_empty(), "nothing is sent during a ban");

    h.now = until;
    let after = h.run(VenueOp::Balances, |_, now| answer(now, 200, &[], BALANCES));
    assert!(matches!(after.result, Ok(VenueReply::Balances(_))));
}

#[test]
fn an_account_ban_reported_by_the_sender_is_remembered() {
    let mut h = Harness::new();
    let done = h.run(VenueOp::Balances, |_, now| Transport::Banned {
        until_ms: now + 1_000,
    });
    assert!(matches!(
        done.result,
        Err(CallFailure::Venue(VenueError::Banned { .. }))
    ));
    assert_eq!(h.state.banned_until_ms, Some(T0 + 1_000));
}

// ---- ambiguity ----

#[test]
fn a_placement_that_timed_out_is_resolved_by_its_client_id_and_sent_once() {
    for lost in [
        Transport::TimedOut,
        answer(T0, 503, &[], UNAVAILABLE),
        answer(T0, 200, &[], "{\"symbol\":"),
        Transport::ConnectFailed {
            message: "reset".into(),
        },
    ] {
        let mut h = Harness::new();
        let done = h.run(place(false), |out, _| match out.op {
            VenueOp::PlaceOrder(_) => lost.clone(),
            _ => answer(T0 + 20, 200, &[], QUERY_FOUND),
        });
        assert!(is_order(&done), "{lost:?}: {done:?}");
        assert_eq!(h.sends("place_order"), 1, "{lost:?}: never resent");
        assert_eq!(h.sends("query_order"), 1, "{lost:?}");
    }
}

#[test]
fn an_order_not_found_is_believed_only_after_its_receive_window_has_passed() {
    let mut h = Harness::new();
    let mut settle_seen = Vec::new();
    let done = h.run(place(false), |out, now| match out.op {
        VenueOp::PlaceOrder(_) => {
            if let Some(w) = out.request.signed {
                settle_seen.push(w.expires_at_ms() + crate::venue::error::SETTLE_MARGIN_MS);
            }
            Transport::ConnectFailed {
                message: "reset".into(),
            }
        }
        _ => answer(now, 400, &[], UNKNOWN_ORDER),
    });
    assert!(
        matches!(&done.result, Err(CallFailure::Venue(VenueError::Rejected { code: 0, msg })) if msg.contains("never reached")),
        "{done:?}"
    );
    assert_eq!(h.sends("place_order"), 1);
    let queries = h.sends("query_order");
    assert!(
        (2..=RESOLVE_QUERIES as usize).contains(&queries),
        "asked again after the window: {:?}",
        h.seen
    );
    assert!(
        h.now > settle_seen[0],
        "the last query ran after the window settled"
    );
}

#[test]
fn an_order_whose_queries_keep_failing_is_reported_unknown() {
    let mut h = Harness::new();
    let done = h.run(place(false), |out, now| match out.op {
        VenueOp::PlaceOrder(_) => Transport::TimedOut,
        _ => answer(now, 503, &[], UNAVAILABLE),
    });
    assert!(
        matches!(&done.result, Err(CallFailure::Unknown { client_order_id, .. }) if client_order_id.as_str() == "keel-x-1"),
        "{done:?}"
    );
    assert_eq!(h.sends("place_order"), 1);
}

#[test]
fn a_query_that_timed_out_is_safe_to_send_again() {
    let mut h = Harness::new();
    let mut lost = true;
    let done = h.run(query(), |_, now| {
        if std::mem::take(&mut lost) {
            Transport::TimedOut
        } else {
            answer(now, 200, &[], QUERY_FOUND)
        }
    });
    assert!(is_order(&done), "{done:?}");
    assert_eq!(
        h.seen,
        [
            send("query_order", "/api/v3/order"),
            Seen::Wait(250),
            send("query_order", "/api/v3/order"),
        ]
    );
}

#[test]
fn a_reply_that_asks_for_another_op_runs_it_in_the_same_call() {
    let mut h = Harness::fresh(
        Box::new(Bybit::new(Market::Linear, 5_000)),
        BaseUrls::resolve(
            Exchange::Bybit,
            Market::Linear,
            Environment::Live,
            Some(HOST),
        ),
    );
    h.state.clock.observe_sync(T0, T0, T0);
    let op = VenueOp::QueryOrder {
        symbol: Symbol::new("ETHUSDT").unwrap(),
        client_order_id: ClientOrderId::new("keel-sol-s4-0").unwrap(),
    };
    let done = h.run(op, |out, now| match out.op {
        VenueOp::QueryOrder { .. } => answer(now, 200, &[], &fixture("bybit/order_empty.json")),
        _ => answer(now, 200, &[], &fixture("bybit/order_realtime.json")),
    });
    assert!(is_order(&done), "{done:?}");
    assert_eq!(
        h.seen,
        [
            send("query_order", "/v5/order/realtime"),
            send("query_order_history", "/v5/order/history"),
        ]
    );
}

// ---- credentials and audit ----

#[test]
fn the_call_says_what_it_learned_about_the_credentials() {
    let mut h = Harness::new();
    let refused = h.run(VenueOp::Balances, |_, now| {
        answer(
            now,
            401,
            &[],
            r#"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#,
        )
    });
    assert!(
        matches!(&refused.credentials, CredentialCheck::Refused { reason } if reason.contains("-2015")),
        "{refused:?}"
    );
    assert!(matches!(
        refused.result,
        Err(CallFailure::Venue(VenueError::Auth { .. }))
    ));
    let accepted = h.run(VenueOp::Balances, |_, now| answer(now, 200, &[], BALANCES));
    assert_eq!(accepted.credentials, CredentialCheck::Accepted);
    let public = h.run(
        VenueOp::Ticker {
            symbol: Symbol::new("BTCUSDT").unwrap(),
        },
        |_, now| answer(now, 200, &[], r#"{"symbol":"BTCUSDT","price":"65000.01"}"#),
    );
    assert_eq!(public.credentials, CredentialCheck::NotExercised);
}

#[test]
fn every_request_and_answer_of_the_op_is_audited_and_clock_syncs_are_not() {
    let mut h = Harness::new();
    h.state.clock.mark_stale();
    let done = h.run(place(false), |out, now| match out.op {
        VenueOp::ServerTime => server_time(now, 0),
        _ => answer(now, 200, &[], &order_filled()),
    });
    assert!(is_order(&done));
    let kinds: Vec<_> = h
        .trail
        .iter()
        .map(|d| match &d.event {
            AuditEvent::RequestSent { method, path, .. } => format!("sent {method} {path}"),
            AuditEvent::ExchangeResponse {
                status, latency_ms, ..
            } => format!("answer {status} {latency_ms:?}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["sent POST /api/v3/order", "answer 200 Some(10)"]);
    assert_eq!(
        h.trail[0].time_ms,
        T0 + RTT,
        "stamped when sent (after the sync)"
    );
}

#[test]
fn a_poll_while_the_answer_is_awaited_counts_as_a_lost_answer() {
    let mut h = Harness::new();
    let mut call = ExchangeCall::new(place(false), Actor::System);
    let mut ctx = CallContext {
        venue: h.venue.as_mut(),
        state: &mut h.state,
        creds: Some(&h.creds),
    };
    assert!(matches!(call.poll(&mut ctx, T0), Step::Send(_)));
    match call.poll(&mut ctx, T0 + 10_000) {
        Step::Send(out) => assert_eq!(out.op.name(), "query_order", "resolved, not resent"),
        other => panic!("{other:?}"),
    }
}

// ---- malformed replies ----

/// Drives a call through `status`/`headers`/`body` answering every request, for several kinds
/// of operation: it must end (no panic, no endless loop) with some result.
fn survives(status: u16, headers: &[(&str, &str)], body: &str) {
    for op in [
        place(false),
        query(),
        VenueOp::Balances,
        VenueOp::ServerTime,
        VenueOp::CancelOrder {
            symbol: Symbol::new("BTCUSDT").unwrap(),
            client_order_id: ClientOrderId::new("keel-x-1").unwrap(),
        },
    ] {
        for venue in [
            Box::new(Binance::new(Market::Linear, 5_000)) as Box<dyn Venue>,
            Box::new(Bybit::new(Market::Linear, 5_000)),
        ] {
            let mut h = Harness::fresh(
                venue,
                BaseUrls::resolve(
                    Exchange::Bybit,
                    Market::Linear,
                    Environment::Live,
                    Some(HOST),
                ),
            );
            let _ = h.run(op.clone(), |_, now| answer(now, status, headers, body));
        }
    }
}

#[test]
fn malformed_replies_never_panic_and_every_call_ends() {
    let long = "é".repeat(5_000);
    let bodies = [
        "",
        "null",
        "{",
        "[]",
        "<html><body>502 Bad Gateway</body></html>",
        r#"{"code":"x","msg":7}"#,
        r#"{"serverTime":"soon"}"#,
        r#"{"retCode":0,"result":null,"time":"x"}"#,
        r#"{"retCode":0,"result":{"list":[{"orderId":null}]}}"#,
        r#"{"executedQty":"1e400","status":"FILLED"}"#,
        long.as_str(),
    ];
    let headers: [&[(&str, &str)]; 3] = [
        &[],
        &[("Retry-After", "-5"), ("X-MBX-USED-WEIGHT-1M", "x")],
        &[
            ("Retry-After", "99999999999999999999"),
            ("X-Bapi-Limit-Reset-Timestamp", "-1"),
        ],
    ];
    for status in [0, 200, 400, 401, 403, 404, 408, 418, 429, 500, 503, 599] {
        for body in bodies {
            for h in headers {
                survives(status, h, body);
            }
        }
    }
}

proptest! {
    #![proptest_config(crate::prop_seed::config(64))]
    #[test]
    fn arbitrary_replies_never_panic(
        status in 0u16..1000,
        body in "\\PC{0,200}",
        retry_after in "[-0-9a-z]{0,12}",
    ) {
        survives(status, &[("Retry-After", retry_after.as_str())], &body);
    }
}

#[test]
fn a_failed_probe_opens_the_circuit_for_another_cool_down() {
    let mut h = Harness::new();
    for _ in 0..2 {
        let _ = h.run(VenueOp::Balances, |_, now| {
            answer(now, 503, &[], UNAVAILABLE)
        });
    }
    let CircuitState::Open { until_ms } = h.state.circuit.state(h.now) else {
        panic!("open")
    };
    h.now = until_ms;
    let probe_failed_at = h.now + RTT;
    let done = h.run(place(false), |out, now| match out.op {
        VenueOp::PlaceOrder(_) => answer(now, 503, &[], UNAVAILABLE),
        _ => answer(now, 200, &[], QUERY_FOUND),
    });
    assert!(
        is_order(&done),
        "the probe's order was found by query: {done:?}"
    );
    assert_eq!(
        h.state.circuit.state(h.now),
        CircuitState::Open {
            until_ms: probe_failed_at + CircuitConfig::default().open_ms
        }
    );
}

#[test]
fn stored_state_without_a_ban_reads_and_writes_as_before() {
    let state = CallState::new(BaseUrls::resolve(
        Exchange::Binance,
        Market::Spot,
        Environment::Live,
        Some(HOST),
    ));
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(
        json.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["circuit".into(), "clock".into(), "urls".into()]),
        "no ban field unless banned"
    );
    let back: CallState = serde_json::from_value(json).unwrap();
    assert_eq!(back, state);
}
