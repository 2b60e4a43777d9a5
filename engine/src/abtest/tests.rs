//! The mSPRT's promises, simulated with a fixed seed: equal versions examined at every bar are
//! declared different at most α of the time; a real difference is found.

use super::*;

use crate::test_rng::SplitMix as Rng;

#[test]
fn ten_thousand_a_a_pairs_read_at_every_bar_stay_under_five_percent() {
    let mut rng = Rng(20_261_207);
    let (pairs, bars) = (10_000, 500);
    let mut false_positives = 0;
    for _ in 0..pairs {
        let mut t = Msprt::new(MsprtParams::default());
        // One market: both versions see its move; each adds its own execution noise.
        for _ in 0..bars {
            let market = 0.01 * rng.normal();
            let r = t.push(market + 0.002 * rng.normal(), market + 0.002 * rng.normal());
            if r.decision != Decision::Continue {
                false_positives += 1;
                break;
            }
        }
    }
    let rate = f64::from(false_positives) / f64::from(pairs);
    println!("A/A: {false_positives} of {pairs} pairs declared different at some bar of {bars} (rate {rate:.4})");
    assert!(rate <= 0.05, "false-positive rate {rate}");
}

#[test]
fn a_real_edge_is_found_and_the_verdict_stays() {
    let mut rng = Rng(7);
    let mut found = 0;
    let mut at = Vec::new();
    for _ in 0..200 {
        let mut t = Msprt::new(MsprtParams::default());
        let mut decided = None;
        for bar in 0..2_000 {
            let market = 0.01 * rng.normal();
            // B pays 0.05 % more per bar in costs: a quarter of one bar's execution noise (0.2 %).
            let r = t.push(
                market + 0.002 * rng.normal(),
                market - 0.0005 + 0.002 * rng.normal(),
            );
            match (decided, r.decision) {
                (None, Decision::ABetter) => decided = Some(bar),
                (Some(_), d) => assert_eq!(d, Decision::ABetter, "a verdict never changes"),
                _ => {}
            }
            if decided.is_some() && bar > decided.unwrap_or(0) + 50 {
                break;
            }
        }
        if let Some(bar) = decided {
            found += 1;
            at.push(bar);
        }
    }
    at.sort_unstable();
    println!(
        "A/B: found in {found} of 200, median at bar {}",
        at[at.len() / 2]
    );
    assert!(found >= 190, "found in {found} of 200");
}

#[test]
fn the_burn_in_decides_nothing_and_bad_input_is_skipped() {
    let mut t = Msprt::new(MsprtParams::default());
    for _ in 0..29 {
        let r = t.push(1.0, 0.0);
        assert_eq!((r.decision, r.p_value), (Decision::Continue, 1.0));
    }
    assert_eq!(t.push(f64::NAN, 0.0).n, 29);
    assert_eq!(t.push(f64::INFINITY, f64::INFINITY).n, 29);
}
