//! Backtester throughput (bars/s through the live decide → paper venue → ledger path) and the
//! cost of one factor update (ns/bar). Data is a deterministic synthetic random walk, so runs
//! are comparable. `cargo bench -p keel-engine --bench backtest`.

mod common;

use common::{bars, config};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keel_engine::backtest::{run, walk_forward};
use keel_engine::factor::{Adx, Atr, Bollinger, Donchian, Ema, Factor, Macd, Rsi, Sma};
use keel_engine::market::Bar;
use keel_engine::strategy::{Registry, Strategy};
use rust_decimal_macros::dec;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

fn p(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn composer() -> Box<dyn Strategy> {
    let reg = Registry::builtin();
    let legs = [
        (
            "ma_crossover",
            p(&[("fast", 50.0), ("slow", 200.0), ("short", 1.0)]),
            1.0,
        ),
        ("rsi_reversion", p(&[("period", 14.0), ("short", 1.0)]), 0.5),
        (
            "donchian_breakout",
            p(&[("entry", 120.0), ("exit", 60.0), ("short", 1.0)]),
            1.0,
        ),
        (
            "bollinger_reversion",
            p(&[("period", 60.0), ("short", 1.0)]),
            0.5,
        ),
        (
            "vol_target_trend",
            p(&[("fast", 100.0), ("slow", 400.0), ("short", 1.0)]),
            1.0,
        ),
    ];
    Box::new(reg.compose(&legs, Some(500), 0.25).expect("composer"))
}

fn backtests(c: &mut Criterion) {
    let cfg = config(dec!(100000), dec!(1));
    let data = bars(100_000);
    let mut g = c.benchmark_group("backtest");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(data.len() as u64));
    let mut s = composer();
    let report = run(&cfg, s.as_mut(), &data).expect("backtest");
    eprintln!(
        "composer5 over 100k bars: {} fills, {} refused, net {}",
        report.fills.len(),
        report.rejected.len(),
        report.pnl.net
    );
    g.bench_function("composer5_100k_1m_bars", |b| {
        b.iter(|| {
            let mut s = composer();
            black_box(run(&cfg, s.as_mut(), black_box(&data)).expect("backtest"))
        })
    });
    let big = bars(1_000_000);
    // tests/bench/peers.py rebuilds these bars for backtesting.py / vectorbt: same checksum.
    eprintln!(
        "1M bars close checksum {:?}",
        big.iter().map(|b| b.close).sum::<f64>()
    );
    g.throughput(Throughput::Elements(big.len() as u64));
    let ma = p(&[("fast", 50.0), ("slow", 200.0)]);
    let mut s = Registry::builtin().build("ma_crossover", &ma).expect("ma");
    let report = run(&cfg, s.as_mut(), &big).expect("backtest");
    eprintln!(
        "sma crossover over 1M bars: {} fills, net {}",
        report.fills.len(),
        report.pnl.net
    );
    g.bench_function("sma_crossover_1m_bars", |b| {
        b.iter(|| {
            let mut s = Registry::builtin().build("ma_crossover", &ma).expect("ma");
            black_box(run(&cfg, s.as_mut(), black_box(&big)).expect("backtest"))
        })
    });
    g.finish();
}

/// A 100-point walk-forward grid (10 fast × 10 slow SMA windows, 70/30 split) over the same
/// 1M bars: every point is a full live-path backtest of both spans, points spread over the
/// machine's cores.
fn grid(c: &mut Criterion) {
    let cfg = config(dec!(100000), dec!(1));
    let big = bars(1_000_000);
    let ranges = BTreeMap::from([
        (
            "fast".to_string(),
            (1..=10).map(|i| f64::from(i) * 10.0).collect::<Vec<_>>(),
        ),
        (
            "slow".to_string(),
            (1..=10).map(|i| 100.0 + f64::from(i) * 50.0).collect(),
        ),
    ]);
    let reg = Registry::builtin();
    let (wall, cpu) = (std::time::Instant::now(), process_cpu_s());
    let wf = walk_forward(&cfg, &reg, "ma_crossover", &ranges, &big, 0.7).expect("grid");
    // CPU seconds over all threads: on a shared machine, wall time says more about the others.
    eprintln!(
        "grid over 1M bars: {} points, {} invalid, best in-sample sharpe {:.3}; one run: \
         {:.2} s wall, {:.2} s CPU over {} threads",
        wf.points.len(),
        wf.invalid.len(),
        wf.points.first().map_or(f64::NAN, |p| p.in_sample.sharpe),
        wall.elapsed().as_secs_f64(),
        process_cpu_s() - cpu,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut g = c.benchmark_group("backtest_grid");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(100 * big.len() as u64));
    g.bench_function("grid_100_points_1m_bars", |b| {
        b.iter(|| {
            black_box(
                walk_forward(&cfg, &reg, "ma_crossover", &ranges, black_box(&big), 0.7)
                    .expect("grid"),
            )
        })
    });
    g.finish();
}

/// User + system CPU seconds of this process, all threads (`/proc/self/stat`, 100 Hz ticks).
fn process_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)`: state is field 3, utime 14 and stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// This thread's CPU time (Linux `/proc/thread-self/schedstat`, ns): "bars/s on one core" that
/// other processes on a shared machine cannot inflate the way they inflate wall time. Reported
/// beside the wall-time figure, never instead of it.
struct ThreadCpu(WallTime);

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) for the CPU-time bench")
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns().saturating_sub(i)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.0.formatter()
    }
}

/// The SMA crossover over 1M bars again, timed in this thread's CPU time.
fn backtest_cpu(c: &mut Criterion<ThreadCpu>) {
    let cfg = config(dec!(100000), dec!(1));
    let big = bars(1_000_000);
    let ma = p(&[("fast", 50.0), ("slow", 200.0)]);
    let mut g = c.benchmark_group("backtest_cpu");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(big.len() as u64));
    g.bench_function("sma_crossover_1m_bars", |b| {
        b.iter(|| {
            let mut s = Registry::builtin().build("ma_crossover", &ma).expect("ma");
            black_box(run(&cfg, s.as_mut(), black_box(&big)).expect("backtest"))
        })
    });
    g.finish();
}

fn factor_bench<F: Factor>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    data: &[Bar],
    make: impl Fn() -> F,
) {
    g.bench_function(name, |b| {
        b.iter(|| {
            let mut f = make();
            for bar in data {
                black_box(f.update(black_box(bar)));
            }
        })
    });
}

fn factors(c: &mut Criterion) {
    let data = bars(100_000);
    let mut g = c.benchmark_group("factor_update");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(data.len() as u64));
    factor_bench(&mut g, "sma50", &data, || Sma::new(50));
    factor_bench(&mut g, "ema50", &data, || Ema::new(50));
    factor_bench(&mut g, "rsi14", &data, || Rsi::new(14));
    factor_bench(&mut g, "macd", &data, || Macd::new(12, 26, 9));
    factor_bench(&mut g, "atr14", &data, || Atr::new(14));
    factor_bench(&mut g, "bollinger20", &data, || Bollinger::new(20, 2.0));
    factor_bench(&mut g, "donchian100", &data, || Donchian::new(100));
    factor_bench(&mut g, "adx14", &data, || Adx::new(14));
    g.finish();
}

criterion_group!(benches, factors, backtests, grid);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpu(WallTime));
    targets = backtest_cpu
}
criterion_main!(benches, cpu);
