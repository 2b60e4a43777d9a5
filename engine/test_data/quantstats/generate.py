"""Regenerates the metrics fixture (engine/src/backtest/metrics.rs golden test) with the
reference: quantstats, 365 periods a year (crypto trades every day), risk-free rate 0.

    python3 -m venv /tmp/qs && /tmp/qs/bin/pip install quantstats==0.0.86
    /tmp/qs/bin/python generate.py        # quantstats 0.0.86, pandas 3.1.1, numpy 2.4.6

Writes equity.csv (a daily equity curve, 17 significant digits), trades.csv (realized P&L per
execution, net of fees) and expected.json.
"""

import json

import numpy as np
import pandas as pd
import quantstats as qs

rng = np.random.default_rng(20261207)
days = 500
# A strategy with drift, volatility clustering and a long drawdown in the middle.
vol = 0.02 * (1 + 0.8 * np.sin(np.arange(days) / 40.0) ** 2)
r = rng.standard_t(4, days) * vol / np.sqrt(2) + 0.0012
r[180:260] -= 0.004
equity = np.concatenate([[10_000.0], 10_000.0 * np.cumprod(1 + r)])
trades = np.round(rng.normal(4.0, 60.0, 80), 8)

idx = pd.date_range("2025-01-01", periods=days + 1, freq="D")
eq = pd.Series(equity, index=idx)
ret = eq.pct_change().iloc[1:]

with open("equity.csv", "w") as f:
    f.write("equity\n")
    f.writelines(f"{x:.17g}\n" for x in equity)
with open("trades.csv", "w") as f:
    f.write("pnl\n")
    f.writelines(f"{x:.8f}\n" for x in trades)

P = 365
tr = pd.Series(trades, index=pd.date_range("2025-01-01", periods=len(trades), freq="D"))
expected = {
    "reference": f"quantstats {qs.__version__}, pandas {pd.__version__}, numpy {np.__version__}; periods 365, rf 0",
    "total_return": float(qs.stats.comp(ret)),
    "annual_return": float(qs.stats.cagr(ret, periods=P)),
    "volatility": float(qs.stats.volatility(ret, periods=P)),
    "sharpe": float(qs.stats.sharpe(ret, periods=P)),
    "sortino": float(qs.stats.sortino(ret, periods=P)),
    "max_drawdown": float(-qs.stats.max_drawdown(ret)),
    "calmar": float(qs.stats.calmar(ret, periods=P)),
    # Per execution (the series of realized P&L), as Keel counts them.
    "win_rate": float(qs.stats.win_rate(tr)),
    "profit_factor": float(qs.stats.profit_factor(tr)),
}
with open("expected.json", "w") as f:
    json.dump(expected, f, indent=2)
    f.write("\n")
print(json.dumps(expected, indent=2))
