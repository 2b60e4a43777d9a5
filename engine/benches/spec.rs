//! A declarative strategy spec against the compiled template it mirrors, on 1M bars: the
//! strategy alone (`on_bar` over every bar: the plan's cost per bar) and a whole backtest
//! (decide → paper venue → ledger). The target: a spec at least half the compiled speed.
//! `cargo bench -p keel-engine --bench spec`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keel_engine::backtest::{run, BacktestConfig, Bar, FillAt, Timeframe};
use keel_engine::config::BotConfig;
use keel_engine::ids::Symbol;
use keel_engine::model::InstrumentRules;
use keel_engine::strategy::spec::{StrategySpec, TEMPLATES};
use keel_engine::strategy::{Context, Registry, Strategy};
use rust_decimal_macros::dec;
use serde_json::json;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// `n` one-minute bars of a seeded random walk (xorshift), prices near 30 000 (as `backtest`).
fn bars(n: usize) -> Vec<Bar> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut p = 30_000.0f64;
    (0..n)
        .map(|i| {
            let o = p;
            p *= 1.0 + next() * 0.002;
            let (hi, lo) = (
                o.max(p) * (1.0 + next().abs() * 0.0005),
                o.min(p) * (1.0 - next().abs() * 0.0005),
            );
            let r = |x: f64| (x * 100.0).round() / 100.0;
            Bar {
                open_time_ms: 1_700_000_000_000 + i as i64 * 60_000,
                open: r(o),
                high: r(hi),
                low: r(lo),
                close: r(p),
                volume: 1.0 + next().abs(),
            }
        })
        .collect()
}

fn config() -> BacktestConfig {
    let bot = BotConfig::from_value(json!({
        "id": "bench", "name": "Bench", "exchange": "binance", "market": "linear", "mode": "paper",
        "instruments": ["BTCUSDT"], "sizing": {"mode": "pct_equity", "value": "100"}, "risk": {}
    }))
    .expect("bench config");
    BacktestConfig {
        bot,
        rules: InstrumentRules {
            symbol: Symbol::new("BTCUSDT").expect("symbol"),
            base_asset: "BTC".into(),
            quote_asset: "USDT".into(),
            tick_size: dec!(0.01),
            step_size: dec!(0.001),
            min_qty: dec!(0.001),
            max_qty: dec!(100000),
            max_market_qty: dec!(0),
            min_notional: dec!(5),
            min_price: dec!(0),
            max_price: dec!(0),
        },
        taker_fee_rate: dec!(0.0004),
        maker_fee_rate: dec!(0.0002),
        initial_capital: dec!(10000),
        fill_at: FillAt::NextOpen,
        slippage_bps: dec!(0),
        timeframe: Timeframe::M1,
        rebalance_band: 0.0,
    }
}

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
    let cfg = config();
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
