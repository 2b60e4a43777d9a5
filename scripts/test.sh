#!/usr/bin/env bash
# `npm test` (and CI's .ci/run): the whole test suite, from a fresh clone.
#
#   bootstrap → cargo fmt --check → tsc + eslint (tests/e2e, scripts) → cargo test --all-targets (native
#   crates; engine, simulator and CLI compiled by clippy-driver -D warnings, which is their clippy pass) and,
#   beside it, the build for tests (both Workers: release code without LTO or wasm-opt, compiled by
#   clippy-driver -D warnings, which is the wasm32 clippy pass; the simulator and CLI binaries in the dev
#   profile) → tests/python/check_*.sh → end-to-end tests against the real stack (vitest, tests/e2e, files in
#   a seeded random order) and, beside them, the dashboard unit tests (ui) when ui defines them and the
#   Python package's wheel build and tests (scripts/test-python.sh: parity with the CLI, notebooks).
#
# Seeds, printed first: KEEL_TEST_SEED orders the end-to-end files (fresh each run unless given; set it to
# replay an order), PROPTEST_RNG_SEED drives the property tests (fixed unless given; `npm run
# test:explore` draws fresh ones). `npm run test:unit` and `npm run test:e2e` are the fast loops
# (docs/testing.md).
#
# Every step runs even when an earlier independent one failed, so one report shows everything; the
# end-to-end tests need a successful build. Ends with one line `keel: N passed, M failed` (test
# counts) and exits non-zero if any step failed. Logs: .keel/test-logs/.
#
# `bash scripts/test.sh unit` (npm run test:unit) runs only the fast part: fmt, ts-lint, both
# clippy passes and cargo test (logs in .keel/test-logs/unit/).
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KEEL_ROOT"

mode="${1:-all}"
case "$mode" in
  all|unit) ;;
  *) echo "usage: bash scripts/test.sh [all|unit]" >&2; exit 2 ;;
esac

logs="$KEEL_ROOT/.keel/test-logs"
[ "$mode" = unit ] && logs="$logs/unit"
rm -rf "$logs"
mkdir -p "$logs"

passed=0
failed=0
declare -a summary=()
any_failed=0
suite_start=$SECONDS

# step <name> <command...>: runs it with output to the terminal and to $logs/<name>.log.
step() {
  local name="$1"
  shift
  local start=$SECONDS rc
  printf '\n=== %s: %s\n' "$name" "$*"
  "$@" 2>&1 | tee "$logs/$name.log"
  rc=${PIPESTATUS[0]}
  local took=$((SECONDS - start))
  if [ "$rc" = 0 ]; then
    summary+=("ok    $(printf '%-14s' "$name") ${took}s")
  else
    summary+=("FAIL  $(printf '%-14s' "$name") ${took}s (exit $rc, log .keel/test-logs/$name.log)")
    any_failed=1
  fi
  return "$rc"
}

# Adds up cargo's "test result: ... N passed; M failed" lines from a log.
count_cargo() {
  local p f
  p=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' "$1" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '[0-9]+ failed;' "$1" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p))
  failed=$((failed + f))
}

# Adds up pytest's closing line ("N passed, M failed in Xs") from a log.
count_pytest() {
  [ -f "$1" ] || return 0
  local line p f
  line=$(grep -E '^[=[:space:]]*[0-9]+ (passed|failed)' "$1" | tail -1)
  p=$(printf '%s' "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || echo 0)
  f=$(printf '%s' "$line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+' || echo 0)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
}

# Adds up a vitest JSON report (numPassedTests / numFailedTests).
count_vitest() {
  [ -f "$1" ] || return 0
  local pf
  pf=$(node -e 'const r=require(process.argv[1]);console.log(`${r.numPassedTests} ${r.numFailedTests}`)' "$1" 2>/dev/null) || return 0
  passed=$((passed + ${pf% *}))
  failed=$((failed + ${pf#* }))
}

finish() {
  printf '\n=== summary (%ss; KEEL_TEST_SEED=%s PROPTEST_RNG_SEED=%s)\n' "$((SECONDS - suite_start))" "$KEEL_TEST_SEED" "$PROPTEST_RNG_SEED"
  printf '%s\n' "${summary[@]}"
  if [ "$any_failed" = 1 ] && [ "$failed" = 0 ]; then
    # A step failed without a failing test (lint, build, start-up): count it as one failure.
    failed=1
  fi
  # The failed tests by name, last, where a CI log that keeps only its tail still shows them.
  node scripts/failures.ts "$logs" || true
  echo "keel: $passed passed, $failed failed"
  exit "$any_failed"
}

# The e2e file order. CI (CI set) runs one fixed, printed order, so a fresh clone cannot fail on a
# new draw; a local run draws a fresh seed (31 bits, like vitest's own) to explore other orders.
# KEEL_TEST_SEED=<n> replays any run. An order a local seed breaks is a bug to fix, with its seed
# noted in docs/testing.md.
if [ -z "${KEEL_TEST_SEED:-}" ]; then
  if [ -n "${CI:-}" ]; then
    KEEL_TEST_SEED=717218390
  else
    KEEL_TEST_SEED=$(( (RANDOM << 16 | RANDOM << 1 | RANDOM & 1) & 0x7fffffff ))
  fi
fi
export KEEL_TEST_SEED
# Property tests: one fixed seed, so CI draws the same cases every run (and a failure is replayable).
export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261207}"
# CI compiles from an empty target/ once: incremental compilation would only add its bookkeeping
# (time and gigabytes of target/debug/incremental) for a rebuild that never comes. Local runs keep
# it for their next edit.
if [ -n "${CI:-}" ]; then
  export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi
echo "keel: seeds KEEL_TEST_SEED=$KEEL_TEST_SEED PROPTEST_RNG_SEED=$PROPTEST_RNG_SEED (set them to replay this run)"

# The Python wheel is built by the python step beside e2e (whose time is mostly waiting on the
# stack), not by bootstrap on the critical path (KEEL_DEFER_WHEEL).
native=(-p keel-engine -p keel-exchange-sim -p keel-cli -p keel-edge -p keel-durable-objects -p keel-neo4j-proxy)

# The full run compiles the native test targets beside bootstrap: bootstrap mostly waits on npm,
# pip and Maven caches, and the compile needs nothing it installs (only the Rust toolchain, which
# `rustup` already has). The cargo-test step below waits for this compile, prints it, then runs the
# tests. Lints: scripts/clippy-wrapper.sh is the compiler of engine, simulator and CLI here (see
# below), so a lint fails cargo-test.
test_build_pid=""
if [ "$mode" = all ]; then
  export RUSTC_WORKSPACE_WRAPPER="$KEEL_ROOT/scripts/clippy-wrapper.sh"
  export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
  test_build_start=$SECONDS
  printf '\n=== cargo-test compile (beside bootstrap; output in the cargo-test step)\n'
  cargo test "${native[@]}" --all-targets --locked --no-run >"$logs/cargo-test-compile.log" 2>&1 &
  test_build_pid=$!
fi

step bootstrap env KEEL_DEFER_WHEEL=1 bash scripts/bootstrap.sh || { echo "bootstrap failed; nothing else can run" >&2; [ -n "$test_build_pid" ] && kill "$test_build_pid" 2>/dev/null; exit 1; }

step fmt cargo fmt --all -- --check
step ts-lint bash -c 'tsc --noEmit -p tsconfig.json && eslint --max-warnings 0 tests/e2e scripts eslint.config.js && node scripts/check-docs.ts && node scripts/check-layers.ts'
if [ "$mode" = unit ]; then
  step clippy-native cargo clippy -p keel-engine -p keel-exchange-sim -p keel-cli -p keel-py --all-targets --locked -- -D warnings
  step clippy-wasm cargo clippy --target wasm32-unknown-unknown --locked \
    -p keel-edge -p keel-durable-objects -p keel-neo4j-proxy -p keel-engine -- -D warnings
  # The Worker crates' pure unit tests (JWT checks, token bucket, Query API parsing, ...) run
  # natively too: nothing in them touches the JS runtime.
  step cargo-test cargo test "${native[@]}" --locked
  count_cargo "$logs/cargo-test.log"
  finish
fi

# The full run compiles every crate anyway, so no separate check-mode clippy pass compiles the
# dependencies a second time:
# - wasm32: clippy-driver is the compiler of the Workers' workspace crates in their build
#   (KEEL_CLIPPY_WORKERS=1, scripts/build.sh), the same lints on the same crates (edge, Durable
#   Objects, neo4j-proxy, engine) as `cargo clippy --target wasm32-unknown-unknown`;
# - native: scripts/clippy-wrapper.sh is the compiler of engine, simulator and CLI in the build
#   of `cargo test --all-targets` (benches and examples included), as `cargo clippy --all-targets`.
# A lint fails the step that compiled it (build, cargo-test).
export KEEL_CLIPPY_WORKERS=1

# The end-to-end stack runs the Workers' release code built without LTO and wasm-opt (minutes
# less; the same Rust, the same optimisation level) and the simulator and CLI in the dev profile,
# whose dependencies cargo test compiles. Deploys and `npm run bench` use the full build.
export KEEL_BUILD_FOR_TESTS=1
export KEEL_SIM_BIN="${CARGO_TARGET_DIR:-$KEEL_ROOT/target}/debug/keel-exchange-sim"
export KEEL_CLI_BIN="${CARGO_TARGET_DIR:-$KEEL_ROOT/target}/debug/keel"

# The build runs beside cargo test: they lock different folders (target/release and
# target/wasm32-unknown-unknown against target/debug), and on 2 cores one fills the gaps the other
# leaves (a big crate's single-threaded front end, a link). Its output goes to build.log and is
# printed when it ends; its last part (simulator and CLI in the dev profile) waits for cargo
# test's lock and then reuses what cargo test compiled.
build_start=$SECONDS
printf '\n=== build (beside cargo-test; output when it ends): bash scripts/build.sh\n'
bash scripts/build.sh >"$logs/build.log" 2>&1 &
build_pid=$!

# The compile started beside bootstrap (waited for here, in this shell: a step's command runs in a
# pipeline's subshell); the step prints its output, then runs the tests.
wait "$test_build_pid"
test_build_rc=$?
test_build_took=$((SECONDS - test_build_start))
cargo_test_after_compile() {
  cat "$logs/cargo-test-compile.log"
  echo "cargo-test: the compile beside bootstrap took ${test_build_took} s (exit $test_build_rc)"
  [ "$test_build_rc" = 0 ] || return "$test_build_rc"
  cargo test "$@" --locked
}
step cargo-test cargo_test_after_compile "${native[@]}"
count_cargo "$logs/cargo-test.log"


# Cross-checks against Python reference implementations (pinned in tests/python/requirements.txt).
for check in tests/python/check_*.sh; do
  [ -f "$check" ] || continue
  step "py-$(basename "$check" .sh)" bash "$check"
done

wait "$build_pid"
build_rc=$?
printf '\n=== build (ran beside cargo-test; %ss)\n' "$((SECONDS - build_start))"
cat "$logs/build.log"
if [ "$build_rc" = 0 ]; then
  summary+=("ok    $(printf '%-14s' build) $((SECONDS - build_start))s (beside cargo-test)")
else
  summary+=("FAIL  $(printf '%-14s' build) $((SECONDS - build_start))s (exit $build_rc, log .keel/test-logs/build.log)")
  any_failed=1
fi
# The dashboard's unit tests (no stack, no build) run beside the end-to-end tests, which spend most
# of their time waiting on the stack; their output is printed when they end.
ui_pid=""
if [ -f ui/package.json ] && node -e 'process.exit(require("./ui/package.json").scripts?.test ? 0 : 1)'; then
  printf '\n=== ui-test (beside e2e; output when it ends): npm --prefix ui test\n'
  (
    start=$SECONDS
    npm --prefix ui test -- --reporter=default --reporter=json --outputFile.json="$logs/ui.json"
    rc=$?
    echo "$((SECONDS - start))" >"$logs/ui-test.seconds"
    exit "$rc"
  ) >"$logs/ui-test.log" 2>&1 &
  ui_pid=$!
fi
# The Python package (wheel build in the py-release profile, parity with the CLI, notebooks) runs
# beside the end-to-end tests too, at a lower priority so its compile never starves the stack;
# it needs the CLI binary of the build.
py_pid=""
if [ "$build_rc" = 0 ]; then
  printf '\n=== python (beside e2e; output when it ends): nice -n 10 bash scripts/test-python.sh\n'
  (
    start=$SECONDS
    nice -n 10 bash scripts/test-python.sh
    rc=$?
    echo "$((SECONDS - start))" >"$logs/python.seconds"
    exit "$rc"
  ) >"$logs/python.log" 2>&1 &
  py_pid=$!
else
  summary+=("SKIP  python         (build failed: no CLI to compare with)")
fi
if [ "$build_rc" = 0 ]; then
  step e2e node node_modules/vitest/vitest.mjs run --config tests/e2e/vitest.config.ts \
    --reporter=default --reporter=json --outputFile.json="$logs/e2e.json"
  count_vitest "$logs/e2e.json"
else
  summary+=("SKIP  e2e            (build failed)")
fi

if [ -n "$ui_pid" ]; then
  wait "$ui_pid"
  ui_rc=$?
  ui_took="$(cat "$logs/ui-test.seconds" 2>/dev/null || echo '?')"
  printf '\n=== ui-test (ran beside e2e; %ss)\n' "$ui_took"
  cat "$logs/ui-test.log"
  if [ "$ui_rc" = 0 ]; then
    summary+=("ok    $(printf '%-14s' ui-test) ${ui_took}s (beside e2e)")
  else
    summary+=("FAIL  $(printf '%-14s' ui-test) ${ui_took}s (exit $ui_rc, log .keel/test-logs/ui-test.log)")
    any_failed=1
  fi
  count_vitest "$logs/ui.json"
fi

if [ -n "$py_pid" ]; then
  wait "$py_pid"
  py_rc=$?
  py_took="$(cat "$logs/python.seconds" 2>/dev/null || echo '?')"
  printf '\n=== python (ran beside e2e; %ss)\n' "$py_took"
  cat "$logs/python.log"
  if [ "$py_rc" = 0 ]; then
    summary+=("ok    $(printf '%-14s' python) ${py_took}s (beside e2e)")
  else
    summary+=("FAIL  $(printf '%-14s' python) ${py_took}s (exit $py_rc, log .keel/test-logs/python.log)")
    any_failed=1
  fi
  count_pytest "$logs/python.log"
fi

finish
