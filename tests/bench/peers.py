"""Times Python backtesting engines on the data and strategy of Keel's backtest bench
(engine/benches/backtest.rs `sma_crossover_1m_bars`): 1,000,000 one-minute bars of the same
seeded xorshift random walk (reproduced here bit for bit; the checksum printed by both sides
must agree), a long-only SMA(50, 200) crossover (long while fast > slow, flat otherwise), all
equity per entry, 0.04 % taker fee, fills at the next bar's open. Run by `npm run bench`
(tests/bench/peers.ts) with the pinned tests/bench/requirements.txt; prints one JSON document.

  python tests/bench/peers.py [--bars N]
"""
import argparse
import os
import importlib.metadata as md
import json
import math
import sys
import time
import warnings

import numpy as np
import pandas as pd

FAST, SLOW, FEE, CASH = 50, 200, 0.0004, 100_000.0
MASK = (1 << 64) - 1


def bars(n: int) -> pd.DataFrame:
    """The Rust bench's `bars(n)`: xorshift64 (13, 7, 17), prices near 30 000 rounded to cents
    (half away from zero, as Rust's `f64::round`)."""
    s = 0x9E3779B97F4A7C15

    def nxt() -> float:
        nonlocal s
        s ^= (s << 13) & MASK
        s ^= s >> 7
        s ^= (s << 17) & MASK
        return (s >> 11) / float(1 << 53) - 0.5

    def r(x: float) -> float:
        return math.floor(x * 100.0 + 0.5) / 100.0  # x > 0: same as round-half-away

    o_, h_, l_, c_, v_ = (np.empty(n) for _ in range(5))
    p = 30_000.0
    for i in range(n):
        o = p
        p *= 1.0 + nxt() * 0.002
        hi = max(o, p) * (1.0 + abs(nxt()) * 0.0005)
        lo = min(o, p) * (1.0 - abs(nxt()) * 0.0005)
        o_[i], h_[i], l_[i], c_[i] = r(o), r(hi), r(lo), r(p)
        v_[i] = 1.0 + abs(nxt())
    index = pd.date_range("2023-11-14 22:13:20", periods=n, freq="1min")
    return pd.DataFrame({"Open": o_, "High": h_, "Low": l_, "Close": c_, "Volume": v_}, index=index)


def time_backtesting_py(df: pd.DataFrame) -> dict:
    from backtesting import Backtest, Strategy
    from backtesting.test import SMA

    class SmaCrossLong(Strategy):
        def init(self):
            self.fast = self.I(SMA, self.data.Close, FAST)
            self.slow = self.I(SMA, self.data.Close, SLOW)

        def next(self):
            if self.fast[-1] > self.slow[-1]:
                if not self.position:
                    self.buy()
            elif self.position:
                self.position.close()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        # backtesting.py trades whole units: with Keel's 100 000 at ~30 000 a unit it would
        # stop trading once equity fell under one unit; 1e8 keeps every crossover trading.
        bt = Backtest(df, SmaCrossLong, cash=1e8, commission=FEE)
        stats = bt.run()
        secs = time.perf_counter() - t
    return {
        "engine": "backtesting.py",
        "version": md.version("backtesting"),
        "bars": len(df),
        "seconds": round(secs, 3),
        "bars_per_s": round(len(df) / secs),
        "trades": int(stats["# Trades"]),
        "note": "event-driven, Python loop per bar",
    }


def time_vectorbt(df: pd.DataFrame) -> dict:
    import vectorbt as vbt

    def once(close: pd.Series, open_: pd.Series):
        fast = vbt.MA.run(close, FAST).ma
        slow = vbt.MA.run(close, SLOW).ma
        long = fast > slow
        # Decided on a bar's close, filled at the next bar's open (as Keel and backtesting.py).
        entries = (long & ~long.shift(1, fill_value=False)).shift(1, fill_value=False)
        exits = (~long & long.shift(1, fill_value=False)).shift(1, fill_value=False)
        return vbt.Portfolio.from_signals(close, entries, exits, price=open_, fees=FEE,
                                          init_cash=CASH, freq="1min")

    small = df.iloc[:5_000]
    for _ in range(2):  # numba compiles on first use: not timed
        int(once(small.Close, small.Open).trades.count())
    t = time.perf_counter()
    pf = once(df.Close, df.Open)
    trades = int(pf.trades.count())
    secs = time.perf_counter() - t
    return {
        "engine": "vectorbt",
        "version": md.version("vectorbt"),
        "bars": len(df),
        "seconds": round(secs, 3),
        "bars_per_s": round(len(df) / secs),
        "trades": trades,
        "note": "vectorised (numba), not event-driven; JIT warm-up excluded",
    }


def main() -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1_000_000)
    n = ap.parse_args().bars
    df = bars(n)
    out = {"bars": n, "close_checksum": repr(float(sum(df.Close.tolist()))), "results": [], "errors": []}
    for f in (time_backtesting_py, time_vectorbt):
        try:
            out["results"].append(f(df))
        except Exception as e:  # a peer that is missing or fails is reported, not fatal
            out["errors"].append(f"{f.__name__}: {type(e).__name__}: {e}")
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
