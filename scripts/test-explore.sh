#!/usr/bin/env bash
# `npm run test:explore`: the property tests with fresh random seeds, many times over, to find
# cases the fixed CI seed (scripts/test.sh: PROPTEST_RNG_SEED) never draws. Not part of `npm test`:
# a failure here is a new bug to fix, with the seed that replays it:
#
#   PROPTEST_RNG_SEED=<seed> cargo test -p <crate> <test name>
#
# KEEL_EXPLORE_RUNS (default 20) runs of every property test, each with its own seed (every run
# draws each test's configured number of cases afresh); KEEL_EXPLORE_FILTER narrows the tests
# (cargo test filter, default `proptests`). Ends with `keel: N passed, M failed` (runs).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KEEL_ROOT"

runs="${KEEL_EXPLORE_RUNS:-20}"
filter="${KEEL_EXPLORE_FILTER:-proptests}"
logs="$KEEL_ROOT/.keel/test-logs/explore"
rm -rf "$logs"
mkdir -p "$logs"
crates=(-p keel-engine -p keel-exchange-sim -p keel-cli -p keel-edge -p keel-durable-objects -p keel-neo4j-proxy)

# Compile once; each run then only executes.
cargo test "${crates[@]}" --locked --no-run >"$logs/build.log" 2>&1 || { cat "$logs/build.log"; echo "keel: 0 passed, 1 failed"; exit 1; }

passed=0
failed=0
declare -a bad=()
for i in $(seq 1 "$runs"); do
  seed=$(( (RANDOM << 16 | RANDOM << 1 | RANDOM & 1) & 0x7fffffff ))
  if PROPTEST_RNG_SEED="$seed" cargo test "${crates[@]}" --locked -q "$filter" >"$logs/run-$i-seed-$seed.log" 2>&1; then
    passed=$((passed + 1))
    echo "explore: run $i/$runs seed $seed ok"
  else
    failed=$((failed + 1))
    bad+=("$seed")
    echo "explore: run $i/$runs seed $seed FAILED (log .keel/test-logs/explore/run-$i-seed-$seed.log)"
    grep -E "^test .* FAILED|minimal failing input|panicked at" "$logs/run-$i-seed-$seed.log" | head -10
  fi
done
[ "$failed" = 0 ] || echo "explore: replay a failure with PROPTEST_RNG_SEED=<seed> cargo test -p <crate> <test>; failing seeds: ${bad[*]}"
echo "keel: $passed passed, $failed failed"
[ "$failed" = 0 ]
