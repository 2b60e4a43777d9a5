//! A declarative strategy spec against the compiled template it mirrors, on 1M bars: the
//! strategy alone (`on_bar` over every bar: the plan's cost per bar) and a whole backtest
//! (decide → paper venue → ledger). The target: a spec at least half the compiled speed.
//! `cargo bench -p keel-engine --bench spec`.

mod common;

use common::{bars, config};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keel_engine::backtest::run;
use keel_engine::ids::Symbol;
use keel_engine::market::Bar;
use keel_engine::strategy::spec::{StrategySpec, TEMPLATES};
use keel_engine::strategy::{Context, Registry, Strategy};
use rust_decimal_macros::dec;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs `s` over every bar (the backtester's loop without the trading path); intents counted.
fn drive(s: &mut dyn Strategy, data: &[Bar]) -> usize {
    let sym = Symbol::new("BTCUSDT").expect("symbol");
    let mut n = 0;
    for i in 0..data.len() {
        let ctx = Context {
            symbol: &sym,
            bars: &data[..=i],
            position: dec!(0),
            equity: dec!(10000),
        };
        n += s.on_bar(&ctx).len();
    }
    n
}

fn spec_of(template: &str) -> StrategySpec {
    let text = TEMPLATES
        .iter()
        .find(|t| t.0 == template)
        .map(|t| t.1)
        .expect("template spec");
    StrategySpec::from_json(text).expect("spec")
}

fn compare(c: &mut Criterion) {
    let big = bars(1_000_000);
    let cfg = config(dec!(10000), dec!(0));
    let reg = Registry::builtin();
    let cases: [(&str, BTreeMap<String, f64>); 3] = [
        (
            "ma_crossover",
            BTreeMap::from([("fast".into(), 50.0), ("slow".into(), 200.0)]),
        ),
        ("donchian_breakout", BTreeMap::new()),
        (
            "vol_target_trend",
            BTreeMap::from([("target_vol".into(), 0.0005)]),
        ),
    ];
    let mut g = c.benchmark_group("spec_vs_template_1m_bars");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(big.len() as u64));
    for (name, params) in &cases {
        let sp = spec_of(name);
        // One timed run of each, printed as a ratio (criterion's figures follow).
        let t = Instant::now();
        let a = drive(reg.build(name, params).expect("template").as_mut(), &big);
        let compiled = t.elapsed();
        let t = Instant::now();
        let b = drive(&mut sp.build(params).expect("spec"), &big);
        let declared = t.elapsed();
        assert_eq!(a, b, "{name}: the spec emits what the template does");
        eprintln!(
            "{name} strategy only, 1M bars: compiled {:.1} ms, spec {:.1} ms ({:.2}× the compiled speed), {a} targets",
            compiled.as_secs_f64() * 1e3,
            declared.as_secs_f64() * 1e3,
            compiled.as_secs_f64() / declared.as_secs_f64()
        );
        g.bench_function(format!("{name}/compiled/strategy"), |bch| {
            bch.iter(|| {
                drive(
                    reg.build(name, params).expect("template").as_mut(),
                    black_box(&big),
                )
            })
        });
        g.bench_function(format!("{name}/spec/strategy"), |bch| {
            bch.iter(|| drive(&mut sp.build(params).expect("spec"), black_box(&big)))
        });
        let t = Instant::now();
        let ra = run(
            &cfg,
            reg.build(name, params).expect("template").as_mut(),
            &big,
        )
        .expect("bt");
        let compiled = t.elapsed();
        let t = Instant::now();
        let rb = run(&cfg, &mut sp.build(params).expect("spec"), &big).expect("bt");
        let declared = t.elapsed();
        assert_eq!(ra.final_equity, rb.final_equity, "{name}: same backtest");
        eprintln!(
            "{name} backtest, 1M bars: compiled {:.1} ms, spec {:.1} ms ({:.2}× the compiled speed), {} fills",
            compiled.as_secs_f64() * 1e3,
            declared.as_secs_f64() * 1e3,
            compiled.as_secs_f64() / declared.as_secs_f64(),
            ra.fills.len()
        );
        g.bench_function(format!("{name}/compiled/backtest"), |bch| {
            bch.iter(|| {
                run(
                    &cfg,
                    reg.build(name, params).expect("template").as_mut(),
                    black_box(&big),
                )
                .expect("bt")
            })
        });
        g.bench_function(format!("{name}/spec/backtest"), |bch| {
            bch.iter(|| {
                run(&cfg, &mut sp.build(params).expect("spec"), black_box(&big)).expect("bt")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, compare);
criterion_main!(benches);
