#!/usr/bin/env bash
# `npm run bench:optimize`: the optimiser's comparison in one run on the same 1M bars
# (docs/research.md#benchmark): `cargo bench --bench optimize` (the 100-point grid, the
# 1,000-point grid, Keel's TPE and random search against it, a real TPE search) writes the
# grid's table, then tests/bench/optimize_peers.py runs Optuna's TPE against the same table in
# the bench venv (.tools/venv-bench, pinned by tests/bench/requirements.txt, as `npm run bench`'s
# peers). Not part of the test command. Output: target/optimize-bench.log and .json.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
target="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$target"
venv="$root/.tools/venv-bench"
req="$root/tests/bench/requirements.txt"
sum="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$sum" ]]; then
  echo "bench-optimize: installing the bench venv ($venv)" >&2
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$sum" > "$venv/.requirements.sha256"
fi
study="$target/optimize-study.json"
KEEL_OPTIMIZE_STUDY="$study" cargo bench -p keel-engine --bench optimize 2>&1 | tee "$target/optimize-bench.log"
"$venv/bin/python" tests/bench/optimize_peers.py --study "$study" | tail -n 1 > "$target/optimize-bench.json"
echo "bench-optimize: $target/optimize-bench.log, $target/optimize-bench.json" >&2
