"""Shared fixtures of the Python package's tests: the backtest bench's bars, a data folder
imported by the CLI, and `keel backtest` runs whose report.json the tests compare against.

The bars are the engine bench's (engine/benches/common/mod.rs `bars`): the same xorshift random
walk, rounded like Rust's `f64::round` (half away from zero), so a figure here is a figure there.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MASK = (1 << 64) - 1
# The bench starts at 1_700_000_000_000, off the minute grid the CLI import insists on: the same
# bars one 20 s and 4 min earlier, on the 5-minute grid (times move, prices do not).
START_MS = 1_699_999_800_000

# The bench's backtest config (engine/benches/common/mod.rs `config`) as request options: linear
# BTCUSDT, taker 0.0004, maker 0.0002, tick 0.01, step 0.001, min notional 5, 100 % of equity.
BENCH = {
    "exchange": "binance",
    "market": "linear",
    "symbol": "BTCUSDT",
    "taker_fee_rate": "0.0004",
    "maker_fee_rate": "0.0002",
    "tick_size": "0.01",
    "step_size": "0.001",
    "min_notional": "5",
}
CLI_FLAGS = {
    "exchange": "--exchange",
    "market": "--market",
    "symbol": "--symbol",
    "taker_fee_rate": "--fee-rate",
    "maker_fee_rate": "--maker-fee-rate",
    "tick_size": "--tick",
    "step_size": "--step",
    "min_notional": "--min-notional",
    "initial_capital": "--capital",
    "slippage_bps": "--slippage-bps",
}


def _round2(x: float) -> float:
    # Rust's f64::round is half away from zero; prices here are positive and y + 0.5 is exact
    # at these magnitudes (both are multiples of the ulp of y), so floor(y + 0.5) equals it.
    y = x * 100.0
    return math.floor(y + 0.5) / 100.0


def bench_bars(n: int) -> dict[str, np.ndarray]:
    """The bench's `bars(n)`: one-minute bars of a seeded xorshift random walk near 30 000
    (four draws per bar: the move, the high's and the low's excursions, the volume)."""
    s = 0x9E3779B97F4A7C15
    scale = float(1 << 53)
    cols = {k: np.empty(n) for k in ("open", "high", "low", "close", "volume")}
    opens, highs, lows, closes, vols = (cols[k] for k in ("open", "high", "low", "close", "volume"))
    p = 30_000.0
    for i in range(n):
        d = [0.0, 0.0, 0.0, 0.0]
        for k in range(4):
            s ^= (s << 13) & MASK
            s ^= s >> 7
            s ^= (s << 17) & MASK
            d[k] = (s >> 11) / scale - 0.5
        o = p
        p = p * (1.0 + d[0] * 0.002)
        hi = max(o, p) * (1.0 + abs(d[1]) * 0.0005)
        lo = min(o, p) * (1.0 - abs(d[2]) * 0.0005)
        opens[i], highs[i], lows[i], closes[i] = _round2(o), _round2(hi), _round2(lo), _round2(p)
        vols[i] = 1.0 + abs(d[3])
    cols["open_time_ms"] = START_MS + np.arange(n, dtype=np.int64) * 60_000
    return cols


def write_csv(bars: dict[str, np.ndarray], path: Path) -> Path:
    """The bars as a kline CSV (each float at its shortest round-trip text, as Rust prints it)."""
    with open(path, "w") as f:
        f.write("open_time,open,high,low,close,volume\n")
        for row in zip(bars["open_time_ms"].tolist(), bars["open"].tolist(), bars["high"].tolist(),
                       bars["low"].tolist(), bars["close"].tolist(), bars["volume"].tolist()):
            f.write(",".join(repr(v) for v in row) + "\n")
    return path


def import_data(csv_path: Path, data_dir: Path, timeframe: str = "1m") -> Path:
    """`keel data import-csv` of the file into a data folder (KEELBARS month files)."""
    cli("data", "import-csv", "--exchange", BENCH["exchange"], "--market", BENCH["market"],
        "--symbol", BENCH["symbol"], "--timeframe", timeframe, "--data", str(data_dir), str(csv_path))
    return data_dir


def cli_backtest(data_dir: Path, out: Path, strategy: str, params: dict, timeframe: str,
                 start: str, end: str, **options) -> dict:
    """`keel backtest` on the data folder with the bench's options (plus `options`); returns
    its report.json parsed with money as Decimal."""
    opts = {**BENCH, **options}
    args = ["backtest", "--strategy", strategy, "--params", json.dumps(params), "--data", str(data_dir),
            "--timeframe", timeframe, "--from", str(start), "--to", str(end), "--out", str(out)]
    for k, v in opts.items():
        args += [CLI_FLAGS[k], str(v)]
    cli(*args)
    from keel import _loads

    return _loads((out / "report.json").read_text())


def cli_bin() -> Path:
    """The `keel` CLI the test command built (KEEL_CLI_BIN), else target/debug/keel."""
    env = os.environ.get("KEEL_CLI_BIN")
    path = Path(env) if env else ROOT / "target" / "debug" / "keel"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: build it with `cargo build -p keel-cli`")
    return path


def cli(*args: str) -> str:
    """Runs the CLI; raises with its stderr on failure."""
    proc = subprocess.run([str(cli_bin()), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"keel {' '.join(args)}: exit {proc.returncode}: {proc.stderr}{proc.stdout}")
    return proc.stdout
