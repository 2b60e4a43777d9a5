#!/usr/bin/env bash
# Re-generates the factor reference series with the project venv (pinned `ta`, pandas, numpy)
# and diffs them with the committed copy the Rust test reads; exits non-zero on any difference.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="$root/.tools/venv/bin/python"
[ -x "$py" ] || { echo "check_factors: $py missing (run scripts/bootstrap.sh)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" "$root/tests/python/gen_factors.py" "$tmp"
for f in ohlcv.csv reference.csv; do
  if ! diff -q "$tmp/$f" "$root/engine/test_data/factors/$f" >/dev/null; then
    echo "check_factors: $f differs from engine/test_data/factors/$f" >&2
    diff "$tmp/$f" "$root/engine/test_data/factors/$f" | head -20 >&2
    exit 1
  fi
done
echo "check_factors: reference series identical (ta $("$py" -c 'import importlib.metadata as m; print(m.version("ta"))'))"
