//! Spec tests: parity of every built-in template with its spec file (same targets on every bar,
//! same fills, P&L and metrics in the backtester), refusals with their exact paths, versioning,
//! and a fixed-seed fuzz of the parser (never a panic, every refusal with a path).

use super::*;
use crate::backtest::{run, BacktestConfig};
use crate::ids::Symbol;
use crate::market::{load_csv, Bar};
use crate::strategy::{Context, Intent, Registry, Strategy as Strat, Target};
use proptest::prelude::*;
use proptest::strategy::Strategy;
use rust_decimal_macros::dec;
use serde_json::json;

use super::TEMPLATES as TEMPLATE_SPECS;

fn spec(text: &str) -> StrategySpec {
    StrategySpec::from_json(text).unwrap_or_else(|e| panic!("{e:?}"))
}

/// A fixed pseudo-random OHLCV walk (LCG, seed printed by the test name): trends, ranges and
/// gaps so every template trades both ways.
fn walk(n: usize, seed: u64) -> Vec<Bar> {
    let mut s = seed;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let mut p = 100.0f64;
    (0..n)
        .map(|i| {
            let drift = ((i as f64) / 300.0).sin() * 0.002;
            let r = (next() - 0.5) * 0.02 + drift;
            let open = p;
            p = (p * (1.0 + r)).max(1.0);
            let hi = open.max(p) * (1.0 + next() * 0.004);
            let lo = open.min(p) * (1.0 - next() * 0.004);
            let round = |x: f64| (x * 100.0).round() / 100.0;
            Bar {
                open_time_ms: 1_700_000_000_000 + i as i64 * 60_000,
                open: round(open),
                high: round(hi),
                low: round(lo),
                close: round(p),
                volume: round(1.0 + next() * 50.0),
            }
        })
        .collect()
}

fn fixture() -> Vec<Bar> {
    load_csv(include_str!("../../../test_data/factors/ohlcv.csv").as_bytes()).unwrap()
}

fn targets(s: &mut dyn Strat, bars: &[Bar]) -> Vec<(usize, f64)> {
    let sym = Symbol::new("BTCUSDT").unwrap();
    let mut out = Vec::new();
    for i in 0..bars.len() {
        let ctx = Context {
            symbol: &sym,
            bars: &bars[..=i],
            position: dec!(0),
            equity: dec!(1000),
        };
        for intent in s.on_bar(&ctx) {
            if let Intent::Target {
                target: Target::Exposure(e),
                ..
            } = intent
            {
                out.push((i, e));
            }
        }
    }
    out
}

/// The golden backtests' bot, without risk limits.
fn config(market: &str) -> BacktestConfig {
    crate::backtest::golden_tests::config(market, json!({}))
}

fn params(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Parameter sets per template: defaults, shorts on, and non-default windows.
fn cases(name: &str) -> Vec<BTreeMap<String, f64>> {
    let mut v = if name == "vol_target_trend" {
        // The default 0.1 % per-bar target sizes below one step on these ~0.6 % bars.
        vec![
            params(&[("target_vol", 0.003)]),
            params(&[("target_vol", 0.003), ("short", 1.0)]),
        ]
    } else {
        vec![params(&[]), params(&[("short", 1.0)])]
    };
    v.push(match name {
        "ma_crossover" => params(&[("fast", 5.0), ("slow", 21.0), ("short", 1.0)]),
        "rsi_reversion" => params(&[
            ("period", 7.0),
            ("lower", 35.5),
            ("upper", 64.5),
            ("exit", 50.0),
            ("short", 1.0),
        ]),
        "donchian_breakout" => params(&[("entry", 8.0), ("exit", 15.0), ("short", 1.0)]),
        "bollinger_reversion" => params(&[("period", 12.0), ("k", 1.3), ("short", 1.0)]),
        _ => params(&[
            ("fast", 12.0),
            ("slow", 40.0),
            ("vol_window", 20.0),
            ("target_vol", 0.004),
            ("max_exposure", 2.5),
            ("step", 0.1),
            ("short", 1.0),
        ]),
    });
    v
}

#[test]
fn every_template_spec_matches_its_template_bar_for_bar_and_in_the_backtester() {
    let reg = Registry::builtin();
    let series = [fixture(), walk(6_000, 7), walk(3_000, 0x5eed)];
    let mut compared = 0;
    for (name, text) in TEMPLATE_SPECS {
        let sp = spec(text);
        for p in cases(name) {
            let (mut decisions, mut fills) = (0, 0);
            for bars in &series {
                let mut compiled = reg.build(name, &p).unwrap();
                let mut declared = sp.build(&p).unwrap();
                let want = targets(compiled.as_mut(), bars);
                let got = targets(&mut declared, bars);
                decisions += want.len();
                assert_eq!(got, want, "{name} {p:?}: targets differ");
                assert_eq!(declared.version().params, compiled.version().params);
                for market in ["linear", "spot"] {
                    let cfg = config(market);
                    let a = run(&cfg, reg.build(name, &p).unwrap().as_mut(), bars).unwrap();
                    let b = run(&cfg, &mut sp.build(&p).unwrap(), bars).unwrap();
                    let key = |r: &crate::backtest::BacktestReport| {
                        r.fills
                            .iter()
                            .map(|f| (f.time_ms, f.side, f.price, f.qty, f.fee))
                            .collect::<Vec<_>>()
                    };
                    fills += a.fills.len();
                    assert_eq!(key(&b), key(&a), "{name} {market} {p:?}: fills");
                    assert_eq!(b.final_equity, a.final_equity, "{name} {market}");
                    assert_eq!(b.pnl.net, a.pnl.net);
                    assert_eq!(b.rejected, a.rejected);
                    assert_eq!(b.equity_curve, a.equity_curve);
                    assert_eq!(
                        serde_json::to_value(&b.metrics).unwrap(),
                        serde_json::to_value(&a.metrics).unwrap(),
                        "{name} {market}: metrics"
                    );
                    compared += 1;
                }
            }
            assert!(decisions > 6 && fills > 6, "{name} {p:?} barely trades");
        }
    }
    assert_eq!(compared, 5 * 3 * 3 * 2);
}

#[test]
fn template_specs_refuse_what_their_templates_refuse() {
    let reg = Registry::builtin();
    for (name, text) in TEMPLATE_SPECS {
        let sp = spec(text);
        let bad = [
            params(&[("short", 2.0)]),
            params(&[("nope", 1.0)]),
            params(&[("fast", 40.0), ("slow", 30.0)]),
            params(&[("lower", 60.0)]),
            params(&[("period", 2.5)]),
            params(&[("k", f64::NAN)]),
        ];
        for p in bad {
            let want = reg.build(name, &p).err();
            let got = sp.build(&p).err();
            assert_eq!(
                got.is_some(),
                want.is_some(),
                "{name} {p:?}: template {want:?}, spec {got:?}"
            );
            if let (Some(g), Some(w)) = (got, want) {
                let field = |e: &StrategyError| match e {
                    StrategyError::BadParam { name, .. }
                    | StrategyError::UnknownParam { name, .. } => name.clone(),
                    other => other.to_string(),
                };
                assert_eq!(field(&g), field(&w), "{name} {p:?}");
            }
        }
    }
}

#[test]
fn versions_hash_the_content_and_the_parameters() {
    let (_, text) = TEMPLATE_SPECS[0];
    let a = spec(text).build(&BTreeMap::new()).unwrap();
    let again = spec(text).build(&BTreeMap::new()).unwrap();
    assert_eq!(a.version(), again.version());
    assert!(a.version().id.starts_with("ma_crossover_spec@1#"));
    let other_params = spec(text).build(&params(&[("fast", 11.0)])).unwrap();
    assert_ne!(a.version().id, other_params.version().id);
    // Same name, version and parameters, one rule changed: a new id.
    let mut doc: Value = serde_json::from_str(text).unwrap();
    doc["target"]["expr"]["if"][1] = json!(0.5);
    let edited = StrategySpec::parse(&doc)
        .unwrap()
        .build(&BTreeMap::new())
        .unwrap();
    assert_eq!(edited.version().name, a.version().name);
    assert_ne!(edited.version().id, a.version().id);
    // The compiled template's id differs from the spec's (different name, content hashed).
    let t = Registry::builtin()
        .build("ma_crossover", &BTreeMap::new())
        .unwrap();
    assert_ne!(t.version().id, a.version().id);
}

fn base() -> Value {
    json!({
        "name": "t", "params": {"n": {"type": "int", "default": 5, "min": 1, "max": 50},
                                "k": {"type": "real", "default": 1.5, "min": 0, "max": 3},
                                "on": {"type": "bool", "default": 1}},
        "factors": {"m": {"kind": "sma", "args": {"n": "$n"}}, "b": {"kind": "bollinger", "args": {"n": 10, "k": "$k"}}},
        "signals": {"up": {"gt": ["close", "m"]}},
        "rules": {"long_entry": {"and": ["up", "$on"]}, "long_exit": {"lt": ["close", "b.lower[1]"]}}
    })
}

fn issues_of(doc: &Value) -> Vec<SpecIssue> {
    validate(doc)
}

/// (what, edit of the base document, expected path, words of the expected reason).
type Edit = (&'static str, fn(&mut Value), &'static str, &'static str);

#[test]
fn refusals_name_the_exact_path() {
    assert!(issues_of(&base()).is_empty(), "{:?}", issues_of(&base()));
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "unknown factor",
            json!({"kind": "smaa", "args": {"n": 3}}),
            "factors.m.kind",
            "unknown factor",
        ),
        (
            "missing arg",
            json!({"kind": "sma"}),
            "factors.m.args.n",
            "required",
        ),
        (
            "extra arg",
            json!({"kind": "sma", "args": {"n": 3, "q": 1}}),
            "factors.m.args.q",
            "unknown field",
        ),
        (
            "arg type",
            json!({"kind": "sma", "args": {"n": "3"}}),
            "factors.m.args.n",
            "number",
        ),
        (
            "real param in window",
            json!({"kind": "sma", "args": {"n": "$k"}}),
            "factors.m.args.n",
            "real",
        ),
        (
            "window range",
            json!({"kind": "sma", "args": {"n": 0}}),
            "factors.m.args.n",
            "outside",
        ),
        (
            "fraction window",
            json!({"kind": "sma", "args": {"n": 2.5}}),
            "factors.m.args.n",
            "whole",
        ),
    ];
    for (what, factor, path, reason) in cases {
        let mut doc = base();
        doc["factors"]["m"] = factor;
        let got = issues_of(&doc);
        assert!(
            got.iter()
                .any(|i| i.path == path && i.reason.contains(reason)),
            "{what}: want {path} ({reason}), got {got:?}"
        );
    }
    let edits: Vec<Edit> = vec![
        (
            "wrong param type",
            |d| d["params"]["n"]["default"] = json!("five"),
            "params.n.default",
            "finite number",
        ),
        (
            "param default out of range",
            |d| d["params"]["n"]["default"] = json!(99),
            "params.n.default",
            "outside",
        ),
        (
            "param type name",
            |d| d["params"]["n"]["type"] = json!("float"),
            "params.n.type",
            "int",
        ),
        (
            "unknown top field",
            |d| d["strategy"] = json!(1),
            "strategy",
            "unknown field",
        ),
        (
            "cycle",
            |d| d["signals"] = json!({"a": {"and": ["q", "up"]}, "q": {"not": "a"}, "up": true}),
            "signals.a",
            "cycle: a → q → a",
        ),
        (
            "self cycle",
            |d| d["signals"]["up"] = json!({"not": "up"}),
            "signals.up",
            "cycle: up → up",
        ),
        (
            "look-ahead",
            |d| d["rules"]["long_exit"] = json!({"lt": ["close", "b.lower[-1]"]}),
            "rules.long_exit.lt[1]",
            "look-ahead",
        ),
        (
            "look-ahead bar",
            |d| d["rules"]["long_exit"] = json!({"gt": ["close[-2]", 1]}),
            "rules.long_exit.gt[0]",
            "future",
        ),
        (
            "unknown name",
            |d| d["rules"]["long_exit"] = json!({"lt": ["close", "ghost"]}),
            "rules.long_exit.lt[1]",
            "unknown name",
        ),
        (
            "unknown field",
            |d| d["rules"]["long_exit"] = json!({"lt": ["close", "b.top"]}),
            "rules.long_exit.lt[1]",
            "no field",
        ),
        (
            "unknown param ref",
            |d| d["rules"]["long_entry"] = json!({"gt": ["close", "$zz"]}),
            "rules.long_entry.gt[1]",
            "unknown parameter",
        ),
        (
            "number as condition",
            |d| d["rules"]["long_entry"] = json!({"and": ["up", 1.5]}),
            "rules.long_entry.and[1]",
            "condition",
        ),
        (
            "condition as number",
            |d| d["rules"]["long_entry"] = json!({"gt": ["up", 1]}),
            "rules.long_entry.gt[0]",
            "number",
        ),
        (
            "unknown operator",
            |d| d["rules"]["long_entry"] = json!({"xor": ["up", "up"]}),
            "rules.long_entry.xor",
            "unknown operator",
        ),
        (
            "arity",
            |d| d["rules"]["long_entry"] = json!({"gt": ["close"]}),
            "rules.long_entry.gt",
            "takes 2",
        ),
        (
            "two keys",
            |d| d["rules"]["long_entry"] = json!({"gt": [1, 2], "lt": [1, 2]}),
            "rules.long_entry",
            "exactly one key",
        ),
        (
            "both outputs",
            |d| d["target"] = json!({"expr": 1}),
            ".",
            "exactly one",
        ),
        (
            "bad lag text",
            |d| d["rules"]["long_entry"] = json!({"gt": ["close[x]", 1]}),
            "rules.long_entry.gt[0]",
            "whole number",
        ),
        (
            "check default",
            |d| {
                d["checks"] =
                    json!([{"param": "n", "expr": {"gt": ["$n", 10]}, "message": "must exceed 10"}])
            },
            "params.n.default",
            "must exceed 10",
        ),
        (
            "check with factor",
            |d| d["checks"] = json!([{"param": "n", "expr": {"gt": ["m", 10]}}]),
            "checks[0].expr.gt[0]",
            "only use parameters",
        ),
        (
            "builtin name",
            |d| d["name"] = json!("ma_crossover"),
            "name",
            "built-in",
        ),
        (
            "bar redefined",
            |d| d["factors"]["close"] = json!({"kind": "obv"}),
            "factors.close",
            "bar field",
        ),
        (
            "for_bars count",
            |d| d["rules"]["long_entry"] = json!({"for_bars": [0, "up"]}),
            "rules.long_entry.for_bars[0]",
            "outside",
        ),
    ];
    for (what, edit, path, reason) in edits {
        let mut doc = base();
        edit(&mut doc);
        let got = issues_of(&doc);
        assert!(
            got.iter()
                .any(|i| i.path == path && i.reason.contains(reason)),
            "{what}: want {path} ({reason}), got {got:?}"
        );
    }
    // Several problems are all reported.
    let mut doc = base();
    doc["factors"]["m"]["kind"] = json!("nope");
    doc["params"]["k"]["min"] = json!(true);
    assert!(issues_of(&doc).len() >= 2, "{:?}", issues_of(&doc));
    // A parameter whose range lets a window reach 0 is refused when built with that value.
    let mut doc = base();
    doc["params"]["n"]["min"] = json!(0);
    let sp = StrategySpec::parse(&doc).unwrap();
    match sp.build(&params(&[("n", 0.0)])) {
        Err(StrategyError::Spec(i)) => assert_eq!(i[0].path, "factors.m.args.n"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        StrategySpec::from_json("{").unwrap_err()[0].path,
        ".",
        "not JSON"
    );
}

#[test]
fn operators_crossovers_and_for_bars_behave() {
    // close crosses above a 3-bar SMA; for_bars needs 3 closes in a row above it.
    let doc = json!({
        "name": "ops", "factors": {"m": {"kind": "sma", "args": {"n": 3}}},
        "signals": {"x": {"cross_above": ["close", "m"]}, "held": {"for_bars": [3, {"gt": ["close", "m"]}]}},
        "target": {"expr": {"add": [{"if": ["x", 0.5, 0]}, {"if": ["held", 0.25, 0]}, {"clamp": [{"sub": ["close", "close[1]"]}, -0.125, 0.125]}]}, "min": -1, "max": 1}
    });
    let mut s = StrategySpec::parse(&doc)
        .unwrap()
        .build(&BTreeMap::new())
        .unwrap();
    let closes = [10.0, 10.0, 10.0, 9.0, 12.0, 13.0, 14.0, 15.0, 8.0];
    let bars: Vec<Bar> = closes
        .iter()
        .enumerate()
        .map(|(i, c)| Bar {
            open_time_ms: i as i64,
            open: *c,
            high: *c,
            low: *c,
            close: *c,
            volume: 1.0,
        })
        .collect();
    let got: Vec<Option<f64>> = (0..bars.len()).map(|i| s.decide(&bars[..=i])).collect();
    // sma3: -,-,10,9.67,10.33,11.67,13,14,12.33 ; crosses above at bar 4 (9 ≤ 9.67, 12 > 10.33)
    assert_eq!(
        got,
        vec![
            None,
            None,
            Some(0.0),
            Some(-0.125),
            Some(0.5 + 0.125),
            Some(0.125),
            Some(0.25 + 0.125),
            Some(0.25 + 0.125),
            Some(-0.125)
        ]
    );
}

#[test]
fn the_plan_never_looks_ahead() {
    // Look-ahead guard: decisions on a prefix equal those made with the whole series (no bar's
    // decision changes when the bars after it are removed), for every template spec.
    let bars = walk(800, 11);
    for (name, text) in TEMPLATE_SPECS {
        let sp = spec(text);
        let mut full = sp.build(&params(&[("short", 1.0)])).unwrap();
        let all: Vec<Option<f64>> = (0..bars.len()).map(|i| full.decide(&bars[..=i])).collect();
        for cut in [50, 211, 799] {
            let mut part = sp.build(&params(&[("short", 1.0)])).unwrap();
            let prefix = &bars[..cut];
            let got: Vec<Option<f64>> = (0..prefix.len())
                .map(|i| part.decide(&prefix[..=i]))
                .collect();
            assert_eq!(got, all[..cut], "{name} cut at {cut}");
        }
    }
}

/// Any JSON value, a few levels deep, biased towards the spec's own words.
fn arb_json() -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        "name",
        "params",
        "factors",
        "signals",
        "rules",
        "target",
        "expr",
        "kind",
        "args",
        "n",
        "sma",
        "gt",
        "and",
        "not",
        "if",
        "for_bars",
        "cross_above",
        "close",
        "close[1]",
        "m",
        "m[-1]",
        "$n",
        "long_entry",
        "type",
        "int",
        "default",
        "min",
        "max",
        "é",
        "[",
        "]",
        ".",
        "$",
        "b.upper[1]",
        "checks",
        "param",
        "div",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1e6f64..1e6).prop_map(|x| json!(x)),
        prop::sample::select(vec![0i64, 1, -1, 2, 3, 100_001, i64::MAX]).prop_map(|x| json!(x)),
        words.clone().prop_map(|w| json!(w)),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(words.clone().prop_map(String::from), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn mutate(doc: &mut Value, path: &[usize], with: Value) {
    let Some((step, rest)) = path.split_first() else {
        *doc = with;
        return;
    };
    match doc {
        Value::Object(m) if !m.is_empty() => {
            let k = m.keys().nth(step % m.len()).cloned().unwrap_or_default();
            if let Some(v) = m.get_mut(&k) {
                mutate(v, rest, with);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let n = a.len();
            if let Some(v) = a.get_mut(step % n) {
                mutate(v, rest, with);
            }
        }
        other => *other = with,
    }
}

proptest! {
    #![proptest_config(crate::prop_seed::config(400))]

    #[test]
    fn the_parser_never_panics_and_every_refusal_has_a_path(doc in arb_json()) {
        for issue in validate(&doc) {
            prop_assert!(!issue.path.is_empty() && !issue.reason.is_empty());
        }
    }

    #[test]
    fn mutated_template_specs_are_refused_with_paths_or_run(
        which in 0usize..5, path in prop::collection::vec(any::<usize>(), 1..6), with in arb_json()
    ) {
        let mut doc: Value = serde_json::from_str(TEMPLATE_SPECS[which].1).unwrap();
        mutate(&mut doc, &path, with);
        let issues = validate(&doc);
        if issues.is_empty() {
            // Whatever it became, it runs without panicking on real bars.
            let mut s = build(&doc, &BTreeMap::new()).unwrap();
            let bars = walk(300, 3);
            let _ = targets(s.as_mut(), &bars);
        } else {
            for i in issues {
                prop_assert!(!i.path.is_empty() && !i.reason.is_empty());
            }
        }
    }
}

/// The published JSON Schema (`engine/specs/strategy-spec.schema.json`) is hand-kept: this keeps
/// it in step with the parser's tables (every operator with its arity, every factor with its
/// arguments). The built-in specs are validated against it with a JSON Schema validator in
/// `tests/e2e/strategy-spec.spec.ts` (ajv).
#[test]
fn the_published_schema_lists_exactly_the_parsers_operators_and_factors() {
    use super::parse::Arity;
    let schema: Value =
        serde_json::from_str(include_str!("../../../specs/strategy-spec.schema.json")).unwrap();
    let ops = schema["definitions"]["op"]["properties"]
        .as_object()
        .unwrap();
    let mut names: Vec<&str> = ops.keys().map(String::as_str).collect();
    let mut want: Vec<&str> = OPERATORS.iter().map(|o| o.0).collect();
    names.sort_unstable();
    want.sort_unstable();
    assert_eq!(names, want);
    for (name, _, arity, _, _) in OPERATORS {
        let def = &ops[*name];
        match arity {
            Arity::Many => assert_eq!(def["minItems"], json!(2), "{name}"),
            Arity::Exactly(1) => assert!(def["oneOf"].is_array(), "{name}"),
            Arity::Exactly(n) => {
                assert_eq!(def["minItems"], json!(n), "{name}");
                assert_eq!(def["maxItems"], json!(n), "{name}");
            }
        }
    }
    let variants = schema["definitions"]["factor"]["oneOf"].as_array().unwrap();
    assert_eq!(variants.len(), FACTORS.len());
    for (kind, _, args, _) in FACTORS {
        let v = variants
            .iter()
            .find(|v| v["properties"]["kind"]["const"] == json!(kind))
            .unwrap_or_else(|| panic!("{kind} missing from the schema"));
        let mut got: Vec<&str> = v["properties"]["args"]["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut want: Vec<&str> = args.iter().map(|a| a.name).collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{kind}");
    }
    let top: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top.len(), 13);
}

#[test]
fn a_composed_spec_nets_its_legs_like_the_registry_composer() {
    let reg = Registry::builtin();
    let rsi: Value = serde_json::from_str(TEMPLATES[1].1).unwrap();
    let doc = json!({
        "name": "blend", "version": 2,
        "params": {"w": {"type": "real", "default": 0.5, "min": -2, "max": 2},
                   "fast": {"type": "int", "default": 5, "min": 1, "max": 50}},
        "compose": {"legs": [
            {"template": "ma_crossover", "params": {"fast": "$fast", "slow": 21, "short": 1}, "weight": "$w"},
            {"spec": rsi, "params": {"period": 7}, "weight": 0.75}
        ], "vol_window": 40, "step": 0.05}
    });
    assert!(validate(&doc).is_empty(), "{:?}", validate(&doc));
    let sp = StrategySpec::parse(&doc).unwrap();
    let bars = walk(3_000, 99);
    let mut composed = sp.strategy(&BTreeMap::new()).unwrap();
    let ma = params(&[("fast", 5.0), ("slow", 21.0), ("short", 1.0)]);
    let mut reference = reg
        .compose(
            &[
                ("ma_crossover", ma.clone(), 0.5),
                ("rsi_reversion", params(&[("period", 7.0)]), 0.75),
            ],
            Some(40),
            0.05,
        )
        .unwrap();
    let got = targets(composed.as_mut(), &bars);
    assert!(got.len() > 10, "{got:?}");
    assert_eq!(got, targets(&mut reference, &bars));
    let cfg = config("linear");
    let a = run(&cfg, sp.strategy(&BTreeMap::new()).unwrap().as_mut(), &bars).unwrap();
    let mut again = reg
        .compose(
            &[
                ("ma_crossover", ma, 0.5),
                ("rsi_reversion", params(&[("period", 7.0)]), 0.75),
            ],
            Some(40),
            0.05,
        )
        .unwrap();
    let b = run(&cfg, &mut again, &bars).unwrap();
    assert_eq!(a.final_equity, b.final_equity);
    assert_eq!(a.fills.len(), b.fills.len());
    // Its version is the spec's; a parameter changes it.
    let v = composed.version().id.clone();
    assert!(v.starts_with("blend@2#"), "{v}");
    let w = sp.strategy(&params(&[("w", 1.0)])).unwrap();
    assert_ne!(w.version().id, v);
    // Problems inside legs carry their path.
    let cases: Vec<(Value, &str)> = vec![
        (json!({"template": "nope"}), "compose.legs[0].template"),
        (
            json!({"template": "ma_crossover", "weight": "$zz"}),
            "compose.legs[0].weight",
        ),
        (
            json!({"spec": {"name": "x", "rules": {"long_entry": {"gt": ["close", "m"]}}}}),
            "compose.legs[0].spec.rules.long_entry.gt[1]",
        ),
        (
            json!({"template": "ma_crossover", "spec": {}}),
            "compose.legs[0]",
        ),
    ];
    for (leg, path) in cases {
        let mut d = doc.clone();
        d["compose"]["legs"][0] = leg;
        let got = validate(&d);
        assert!(got.iter().any(|i| i.path == path), "{path}: {got:?}");
    }
    let mut d = doc.clone();
    d["compose"]["legs"][0]["params"]["fast"] = json!(30);
    let got = validate(&d);
    assert!(
        got.iter()
            .any(|i| i.path == "compose.legs[0]" && i.reason.contains("fast")),
        "{got:?}"
    );
    let mut d = doc;
    d["target"] = json!({"expr": 1});
    assert!(validate(&d)
        .iter()
        .any(|i| i.path == "." && i.reason.contains("exactly one")));
}

/// A trend follower gated by the market regime: long only while the regime is `trend` and the
/// fast average is above the slow one.
const REGIME_GATED: &str = r#"{"name": "regime_gated_trend", "version": 1,
  "params": {"fast": {"type": "int", "default": 10, "min": 1, "max": 500},
             "slow": {"type": "int", "default": 40, "min": 2, "max": 2000}},
  "factors": {"f": {"kind": "ema", "args": {"n": "$fast"}},
              "s": {"kind": "ema", "args": {"n": "$slow"}},
              "market": {"kind": "regime", "args": {"adx_n": 14, "vol_n": 20, "pct_window": 100,
                "trend_enter": 25, "trend_exit": 20, "vol_enter": 0.9, "vol_exit": 0.75,
                "confirm": 3}}},
  "target": {"expr": {"if": [{"and": [{"gt": ["market.trend", 0.5]}, {"gt": ["f", "s"]}]}, 1, 0]},
             "min": 0, "max": 1}}"#;

fn regime_params() -> crate::regime::RuleClassifierParams {
    crate::regime::RuleClassifierParams {
        pct_window: 100,
        ..crate::regime::RuleClassifierParams::default()
    }
}

#[test]
fn a_regime_factor_gates_a_spec_exactly_as_the_classifier_labels_the_bars() {
    use crate::factor::{Ema, Factor};
    use crate::regime::{Regime, RuleClassifier};
    let bars = walk(3_000, 23);
    let sp = spec(REGIME_GATED);
    let got = targets(sp.strategy(&BTreeMap::new()).unwrap().as_mut(), &bars);
    // The same decision computed by hand from the library's classifier and averages.
    let (mut cls, mut f, mut s) = (
        RuleClassifier::new(regime_params()),
        Ema::new(10),
        Ema::new(40),
    );
    let (mut want, mut last, mut trend_bars) = (Vec::new(), None, 0);
    for (i, b) in bars.iter().enumerate() {
        let (r, fv, sv) = (cls.update(b), f.update(b), s.update(b));
        if let (Some(r), Some(fv), Some(sv)) = (r, fv, sv) {
            trend_bars += usize::from(r == Regime::Trend);
            let t = if r == Regime::Trend && fv > sv {
                1.0
            } else {
                0.0
            };
            if last != Some(t) {
                want.push((i, t));
                last = Some(t);
            }
        }
    }
    assert_eq!(got, want);
    // The gate matters on this walk: trends come and go, and the strategy follows them.
    assert!(
        trend_bars > 300 && trend_bars < 2_500,
        "{trend_bars} trend bars"
    );
    assert!(got.len() > 10, "{} target changes", got.len());
    // Without the gate the same averages trade more often.
    let ungated = REGIME_GATED.replace(
        r#"{"and": [{"gt": ["market.trend", 0.5]}, {"gt": ["f", "s"]}]}"#,
        r#"{"gt": ["f", "s"]}"#,
    );
    let free = targets(
        spec(&ungated).strategy(&BTreeMap::new()).unwrap().as_mut(),
        &bars,
    );
    // Bars spent long, from a list of target changes.
    let long_bars = |changes: &[(usize, f64)]| -> usize {
        let mut ends: Vec<usize> = changes.iter().skip(1).map(|c| c.0).collect();
        ends.push(bars.len());
        changes
            .iter()
            .zip(ends)
            .filter(|(c, _)| c.1 > 0.0)
            .map(|(c, end)| end - c.0)
            .sum()
    };
    let (gated_long, free_long) = (long_bars(&got), long_bars(&free));
    assert!(
        gated_long > 0 && gated_long < free_long,
        "long {gated_long} bars gated vs {free_long} free"
    );
    // A regime factor with a bad argument is refused with its path.
    let bad = REGIME_GATED.replace(r#""pct_window": 100"#, r#""pct_window": 20000"#);
    let issues = StrategySpec::from_json(&bad).unwrap_err();
    assert!(
        issues
            .iter()
            .any(|i| i.to_string().contains("factors.market.args.pct_window")),
        "{issues:?}"
    );
}

#[test]
fn a_live_bot_replaying_its_window_holds_the_backtests_regime_gated_target() {
    // A live bot replays the last `fetch_limit` closed bars through a fresh strategy at each
    // close (strategy::live); the backtester streams every bar once. With the regime's history
    // (ADX warm and converged, full percentile window) in the warm-up, both hold the same
    // target on every bar.
    use crate::strategy::live::{evaluate, fetch_limit};
    let bars = walk(3_000, 23);
    let sp = spec(REGIME_GATED);
    let streamed = sp.strategy(&BTreeMap::new()).unwrap();
    let limit = fetch_limit(streamed.as_ref()) as usize;
    // ADX 14's smoothing forgets a bar's weight below 1e-12 after 373 bars: 28 + 373 = 401
    // bars of history, times 3, + 2, capped at one page of 1,000.
    assert_eq!(limit, 1_000);
    // The backtest's target changes, streaming every bar once.
    let changes = targets(sp.strategy(&BTreeMap::new()).unwrap().as_mut(), &bars);
    let held = |i: usize| {
        changes
            .iter()
            .rev()
            .find(|c| c.0 <= i)
            .map(|c| Target::Exposure(c.1))
    };
    let sym = Symbol::new("BTCUSDT").unwrap();
    let (mut compared, mut differ) = (0, Vec::new());
    // Every 5th bar once the live window is full (each replay costs `limit` bars).
    for i in (limit - 1..bars.len()).filter(|i| i % 5 == 0) {
        let window = &bars[i + 1 - limit..=i];
        let mut fresh = sp.strategy(&BTreeMap::new()).unwrap();
        let e = evaluate(fresh.as_mut(), &sym, window, dec!(0), dec!(1000)).unwrap();
        compared += 1;
        if e.target != held(i) {
            differ.push(i);
        }
    }
    assert!(compared > 350, "{compared}");
    assert_eq!(
        differ,
        Vec::<usize>::new(),
        "bars where live and backtest disagree"
    );
}

/// Trend-following only once the market has been in one regime for a while: the EMA cross
/// holds a long when the changepoint detector's most probable run is 40 bars or more.
const CP_GATED: &str = r#"{"name": "changepoint_gated_trend", "version": 1,
  "params": {"settle": {"type": "int", "default": 40, "min": 1, "max": 300}},
  "factors": {"f": {"kind": "ema", "args": {"n": 10}},
              "s": {"kind": "ema", "args": {"n": 40}},
              "cp": {"kind": "changepoint", "args": {"expected_run": 200, "max_run": 300,
                "warm_up": 30, "prior_span": 30, "min_drop": 10}}},
  "target": {"expr": {"if": [{"and": [{"gte": ["cp.run", "$settle"]}, {"gt": ["f", "s"]}]}, 1, 0]},
             "min": 0, "max": 1}}"#;

fn cp_params() -> crate::regime::ChangepointParams {
    crate::regime::ChangepointParams {
        expected_run: 200.0,
        max_run: 300,
        warm_up: 30,
        prior_span: 30.0,
        min_drop: 10,
    }
}

/// A seeded walk whose volatility and drift change at random bars (segments of 80 to 400 bars,
/// volatility 0.2 % to 3 %), so a changepoint detector has breaks to find.
fn breaking_walk(n: usize, seed: u64) -> Vec<Bar> {
    let mut rng = crate::test_rng::SplitMix(seed);
    let (mut p, mut left, mut vol, mut drift) = (100.0f64, 0usize, 0.01, 0.0);
    (0..n)
        .map(|i| {
            if left == 0 {
                left = rng.range(80, 400);
                vol = 0.002 + 0.028 * rng.uniform();
                drift = (rng.uniform() - 0.5) * vol;
            }
            left -= 1;
            let open = p;
            p = (p * (drift + vol * rng.normal()).exp()).max(1.0);
            Bar {
                open_time_ms: 1_700_000_000_000 + i as i64 * 60_000,
                open,
                high: open.max(p) * (1.0 + 0.001 * rng.uniform()),
                low: open.min(p) * (1.0 - 0.001 * rng.uniform()),
                close: p,
                volume: 1.0,
            }
        })
        .collect()
}

#[test]
fn a_changepoint_factor_gates_a_spec_exactly_as_the_detector_reads_the_bars() {
    use crate::factor::{Ema, Factor};
    use crate::regime::Changepoint;
    let seed = 2_026_120_723;
    println!("seed {seed}");
    let bars = breaking_walk(3_000, seed);
    let sp = spec(CP_GATED);
    let got = targets(sp.strategy(&BTreeMap::new()).unwrap().as_mut(), &bars);
    let (mut cp, mut f, mut s) = (Changepoint::new(cp_params()), Ema::new(10), Ema::new(40));
    let (mut want, mut last, mut settled, mut flagged) = (Vec::new(), None, 0, 0);
    for (i, b) in bars.iter().enumerate() {
        let (c, fv, sv) = (cp.update(b), f.update(b), s.update(b));
        if let (Some(c), Some(fv), Some(sv)) = (c, fv, sv) {
            settled += usize::from(c.run_length >= 40);
            flagged += usize::from(c.changed);
            let t = if c.run_length >= 40 && fv > sv {
                1.0
            } else {
                0.0
            };
            if last != Some(t) {
                want.push((i, t));
                last = Some(t);
            }
        }
    }
    assert_eq!(got, want);
    // The gate matters on this walk: the detector finds breaks and the gate closes after them.
    assert!(flagged >= 5, "{flagged} changes flagged");
    assert!(
        settled > 300 && settled < 2_800,
        "{settled} settled bars of 3,000"
    );
    let ungated = CP_GATED.replace(
        r#"{"and": [{"gte": ["cp.run", "$settle"]}, {"gt": ["f", "s"]}]}"#,
        r#"{"gt": ["f", "s"]}"#,
    );
    let free = targets(
        spec(&ungated).strategy(&BTreeMap::new()).unwrap().as_mut(),
        &bars,
    );
    assert_ne!(free, got, "the gate changes nothing");
    // Bad arguments are refused with their paths: a truncation beyond 300 (a live bot could
    // not replay its history), a fractional run count, a span longer than 30, a missing one.
    for (from, to, path) in [
        (
            r#""max_run": 300"#,
            r#""max_run": 301"#,
            "factors.cp.args.max_run",
        ),
        (
            r#""min_drop": 10"#,
            r#""min_drop": 2.5"#,
            "factors.cp.args.min_drop",
        ),
        (
            r#""prior_span": 30"#,
            r#""prior_span": 31"#,
            "factors.cp.args.prior_span",
        ),
        (
            r#""expected_run": 200, "#,
            "",
            "factors.cp.args.expected_run",
        ),
    ] {
        let bad = CP_GATED.replace(from, to);
        assert_ne!(bad, CP_GATED);
        let issues = StrategySpec::from_json(&bad).unwrap_err();
        assert!(issues.iter().any(|i| i.path == path), "{path}: {issues:?}");
    }
    // A parameter-valued argument is checked when the strategy is built with its value.
    let by_param = CP_GATED
        .replace(r#""max_run": 300"#, r#""max_run": "$settle""#)
        .replace(r#""max": 300"#, r#""max": 1000"#);
    match spec(&by_param).build(&params(&[("settle", 500.0)])) {
        Err(StrategyError::Spec(i)) => assert_eq!(i[0].path, "factors.cp.args.max_run"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn changepoint_values_in_a_spec_never_change_when_later_bars_arrive() {
    // Prefix invariance through the spec: each of 200 seeded series, cut at a random bar and
    // replayed from scratch, gives the targets the full run gave on those bars.
    let mut rng = crate::test_rng::SplitMix(20_261_207);
    let sp = spec(CP_GATED);
    for series in 0..200 {
        let n = rng.range(100, 600);
        let bars = breaking_walk(n, rng.range(1, 1 << 30) as u64);
        let full = targets(sp.strategy(&BTreeMap::new()).unwrap().as_mut(), &bars);
        let cut = rng.range(1, n);
        let part = targets(
            sp.strategy(&BTreeMap::new()).unwrap().as_mut(),
            &bars[..cut],
        );
        let before: Vec<_> = full.iter().copied().filter(|c| c.0 < cut).collect();
        assert_eq!(part, before, "series {series}, a {cut}-bar prefix of {n}");
    }
}

#[test]
fn a_live_bot_replaying_its_window_holds_the_backtests_changepoint_gated_target() {
    // As for the regime gate: a live bot replays the last `fetch_limit` closed bars through a
    // fresh strategy at each close; with the detector's history in the warm-up (prior
    // converged, every tracked run begun from it) it holds the backtest's target on every bar.
    use crate::strategy::live::{evaluate, fetch_limit};
    let seed = 2_026_120_724;
    println!("seed {seed}");
    let bars = breaking_walk(3_000, seed);
    let sp = spec(CP_GATED);
    let streamed = sp.strategy(&BTreeMap::new()).unwrap();
    // History: warm-up 30 + 2, 415 bars for a 30-bar span to forget below 1e-12, 300 runs.
    assert_eq!(streamed.warm_up(), 32 + 415 + 300);
    let limit = fetch_limit(streamed.as_ref()) as usize;
    assert_eq!(limit, 1_000);
    let changes = targets(sp.strategy(&BTreeMap::new()).unwrap().as_mut(), &bars);
    let held = |i: usize| {
        changes
            .iter()
            .rev()
            .find(|c| c.0 <= i)
            .map(|c| Target::Exposure(c.1))
    };
    let sym = Symbol::new("BTCUSDT").unwrap();
    let (mut compared, mut differ, mut long) = (0, Vec::new(), 0);
    for i in (limit - 1..bars.len()).filter(|i| i % 5 == 0) {
        let window = &bars[i + 1 - limit..=i];
        let mut fresh = sp.strategy(&BTreeMap::new()).unwrap();
        let e = evaluate(fresh.as_mut(), &sym, window, dec!(0), dec!(1000)).unwrap();
        compared += 1;
        long += usize::from(e.target == Some(Target::Exposure(1.0)));
        if e.target != held(i) {
            differ.push(i);
        }
    }
    assert!(compared > 350, "{compared}");
    assert!(
        long > 20 && long < compared - 20,
        "{long} of {compared} long"
    );
    assert_eq!(
        differ,
        Vec::<usize>::new(),
        "bars where live and backtest disagree"
    );
}

#[test]
fn a_live_bot_replaying_its_window_holds_the_backtests_ema_crossover_target() {
    // The same promise for exponential smoothing: an EMA remembers its seed geometrically, so
    // the window a live bot replays (`fetch_limit`) must cover its history (EMA 20: 20 + 277
    // bars for an older bar's weight below 1e-12), not three warm-ups (60 bars, where the seed
    // still weighs 1.8 %).
    use crate::strategy::live::{evaluate, fetch_limit, WARM_UP_FACTOR};
    const EMA_CROSS: &str = r#"{
        "name": "ema_cross", "version": 1,
        "params": {"fast": {"type": "int", "default": 5, "min": 1, "max": 50},
                   "slow": {"type": "int", "default": 20, "min": 2, "max": 200}},
        "factors": {"f": {"kind": "ema", "args": {"n": "$fast"}},
                    "s": {"kind": "ema", "args": {"n": "$slow"}}},
        "target": {"expr": {"if": [{"gt": ["f", "s"]}, 1, -1]}, "min": -1, "max": 1}
    }"#;
    let bars = walk(3_000, 29);
    let sp = spec(EMA_CROSS);
    let streamed = sp.strategy(&BTreeMap::new()).unwrap();
    assert_eq!(streamed.warm_up(), 20);
    assert_eq!(streamed.history(), 297);
    let limit = fetch_limit(streamed.as_ref()) as usize;
    assert_eq!(limit, 299, "the history and the forming bar");
    let changes = targets(sp.strategy(&BTreeMap::new()).unwrap().as_mut(), &bars);
    let held = |i: usize| {
        changes
            .iter()
            .rev()
            .find(|c| c.0 <= i)
            .map(|c| Target::Exposure(c.1))
    };
    let sym = Symbol::new("BTCUSDT").unwrap();
    let differ = |window_len: usize| -> (usize, Vec<usize>) {
        let mut compared = 0;
        let mut differ = Vec::new();
        for i in window_len - 1..bars.len() {
            let window = &bars[i + 1 - window_len..=i];
            let mut fresh = sp.strategy(&BTreeMap::new()).unwrap();
            let e = evaluate(fresh.as_mut(), &sym, window, dec!(0), dec!(1000)).unwrap();
            compared += 1;
            if e.target != held(i) {
                differ.push(i);
            }
        }
        (compared, differ)
    };
    // The window holds the closed bars (the forming one is dropped before the replay).
    let (compared, wrong) = differ(limit - 1);
    assert!(compared > 2_500, "{compared}");
    assert_eq!(
        wrong,
        Vec::<usize>::new(),
        "bars where live and backtest disagree"
    );
    // What the window was before: three warm-ups. The series is one on which that disagrees.
    let (_, before) = differ(streamed.warm_up() * WARM_UP_FACTOR);
    assert!(
        !before.is_empty(),
        "three warm-ups already agreed on this series"
    );
    println!(
        "ema_cross: {compared} closes agree over {} bars; over {} bars {} disagreed",
        limit - 1,
        streamed.warm_up() * WARM_UP_FACTOR,
        before.len()
    );
}
