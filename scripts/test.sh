#!/usr/bin/env bash
# `npm test` (and CI's .ci/run): the whole test suite, from a fresh clone.
#
#   bootstrap → cargo fmt --check → tsc + eslint (tests/e2e, scripts) → clippy (native crates; wasm32 for the Workers) -D warnings →
#   cargo test (native crates) → tests/python/check_*.sh → build (both Workers, release) → end-to-end tests against the real
#   stack (vitest, tests/e2e) → dashboard unit tests (ui) when ui defines them.
#
# Every step runs even when an earlier independent one failed, so one report shows everything; the
# end-to-end tests need a successful build. Ends with one line `keel: N passed, M failed` (test
# counts) and exits non-zero if any step failed. Logs: .keel/test-logs/.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KEEL_ROOT"

logs="$KEEL_ROOT/.keel/test-logs"
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

# Adds up a vitest JSON report (numPassedTests / numFailedTests).
count_vitest() {
  [ -f "$1" ] || return 0
  local pf
  pf=$(node -e 'const r=require(process.argv[1]);console.log(`${r.numPassedTests} ${r.numFailedTests}`)' "$1" 2>/dev/null) || return 0
  passed=$((passed + ${pf% *}))
  failed=$((failed + ${pf#* }))
}

step bootstrap bash scripts/bootstrap.sh || { echo "bootstrap failed; nothing else can run" >&2; exit 1; }

step fmt cargo fmt --all -- --check
step ts-lint bash -c 'tsc --noEmit -p tsconfig.json && eslint --max-warnings 0 tests/e2e scripts eslint.config.js && node scripts/check-docs.ts'
step clippy-native cargo clippy -p keel-engine -p keel-exchange-sim -p keel-cli --all-targets --locked -- -D warnings
step clippy-wasm cargo clippy --target wasm32-unknown-unknown --locked \
  -p keel-edge -p keel-durable-objects -p keel-neo4j-proxy -p keel-engine -- -D warnings
# The Worker crates' pure unit tests (JWT checks, token bucket, Query API parsing, ...) run
# natively too: nothing in them touches the JS runtime.
step cargo-test cargo test -p keel-engine -p keel-exchange-sim -p keel-cli \
  -p keel-edge -p keel-durable-objects -p keel-neo4j-proxy --locked
count_cargo "$logs/cargo-test.log"

# Cross-checks against Python reference implementations (pinned in tests/python/requirements.txt).
for check in tests/python/check_*.sh; do
  [ -f "$check" ] || continue
  step "py-$(basename "$check" .sh)" bash "$check"
done

if step build bash scripts/build.sh; then
  step e2e node node_modules/vitest/vitest.mjs run --config tests/e2e/vitest.config.ts \
    --reporter=default --reporter=json --outputFile.json="$logs/e2e.json"
  count_vitest "$logs/e2e.json"
else
  summary+=("SKIP  e2e            (build failed)")
fi

if [ -f ui/package.json ] && node -e 'process.exit(require("./ui/package.json").scripts?.test ? 0 : 1)'; then
  step ui-test npm --prefix ui test -- --reporter=default --reporter=json --outputFile.json="$logs/ui.json"
  count_vitest "$logs/ui.json"
fi

printf '\n=== summary (%ss)\n' "$((SECONDS - suite_start))"
printf '%s\n' "${summary[@]}"
if [ "$any_failed" = 1 ] && [ "$failed" = 0 ]; then
  # A step failed without a failing test (lint, build, start-up): count it as one failure.
  failed=1
fi
echo "keel: $passed passed, $failed failed"
exit "$any_failed"
