//! Chain, verifier and outbox tests (the per-module tables live next to their code).

use super::*;
use crate::ids::{BotId, ClientOrderId, SignalId, Symbol};
use crate::model::{Exchange, Market, OrderQty, OrderRequest, OrderType, Side};
use rust_decimal_macros::dec;

fn bot() -> BotId {
    BotId::new("btc-trend").unwrap_or_else(|e| unreachable!("{e}"))
}

fn draft(n: i64) -> AuditDraft {
    AuditDraft::new(
        1_764_000_000_000 + n,
        Actor::Webhook,
        AuditEvent::RiskDecision {
            rule: "max_order_notional".into(),
            limit: "500".into(),
            observed: format!("{n}.50"),
            outcome: DecisionOutcome::Pass,
        },
    )
    .signal(SignalId::new("sig-1").unwrap_or_else(|e| unreachable!("{e}")))
}

fn chain_of(n: i64) -> Vec<SealedEvent> {
    let mut chain = AuditChain::genesis(bot());
    (1..=n)
        .map(|i| {
            chain
                .append(draft(i), &Redactor::new())
                .unwrap_or_else(|e| unreachable!("{e}"))
        })
        .collect()
}

fn links(events: &[SealedEvent]) -> Vec<StoredLink> {
    events
        .iter()
        .map(|e| StoredLink {
            seq: e.seq,
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
            body: e.body.clone(),
        })
        .collect()
}

/// Fixed vector: if this changes, every stored chain stops verifying. The hash was checked
/// independently with `printf '%s%s' "$GENESIS" "$BODY" | sha256sum`.
#[test]
fn canonical_body_and_hash_are_stable() {
    let ev = &chain_of(1)[0];
    let expected_body = r#"{"actor":"webhook","bot_id":"btc-trend","event":{"kind":"risk_decision","limit":"500","observed":"1.50","outcome":"pass","rule":"max_order_notional"},"seq":1,"signal_id":"sig-1","time_ms":1764000000001,"v":1}"#;
    assert_eq!(ev.body, expected_body);
    assert_eq!(ev.prev_hash, GENESIS_HASH);
    assert_eq!(
        ev.hash,
        "31d9d0e3cfb00c6f108d6d9dcf0573bfcc82713473d77ee6ddcfd6bcdec45d2b"
    );
    assert_eq!(ev.kind, "risk_decision");
    let wire = serde_json::to_string(ev).unwrap_or_default();
    assert_eq!(ev.wire_len(), wire.len());
}

#[test]
fn order_intent_decimals_are_strings() {
    let mut chain = AuditChain::genesis(bot());
    let order = OrderRequest {
        client_order_id: ClientOrderId::new("k-btc-abc-0").unwrap_or_else(|e| unreachable!("{e}")),
        symbol: Symbol::new("BTCUSDT").unwrap_or_else(|e| unreachable!("{e}")),
        side: Side::Buy,
        order_type: OrderType::Limit,
        qty: OrderQty::Base(dec!(0.0010)),
        price: Some(dec!(65000.10)),
        time_in_force: None,
        reduce_only: false,
    };
    let ev = chain
        .append(
            AuditDraft::new(
                5,
                Actor::System,
                AuditEvent::OrderIntent {
                    exchange: Exchange::Binance,
                    market: Market::Spot,
                    order,
                },
            ),
            &Redactor::new(),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
    assert!(ev.body.contains(r#""price":"65000.10""#), "{}", ev.body);
    assert!(
        ev.body
            .contains(r#""qty":{"unit":"base","value":"0.0010"}"#),
        "{}",
        ev.body
    );
    assert!(
        !ev.body.contains("time_in_force"),
        "nulls are dropped: {}",
        ev.body
    );
    let back = ev.record().unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(back.seq, 1);
    assert_eq!(back.event.kind(), "order_intent");
}

#[test]
fn secrets_never_reach_the_body() {
    let mut chain = AuditChain::genesis(bot());
    let redactor = Redactor::new()
        .with_secret("K3yK3yK3y")
        .with_secret("whsec-123456");
    let payload =
        serde_json::json!({"secret": "whsec-123456", "action": "buy", "note": "K3yK3yK3y"});
    let received = AuditDraft::new(
        1,
        Actor::Webhook,
        AuditEvent::SignalReceived {
            payload,
            source: "webhook".into(),
        },
    );
    let sent = AuditDraft::new(
        2,
        Actor::System,
        AuditEvent::request_sent(
            Exchange::Binance,
            "POST",
            "/api/v3/order",
            "symbol=BTCUSDT&signature=deadbeef",
            "",
        ),
    );
    for d in [received, sent] {
        let ev = chain
            .append(d, &redactor)
            .unwrap_or_else(|e| unreachable!("{e}"));
        for secret in ["whsec-123456", "K3yK3yK3y", "deadbeef"] {
            assert!(!ev.body.contains(secret), "{secret} leaked in {}", ev.body);
        }
    }
}

#[test]
fn seal_does_not_move_the_chain_until_advance() {
    let mut chain = AuditChain::genesis(bot());
    let a = chain
        .seal(draft(1), &Redactor::new())
        .unwrap_or_else(|e| unreachable!("{e}"));
    let again = chain
        .seal(draft(1), &Redactor::new())
        .unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(a, again);
    assert_eq!(chain.last_seq(), 0);
    assert!(chain.advance(&a).is_ok());
    assert_eq!(
        chain.advance(&a),
        Err(ChainError::NotNext {
            expected_prev: 1,
            got: 1
        })
    );
    let resumed = AuditChain::resume(bot(), 1, &a.hash).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(resumed, chain);
    assert!(AuditChain::resume(bot(), 0, &a.hash).is_err());
    assert!(AuditChain::resume(bot(), 3, "XYZ").is_err());
}

#[test]
fn verifier_accepts_a_good_chain_in_pages() {
    let l = links(&chain_of(10));
    let first = verify_links("btc-trend", VerifyAnchor::genesis(), &l[..4]);
    assert_eq!((first.checked, first.first_break.clone()), (4, None));
    let rest = verify_links("btc-trend", first.last_good, &l[4..]);
    assert_eq!(
        (rest.checked, rest.first_break, rest.last_good.seq),
        (6, None, 10)
    );
}

#[test]
fn verifier_reports_the_first_break() {
    let base = links(&chain_of(6));
    struct Case {
        name: &'static str,
        tamper: fn(&mut Vec<StoredLink>),
        expected_seq: u64,
        expected_problem: &'static str,
    }
    let cases = [
        Case {
            name: "gap",
            tamper: |l| {
                l.remove(2);
            },
            expected_seq: 3,
            expected_problem: "gap",
        },
        Case {
            name: "altered body",
            tamper: |l| l[3].body = l[3].body.replace("4.50", "9.50"),
            expected_seq: 4,
            expected_problem: "hash_mismatch",
        },
        Case {
            name: "altered body and rehashed",
            tamper: |l| {
                l[3].body = l[3].body.replace("4.50", "9.50");
                l[3].hash = chain_hash(&l[3].prev_hash, &l[3].body);
            },
            expected_seq: 5,
            expected_problem: "prev_hash_mismatch",
        },
        Case {
            name: "duplicate",
            tamper: |l| {
                let d = l[1].clone();
                l.insert(2, d);
            },
            expected_seq: 3,
            expected_problem: "gap",
        },
        Case {
            name: "body of another seq",
            tamper: |l| {
                l[0].body = l[0].body.replace(r#""seq":1"#, r#""seq":7"#);
                l[0].hash = chain_hash(&l[0].prev_hash, &l[0].body);
                l[1].prev_hash = l[0].hash.clone();
            },
            expected_seq: 1,
            expected_problem: "body_mismatch",
        },
    ];
    for case in cases {
        let mut l = base.clone();
        (case.tamper)(&mut l);
        let report = verify_links("btc-trend", VerifyAnchor::genesis(), &l);
        let brk = report
            .first_break
            .unwrap_or_else(|| unreachable!("{}: no break found", case.name));
        assert_eq!(brk.seq(), case.expected_seq, "{}", case.name);
        let problem = serde_json::to_value(&brk).unwrap_or_default()["problem"].clone();
        assert_eq!(problem, case.expected_problem, "{}", case.name);
    }
}

#[test]
fn ndjson_export_round_trips() {
    let events = chain_of(3);
    let text = to_ndjson(&events);
    assert_eq!(text.lines().count(), 3);
    assert!(text.ends_with('\n'));
    let back: Vec<SealedEvent> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(back, events);
}

#[test]
fn divergence_between_copies() {
    let a: Vec<(u64, String)> = (1..=5).map(|i| (i, format!("h{i}"))).collect();
    let mut b = a.clone();
    assert_eq!(first_divergence(&a, &b), None);
    b[3].1 = "x".into();
    assert_eq!(first_divergence(&a, &b), Some(4));
    assert_eq!(first_divergence(&a, &b[..2]), None);
}

#[test]
fn batch_selection_limits() {
    let p = OutboxPolicy {
        max_events: 3,
        max_bytes: 250,
        ..OutboxPolicy::default()
    };
    struct Case {
        shipped: u64,
        rows: Vec<(u64, usize)>,
        expected: Result<Option<(u64, u64)>, OutboxError>,
    }
    let cases = [
        Case {
            shipped: 0,
            rows: vec![],
            expected: Ok(None),
        },
        Case {
            shipped: 0,
            rows: vec![(1, 10), (2, 10), (3, 10), (4, 10)],
            expected: Ok(Some((1, 3))),
        },
        Case {
            shipped: 5,
            rows: vec![(6, 100), (7, 100), (8, 100)],
            expected: Ok(Some((6, 7))),
        },
        Case {
            shipped: 5,
            rows: vec![(6, 999), (7, 1)],
            expected: Ok(Some((6, 6))),
        },
        Case {
            shipped: 5,
            rows: vec![(7, 1)],
            expected: Err(OutboxError::NotContiguous {
                expected: 6,
                found: 7,
            }),
        },
        Case {
            shipped: 0,
            rows: vec![(1, 1), (3, 1)],
            expected: Err(OutboxError::NotContiguous {
                expected: 2,
                found: 3,
            }),
        },
    ];
    for c in cases {
        let got =
            select_batch(c.shipped, &c.rows, &p).map(|o| o.map(|b| (b.first_seq, b.last_seq)));
        assert_eq!(got, c.expected);
    }
}

#[test]
fn cursor_moves_only_on_confirmed_success() {
    let p = OutboxPolicy::default();
    let mut s = OutboxState::default();
    let batch = BatchPlan {
        first_seq: 1,
        last_seq: 4,
        count: 4,
        bytes: 100,
    };
    let at = s.on_failure(FailureKind::Transient, "neo4j down", 1_000, 123, &p);
    assert_eq!((s.shipped_seq, s.failures), (0, 1));
    assert!((1_250..=2_000).contains(&at));
    assert!(!s.due(at - 1) && s.due(at));
    assert_eq!(
        s.on_success(&batch, 3),
        Err(OutboxError::ConfirmMismatch {
            batch_last: 4,
            confirmed: 3
        })
    );
    assert_eq!(s.shipped_seq, 0);
    assert!(s.on_success(&batch, 4).is_ok());
    assert_eq!(
        (s.shipped_seq, s.failures, s.last_error.clone()),
        (4, 0, None)
    );
    assert!(
        s.on_success(&batch, 4).is_err(),
        "replaying a shipped batch must not move the cursor"
    );
    s.on_failure(FailureKind::Permanent, "bad", 0, 0, &p);
    assert!(s.parked);
    assert_eq!(s.next_attempt_ms, 900_000);
    let h = outbox_health(&s, 10, Some(0), 1_000, &p);
    assert_eq!((h.depth, h.status), (6, OutboxStatus::Parked));
}

#[test]
fn backoff_is_full_jitter_under_a_doubling_ceiling() {
    let p = OutboxPolicy::default();
    for (failures, ceiling) in [
        (1u32, 1_000u64),
        (2, 2_000),
        (5, 16_000),
        (9, 256_000),
        (10, 300_000),
        (400, 300_000),
    ] {
        assert_eq!(
            backoff_delay_ms(failures, u64::MAX, &p),
            (u64::MAX % (ceiling + 1)).max(250)
        );
        assert_eq!(backoff_delay_ms(failures, ceiling, &p), ceiling);
        assert_eq!(backoff_delay_ms(failures, 0, &p), 250, "floor");
        for r in [1u64, 77, 1 << 40, 987_654_321] {
            let d = backoff_delay_ms(failures, r, &p);
            assert!((250..=ceiling).contains(&d));
        }
    }
}

#[test]
fn health_and_pruning() {
    let p = OutboxPolicy::default();
    let s = OutboxState {
        shipped_seq: 10,
        ..OutboxState::default()
    };
    assert_eq!(
        outbox_health(&s, 10, Some(0), 5, &p).status,
        OutboxStatus::Ok
    );
    assert_eq!(
        outbox_health(&s, 2_000, Some(0), 5, &p).status,
        OutboxStatus::Lagging
    );
    assert_eq!(
        outbox_health(&s, 11, Some(0), 400_000, &p).status,
        OutboxStatus::Lagging
    );
    assert!(prunable(
        10,
        0,
        &s,
        DEFAULT_RETENTION_MS + 1,
        DEFAULT_RETENTION_MS
    ));
    assert!(
        !prunable(11, 0, &s, DEFAULT_RETENTION_MS + 1, DEFAULT_RETENTION_MS),
        "unshipped is never pruned"
    );
    assert!(
        !prunable(10, 2, &s, DEFAULT_RETENTION_MS + 1, DEFAULT_RETENTION_MS),
        "too young"
    );
}

#[test]
fn ship_response_classification() {
    let ack = r#"{"ok":true,"events":4,"last_seq":[["btc-trend",4]],"nodes_created":9,"relationships_created":12}"#;
    struct Case {
        status: u16,
        body: &'static str,
        expected: Result<u64, FailureKind>,
    }
    let cases = [
        Case {
            status: 200,
            body: ack,
            expected: Ok(4),
        },
        Case {
            status: 200,
            body: r#"{"ok":true,"events":3,"last_seq":[["btc-trend",3]],"nodes_created":0,"relationships_created":0}"#,
            expected: Err(FailureKind::Transient),
        },
        Case {
            status: 200,
            body: "garbage",
            expected: Err(FailureKind::Transient),
        },
        Case {
            status: 503,
            body: r#"{"ok":false,"retryable":true,"source":"neo4j","code":"Neo.TransientError.General.DatabaseUnavailable","message":"x"}"#,
            expected: Err(FailureKind::Transient),
        },
        Case {
            status: 422,
            body: r#"{"ok":false,"retryable":false,"source":"neo4j","code":"Neo.ClientError.Statement.SyntaxError","message":"x"}"#,
            expected: Err(FailureKind::Permanent),
        },
        Case {
            status: 409,
            body: r#"{"ok":false,"retryable":false,"source":"proxy","code":"hash_conflict","message":"x","conflicts":[3]}"#,
            expected: Err(FailureKind::Permanent),
        },
        Case {
            status: 502,
            body: "<html>bad gateway</html>",
            expected: Err(FailureKind::Transient),
        },
        Case {
            status: 400,
            body: "nope",
            expected: Err(FailureKind::Permanent),
        },
    ];
    for c in cases {
        let got = match classify_ship_response(c.status, c.body, "btc-trend", 4) {
            ShipOutcome::Confirmed { last_seq } => Ok(last_seq),
            ShipOutcome::Failed { kind, .. } => Err(kind),
        };
        assert_eq!(got, c.expected, "{} {}", c.status, c.body);
    }
}

#[test]
fn mode_is_part_of_the_hashed_body_and_absent_mode_keeps_old_bytes() {
    use crate::model::BotMode;
    let cases = [
        (None, None),
        (Some(BotMode::Paper), Some("\"mode\":\"paper\"")),
        (Some(BotMode::Testnet), Some("\"mode\":\"testnet\"")),
        (Some(BotMode::Live), Some("\"mode\":\"live\"")),
    ];
    let plain = AuditChain::genesis(bot())
        .seal(draft(1), &Redactor::new())
        .unwrap_or_else(|e| unreachable!("{e}"));
    for (mode, fragment) in cases {
        let d = match mode {
            Some(m) => draft(1).mode(m),
            None => draft(1),
        };
        let sealed = AuditChain::genesis(bot())
            .seal(d, &Redactor::new())
            .unwrap_or_else(|e| unreachable!("{e}"));
        match fragment {
            // No mode: byte-identical to a record sealed before `mode` existed.
            None => {
                assert!(!sealed.body.contains("\"mode\""), "{}", sealed.body);
                assert_eq!(sealed.hash, plain.hash);
            }
            Some(f) => {
                assert!(sealed.body.contains(f), "{}", sealed.body);
                assert_ne!(sealed.hash, plain.hash);
                // Canonical key order: `mode` sorts between `event` and `seq`.
                let (ev, md, sq) = (
                    sealed.body.find("\"event\"").unwrap_or(usize::MAX),
                    sealed.body.find("\"mode\"").unwrap_or(usize::MAX),
                    sealed.body.find("\"seq\"").unwrap_or(usize::MAX),
                );
                assert!(ev < md && md < sq, "{}", sealed.body);
                let record = sealed.record().unwrap_or_else(|e| unreachable!("{e}"));
                assert_eq!(record.mode, mode);
                assert_eq!(chain_hash(GENESIS_HASH, &sealed.body), sealed.hash);
            }
        }
    }
}
