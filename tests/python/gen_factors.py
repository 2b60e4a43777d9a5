"""Reference series for keel-engine's factor library, computed by the Python `ta` library.

Writes `ohlcv.csv` (a fixed, seeded random walk of 500 bars) and `reference.csv` (one column per
indicator, empty cell = not warm) into the folder given as the first argument. The Rust test
`factor::reference_tests` compares its streaming indicators with these columns; `check_factors.sh`
re-runs this script and diffs the output with the committed copy.

ATR: `ta` reports 0.0 (not NaN) before its window fills; those cells are written empty so the
comparison states the warm-up exactly. z-score and rolling volatility have no `ta` function and are
computed with pandas rolling windows (independent of the Rust code all the same).
"""
import sys

import numpy as np
import pandas as pd
import ta

N = 500


def ohlcv() -> pd.DataFrame:
    rng = np.random.default_rng(20261124)
    close = np.round(100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, N))), 2)
    open_ = np.round(np.concatenate([[100.0], close[:-1]]) * (1 + rng.normal(0.0, 0.002, N)), 2)
    high = np.round(np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, 0.004, N))), 2)
    low = np.round(np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, 0.004, N))), 2)
    volume = np.round(rng.uniform(1.0, 100.0, N), 3)
    # A flat stretch exercises zero ranges (stochastic, z-score) and zero losses (RSI).
    close[200:205] = close[199]
    open_[200:205] = close[199]
    high[200:205] = close[199]
    low[200:205] = close[199]
    t = 1_700_000_000_000 + 60_000 * np.arange(N)
    return pd.DataFrame({"open_time": t, "open": open_, "high": high, "low": low, "close": close, "volume": volume})


def reference(df: pd.DataFrame) -> pd.DataFrame:
    h, l, c, v = df["high"], df["low"], df["close"], df["volume"]
    out = pd.DataFrame(index=df.index)
    out["sma20"] = ta.trend.sma_indicator(c, 20)
    out["ema20"] = ta.trend.ema_indicator(c, 20)
    out["wma20"] = ta.trend.wma_indicator(c, 20)
    out["rsi14"] = ta.momentum.rsi(c, 14)
    m = ta.trend.MACD(c, 26, 12, 9)
    out["macd"], out["macd_signal"], out["macd_hist"] = m.macd(), m.macd_signal(), m.macd_diff()
    atr = ta.volatility.average_true_range(h, l, c, 14).copy()
    atr.iloc[:13] = np.nan
    out["atr14"] = atr
    b = ta.volatility.BollingerBands(c, 20, 2)
    out["bb_lower"], out["bb_middle"], out["bb_upper"] = b.bollinger_lband(), b.bollinger_mavg(), b.bollinger_hband()
    d = ta.volatility.DonchianChannel(h, l, c, 20)
    out["dc_lower"], out["dc_middle"], out["dc_upper"] = d.donchian_channel_lband(), d.donchian_channel_mband(), d.donchian_channel_hband()
    k = ta.volatility.KeltnerChannel(h, l, c, 20, 10, original_version=False, multiplier=2)
    kl, km, ku = k.keltner_channel_lband(), k.keltner_channel_mband(), k.keltner_channel_hband()
    warm = max(20, 10) - 1
    kl.iloc[:warm], km.iloc[:warm], ku.iloc[:warm] = np.nan, np.nan, np.nan
    out["kc_lower"], out["kc_middle"], out["kc_upper"] = kl, km, ku
    s = ta.momentum.StochasticOscillator(h, l, c, 14, 3)
    out["stoch_k"], out["stoch_d"] = s.stoch(), s.stoch_signal()
    out["vwap14"] = ta.volume.volume_weighted_average_price(h, l, c, v, 14)
    out["obv"] = ta.volume.on_balance_volume(c, v)
    mean = c.rolling(20, min_periods=20).mean()
    out["zscore20"] = (c - mean) / c.rolling(20, min_periods=20).std(ddof=0)
    ret = c.pct_change()
    out["returns"] = ret
    out["vol20"] = ret.rolling(20, min_periods=20).std(ddof=1)
    return out


def main() -> None:
    folder = sys.argv[1] if len(sys.argv) > 1 else "."
    df = ohlcv()
    df.to_csv(f"{folder}/ohlcv.csv", index=False, float_format="%.3f")
    # Recompute from the written (rounded) data so both sides read identical inputs.
    df = pd.read_csv(f"{folder}/ohlcv.csv")
    ref = reference(df)
    ref.to_csv(f"{folder}/reference.csv", index=False, float_format="%.17g", na_rep="")


if __name__ == "__main__":
    main()
