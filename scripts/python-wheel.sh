#!/usr/bin/env bash
# Builds the `keel` Python package (python/: PyO3 + maturin, one abi3 wheel for CPython >= 3.11)
# and installs it into .tools/venv, from crates.io and PyPI only (maturin pinned in
# tests/python/requirements.txt, pyo3 pinned in python/Cargo.toml). Run by scripts/bootstrap.sh
# (a side job) and by the test command's python step, where it is a no-op unless the engine or
# the package changed since the installed wheel (a stamp of their sources).
#
# Profile py-release (Cargo.toml): release optimisation, no LTO, parallel codegen — the cheapest
# build whose hot loop is the release engine. The workspace crates are compiled by clippy-driver
# (scripts/clippy-wrapper.sh, -D warnings): this build is keel-py's clippy pass, so no separate
# check-mode pass compiles PyO3 again.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KEEL_ROOT"

py="$KEEL_VENV/bin/python"
[ -x "$py" ] || { echo "python-wheel: $py missing (run scripts/bootstrap.sh)" >&2; exit 2; }
[ -x "$KEEL_VENV/bin/maturin" ] || { echo "python-wheel: maturin missing from .tools/venv (tests/python/requirements.txt)" >&2; exit 2; }

stamp="$KEEL_VENV/.keel-wheel.sha256"
want="$(
  { find engine/src python/src python/keel -type f ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum
    sha256sum Cargo.toml Cargo.lock engine/Cargo.toml python/Cargo.toml python/pyproject.toml \
      scripts/python-wheel.sh
  } | sha256sum | cut -d' ' -f1
)"
if [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ] && "$py" -c 'import keel' 2>/dev/null; then
  echo "python-wheel: keel is up to date in .tools/venv"
  exit 0
fi

start=$SECONDS
out="$KEEL_ROOT/target/wheels"
rm -rf "$out"
RUSTC_WORKSPACE_WRAPPER="$KEEL_ROOT/scripts/clippy-wrapper.sh" \
CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" \
  "$KEEL_VENV/bin/maturin" build --quiet --locked --profile py-release \
  --manifest-path python/Cargo.toml --interpreter "$py" --out "$out" >&2
"$py" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$out"/keel-*.whl
echo "$want" > "$stamp"
echo "python-wheel: built and installed $(basename "$out"/keel-*.whl) in $((SECONDS - start))s"
