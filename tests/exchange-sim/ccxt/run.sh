#!/usr/bin/env bash
# Runs the ccxt independent-client check against a running simulator.
# Usage: tests/exchange-sim/ccxt/run.sh http://127.0.0.1:PORT
# Uses .tools/venv (created by the bootstrap from tests/python/requirements.txt) when present,
# else $KEEL_PYTHON, else python3 (which then needs ccxt installed).
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 <sim_url>" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
py="${KEEL_PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x "$root/.tools/venv/bin/python" ]; then py="$root/.tools/venv/bin/python"; else py="python3"; fi
fi
exec "$py" "$here/ccxt_check.py" "$1"
