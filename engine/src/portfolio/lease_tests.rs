//! Leases: the cap holds whatever order bots renew, spend, reduce and report in, with clocks that
//! disagree; the last of a budget goes to one bot only; a halt and an expiry fail closed.

use super::*;
use proptest::prelude::*;
use rust_decimal_macros::dec;

#[test]
fn two_bots_racing_for_the_last_of_a_budget_cannot_both_get_it() {
    let mut pool = LeasePool::new(dec!(1000), 10_000).unwrap();
    let a = pool.grant("a", dec!(600), dec!(0), 0).unwrap();
    assert_eq!(a.ceiling, dec!(600));
    // 400 left; both ask for 300 "at the same time": the ControlDO answers one after the other.
    let b = pool.grant("b", dec!(0), dec!(300), 1).unwrap();
    let c = pool.grant("c", dec!(0), dec!(300), 1).unwrap();
    assert_eq!((b.ceiling, c.ceiling), (dec!(300), dec!(100)));
    assert_eq!(pool.reserved(), dec!(1000));
    // Each spends within its own lease without asking anyone.
    assert_eq!(Lease::admit(Some(&b), dec!(0), dec!(300), 2), Ok(()));
    assert_eq!(
        Lease::admit(Some(&c), dec!(0), dec!(150), 2),
        Err(LeaseRefusal::OverCeiling {
            after: dec!(150),
            ceiling: dec!(100)
        })
    );
    // Reducing is always allowed, also without a lease.
    assert_eq!(Lease::admit(None, dec!(300), dec!(100), 2), Ok(()));
}

#[test]
fn an_expired_lease_keeps_its_reservation_until_the_bot_reports() {
    let mut pool = LeasePool::new(dec!(1000), 10_000).unwrap();
    let a = pool.grant("a", dec!(0), dec!(800), 0).unwrap();
    // The bot stops using it a clock margin before it ends.
    assert_eq!(Lease::admit(Some(&a), dec!(0), dec!(10), 8_999), Ok(()));
    assert_eq!(
        Lease::admit(Some(&a), dec!(0), dec!(10), 9_000),
        Err(LeaseRefusal::Expired { expires_ms: 10_000 })
    );
    // Unreachable bot: its 800 stay reserved, others get only 200.
    let b = pool.grant("b", dec!(0), dec!(1000), 20_000).unwrap();
    assert_eq!(b.ceiling, dec!(200));
    assert_eq!(pool.view(20_000).expired, vec!["a".to_string()]);
    // It reports 50 used: the old lease is over, 750 come back.
    pool.report("a", dec!(50), 20_001).unwrap();
    assert_eq!(pool.reserved(), dec!(250));
    let b = pool.grant("b", dec!(0), dec!(1000), 20_002).unwrap();
    assert_eq!(b.ceiling, dec!(950));
}

#[test]
fn a_halt_grants_reduce_only_and_a_missed_push_fails_closed_at_expiry() {
    let mut pool = LeasePool::new(dec!(1000), 10_000).unwrap();
    let a = pool.grant("a", dec!(100), dec!(500), 0).unwrap();
    pool.set_halted(true);
    // "a" missed the push: its lease works until it runs out, then nothing more is granted.
    assert_eq!(Lease::admit(Some(&a), dec!(100), dec!(200), 5_000), Ok(()));
    assert!(Lease::wants_renewal(Some(&a), dec!(200), 10_000, 7_000));
    let renewed = pool.grant("a", dec!(200), dec!(500), 7_000).unwrap();
    assert_eq!((renewed.ceiling, renewed.halted), (dec!(200), true));
    assert_eq!(
        Lease::admit(Some(&renewed), dec!(200), dec!(201), 7_001),
        Err(LeaseRefusal::Halted)
    );
    assert_eq!(
        Lease::admit(Some(&renewed), dec!(200), dec!(0), 7_001),
        Ok(())
    );
    pool.set_halted(false);
    assert_eq!(
        pool.grant("a", dec!(0), dec!(500), 8_000).unwrap().ceiling,
        dec!(500)
    );
}

#[test]
fn bad_numbers_are_refused_by_name() {
    assert_eq!(LeasePool::new(dec!(1), 0), Err(PoolError::Ttl(0)));
    let mut pool = LeasePool::new(dec!(1), 1).unwrap();
    assert_eq!(
        pool.grant("a", dec!(-1), dec!(0), 0),
        Err(PoolError::Negative {
            field: "used",
            value: dec!(-1)
        })
    );
    assert_eq!(
        pool.set_cap(dec!(-2)),
        Err(PoolError::Negative {
            field: "cap",
            value: dec!(-2)
        })
    );
}

#[derive(Debug, Clone)]
enum Op {
    Renew(usize, u32),
    Spend(usize, u32),
    Reduce(usize, u32),
    Report(usize),
    Advance(u32),
    Halt(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4_usize, 0..600_u32).prop_map(|(b, w)| Op::Renew(b, w)),
        (0..4_usize, 1..400_u32).prop_map(|(b, a)| Op::Spend(b, a)),
        (0..4_usize, 1..400_u32).prop_map(|(b, a)| Op::Reduce(b, a)),
        (0..4_usize).prop_map(Op::Report),
        (1..6_000_u32).prop_map(Op::Advance),
        any::<bool>().prop_map(Op::Halt),
    ]
}

proptest! {
    #![proptest_config(crate::prop_seed::config(400))]

    /// Four bots with clocks up to 0.9 s off the pool's: whatever they do, what they really hold
    /// together never exceeds the cap, and while halted no bot raises its use once the leases
    /// granted before the halt have run out.
    #[test]
    fn the_cap_holds_whatever_the_bots_do(
        ops in proptest::collection::vec(op(), 1..200),
        skews in proptest::collection::vec(-900_i64..900, 4),
    ) {
        let cap = dec!(1000);
        let ttl = 10_000;
        let mut pool = LeasePool::new(cap, ttl).unwrap();
        let mut used = [Decimal::ZERO; 4];
        let mut leases: [Option<Lease>; 4] = [None; 4];
        let mut now = 0_i64;
        let mut halted_since: Option<i64> = None;
        for op in ops {
            match op {
                Op::Renew(b, want) => {
                    leases[b] = Some(pool.grant(&format!("bot{b}"), used[b], Decimal::from(want), now).unwrap());
                }
                Op::Spend(b, amount) => {
                    let after = used[b] + Decimal::from(amount);
                    if Lease::admit(leases[b].as_ref(), used[b], after, now + skews[b]).is_ok() {
                        if let Some(since) = halted_since {
                            prop_assert!(now < since + ttl, "spent while halted after every lease ran out");
                        }
                        used[b] = after;
                    }
                }
                Op::Reduce(b, amount) => used[b] = (used[b] - Decimal::from(amount)).max(Decimal::ZERO),
                Op::Report(b) => pool.report(&format!("bot{b}"), used[b], now).unwrap(),
                Op::Advance(ms) => now += i64::from(ms),
                Op::Halt(h) => {
                    pool.set_halted(h);
                    halted_since = match (h, halted_since) {
                        (true, None) => Some(now),
                        (true, since) => since,
                        (false, _) => None,
                    };
                }
            }
            let total: Decimal = used.iter().copied().sum();
            prop_assert!(total <= cap, "bots hold {total} > cap {cap}");
            prop_assert!(pool.reserved() <= cap);
        }
    }
}
