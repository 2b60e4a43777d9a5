//! Protections: each kind triggers, scopes and expires as configured, and the windowed
//! evaluation equals a plain one over every close (so trimming old trades changes nothing).

use super::*;
use proptest::prelude::*;
use rust_decimal_macros::dec;

const MIN: i64 = 60_000;

fn trade(symbol: &str, min: i64, pnl: Decimal, stop_out: bool) -> ClosedTrade {
    ClosedTrade {
        symbol: symbol.into(),
        closed_ms: min * MIN,
        pnl,
        stop_out,
    }
}

fn guard(per_symbol: bool) -> Protection {
    Protection::StopLossGuard {
        lookback_mins: 60,
        trade_limit: 3,
        stop_mins: 30,
        per_symbol,
    }
}

#[test]
fn three_stop_outs_in_an_hour_lock_everything_for_thirty_minutes() {
    let trades = vec![
        trade("BTCUSDT", 0, dec!(-10), true),
        trade("ETHUSDT", 20, dec!(-5), true),
        trade("BTCUSDT", 50, dec!(3), false),
        trade("BTCUSDT", 59, dec!(-8), true),
    ];
    let p = [guard(false)];
    assert_eq!(active_locks(&p, &trades[..3], 55 * MIN), vec![]);
    let locks = active_locks(&p, &trades, 60 * MIN);
    assert_eq!(locks.len(), 1);
    assert_eq!(
        (&locks[0].scope, locks[0].from_ms, locks[0].until_ms),
        (&LockScope::All, 59 * MIN, 89 * MIN)
    );
    assert_eq!(locks[0].reason, "3 stop-outs within 60 min");
    assert!(locked(&locks, "XRPUSDT").is_some());
    // Expired at 89 min.
    assert_eq!(active_locks(&p, &trades, 89 * MIN), vec![]);
    // Per symbol: BTC has only 2 stop-outs, nothing locks.
    assert_eq!(active_locks(&[guard(true)], &trades, 60 * MIN), vec![]);
    // The first stop-out slides out of the window: 61 min after it, a fourth one is only the third.
    let mut more = trades.clone();
    more.push(trade("ETHUSDT", 61, dec!(-1), true));
    let locks = active_locks(&p, &more, 62 * MIN);
    assert_eq!(locks[0].until_ms, 91 * MIN);
}

#[test]
fn a_drawdown_of_closed_trades_locks_and_a_losing_symbol_is_locked_alone() {
    let trades = vec![
        trade("BTCUSDT", 0, dec!(50), false),
        trade("BTCUSDT", 10, dec!(-30), false),
        trade("ETHUSDT", 20, dec!(-25), false),
        trade("ETHUSDT", 30, dec!(-1), false),
    ];
    let dd = Protection::MaxDrawdown {
        lookback_mins: 120,
        trade_limit: 3,
        max_drawdown: dec!(55),
        stop_mins: 60,
    };
    // Peak 50, then 20, -5, -6: drawdown 56 at minute 30.
    let locks = active_locks(std::slice::from_ref(&dd), &trades, 31 * MIN);
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].until_ms, 90 * MIN);
    assert_eq!(
        locks[0].reason,
        "drawdown 56 over 4 trades within 120 min (limit 55)"
    );
    let low = Protection::LowProfitSymbols {
        lookback_mins: 120,
        trade_limit: 2,
        required_pnl: dec!(0),
        stop_mins: 60,
    };
    let locks = active_locks(&[low], &trades, 31 * MIN);
    assert_eq!(
        locks.iter().map(|l| l.scope.clone()).collect::<Vec<_>>(),
        vec![LockScope::Symbol("ETHUSDT".into())]
    );
    assert!(locked(&locks, "BTCUSDT").is_none());
}

#[test]
fn bad_protections_are_refused_with_the_field() {
    let zero = Protection::StopLossGuard {
        lookback_mins: 0,
        trade_limit: 1,
        stop_mins: 1,
        per_symbol: false,
    };
    assert_eq!(
        validate(&[guard(false), zero]),
        Err(ProtectionError::Zero {
            index: 1,
            field: "lookback_mins"
        })
    );
    let dd = Protection::MaxDrawdown {
        lookback_mins: 1,
        trade_limit: 1,
        max_drawdown: dec!(0),
        stop_mins: 1,
    };
    assert_eq!(validate(&[dd]), Err(ProtectionError::Drawdown { index: 0 }));
    let json = r#"[{"kind":"stop_loss_guard","lookback_mins":60,"trade_limit":3,"stop_mins":30}]"#;
    let parsed: Vec<Protection> = serde_json::from_str(json).unwrap();
    assert_eq!(parsed, vec![guard(false)]);
    assert!(serde_json::from_str::<Vec<Protection>>(
        r#"[{"kind":"stop_loss_guard","lookback_mins":60,"trade_limit":3,"stop_mins":30,"typo":1}]"#
    )
    .is_err());
}

/// Every close judged over the whole history: what the windowed evaluation must equal.
fn plain(list: &[Protection], trades: &[ClosedTrade], now_ms: i64) -> Vec<Lock> {
    let mut closed: Vec<&ClosedTrade> = trades.iter().filter(|t| t.closed_ms <= now_ms).collect();
    closed.sort_by_key(|t| t.closed_ms);
    let mut out: Vec<Lock> = Vec::new();
    for (index, p) in list.iter().enumerate() {
        for (k, last) in closed.iter().enumerate() {
            let Some((scope, stop_mins, reason)) = judge(p, &closed[..=k], last) else {
                continue;
            };
            let until_ms = last.closed_ms + i64::from(stop_mins) * MIN;
            if until_ms <= now_ms {
                continue;
            }
            let lock = Lock {
                scope,
                from_ms: last.closed_ms,
                until_ms,
                protection: index,
                reason,
            };
            match out
                .iter_mut()
                .find(|l| l.protection == index && l.scope == lock.scope)
            {
                Some(l) if l.until_ms < lock.until_ms => *l = lock,
                Some(_) => {}
                None => out.push(lock),
            }
        }
    }
    out.sort_by(|a, b| (&a.scope, a.protection).cmp(&(&b.scope, b.protection)));
    out
}

proptest! {
    #![proptest_config(crate::prop_seed::config(300))]

    /// The windowed evaluation equals the plain one, and a lock at `t` depends only on trades
    /// closed by `t` (later trades added change nothing).
    #[test]
    fn windowed_equals_plain_and_the_future_changes_nothing(
        raw in proptest::collection::vec((0_u8..3, 0_i64..600, -50_i64..50, any::<bool>()), 0..60),
        now in 0_i64..700,
    ) {
        let trades: Vec<ClosedTrade> = raw
            .iter()
            .map(|(s, m, pnl, stop)| trade(["BTCUSDT", "ETHUSDT", "SOLUSDT"][usize::from(*s)], *m, Decimal::from(*pnl), *stop))
            .collect();
        let list = [
            guard(false),
            guard(true),
            Protection::MaxDrawdown { lookback_mins: 90, trade_limit: 3, max_drawdown: dec!(60), stop_mins: 45 },
            Protection::LowProfitSymbols { lookback_mins: 120, trade_limit: 2, required_pnl: dec!(-10), stop_mins: 20 },
        ];
        let now_ms = now * MIN;
        let got = active_locks(&list, &trades, now_ms);
        prop_assert_eq!(&got, &plain(&list, &trades, now_ms));
        let past: Vec<ClosedTrade> = trades.iter().filter(|t| t.closed_ms <= now_ms).cloned().collect();
        prop_assert_eq!(got, active_locks(&list, &past, now_ms));
    }
}
