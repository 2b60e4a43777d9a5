//! The optimiser on the backtest bench's bars (`cargo bench -p keel-engine --bench optimize`):
//! a 100-point grid search (10 fast × 10 slow SMA windows) over 1M bars through
//! `backtest::optimize::search` (every point a full live-path backtest, batches over the
//! machine's cores), and TPE against that grid: how many evaluations TPE needs to reach 99 % of
//! the grid's best objective (median of 20 seeds). The TPE study evaluates a 460-point grid once
//! on 100k bars and then replays the samplers against that table (a backtest is deterministic,
//! so looking a point up is evaluating it). Figures are printed; nothing is asserted on time.

mod common;

use common::{bars, config};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keel_engine::backtest::optimize::ledger::TrialLedger;
use keel_engine::backtest::optimize::search::{search, Problem, SearchSpec};
use keel_engine::backtest::optimize::space::{propose, Range, SamplerKind, Seen, Space};
use keel_engine::strategy::Registry;
use rust_decimal_macros::dec;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn lattice(min: f64, max: f64, step: f64) -> Range {
    Range {
        min,
        max,
        step: Some(step),
        integer: true,
        log: false,
    }
}

/// `fast` and `slow` on lattices, `short` pinned to 0 (long-only).
fn space(fast: Range, slow: Range) -> BTreeMap<String, Range> {
    BTreeMap::from([
        ("fast".to_string(), fast),
        ("slow".to_string(), slow),
        ("short".to_string(), lattice(0.0, 0.0, 1.0)),
    ])
}

fn grid_spec(space: BTreeMap<String, Range>) -> SearchSpec {
    SearchSpec {
        sampler: SamplerKind::Grid,
        trials: 100_000,
        space,
        ..SearchSpec::default()
    }
}

fn grid_1m(c: &mut Criterion) {
    let cfg = config(dec!(100000), dec!(1));
    let big = bars(1_000_000);
    let reg = Registry::builtin();
    let spec = grid_spec(space(
        lattice(10.0, 100.0, 10.0),
        lattice(150.0, 600.0, 50.0),
    ));
    let problem = Problem {
        config: &cfg,
        registry: &reg,
        strategy: "ma_crossover",
        bars: &big,
    };
    let wall = Instant::now();
    let mut ledger = TrialLedger::default();
    let rep = search(&problem, &spec, &mut ledger, false, &mut |_, _| {}).expect("grid");
    let best = rep.result.best.first().expect("a best point");
    eprintln!(
        "optimize grid over 1M bars: {} points in {:.2} s wall on {} threads; best sharpe {:.4} at {:?}; DSR {:.4}, PBO {:.3}",
        rep.result.trials,
        wall.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        best.objective.unwrap_or(f64::NAN),
        best.params,
        rep.result.deflated.as_ref().map_or(f64::NAN, |d| d.dsr),
        rep.result.pbo.as_ref().map_or(f64::NAN, |p| p.pbo),
    );
    let mut g = c.benchmark_group("optimize");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(100 * big.len() as u64));
    g.bench_function("grid_100_points_1m_bars", |b| {
        b.iter(|| {
            let mut ledger = TrialLedger::default();
            black_box(search(&problem, &spec, &mut ledger, false, &mut |_, _| {}).expect("grid"))
        })
    });
    g.finish();
}

/// Evaluations a sampler needs before its best reaches `target` (`None`: not within `budget`).
fn evals_to_reach(
    kind: SamplerKind,
    space: &Space,
    table: &BTreeMap<Vec<u64>, f64>,
    seed: u64,
    batch: usize,
    budget: usize,
    target: f64,
) -> Option<usize> {
    let mut hist: Vec<Seen> = Vec::new();
    while hist.len() < budget {
        let n = batch.min(budget - hist.len());
        let ps = propose(kind, Default::default(), space, seed, hist.len(), n, &hist);
        for p in ps {
            let key: Vec<u64> = p.values().map(|v| v.to_bits()).collect();
            let score = table.get(&key).copied();
            hist.push(Seen { params: p, score });
            if score.is_some_and(|s| s >= target) {
                return Some(hist.len());
            }
        }
    }
    None
}

fn median(mut v: Vec<Option<usize>>, budget: usize) -> String {
    v.sort_by_key(|x| x.unwrap_or(usize::MAX));
    let m = v[v.len() / 2];
    let missed = v.iter().filter(|x| x.is_none()).count();
    match m {
        Some(n) => format!(
            "median {n} evaluations ({missed} of {} seeds missed within {budget})",
            v.len()
        ),
        None => format!(
            "median over budget {budget} ({missed} of {} seeds missed)",
            v.len()
        ),
    }
}

fn tpe_vs_grid(c: &mut Criterion) {
    let cfg = config(dec!(100000), dec!(1));
    let data = bars(100_000);
    let reg = Registry::builtin();
    let ranges = space(lattice(5.0, 100.0, 5.0), lattice(150.0, 700.0, 25.0));
    let spec = grid_spec(ranges.clone());
    let problem = Problem {
        config: &cfg,
        registry: &reg,
        strategy: "ma_crossover",
        bars: &data,
    };
    let wall = Instant::now();
    let mut ledger = TrialLedger::default();
    search(&problem, &spec, &mut ledger, false, &mut |_, _| {}).expect("grid");
    let table: BTreeMap<Vec<u64>, f64> = ledger
        .trials
        .iter()
        .filter_map(|t| {
            let key = t.params.values().map(|v| v.to_bits()).collect();
            t.objective.filter(|_| t.feasible).map(|o| (key, o))
        })
        .collect();
    let best = table.values().copied().fold(f64::MIN, f64::max);
    // 99 % of the best (for a negative best: within 1 % of its magnitude).
    let target = best - 0.01 * best.abs();
    eprintln!(
        "tpe study: {}-point grid over 100k bars in {:.1} s; grid best sharpe {best:.4}, target {target:.4}",
        ledger.trials.len(),
        wall.elapsed().as_secs_f64()
    );
    let (_, specs) = reg.describe("ma_crossover").expect("registered");
    let sp = Space::for_strategy(specs, &ranges).expect("space");
    let budget = table.len();
    for (kind, batch) in [
        (SamplerKind::Tpe, 1),
        (SamplerKind::Tpe, 8),
        (SamplerKind::Random, 1),
    ] {
        let runs: Vec<Option<usize>> = (0..20)
            .map(|seed| evals_to_reach(kind, &sp, &table, seed, batch, budget, target))
            .collect();
        eprintln!(
            "tpe study: {kind:?} batch {batch}: {} to reach 99 % of the grid's best ({} points); per seed {:?}",
            median(runs.clone(), budget),
            table.len(),
            runs
        );
    }
    let mut g = c.benchmark_group("optimize_sampler");
    g.sample_size(10);
    g.bench_function("tpe_propose_150_trials_2d", |b| {
        b.iter(|| {
            black_box(evals_to_reach(
                SamplerKind::Tpe,
                &sp,
                &table,
                7,
                8,
                150,
                f64::INFINITY,
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, tpe_vs_grid, grid_1m);
criterion_main!(benches);
