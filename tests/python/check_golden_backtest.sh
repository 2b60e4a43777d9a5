#!/usr/bin/env bash
# Independent re-computation of the backtester's golden run (engine/src/backtest/golden_tests.rs,
# run by `cargo test`) in plain Python decimals: tests/python/check_golden_backtest.py exits
# non-zero unless its net P&L, final equity and fill count equal the figures the Rust test pins,
# so a change to the fill model, fees or average-cost booking on either side fails the test command.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="$root/.tools/venv/bin/python"
[ -x "$py" ] || { echo "check_golden_backtest: $py missing (run scripts/bootstrap.sh)" >&2; exit 2; }
"$py" "$root/tests/python/check_golden_backtest.py"
