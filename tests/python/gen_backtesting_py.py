"""Peer reference for Keel's backtester: runs backtesting.py (pinned in requirements.txt) on its
bundled GOOG sample (real daily prices, 2004-2013) with a long-only SMA(10, 20) crossover and
writes, into the folder given as the only argument:

  goog.csv       the same bars in Keel's CSV layout (open_time ms UTC, open, high, low, close,
                 volume), read by engine/src/backtest/peer_tests.rs;
  expected.json  backtesting.py's trades (entry/exit time, size, prices), closed trades' commissions and
                 final equity, which that Rust test asserts Keel reproduces.

tests/python/check_backtesting_py.sh diffs both with the committed copies in
engine/test_data/backtesting_py/, so a change on either side fails the test command.

Semantics on this side (backtesting.py defaults): an order placed in next() on bar i fills at
bar i+1's open; next() is first called one bar after the slow SMA's warm-up (so two values of
each SMA exist); buy() sizes int(cash * 0.9999 // (open * (1 + commission))) whole units;
commission is a fraction of each fill's notional, charged on entry and on exit; a trade still
open at the end is valued at the last close (finalize_trades=False)."""
import json
import os
import sys
import warnings

import pandas as pd
from backtesting import Backtest, Strategy, __version__
from backtesting.test import GOOG, SMA

FAST, SLOW, CASH, COMMISSION = 10, 20, 10_000, 0.002


class SmaCrossLong(Strategy):
    """Long (all equity) while SMA(fast) > SMA(slow), flat otherwise."""

    fast = FAST
    slow = SLOW

    def init(self):
        self.sma_fast = self.I(SMA, self.data.Close, self.fast)
        self.sma_slow = self.I(SMA, self.data.Close, self.slow)

    def next(self):
        if self.sma_fast[-1] > self.sma_slow[-1]:
            if not self.position:
                self.buy()
        elif self.position:
            self.position.close()


def ms(ts) -> int:
    return int(pd.Timestamp(ts).tz_localize("UTC").value // 1_000_000)


def main(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "goog.csv"), "w", newline="\n") as f:
        f.write("open_time,open,high,low,close,volume\n")
        for ts, r in GOOG.iterrows():
            px = [repr(float(x)) for x in (r.Open, r.High, r.Low, r.Close)]
            f.write(f"{ms(ts)},{','.join(px)},{int(r.Volume)}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "trades remain open at the end": intended
        bt = Backtest(GOOG, SmaCrossLong, cash=CASH, commission=COMMISSION)
        stats = bt.run()
    broker = stats._strategy._broker
    trades = [
        {
            "size": int(t.size),
            "entry_time_ms": ms(t.entry_time),
            "entry_price": repr(float(t.entry_price)),
            "exit_time_ms": ms(t.exit_time),
            "exit_price": repr(float(t.exit_price)),
        }
        for t in broker.closed_trades
    ] + [
        {
            "size": int(t.size),
            "entry_time_ms": ms(t.entry_time),
            "entry_price": repr(float(t.entry_price)),
            "exit_time_ms": None,
            "exit_price": None,
        }
        for t in broker.trades
    ]
    doc = {
        "source": f"backtesting.py {__version__}, backtesting.test.GOOG",
        "fast": FAST,
        "slow": SLOW,
        "cash": CASH,
        "commission": COMMISSION,
        "trades": trades,
        # backtesting.py counts a trade's commissions when it closes: closed trades only.
        "closed_trade_commissions": repr(float(stats["Commissions [$]"])),
        "final_equity": repr(float(stats["Equity Final [$]"])),
    }
    with open(os.path.join(out, "expected.json"), "w", newline="\n") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
