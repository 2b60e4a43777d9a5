"""Keel's trading engine for notebooks (docs/python.md).

Candles load exactly (KEELBARS data folders, CSV, pandas or polars frames), backtests run through
the engine's own ``BacktestRequest`` code path (the one ``keel backtest`` runs), factors are the
engine's streaming indicators, and the grid search is ``backtest::walk_forward``. Money (prices,
quantities, fees, P&L, capital) crosses as :class:`decimal.Decimal`, never as a float: a float
given where money is expected raises :class:`KeelError`. The engine runs with the GIL released.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import _keel
from ._keel import FACTORS, Candles, KeelError

__all__ = [
    "Candles",
    "KeelError",
    "FACTORS",
    "BacktestResult",
    "WalkForwardResult",
    "read_csv",
    "read_keelbars",
    "load",
    "from_frame",
    "candles_frame",
    "bars_frame",
    "factor",
    "backtest",
    "walk_forward",
    "grid",
    "strategies",
]

# Keys whose string values in the engine's JSON documents are exact decimals (money, rates,
# ticks); everything else stays as the engine wrote it (ratios are f64 statistics).
MONEY_KEYS = frozenset(
    {
        "price",
        "qty",
        "fee",
        "fees",
        "pnl",
        "entry_price",
        "exit_price",
        "initial_capital",
        "final_equity",
        "net_pnl",
        "realized_pnl",
        "funding",
        "slippage_bps",
        "taker_fee_rate",
        "maker_fee_rate",
        "tick_size",
        "step_size",
        "in_sample_net",
        "out_of_sample_net",
    }
)

# Request fields that are money or exact rates: never accepted as floats.
_DECIMAL_FIELDS = (
    "slippage_bps",
    "taker_fee_rate",
    "maker_fee_rate",
    "initial_capital",
    "tick_size",
    "step_size",
    "min_notional",
)


def _decimals(obj: dict) -> dict:
    for k, v in obj.items():
        if k in MONEY_KEYS and isinstance(v, str):
            obj[k] = Decimal(v)
    return obj


def _loads(text: str) -> Any:
    return json.loads(text, object_hook=_decimals)


def _i64(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype="<i8")


def _f64(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype="<f8")


def _times(ms: np.ndarray) -> pd.DatetimeIndex:
    # A cast of the integer milliseconds, then UTC: the index `pd.to_datetime(ms, unit="ms",
    # utc=True)` gives, in a fraction of its time on a 1M-bar curve.
    return pd.DatetimeIndex(ms.astype("datetime64[ms]").astype("datetime64[ns]")).tz_localize("UTC")


# --- candles -----------------------------------------------------------------------------------


def read_csv(path, timeframe: str) -> Candles:
    """Candles from a CSV file, parsed by the engine's importer (``keel data import-csv``)."""
    return _keel.read_csv(str(path), timeframe)


def read_keelbars(path) -> Candles:
    """Candles of one KEELBARS month file (the data folder's format)."""
    return _keel.read_keelbars(str(path))


def load(data_dir, exchange: str, market: str, symbol: str, timeframe: str, start, end) -> Candles:
    """``[start, end)`` of an instrument from a data folder, as ``keel backtest --data`` reads it.

    ``start``/``end``: ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM:SSZ`` or epoch milliseconds.
    """
    return _keel.load_keelbars(str(data_dir), exchange, market, symbol, timeframe, str(start), str(end))


def _column(values) -> bytes | list[str]:
    arr = np.asarray(values)
    if arr.dtype.kind in "fiu":
        return np.ascontiguousarray(arr, dtype="<f8").tobytes()
    # Decimal or text values keep every digit (a Decimal in positional notation: 1E+3 -> 1000).
    return [format(v, "f") if isinstance(v, Decimal) else str(v) for v in arr.tolist()]


def _open_times(df) -> np.ndarray:
    cols = list(df.columns)
    if "open_time_ms" in cols:
        return np.ascontiguousarray(np.asarray(df["open_time_ms"]), dtype="<i8")
    for name in ("open_time", "time", "timestamp", "date"):
        if name in cols:
            ts = pd.to_datetime(pd.Series(np.asarray(df[name])), utc=True)
            return np.ascontiguousarray(ts.dt.as_unit("ms").astype("int64").to_numpy(), dtype="<i8")
    index = getattr(df, "index", None)
    if isinstance(index, pd.DatetimeIndex):
        idx = index.tz_convert("UTC") if index.tz is not None else index.tz_localize("UTC")
        return np.ascontiguousarray(idx.as_unit("ms").asi8, dtype="<i8")
    raise KeelError("frame: no open_time_ms/open_time/time/timestamp/date column and no DatetimeIndex")


def from_frame(df, timeframe: str) -> Candles:
    """Candles from a pandas (or polars) frame with open, high, low, close, volume columns and
    an open time (``open_time_ms`` column, a datetime column or a DatetimeIndex).

    Float columns are read at each value's shortest round-trip decimal text (what a CSV would
    hold); Decimal or string columns keep every digit. Each row is checked like an import.
    """
    missing = [c for c in ("open", "high", "low", "close", "volume") if c not in list(df.columns)]
    if missing:
        raise KeelError(f"frame: missing column(s) {', '.join(missing)}")
    times = _open_times(df)
    return _keel.from_columns(
        timeframe,
        times.tobytes(),
        *(_column(df[c]) for c in ("open", "high", "low", "close", "volume")),
    )


def candles_frame(candles: Candles) -> pd.DataFrame:
    """The candles as a frame of exact ``Decimal`` columns indexed by open time (UTC)."""
    cols = candles.columns()
    ms = _i64(cols.pop("open_time_ms"))
    frame = pd.DataFrame({k: [Decimal(v) for v in vs] for k, vs in cols.items()}, index=_times(ms))
    frame.index.name = "open_time"
    return frame


def bars_frame(candles: Candles, timeframe: str | None = None) -> pd.DataFrame:
    """The bars a strategy sees at ``timeframe`` (float OHLCV, for indicator maths and plots)."""
    cols = candles.bars(timeframe)
    ms = _i64(cols.pop("open_time_ms"))
    frame = pd.DataFrame({k: _f64(v) for k, v in cols.items()}, index=_times(ms))
    frame.index.name = "open_time"
    return frame


# --- factors -----------------------------------------------------------------------------------


def factor(name: str, data, **params):
    """Runs the engine's factor ``name`` (one of :data:`FACTORS`) over ``data``: a frame with
    open/high/low/close/volume columns, or a 1-D array of closes (used for every column).

    Returns a numpy array for a one-output factor, else a frame of its outputs (``macd``:
    macd/signal/histogram; bands: lower/middle/upper; ...). NaN until the factor is warm.
    """
    index = None
    if hasattr(data, "columns"):
        index = getattr(data, "index", None)
        cols = [np.ascontiguousarray(np.asarray(data[c], dtype="f8"), dtype="<f8").tobytes()
                for c in ("open", "high", "low", "close", "volume")]
    else:
        arr = np.ascontiguousarray(np.asarray(data, dtype="f8"), dtype="<f8")
        if arr.ndim != 1:
            raise KeelError("factor: data must be a frame or a 1-D array")
        cols = [arr.tobytes()] * 5
    out = _keel.factor(name, {k: float(v) for k, v in params.items()}, *cols)
    values = {k: _f64(v) for k, v in out.items()}
    if list(values) == ["value"]:
        return values["value"]
    return pd.DataFrame(values, index=index if isinstance(index, pd.Index) else None)


# --- backtests ---------------------------------------------------------------------------------


def _money(name: str, v) -> str:
    if isinstance(v, float):
        raise KeelError(f"{name}: money is exact: give a Decimal, an int or a string, not the float {v!r}")
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (int, str)) and not isinstance(v, bool):
        return str(v)
    raise KeelError(f"{name}: {v!r} is not a decimal")


def _request(candles: Candles, strategy, params, options: Mapping[str, Any]) -> dict:
    body: dict[str, Any] = {
        "exchange": options.get("exchange", "binance"),
        "market": options.get("market", "linear"),
        "symbol": options.get("symbol", "BTCUSDT"),
        "timeframe": options.get("timeframe") or candles.timeframe,
        "params": {k: float(v) for k, v in (params or {}).items()},
    }
    if strategy is not None:
        body["strategy"] = strategy
    known = {"exchange", "market", "symbol", "timeframe", "spec", "fill", "bot", "exits",
             "rebalance_band", *_DECIMAL_FIELDS}
    unknown = sorted(set(options) - known)
    if unknown:
        raise KeelError(f"unknown option(s) {', '.join(unknown)}")
    for k in _DECIMAL_FIELDS:
        if options.get(k) is not None:
            body[k] = _money(k, options[k])
    for k in ("spec", "fill", "bot", "exits"):
        if options.get(k) is not None:
            body[k] = options[k]
    if options.get("rebalance_band") is not None:
        body["rebalance_band"] = float(options["rebalance_band"])
    return body


def _json(body: dict) -> str:
    return json.dumps(body, default=lambda o: str(o) if isinstance(o, Decimal) else repr(o))


class BacktestResult:
    """One backtest: the engine's report document (the CLI's ``report.json``) with money as
    ``Decimal``, and frames of its fills, round trips and equity curve.

    Built lazily from the engine's answer: a search that reads one figure of each run does not
    pay for frames it never looks at.
    """

    def __init__(self, raw: dict) -> None:
        self._raw = raw

    @functools.cached_property
    def report(self) -> dict:
        """The report without its curves (money as ``Decimal``, ratios as floats)."""
        return _loads(self._raw["report_json"])

    @functools.cached_property
    def equity(self) -> pd.DataFrame:
        """Equity and drawdown per bar (the engine's f64 curve, for plots and ratios; the exact
        final equity is ``metrics["final_equity"]``), indexed by bar close time."""
        # One float block filled in place (a dict of columns would be copied twice).
        values = np.empty((len(self._raw["equity"]) // 8, 2))
        values[:, 0] = _f64(self._raw["equity"])
        values[:, 1] = _f64(self._raw["drawdown"])
        frame = pd.DataFrame(values, columns=["equity", "drawdown"],
                             index=_times(_i64(self._raw["equity_time_ms"])), copy=False)
        frame.index.name = "close_time"
        return frame

    @functools.cached_property
    def fills(self) -> pd.DataFrame:
        """Every fill (price, qty, fee as ``Decimal``)."""
        fills = pd.DataFrame(self.report["fills"])
        if len(fills):
            fills.insert(0, "time", _times(fills["time_ms"].to_numpy(dtype="i8")))
        return fills

    @functools.cached_property
    def trades(self) -> pd.DataFrame:
        """Round trips (entry/exit prices, qty, pnl and fees as ``Decimal``)."""
        trades = pd.DataFrame(self.report["trades"])
        if len(trades):
            # An open trip has no exit time: nullable integers, not floats.
            trades["exit_ms"] = trades["exit_ms"].astype("Int64")
        return trades

    @property
    def metrics(self) -> dict:
        """Every metric of the report (money as ``Decimal``, ratios as floats)."""
        return self.report["metrics"]

    @property
    def net_pnl(self) -> Decimal:
        """Net P&L from the ledger (exact)."""
        return self.report["metrics"]["net_pnl"]

    def document(self) -> dict:
        """The whole report in the CLI's ``report.json`` shape (curves as ``[ms, value]``)."""
        doc = dict(self.report)
        t = _i64(self._raw["equity_time_ms"]).tolist()
        doc["equity_curve"] = [list(p) for p in zip(t, _f64(self._raw["equity"]).tolist())]
        doc["drawdown_curve"] = [list(p) for p in zip(t, _f64(self._raw["drawdown"]).tolist())]
        return doc


def backtest(candles: Candles, strategy: str | None = None, params: Mapping[str, float] | None = None,
             **options) -> BacktestResult:
    """Backtests a registered strategy (or ``spec=`` a declarative spec document) on ``candles``
    through the engine's ``BacktestRequest`` path, as ``keel backtest`` does.

    Options are the request's fields: ``exchange`` (binance), ``market`` (linear), ``symbol``
    (BTCUSDT), ``timeframe`` (the candles'), ``fill`` (next_open | close), and as ``Decimal``/int/
    str: ``slippage_bps``, ``taker_fee_rate``, ``maker_fee_rate``, ``initial_capital``,
    ``tick_size``, ``step_size``, ``min_notional``; ``bot`` (a bot config), ``exits``,
    ``rebalance_band``.
    """
    return BacktestResult(_keel.backtest(candles, _json(_request(candles, strategy, params, options))))


def report_html(candles: Candles, strategy: str | None = None, params=None, **options) -> str:
    """The CLI's ``report.html`` page for the same run (self-contained HTML)."""
    return _keel.report_html(candles, _json(_request(candles, strategy, params, options)))


def native_seconds(candles: Candles, strategy: str | None = None, params=None, repeat: int = 3,
                   **options) -> float:
    """Best engine-only time of ``repeat`` runs (no Python objects built): the native baseline
    of the throughput figure in docs/python.md."""
    return _keel.native_seconds(candles, _json(_request(candles, strategy, params, options)), repeat)


# --- search ------------------------------------------------------------------------------------


def grid(ranges: Mapping[str, list]) -> list[dict]:
    """Every combination of the parameter values, in the engine's order."""
    return _keel.grid({k: [float(v) for v in vs] for k, vs in ranges.items()})


@dataclass
class WalkForwardResult:
    """The engine's grid search with one in-/out-of-sample split."""

    document: dict
    points: pd.DataFrame
    invalid: list

    @property
    def in_sample_bars(self) -> int:
        """Bars in the in-sample span."""
        return self.document["in_sample_bars"]


def walk_forward(candles: Candles, strategy: str, ranges: Mapping[str, list], in_sample: float = 0.7,
                 **options) -> WalkForwardResult:
    """Runs ``strategy`` for every point of ``ranges`` on the first ``in_sample`` fraction of the
    bars and on the rest (``backtest::walk_forward``); points sorted by in-sample Sharpe."""
    body = _request(candles, strategy, None, options)
    ranges_f = {k: [float(v) for v in vs] for k, vs in ranges.items()}
    doc = _loads(_keel.walk_forward_json(candles, _json(body), ranges_f, float(in_sample)))
    rows = []
    for p in doc["points"]:
        row = {f"param.{k}": v for k, v in p["params"].items()}
        row["strategy"] = p["strategy"]
        row["in_sample_net"] = p["in_sample_net"]
        row["out_of_sample_net"] = p["out_of_sample_net"]
        for k, v in p["in_sample"].items():
            row[f"is.{k}"] = v
        for k, v in p["out_of_sample"].items():
            row[f"oos.{k}"] = v
        rows.append(row)
    return WalkForwardResult(document=doc, points=pd.DataFrame(rows), invalid=doc["invalid"])


def strategies() -> dict:
    """Registered strategies with their version and typed parameter ranges."""
    return _keel.strategies()
