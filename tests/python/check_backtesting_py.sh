#!/usr/bin/env bash
# Peer cross-check of the backtester: re-runs backtesting.py (pinned in requirements.txt) on its
# bundled GOOG sample with tests/python/gen_backtesting_py.py and diffs the bars and its trades /
# final equity with the committed copies in engine/test_data/backtesting_py/, which the Rust test
# engine/src/backtest/peer_tests.rs (run by `cargo test`) asserts Keel reproduces. Exits non-zero
# on any difference: a change on either side fails the test command.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="$root/.tools/venv/bin/python"
[ -x "$py" ] || { echo "check_backtesting_py: $py missing (run scripts/bootstrap.sh)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" "$root/tests/python/gen_backtesting_py.py" "$tmp"
for f in goog.csv expected.json; do
  if ! diff -q "$tmp/$f" "$root/engine/test_data/backtesting_py/$f" >/dev/null; then
    echo "check_backtesting_py: $f differs from engine/test_data/backtesting_py/$f" >&2
    diff "$tmp/$f" "$root/engine/test_data/backtesting_py/$f" | head -20 >&2
    exit 1
  fi
done
trades="$(grep -c '"size"' "$tmp/expected.json")"
equity="$(sed -n 's/.*"final_equity": "\(.*\)".*/\1/p' "$tmp/expected.json")"
echo "check_backtesting_py: backtesting.py $("$py" -c 'import importlib.metadata as m; print(m.version("backtesting"))') output identical ($trades trades, final equity $equity); Keel's side: cargo test backtest::peer_tests"
