"""Optuna's TPE against Keel's on the optimiser bench's problem (engine/benches/optimize.rs
`tpe_vs_grid`): the SMA crossover's annualised Sharpe ratio over the bench's 1M one-minute bars
on a 1,000-point lattice (fast 5..100 step 5 x slow 110..600 step 10). The Rust bench evaluates
every point once through Keel's backtester and writes the table (`KEEL_OPTIMIZE_STUDY`); here
Optuna's TPESampler searches the same lattice with each evaluation looked up in that table (a
backtest is deterministic, so a lookup is the evaluation), for 20 seeds: evaluations to reach
99 % of the grid's best, the best reached after 10..150 evaluations, and the sampler's own time.
Run by `npm run bench:optimize` (scripts/bench-optimize.sh) in the bench venv; prints one JSON
document on its last line.

  python tests/bench/optimize_peers.py --study target/optimize-study.json
"""
import argparse
import importlib.metadata as md
import json
import statistics
import sys
import time

MARKS = [10, 25, 50, 100, 150]


def optuna_runs(study: dict, seeds: int, budget: int) -> dict:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    (f0, f1, fs), (s0, s1, ss) = study["space"]["fast"], study["space"]["slow"]
    table = {(int(t["fast"]), int(t["slow"])): t["objective"] for t in study["trials"]}
    target = study["target"]
    reached, curves, seconds = [], [], []
    for seed in range(seeds):
        best = [float("-inf")]
        hit = [None]
        curve = []

        def objective(trial):
            f = trial.suggest_int("fast", int(f0), int(f1), step=int(fs))
            s = trial.suggest_int("slow", int(s0), int(s1), step=int(ss))
            v = table.get((f, s))
            score = float("-inf") if v is None else v
            best[0] = max(best[0], score)
            n = trial.number + 1
            if n in MARKS:
                curve.append(best[0])
            if hit[0] is None and v is not None and v >= target:
                hit[0] = n
            if v is None:
                raise optuna.TrialPruned()  # an infeasible point, as Keel records it
            return v

        def stop(st, _trial):
            if hit[0] is not None and len(st.trials) >= max(MARKS):
                st.stop()

        sampler = optuna.samplers.TPESampler(seed=seed)
        st = optuna.create_study(direction="maximize", sampler=sampler)
        # CPU time of this process: the sampler's own cost, not the shared machine's load.
        t = time.process_time()
        st.optimize(objective, n_trials=budget, callbacks=[stop])
        seconds.append((time.process_time() - t) / len(st.trials))
        reached.append(hit[0])
        curves.append(curve)
    done = sorted(r for r in reached if r is not None)
    missed = sum(r is None for r in reached)
    ordered = sorted(reached, key=lambda r: budget + 1 if r is None else r)
    median = ordered[len(ordered) // 2]
    best_after = [statistics.median(c[k] for c in curves if len(c) > k) for k in range(len(MARKS))]
    return {
        "engine": "optuna TPESampler (defaults)",
        "version": md.version("optuna"),
        "seeds": seeds,
        "budget": budget,
        "median_evals_to_99pct": median,
        "missed_within_budget": missed,
        "evals_per_seed": reached,
        "range": [done[0], done[-1]] if done else None,
        "marks": MARKS,
        "median_best_after": best_after,
        "median_best_after_pct_of_grid": [round(100 * b / study["best"], 1) for b in best_after],
        "sampler_cpu_ms_per_trial": round(1000 * statistics.median(seconds), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--study", required=True)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget", type=int, default=400)
    a = ap.parse_args()
    with open(a.study) as f:
        study = json.load(f)
    out = {"bars": study["bars"], "grid_points": len(study["trials"]), "grid_best": study["best"],
           "target": study["target"], "keel_grid_seconds_wall": study["grid_seconds_wall"],
           "keel_grid_seconds_cpu": study["grid_seconds_cpu"], "results": [], "errors": []}
    try:
        r = optuna_runs(study, a.seeds, a.budget)
        out["results"].append(r)
        print(f"optuna TPE: median {r['median_evals_to_99pct']} evaluations to 99 % of the grid's best "
              f"({r['missed_within_budget']} of {a.seeds} seeds missed within {a.budget}); best after "
              f"{MARKS}: {r['median_best_after_pct_of_grid']} % of the grid's; "
              f"{r['sampler_cpu_ms_per_trial']} ms CPU per trial", file=sys.stderr)
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        out["errors"].append(f"optuna: {e!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
