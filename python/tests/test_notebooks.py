"""Executes the notebooks of python/notebooks with nbclient on a data folder imported by the CLI
(the backtest bench's bars), and asserts that every figure each notebook shows equals the same
run of `keel backtest`: money as decimal strings, ratios as the same floats, fills one by one.

Each notebook records the figures it displays in a `shown` dict and prints it last as one
`KEEL-SHOWN {json}` line; a figure shown but not recorded would be a defect of the notebook.
"""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from keelcli import START_MS, bench_bars, cli_backtest, import_data, write_csv

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
N = 100_000
START = str(START_MS)
END = str(START_MS + N * 60_000)
FIGURES = ("net_pnl", "final_equity", "realized_pnl", "fees", "round_trips", "executions",
           "total_return", "sharpe", "sortino", "max_drawdown", "win_rate")
COSTS = {"initial_capital": "100000", "slippage_bps": "1"}
SECONDS: dict[str, float] = {}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebooks")
    data_dir = import_data(write_csv(bench_bars(N), root / "bars.csv"), root / "data")
    return {"root": root, "dir": data_dir}


def run_notebook(name: str, data: dict) -> dict:
    """Executes the notebook (fresh kernel, the data folder in its environment) and returns the
    figures it showed."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    env = {"KEEL_NB_DATA": str(data["dir"]), "KEEL_NB_START": START, "KEEL_NB_END": END}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    started = time.perf_counter()
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(data["root"])}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    SECONDS[name] = time.perf_counter() - started
    lines = [line for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
             if out.get("output_type") == "stream" for line in out.get("text", "").splitlines()
             if line.startswith("KEEL-SHOWN ")]
    assert len(lines) == 1, f"{name}: expected one KEEL-SHOWN line, got {len(lines)}"
    return json.loads(lines[0][len("KEEL-SHOWN "):])


def cli(data: dict, params: dict, start: str = START, end: str = END, tag: str = "") -> dict:
    out = data["root"] / f"cli-{params['fast']}-{params['slow']}-{start}-{end}{tag}"
    return cli_backtest(data["dir"], out, "ma_crossover", params, "5m", start, end, **COSTS)


def same(shown_value, cli_value) -> bool:
    """A shown figure equals the CLI's: decimals as strings, everything else as parsed JSON."""
    if isinstance(cli_value, Decimal):
        return str(shown_value) == str(cli_value)
    return shown_value == cli_value


def assert_figures(shown: dict, report: dict, where: str) -> None:
    metrics = report["metrics"]
    for k in FIGURES:
        assert same(shown[k], metrics[k]), f"{where}: {k} shown {shown[k]!r}, CLI {metrics[k]!r}"


def test_data_factor_backtest(data):
    shown = run_notebook("01_data_factor_backtest.ipynb", data)
    report = cli(data, {"fast": 50, "slow": 200})
    assert shown["bars"] == report["bars"]
    assert_figures(shown["metrics"], report, "metrics")
    want = [[f["time_ms"], f["side"], str(f["price"]), str(f["qty"]), str(f["fee"])] for f in report["fills"]]
    assert shown["fills"] == want
    # The fills happen exactly where the factors say the target changed (a flip of a long-only
    # strategy is one fill; a multi-fill order would repeat a time, hence the set).
    assert shown["signal_fill_times_ms"] == sorted({f["time_ms"] for f in report["fills"]})
    assert len(want) > 10


def test_compare_versions(data):
    shown = run_notebook("02_compare_versions.ipynb", data)
    reports = {}
    for name, v in shown["versions"].items():
        params = {k: int(x) for k, x in v["params"].items()}
        reports[name] = cli(data, params)
        assert_figures(v, reports[name], name)
        assert shown["last_equity_point"][name] == reports[name]["equity_curve"][-1][1]
    a, b = reports.values()
    assert shown["net_difference"] == str(b["metrics"]["net_pnl"] - a["metrics"]["net_pnl"])
    assert shown["better"] == max(reports, key=lambda n: reports[n]["metrics"]["net_pnl"])


def test_grid_walk_forward(data):
    shown = run_notebook("03_grid_walk_forward.ipynb", data)
    cut = str(shown["cut_ms"])
    assert len(shown["points"]) == 4
    for p in shown["points"]:
        params = {"fast": int(p["param.fast"]), "slow": int(p["param.slow"])}
        is_rep = cli(data, params, START, cut)
        oos_rep = cli(data, params, cut, END)
        assert is_rep["bars"] == shown["in_sample_bars"]
        assert p["in_sample_net"] == str(is_rep["metrics"]["net_pnl"]), params
        assert p["out_of_sample_net"] == str(oos_rep["metrics"]["net_pnl"]), params
        assert p["is.sharpe"] == is_rep["metrics"]["sharpe"], params
        assert p["oos.sharpe"] == oos_rep["metrics"]["sharpe"], params
        assert p["is.max_drawdown"] == is_rep["metrics"]["max_drawdown"], params
        assert p["oos.max_drawdown"] == oos_rep["metrics"]["max_drawdown"], params
    sharpes = [p["is.sharpe"] for p in shown["points"]]
    assert sharpes == sorted(sharpes, reverse=True)
    assert shown["best"] == {"fast": shown["points"][0]["param.fast"], "slow": shown["points"][0]["param.slow"]}


def test_notebooks_time():
    """Prints the notebooks' execution seconds (run after the three above; no timed assertion)."""
    total = sum(SECONDS.values())
    parts = ", ".join(f"{k} {v:.1f}s" for k, v in SECONDS.items())
    print(f"\nnotebooks: {total:.1f}s together ({parts}; target < 120 s)")
    assert len(SECONDS) == 3, "the three notebooks ran"
