//! The optimiser on the backtest bench's bars (`cargo bench -p keel-engine --bench optimize`):
//! a 100-point grid search (10 fast × 10 slow SMA windows) over 1M bars through
//! `backtest::optimize::search` (every point a full live-path backtest, batches over the
//! machine's cores), and, on the same 1M bars, a 1,000-point grid (20 fast × 50 slow) against
//! TPE: the evaluations TPE (and random search) needs to reach 99 % of the grid's best
//! objective (median of 20 seeds) and the best reached after 10…150 evaluations, found by
//! replaying the samplers against the grid's table (a backtest is deterministic, so looking a
//! point up is evaluating it), plus one real 150-trial TPE search timed. With
//! `KEEL_OPTIMIZE_STUDY=<file>` the grid's table is written there as JSON for the Optuna
//! comparison (`npm run bench:optimize`, tests/bench/optimize_peers.py). Figures are printed;
//! nothing is asserted on time.

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
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let mut ledger = TrialLedger::default();
    let rep = search(&problem, &spec, &mut ledger, false, &mut |_, _| {}).expect("grid");
    let best = rep.result.best.first().expect("a best point");
    eprintln!(
        "optimize grid over 1M bars: {} points in {:.2} s wall ({:.2} s CPU) on {} threads; best sharpe {:.4} at {:?}; DSR {:.4}, PBO {:.3}",
        rep.result.trials,
        wall.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
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

/// This process's CPU time (user + system), seconds, from `/proc/self/stat` (0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): state is field 3; utime, stime
    // are fields 14 and 15, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// Median over seeds of the best objective reached after each of `marks` evaluations.
fn best_after(
    kind: SamplerKind,
    space: &Space,
    table: &BTreeMap<Vec<u64>, f64>,
    batch: usize,
    marks: &[usize],
) -> Vec<f64> {
    let budget = marks.iter().copied().max().unwrap_or(0);
    let per_seed: Vec<Vec<f64>> = (0..20)
        .map(|seed| {
            let mut hist: Vec<Seen> = Vec::new();
            let mut best = f64::NEG_INFINITY;
            let mut at = Vec::new();
            while hist.len() < budget {
                let n = batch.min(budget - hist.len());
                let ps = propose(kind, Default::default(), space, seed, hist.len(), n, &hist);
                if ps.is_empty() {
                    break;
                }
                for p in ps {
                    let key: Vec<u64> = p.values().map(|v| v.to_bits()).collect();
                    let score = table.get(&key).copied();
                    best = best.max(score.unwrap_or(f64::NEG_INFINITY));
                    hist.push(Seen { params: p, score });
                    if marks.contains(&hist.len()) {
                        at.push(best);
                    }
                }
            }
            at
        })
        .collect();
    (0..marks.len())
        .map(|k| {
            let mut v: Vec<f64> = per_seed
                .iter()
                .map(|s| s.get(k).copied().unwrap_or(f64::NAN))
                .collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect()
}

fn tpe_vs_grid(c: &mut Criterion) {
    let cfg = config(dec!(100000), dec!(1));
    let data = bars(1_000_000);
    let reg = Registry::builtin();
    let (fast, slow) = (lattice(5.0, 100.0, 5.0), lattice(110.0, 600.0, 10.0));
    let ranges = space(fast.clone(), slow.clone());
    let spec = grid_spec(ranges.clone());
    let problem = Problem {
        config: &cfg,
        registry: &reg,
        strategy: "ma_crossover",
        bars: &data,
    };
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let mut ledger = TrialLedger::default();
    search(&problem, &spec, &mut ledger, false, &mut |_, _| {}).expect("grid");
    let (grid_wall, grid_cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
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
        "tpe study: {}-point grid over 1M bars in {grid_wall:.1} s wall, {grid_cpu:.1} s CPU; grid best sharpe {best:.4}, target {target:.4}",
        ledger.trials.len(),
    );
    if let Ok(path) = std::env::var("KEEL_OPTIMIZE_STUDY") {
        let rows: Vec<serde_json::Value> = ledger
            .trials
            .iter()
            .map(|t| {
                serde_json::json!({
                    "fast": t.params["fast"], "slow": t.params["slow"],
                    "objective": t.objective.filter(|_| t.feasible),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "bars": data.len(), "objective": "sharpe",
            "space": {"fast": [fast.min, fast.max, fast.step], "slow": [slow.min, slow.max, slow.step]},
            "grid_seconds_wall": grid_wall, "grid_seconds_cpu": grid_cpu,
            "best": best, "target": target, "trials": rows,
        });
        std::fs::write(&path, doc.to_string()).expect("write the study table");
        eprintln!("tpe study: table written to {path}");
    }
    let (_, specs) = reg.describe("ma_crossover").expect("registered");
    let sp = Space::for_strategy(specs, &ranges).expect("space");
    let budget = table.len();
    let marks = [10, 25, 50, 100, 150];
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
        let curve = best_after(kind, &sp, &table, batch, &marks);
        eprintln!(
            "tpe study: {kind:?} batch {batch}: median best sharpe after {marks:?} evaluations: {:?} ({:?} % of the grid's best)",
            curve.iter().map(|x| (x * 1e4).round() / 1e4).collect::<Vec<_>>(),
            curve.iter().map(|x| (x / best * 1e3).round() / 10.0).collect::<Vec<_>>(),
        );
    }
    // One real TPE search (150 trials in batches of 8, every trial a backtest of the 1M bars).
    let tpe = SearchSpec {
        sampler: SamplerKind::Tpe,
        trials: 150,
        space: ranges.clone(),
        ..SearchSpec::default()
    };
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let mut ledger = TrialLedger::default();
    let rep = search(&problem, &tpe, &mut ledger, false, &mut |_, _| {}).expect("tpe");
    eprintln!(
        "tpe study: a real TPE search, 150 trials (batch 8, seed 0) over 1M bars in {:.1} s wall, {:.1} s CPU; best sharpe {:.4} = {:.1} % of the grid's best",
        wall.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
        rep.result.best[0].objective.unwrap_or(f64::NAN),
        100.0 * rep.result.best[0].objective.unwrap_or(f64::NAN) / best,
    );
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
