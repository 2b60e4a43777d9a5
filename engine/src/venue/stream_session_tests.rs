//! The stream session on a virtual clock: subscribe, recover the gap before trusting, heartbeat,
//! silence, backoff with jitter, listenKey life, refusal, the 24 h renewal.

use super::*;
use crate::venue::stream::{SessionSignal, StreamEvent, StreamPlan};

fn bybit_plan() -> StreamPlan {
    StreamPlan {
        url: "ws://127.0.0.1:1/v5/private".into(),
        open_frames: vec!["auth".into(), "sub".into()],
        ping_every_ms: 20_000,
        max_life_ms: 86_000_000,
        needs_listen_key: false,
        keepalive_every_ms: 0,
    }
}

fn usdm_plan() -> StreamPlan {
    StreamPlan {
        url: "ws://127.0.0.1:1/private/ws?listenKey=k".into(),
        open_frames: vec![],
        ping_every_ms: 0,
        max_life_ms: 86_000_000,
        needs_listen_key: false,
        keepalive_every_ms: 1_800_000,
    }
}

fn signal(s: SessionSignal) -> Vec<StreamEvent> {
    vec![StreamEvent::Session(s)]
}

#[test]
fn subscribes_then_recovers_the_gap_before_it_is_trusted_then_pings_and_detects_silence() {
    let mut s = StreamSession::new(7);
    s.start(false, 1_000);
    assert_eq!(s.poll(1_000), Action::Connect);
    s.on_open(bybit_plan(), 1_100);
    assert_eq!(s.poll(1_100), Action::Send("auth".into()));
    assert_eq!(s.poll(1_100), Action::Send("sub".into()));
    assert_eq!(s.poll(1_100), Action::WaitUntil { at_ms: 11_100 });
    let fill = StreamEvent::Ignored { kind: "x".into() };
    // Events before the subscription answer are still handed on.
    assert_eq!(s.on_frame(vec![fill.clone()], 1_150), vec![fill.clone()]);
    s.on_frame(signal(SessionSignal::Authenticated), 1_200);
    s.on_frame(signal(SessionSignal::Subscribed), 1_300);
    assert_eq!(s.poll(1_300), Action::RecoverGap { since_ms: 1_000 });
    assert!(!s.trusted());
    s.on_recovered(1_300, 2_000);
    assert!(s.trusted());
    assert_eq!(s.health.gaps_recovered, 1);
    assert_eq!(s.poll(2_000), Action::WaitUntil { at_ms: 21_100 });
    assert_eq!(s.poll(21_100), Action::Ping);
    s.on_frame(signal(SessionSignal::Pong), 21_150);
    // Silence for 60 s: closed, backoff, reconnect, and the gap since the last frame recovered.
    let now = 21_150 + SILENCE_MS;
    assert!(matches!(s.poll(now), Action::Close { reason } if reason.contains("silent")));
    assert_eq!(s.phase(), Phase::Backoff);
    s.on_closed(now);
    let Action::WaitUntil { at_ms } = s.poll(now) else {
        panic!()
    };
    assert!(
        (now + 250..now + 500).contains(&at_ms),
        "first backoff in [250, 500): {}",
        at_ms - now
    );
    assert_eq!(s.poll(at_ms), Action::Connect);
    s.on_open(bybit_plan(), at_ms + 10);
    s.poll(at_ms + 10);
    s.poll(at_ms + 10);
    s.on_frame(signal(SessionSignal::Subscribed), at_ms + 20);
    assert_eq!(s.poll(at_ms + 20), Action::RecoverGap { since_ms: 21_150 });
    assert_eq!(s.health.reconnects, 1);
}

#[test]
fn usdm_fetches_and_renews_its_listen_key_and_a_key_expiry_reconnects_at_once_with_a_new_one() {
    let mut s = StreamSession::new(1);
    s.start(true, 0);
    assert_eq!(s.poll(0), Action::FetchListenKey);
    s.on_listen_key("k".into(), 100);
    assert_eq!(s.poll(100), Action::Connect);
    s.on_open(usdm_plan(), 200);
    // Subscribed by its URL: straight to the gap recovery.
    assert_eq!(s.poll(200), Action::RecoverGap { since_ms: 0 });
    s.on_recovered(200, 300);
    assert_eq!(
        s.poll(300),
        Action::WaitUntil {
            at_ms: 200 + SILENCE_MS
        }
    );
    s.on_frame(vec![], 1_800_050);
    assert_eq!(s.poll(1_800_100), Action::KeepaliveListenKey);
    s.on_frame(signal(SessionSignal::ListenKeyExpired), 1_900_000);
    assert!(matches!(s.poll(1_900_000), Action::Close { .. }));
    s.on_closed(1_900_010);
    assert_eq!(s.poll(1_900_010), Action::FetchListenKey);
    assert_eq!(s.listen_key(), None);
}

#[test]
fn a_refusal_stops_reconnecting_until_restarted() {
    let mut s = StreamSession::new(3);
    s.start(false, 0);
    s.poll(0);
    s.on_open(bybit_plan(), 1);
    s.poll(1);
    s.poll(1);
    s.on_frame(
        signal(SessionSignal::Refused {
            reason: "auth: Params Error".into(),
        }),
        2,
    );
    assert!(matches!(s.poll(2), Action::Close { .. }));
    s.on_closed(3);
    assert_eq!(s.poll(1_000_000), Action::Nothing);
    assert_eq!(s.health.refused.as_deref(), Some("auth: Params Error"));
    s.start(false, 2_000_000);
    assert_eq!(s.health.refused, None);
    assert_eq!(s.poll(2_000_000), Action::Connect);
}

#[test]
fn no_subscription_answer_backs_off_exponentially_with_jitter_capped_at_30_s() {
    let mut a = StreamSession::new(42);
    let mut b = StreamSession::new(42);
    let mut delays = Vec::new();
    for s in [&mut a, &mut b] {
        let mut now = 0;
        let mut mine = Vec::new();
        s.start(false, now);
        for _ in 0..9 {
            assert_eq!(s.poll(now), Action::Connect);
            s.on_open(bybit_plan(), now);
            s.poll(now);
            s.poll(now);
            now += SUBSCRIBE_TIMEOUT_MS;
            assert!(matches!(s.poll(now), Action::Close { .. }));
            let Action::WaitUntil { at_ms } = s.poll(now) else {
                panic!()
            };
            mine.push(at_ms - now);
            now = at_ms;
        }
        delays.push(mine);
    }
    assert_eq!(delays[0], delays[1], "same seed, same jitter");
    for (i, d) in delays[0].iter().enumerate() {
        let cap = (BACKOFF_BASE_MS << i).min(BACKOFF_CAP_MS);
        assert!(
            (cap / 2..cap).contains(d),
            "attempt {i}: {d} not in [{}, {cap})",
            cap / 2
        );
    }
}

#[test]
fn the_connection_is_renewed_before_the_24_h_cut_and_a_server_shutdown_reconnects_at_once() {
    let mut s = StreamSession::new(5);
    s.start(false, 0);
    s.poll(0);
    let mut plan = bybit_plan();
    plan.max_life_ms = 50_000;
    plan.ping_every_ms = 0;
    s.on_open(plan, 0);
    s.poll(0);
    s.poll(0);
    s.on_frame(signal(SessionSignal::Subscribed), 10);
    s.poll(10);
    s.on_recovered(10, 20);
    s.on_frame(vec![], 49_000);
    assert!(matches!(s.poll(50_000), Action::Close { reason } if reason.contains("24 h")));
    s.on_closed(50_001);
    assert_eq!(s.poll(50_001), Action::Connect);
    s.on_open(bybit_plan(), 50_002);
    s.poll(50_002);
    s.poll(50_002);
    s.on_frame(signal(SessionSignal::ServerShutdown), 50_003);
    assert!(matches!(s.poll(50_003), Action::Close { .. }));
    s.on_closed(50_004);
    assert_eq!(s.poll(50_004), Action::Connect);
}
