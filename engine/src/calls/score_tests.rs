//! The golden set (`engine/test_data/calls/golden.txt`: 40 hand-computed scores, arithmetic in
//! its comments) and the score's properties.

use super::grammar::parse_message;
use super::log::{CallInput, CallLog, CallOrigin};
use super::model::{CallFields, CallSide, Entry};
use super::score::{score_call, CallScore, ScoreParams, ScoreStatus};
use crate::history::Candle;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::str::FromStr;

const GOLDEN: &str = include_str!("../../test_data/calls/golden.txt");
const MIN: i64 = 60_000;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|_| panic!("bad decimal {s:?}"))
}

struct Case {
    id: String,
    fields: CallFields,
    params: ScoreParams,
    time_ms: i64,
    as_of: Option<i64>,
    bars: Vec<Candle>,
    expect: Vec<(String, String)>,
}

fn parse_golden() -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for line in GOLDEN.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        match words.next() {
            Some("case") => {
                let id = words.next().expect("id").to_string();
                let mut fields = CallFields {
                    side: match words.next() {
                        Some("long") => Some(CallSide::Long),
                        Some("short") => Some(CallSide::Short),
                        _ => None,
                    },
                    ..CallFields::default()
                };
                let mut params = ScoreParams {
                    slippage: Decimal::ZERO,
                    fee_rate: Decimal::ZERO,
                };
                let (mut time_ms, mut as_of) = (0, None);
                for w in words {
                    let (k, v) = w.split_once('=').unwrap_or((w, ""));
                    match k {
                        "market" => fields.entry = Some(Entry::Market),
                        "price" => fields.entry = Some(Entry::Price(d(v))),
                        "zone" => {
                            let (lo, hi) = v.split_once('-').expect("zone");
                            fields.entry = Some(Entry::Zone {
                                low: d(lo),
                                high: d(hi),
                            });
                        }
                        "stop" => fields.stop = Some(d(v)),
                        "targets" if v == "-" => {}
                        "targets" => fields.targets = v.split(',').map(d).collect(),
                        "slip" => params.slippage = d(v),
                        "fee" => params.fee_rate = d(v),
                        "time" => time_ms = v.parse::<i64>().expect("time") * MIN,
                        "valid" => {
                            fields.validity_ms = Some(v.parse::<i64>().expect("valid") * MIN)
                        }
                        "asof" => as_of = Some(v.parse::<i64>().expect("asof") * MIN),
                        other => panic!("{id}: unknown key {other}"),
                    }
                }
                cases.push(Case {
                    id,
                    fields,
                    params,
                    time_ms,
                    as_of,
                    bars: Vec::new(),
                    expect: Vec::new(),
                });
            }
            Some("bar") => {
                let v: Vec<&str> = words.collect();
                let case = cases.last_mut().expect("bar before case");
                case.bars.push(Candle {
                    open_time_ms: v[0].parse::<i64>().expect("minute") * MIN,
                    open: d(v[1]),
                    high: d(v[2]),
                    low: d(v[3]),
                    close: d(v[4]),
                    volume: Decimal::ONE,
                });
            }
            Some("expect") => {
                let case = cases.last_mut().expect("expect before case");
                case.expect = words
                    .map(|w| {
                        let (k, v) = w.split_once('=').expect("key=value");
                        (k.to_string(), v.to_string())
                    })
                    .collect();
            }
            other => panic!("golden: unknown line kind {other:?}"),
        }
    }
    cases
}

fn status_name(s: ScoreStatus) -> &'static str {
    match s {
        ScoreStatus::NotScorable => "not_scorable",
        ScoreStatus::Pending => "pending",
        ScoreStatus::Expired => "expired",
        ScoreStatus::Stopped => "stopped",
        ScoreStatus::Done => "done",
        ScoreStatus::Open => "open",
    }
}

fn run(case: &Case) -> CallScore {
    let as_of = case
        .as_of
        .unwrap_or_else(|| case.bars.last().map_or(0, |b| b.open_time_ms) + MIN);
    score_call(&case.fields, case.time_ms, &case.bars, as_of, case.params)
}

#[test]
fn the_40_hand_computed_scores_match_exactly() {
    let cases = parse_golden();
    assert_eq!(cases.len(), 40);
    let mut failures = Vec::new();
    for case in &cases {
        let got = run(case);
        for (k, want) in &case.expect {
            let have = match k.as_str() {
                "status" => Some(status_name(got.status).to_string()),
                "fill" => got.fill_price.map(|v| v.normalize().to_string()),
                "r" => got.r_multiple.map(|v| v.normalize().to_string()),
                "mfe" => got.mfe_r.map(|v| v.normalize().to_string()),
                "mae" => got.mae_r.map(|v| v.normalize().to_string()),
                "ttt" => Some(
                    got.time_to_target_ms
                        .iter()
                        .map(|t| t.map_or("-".to_string(), |ms| (ms / MIN).to_string()))
                        .collect::<Vec<_>>()
                        .join(","),
                )
                .map(|s| if s.is_empty() { "-".to_string() } else { s }),
                other => panic!("{}: unknown expectation {other}", case.id),
            };
            let want_norm = match k.as_str() {
                "status" | "ttt" => want.clone(),
                _ => d(want).normalize().to_string(),
            };
            if have.as_deref() != Some(want_norm.as_str()) {
                failures.push(format!("{} {k}: want {want_norm}, got {have:?}", case.id));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}

#[test]
fn an_edited_call_keeps_its_first_versions_score() {
    let bars: Vec<Candle> = [
        (0, "100", "105", "98", "102"),
        (1, "102", "103", "89", "90"),
    ]
    .iter()
    .map(|(m, o, h, l, c)| Candle {
        open_time_ms: m * MIN,
        open: d(o),
        high: d(h),
        low: d(l),
        close: d(c),
        volume: Decimal::ONE,
    })
    .collect();
    let text = "#BTCUSDT LONG\nEntry 100\nSL 90\nTP 110";
    let mut log = CallLog::default();
    let parsed = parse_message(text);
    let input = |received_ms, text: &str, fields: CallFields| CallInput {
        call_id: "c1".into(),
        source: "loud".into(),
        received_ms,
        call_time_ms: 0,
        origin: CallOrigin::Text,
        text: Some(text.to_string()),
        fields,
        flags: Vec::new(),
    };
    let v1 = log.receive(input(0, text, parsed.fields)).unwrap();
    log.append(v1).unwrap();
    // After the stop hit, the channel "moves" its stop below the low.
    let edited = "#BTCUSDT LONG\nEntry 100\nSL 85\nTP 110";
    let v2 = log
        .edit(input(3 * MIN, edited, parse_message(edited).fields))
        .unwrap();
    log.append(v2).unwrap();
    let params = ScoreParams {
        slippage: Decimal::ZERO,
        fee_rate: Decimal::ZERO,
    };
    let scored = log.scored_version("c1").unwrap();
    let s = score_call(&scored.fields, scored.call_time_ms, &bars, 2 * MIN, params);
    assert_eq!(s.status, ScoreStatus::Stopped);
    assert_eq!(s.r_multiple, Some(dec!(-1)));
    let latest = log.latest("c1").unwrap();
    let would = score_call(&latest.fields, latest.call_time_ms, &bars, 2 * MIN, params);
    assert_ne!(
        would.status,
        ScoreStatus::Stopped,
        "the edit would have hidden the loss"
    );
}

mod proptests {
    use super::*;
    use crate::prop_seed;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(prop_seed::config(256))]

        /// Any candles and any call: no panic, and a closed long's R never beats its best
        /// excursion nor loses more than its worst plus costs.
        #[test]
        fn scoring_is_total_and_bounded(
            prices in proptest::collection::vec((1u32..2000, 0u32..50, 0u32..50, 0u32..50), 1..40),
            entry in 1u32..2000, stop_off in 1u32..500, tgt_off in 1u32..500,
        ) {
            let bars: Vec<Candle> = prices.iter().enumerate().map(|(k, (o, up, dn, c))| {
                let open = Decimal::from(*o);
                let high = open + Decimal::from(*up);
                let low = (open - Decimal::from(*dn)).max(Decimal::ONE);
                let close = (open + Decimal::from(*c) - Decimal::from(25)).clamp(low, high);
                Candle { open_time_ms: k as i64 * MIN, open, high, low, close, volume: Decimal::ONE }
            }).collect();
            let entry = Decimal::from(entry);
            let fields = CallFields {
                side: Some(CallSide::Long),
                entry: Some(Entry::Price(entry)),
                stop: Some((entry - Decimal::from(stop_off)).max(Decimal::new(1, 2))),
                targets: vec![entry + Decimal::from(tgt_off)],
                ..CallFields::default()
            };
            let params = ScoreParams { slippage: dec!(0.001), fee_rate: dec!(0.0004) };
            let s = score_call(&fields, 0, &bars, 40 * MIN, params);
            if let (Some(r), Some(mfe)) = (s.r_multiple, s.mfe_r) {
                prop_assert!(r <= mfe + dec!(0.00000001), "r {} > mfe {}", r, mfe);
            }
        }
    }
}
