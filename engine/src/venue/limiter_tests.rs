//! Limiter tables: local counting, headroom for entries vs exits, header corrections, 429/418.

use super::*;

fn cost(weight: u32, orders: u32, exit: bool) -> OpCost {
    OpCost {
        weight,
        orders,
        endpoint: "/api/v3/order".into(),
        exit,
    }
}

fn small() -> AccountLimiter {
    AccountLimiter::new(LimiterConfig {
        windows: vec![
            WindowSpec {
                budget: Budget::Weight,
                interval_ms: 60_000,
                limit: 100,
            },
            WindowSpec {
                budget: Budget::Orders,
                interval_ms: 10_000,
                limit: 10,
            },
        ],
        entry_headroom_pct: 80,
        exit_headroom_pct: 95,
    })
}

#[test]
fn backs_off_before_the_limit_and_keeps_room_for_exits() {
    let mut l = small();
    for i in 0..8 {
        assert_eq!(l.admit(&cost(10, 0, false), 1_000 + i), Admit::Go);
    }
    // 80 used: entries stop at 80 %, until the minute rolls.
    assert_eq!(
        l.admit(&cost(10, 0, false), 2_000),
        Admit::Wait { ms: 58_000 }
    );
    // Exits may go up to 95.
    assert_eq!(l.admit(&cost(10, 0, true), 2_000), Admit::Go);
    assert_eq!(
        l.admit(&cost(10, 0, true), 2_000),
        Admit::Wait { ms: 58_000 }
    );
    // New window.
    assert_eq!(l.admit(&cost(10, 0, false), 60_000), Admit::Go);
}

#[test]
fn five_bots_sharing_one_account_share_one_budget() {
    // Spot: 6000 weight/min, entries to 80 % = 4800. 5 bots x 20 weight calls.
    let mut shared = AccountLimiter::new(LimiterConfig::binance_spot());
    let mut sent = 0;
    for step in 0..1_000 {
        if shared.admit(&cost(20, 0, false), step) == Admit::Go {
            sent += 1;
        }
    }
    assert_eq!(sent * 20, 4_800);
}

#[test]
fn headers_correct_the_local_count() {
    let mut l = small();
    l.observe(
        &Usage {
            used: vec![(Budget::Weight, 60_000, 75)],
            ..Usage::default()
        },
        4900,
        5_000,
    );
    assert_eq!(l.admit(&cost(5, 0, false), 5_001), Admit::Go);
    assert_eq!(
        l.admit(&cost(1, 0, false), 5_002),
        Admit::Wait { ms: 54_998 }
    );
    // Order-count window is separate.
    l.observe(
        &Usage {
            used: vec![(Budget::Orders, 10_000, 8)],
            ..Usage::default()
        },
        4903,
        5_003,
    );
    assert_eq!(
        l.admit(&cost(0, 1, false), 5_004),
        Admit::Wait { ms: 4_996 }
    );
}

/// Regression (fresh-clone run, seed 8808): a response sent before a window boundary and answered
/// after it reports the old window's total; that total must not be charged to the new window.
#[test]
fn a_count_from_the_previous_window_is_not_charged_to_the_next() {
    let mut l = small();
    let stale = Usage {
        used: vec![(Budget::Orders, 10_000, 8)],
        ..Usage::default()
    };
    // Sent at 9.95 s, answered at 10.05 s: the server counted it in the 0-10 s window.
    l.observe(&stale, 9_950, 10_050);
    assert_eq!(l.admit(&cost(0, 1, false), 10_060), Admit::Go);
    // Within the clock margin after the boundary the server may still be in the old window.
    l.observe(&stale, 10_500, 10_600);
    assert_eq!(l.admit(&cost(0, 1, false), 10_610), Admit::Go);
    // Well inside the window the server's count is authoritative: 8 of 10, entries stop at 8.
    l.observe(&stale, 12_000, 12_100);
    assert_eq!(
        l.admit(&cost(0, 1, false), 12_110),
        Admit::Wait { ms: 7_890 }
    );
    // An answer ending within the margin before the next boundary is not trusted either.
    let mut l = small();
    l.observe(&stale, 18_900, 19_100);
    assert_eq!(l.admit(&cost(0, 1, false), 19_200), Admit::Go);
}

#[test]
fn retry_after_and_bans_stop_everyone() {
    let mut l = small();
    l.observe(
        &Usage {
            retry_at_ms: Some(3_000),
            ..Usage::default()
        },
        900,
        1_000,
    );
    assert_eq!(l.admit(&cost(1, 0, true), 1_000), Admit::Wait { ms: 2_000 });
    assert_eq!(l.admit(&cost(1, 0, true), 3_000), Admit::Go);
    l.observe(
        &Usage {
            banned_until_ms: Some(120_000),
            ..Usage::default()
        },
        3900,
        4_000,
    );
    assert_eq!(
        l.admit(&cost(1, 0, true), 4_000),
        Admit::Banned { until_ms: 120_000 }
    );
    assert_eq!(l.banned_until(119_999), Some(120_000));
    assert_eq!(l.admit(&cost(1, 0, false), 120_000), Admit::Go);
}

#[test]
fn bybit_endpoint_budget() {
    let mut l = AccountLimiter::new(LimiterConfig::bybit());
    let ep = EndpointUsage {
        remaining: 2,
        limit: 10,
        reset_ms: 1_500,
    };
    l.observe(
        &Usage {
            endpoint: Some(("/v5/order/create".into(), ep)),
            ..Usage::default()
        },
        900,
        1_000,
    );
    let entry = OpCost {
        weight: 1,
        orders: 1,
        endpoint: "/v5/order/create".into(),
        exit: false,
    };
    let exit = OpCost {
        exit: true,
        ..entry.clone()
    };
    // Entries keep 20 % of the endpoint budget in reserve for exits.
    assert_eq!(l.admit(&entry, 1_100), Admit::Wait { ms: 400 });
    assert_eq!(l.admit(&exit, 1_100), Admit::Go);
    assert_eq!(l.admit(&exit, 1_100), Admit::Go);
    assert_eq!(l.admit(&exit, 1_100), Admit::Wait { ms: 400 });
    assert_eq!(l.admit(&entry, 1_500), Admit::Go);
}

#[test]
fn intervals() {
    assert_eq!(parse_interval("1M"), Some(60_000));
    assert_eq!(parse_interval("10s"), Some(10_000));
    assert_eq!(parse_interval("1D"), Some(86_400_000));
    assert_eq!(parse_interval("M"), None);
    assert_eq!(parse_interval("5X"), None);
}
