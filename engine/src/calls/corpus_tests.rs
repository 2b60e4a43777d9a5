//! The parser against the labelled corpus (`engine/test_data/calls/corpus.txt`), a fuzz of
//! arbitrary Unicode, and the grammar's rules one by one.

use super::grammar::parse_message;
use super::model::{CallField, CallFields, CallSide, Entry, Leverage, MarginMode};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;
use std::collections::BTreeMap;
use std::str::FromStr;

const CORPUS: &str = include_str!("../../test_data/calls/corpus.txt");
const HANDWRITTEN: &str = include_str!("../../test_data/calls/handwritten.txt");

fn d(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().expect("decimal string")).expect("decimal")
}

fn label(json: &str) -> CallFields {
    let v: Value = serde_json::from_str(json).expect("label JSON");
    let mut f = CallFields {
        pair: v["pair"].as_str().map(str::to_string),
        ..CallFields::default()
    };
    f.side = match v["side"].as_str() {
        Some("long") => Some(CallSide::Long),
        Some("short") => Some(CallSide::Short),
        _ => None,
    };
    f.entry = match &v["entry"] {
        Value::String(s) if s == "market" => Some(Entry::Market),
        Value::Object(o) if o.contains_key("price") => Some(Entry::Price(d(&o["price"]))),
        Value::Object(o) if o.contains_key("zone") => Some(Entry::Zone {
            low: d(&o["zone"][0]),
            high: d(&o["zone"][1]),
        }),
        _ => None,
    };
    f.stop = v.get("stop").map(d);
    f.targets = v["targets"]
        .as_array()
        .map(|a| a.iter().map(d).collect())
        .unwrap_or_default();
    f.leverage = v.get("leverage").map(|l| Leverage {
        x: d(&l["x"]),
        mode: match l["mode"].as_str() {
            Some("cross") => Some(MarginMode::Cross),
            Some("isolated") => Some(MarginMode::Isolated),
            _ => None,
        },
    });
    f.validity_ms = v["validity_ms"].as_i64();
    f
}

/// `(id, message, label)` for every corpus entry.
fn corpus() -> Vec<(String, String, CallFields)> {
    let mut out = Vec::new();
    for block in CORPUS
        .split("\n=== ")
        .skip(1)
        .chain(HANDWRITTEN.split("\n=== ").skip(1))
    {
        let (head, rest) = block.split_once('\n').expect("id line");
        let (text, lab) = rest.split_once("\n--- label\n").expect("label marker");
        out.push((head.trim().to_string(), text.to_string(), label(lab.trim())));
    }
    out
}

#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
    guessed: u32,
}

impl Counts {
    fn f1(self) -> f64 {
        let p = f64::from(self.tp) / f64::from((self.tp + self.fp).max(1));
        let r = f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1));
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// Field-level F1 over the corpus: a field is a true positive when present in both and equal, a
/// false positive when read but absent from the label or different, a false negative when
/// labelled but not read or different; "guessed" counts fields read that the label says are
/// absent.
#[test]
fn corpus_field_f1_is_at_least_095_with_zero_guessed_fields() {
    let entries = corpus();
    assert!(
        entries.len() >= 300,
        "corpus has {} messages",
        entries.len()
    );
    let mut counts: BTreeMap<CallField, Counts> = BTreeMap::new();
    let mut misses: Vec<String> = Vec::new();
    for (id, text, want) in &entries {
        let got = parse_message(text).fields;
        for field in CallField::ALL {
            let c = counts.entry(field).or_default();
            let (g, w) = (got.has(field), want.has(field));
            if g && w && got.same(want, field) {
                c.tp += 1;
                continue;
            }
            if g {
                c.fp += 1;
            }
            if w {
                c.fn_ += 1;
            }
            if g && !w {
                c.guessed += 1;
            }
            if g || w {
                misses.push(format!("{id} {}: got {got:?}", field.name()));
            }
        }
    }
    let mut all = Counts::default();
    eprintln!("corpus: {} messages", entries.len());
    for (field, c) in &counts {
        eprintln!(
            "  {:<9} F1 {:.4}  tp {} fp {} fn {} guessed {}",
            field.name(),
            c.f1(),
            c.tp,
            c.fp,
            c.fn_,
            c.guessed
        );
        all.tp += c.tp;
        all.fp += c.fp;
        all.fn_ += c.fn_;
        all.guessed += c.guessed;
    }
    eprintln!("  overall   F1 {:.4}  guessed {}", all.f1(), all.guessed);
    for m in misses.iter().take(40) {
        eprintln!("  miss: {m}");
    }
    for (field, c) in &counts {
        assert!(c.f1() >= 0.95, "{} F1 {:.4} < 0.95", field.name(), c.f1());
        assert_eq!(c.guessed, 0, "{} guessed {} times", field.name(), c.guessed);
    }
}

#[test]
fn a_full_message_reads_every_field() {
    let p = parse_message(
        "🔥 #SOL/USDT LONG 🔥\nBuy zone 0.45-0.47\nTP1: 0.50\nTP2 0.52\nTP3: 0.55\nSL: 0.42\nLeverage cross 10x\nValid 24h",
    );
    let f = p.fields;
    assert_eq!(f.pair.as_deref(), Some("SOLUSDT"));
    assert_eq!(f.side, Some(CallSide::Long));
    assert_eq!(
        f.entry,
        Some(Entry::Zone {
            low: dec!(0.45),
            high: dec!(0.47)
        })
    );
    assert_eq!(f.targets, vec![dec!(0.5), dec!(0.52), dec!(0.55)]);
    assert_eq!(f.stop, Some(dec!(0.42)));
    assert_eq!(
        f.leverage,
        Some(Leverage {
            x: dec!(10),
            mode: Some(MarginMode::Cross)
        })
    );
    assert_eq!(f.validity_ms, Some(86_400_000));
    assert!(p.flags.is_empty(), "{:?}", p.flags);
}

#[test]
fn what_cannot_be_read_is_flagged_and_left_empty() {
    let cases: [(&str, CallField); 7] = [
        (
            "#BTCUSDT LONG\nEntry 65000\nSL below support",
            CallField::Stop,
        ),
        ("#BTCUSDT LONG\nEntry 65000\nSL 5%", CallField::Stop),
        ("$BTC LONG\nEntry 65000", CallField::Pair),
        (
            "#BTCUSDT LONG\nEntry 65000\nLeverage 5x-10x",
            CallField::Leverage,
        ),
        (
            "#BTCUSDT LONG\nEntry 65000 / 64900 / 64800",
            CallField::Entry,
        ),
        ("#BTCUSDT LONG SHORT\nEntry 65000", CallField::Side),
        (
            "#BTCUSDT LONG\nEntry 65000\nTargets: moon 🚀",
            CallField::Targets,
        ),
    ];
    for (text, field) in cases {
        let p = parse_message(text);
        assert!(
            !p.fields.has(field),
            "{text:?}: {field:?} read as {:?}",
            p.fields
        );
        assert!(
            p.flags.iter().any(|f| f.field == Some(field)),
            "{text:?}: no flag for {field:?}: {:?}",
            p.flags
        );
    }
    // Nothing is inferred: no side from prices, no entry from a chatter price.
    let p = parse_message("#ETHUSDT\nEntry 3000\nTP 3100\nSL 2900\nprice now 3010");
    assert_eq!(p.fields.side, None);
    assert_eq!(p.fields.entry, Some(Entry::Price(dec!(3000))));
    assert!(p.flags.iter().any(|f| f.line == 5));
}

#[test]
fn indexes_are_never_prices() {
    let f = parse_message(
        "BTCUSDT long\nentry 15\nTarget 1: 16\nTarget 2: 17\nTargets:\n1) 18\n2️⃣ 19\nsl 14",
    )
    .fields;
    assert_eq!(f.targets, vec![dec!(16), dec!(17), dec!(18), dec!(19)]);
    assert_eq!(f.stop, Some(dec!(14)));
    assert_eq!(f.entry, Some(Entry::Price(dec!(15))));
}

#[test]
fn numbers_use_the_documented_separator_rule() {
    let f = parse_message("#BTCUSDT SHORT\nEntry: 65,000 - 65,500\nSL 66,100.5\nЦели: 0,45 / 1,5")
        .fields;
    assert_eq!(
        f.entry,
        Some(Entry::Zone {
            low: dec!(65000),
            high: dec!(65500)
        })
    );
    assert_eq!(f.stop, Some(dec!(66100.5)));
    assert_eq!(f.targets, vec![dec!(0.45), dec!(1.5)]);
}

#[test]
fn parsing_is_deterministic_and_total_on_odd_input() {
    for text in [
        "",
        "\n\n\n",
        "🎯🎯🎯",
        "TP",
        "x",
        "x99999999999999999999999999999999",
        "1e10 1.2.3 ,,, ..",
        "SL: 79228162514264337593543950335 TP 79228162514264337593543950335k",
        "valid 99999999999999999999 days",
        "\u{202E}BTCUSDT\u{0301} 𝟙𝟘x",
    ] {
        let a = parse_message(text);
        assert_eq!(a, parse_message(text));
    }
}

mod proptests {
    use super::super::grammar::parse_message;
    use crate::prop_seed;
    use proptest::prelude::*;

    /// Fragments real messages are made of, so the fuzz reaches deep into the grammar, mixed
    /// with arbitrary Unicode.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            Just("TP1: ".to_string()),
            Just("SL ".to_string()),
            Just("Entry ".to_string()),
            Just("🎯".to_string()),
            Just("10x".to_string()),
            Just("#BTC/USDT".to_string()),
            Just("\n".to_string()),
            Just("1️⃣".to_string()),
            Just("Valid 24h".to_string()),
            "[0-9.,]{1,12}",
            "[a-zA-Zа-яё止盈%$#:/()-]{1,6}",
        ]
    }

    proptest! {
        #![proptest_config(prop_seed::config(512))]

        /// Any text parses (no panic), the same way twice, and every value read is positive.
        #[test]
        fn any_text_parses_deterministically(parts in proptest::collection::vec(fragment(), 0..24)) {
            let text: String = parts.concat();
            let a = parse_message(&text);
            prop_assert_eq!(&a, &parse_message(&text));
            if let Some(stop) = a.fields.stop {
                prop_assert!(stop >= rust_decimal::Decimal::ZERO);
            }
            for flag in &a.flags {
                prop_assert!(flag.line <= text.lines().count());
            }
        }
    }
}
