#!/usr/bin/env bash
# `npm run test:e2e [-- <spec> ...]`: the end-to-end tests alone, against one stack started once
# for the whole invocation. A spec argument is a file path or any part of it (vitest's filter):
#
#   npm run test:e2e -- signal            # tests/e2e/signal.spec.ts only
#   npm run test:e2e -- signal cli        # two files
#   KEEL_TEST_SEED=123 npm run test:e2e   # every file, in the order seed 123 draws
#   npm run test:e2e -- signal -t "403"   # one test by name (any vitest option passes through)
#
# Builds exactly what `npm test` builds for its e2e step (scripts/build.sh with
# KEEL_BUILD_FOR_TESTS=1 and KEEL_CLIPPY_WORKERS=1, each part only when its inputs changed), so
# the two share one build and a green run here is the same stack CI runs.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KEEL_ROOT"
export KEEL_BUILD_FOR_TESTS=1 KEEL_CLIPPY_WORKERS=1
export KEEL_SIM_BIN="${CARGO_TARGET_DIR:-$KEEL_ROOT/target}/debug/keel-exchange-sim"
export KEEL_CLI_BIN="${CARGO_TARGET_DIR:-$KEEL_ROOT/target}/debug/keel"
bash scripts/build.sh
exec node node_modules/vitest/vitest.mjs run --config tests/e2e/vitest.config.ts "$@"
