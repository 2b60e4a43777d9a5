#!/usr/bin/env bash
# The `keel` Python package's tests (docs/python.md): builds the wheel into .tools/venv when the
# engine or the package changed (scripts/python-wheel.sh, otherwise a no-op), then runs pytest on
# python/tests: parity with `keel backtest` (fills and net P&L as decimal strings, throughput vs
# the engine alone, printed) and the notebooks executed with nbclient, each shown figure compared
# with the CLI's. Needs the CLI binary: KEEL_CLI_BIN (the test command's dev build), else
# target/debug/keel, built here when missing. The full test command runs it beside e2e.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KEEL_ROOT"

bash scripts/python-wheel.sh
export KEEL_CLI_BIN="${KEEL_CLI_BIN:-${CARGO_TARGET_DIR:-$KEEL_ROOT/target}/debug/keel}"
if [ ! -x "$KEEL_CLI_BIN" ]; then
  echo "test-python: building the CLI ($KEEL_CLI_BIN missing)"
  cargo build -p keel-cli --locked
fi
cd python/tests
exec "$KEEL_VENV/bin/python" -m pytest -q -s -p no:cacheprovider test_parity.py test_notebooks.py
