#!/usr/bin/env bash
# Builds everything the local stack serves: the dashboard (ui/dist), the edge Worker with its
# Durable Objects (build/), the neo4j-proxy Worker (neo4j-proxy/build/) and the exchange simulator.
#
# Why ahead of wrangler: wrangler.toml has no [build] command, so `wrangler dev` starts in seconds
# and tests never recompile per run. Each Worker is rebuilt only when a Rust input changed
# (a content hash kept next to its output); `--force` rebuilds regardless.
#
# Usage: bash scripts/build.sh [--force]
# KEEL_NO_WASM_OPT=1 skips wasm-opt (binaryen's JavaScript build takes most of an incremental
# build's time) for a quicker edit-run loop; the stamp records it, so the next normal build
# optimises again. Deploys and benchmarks use the optimised build.
# KEEL_BUILD_FOR_TESTS=1 (scripts/test.sh sets it) builds what the end-to-end tests run: the
# Workers' release code at the same opt-level without LTO (16 codegen units) and without
# wasm-opt, and the simulator and CLI in the dev profile, whose dependencies `cargo test` has
# already compiled (target/debug; KEEL_SIM_BIN and KEEL_CLI_BIN point there). The stamp records
# the flavour, so a normal build afterwards rebuilds the full release.
# KEEL_CLIPPY_WORKERS=1 (scripts/test.sh sets it) compiles the Workers' workspace crates with
# clippy-driver -D warnings (RUSTC_WORKSPACE_WRAPPER): the build is then also their wasm32 clippy
# pass, and a lint fails it.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KEEL_ROOT"
keel_check_env

force=0
[ "${1:-}" = "--force" ] && force=1
for_tests="${KEEL_BUILD_FOR_TESTS:-0}"
if [ "$for_tests" = 1 ]; then
  export KEEL_NO_WASM_OPT=1 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
fi

log() { printf 'build: %s\n' "$*" >&2; }

# Content hash of the given files/folders (Rust sources and manifests), stable across checkouts.
inputs_hash() {
  find "$@" \( -name build -o -name target -o -name node_modules \) -prune -o \
       -type f \( -name '*.rs' -o -name 'Cargo.toml' -o -name 'Cargo.lock' -o -name '*.json' \) \
       -print 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum | sha256sum | cut -d' ' -f1
}

# worker_build <crate dir> <stamp inputs...>: worker-build --release unless the stamp matches.
worker_build() {
  local dir="$1"; shift
  local sum stamp="$dir/build/.keel-inputs.sha256"
  # The flavour too: wasm-opt or not, for tests or not, linted by clippy-driver or not.
  sum="$(inputs_hash "$@")-opt${KEEL_NO_WASM_OPT:-0}-tests${for_tests}-clippy${KEEL_CLIPPY_WORKERS:-0}"
  if [ "$force" = 0 ] && [ -f "$dir/build/index.js" ] && [ -f "$dir/build/index_bg.wasm" ] \
     && [ "$(cat "$stamp" 2>/dev/null || true)" = "$sum" ]; then
    log "${dir#"$KEEL_ROOT"} up to date"
    return 0
  fi
  log "worker-build --release in ${dir#"$KEEL_ROOT"}/"
  local start=$SECONDS pkg
  pkg="$(sed -n 's/^name = "\(.*\)"/\1/p' "$dir/Cargo.toml" | head -1)"
  # The root is also the workspace root, whose default-members are the native crates: name the
  # package so cargo builds the Worker itself.
  local opt=()
  [ "${KEEL_NO_WASM_OPT:-0}" = 1 ] && opt=(--no-opt)
  # Size, not speed, for a Worker: the release profile's opt-level 3 is for the native binaries.
  local lint=()
  [ "${KEEL_CLIPPY_WORKERS:-0}" = 1 ] \
    && lint=(RUSTC_WORKSPACE_WRAPPER=clippy-driver "CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__")
  (cd "$dir" && env "${lint[@]}" CARGO_PROFILE_RELEASE_OPT_LEVEL=s worker-build --release "${opt[@]}" . -p "$pkg") >&2
  echo "$sum" > "$stamp"
  log "${dir#"$KEEL_ROOT"}/build/index_bg.wasm $(stat -c %s "$dir/build/index_bg.wasm") bytes ($((SECONDS - start)) s)"
}

# 1. Dashboard assets: wrangler refuses a missing assets directory, so it always exists.
if [ -f ui/package.json ] && grep -q '"build"' ui/package.json; then
  if [ "$force" = 1 ] || [ ! -f ui/dist/index.html ] \
     || [ -n "$(find ui/src ui/public ui/index.html ui/package.json ui/vite.config.* -newer ui/dist/index.html 2>/dev/null | head -1)" ]; then
    log "npm --prefix ui run build"
    npm --prefix ui run build >&2
  else
    log "ui/dist up to date"
  fi
fi
mkdir -p ui/dist

# 2. Workers (release, optimised for size: opt-level "s" and wasm-opt).
worker_build "$KEEL_ROOT" Cargo.toml Cargo.lock src durable_objects engine
worker_build "$KEEL_ROOT/neo4j-proxy" Cargo.toml Cargo.lock neo4j-proxy/Cargo.toml neo4j-proxy/src engine

# 3. Exchange simulator binary (native); the stack runs it directly. The `keel` CLI (cli/) too.
if [ "$for_tests" = 1 ]; then
  log "cargo build -p keel-exchange-sim -p keel-cli (dev profile, for tests)"
  cargo build --quiet -p keel-exchange-sim -p keel-cli >&2
else
  log "cargo build -p keel-exchange-sim -p keel-cli --release"
  cargo build --quiet -p keel-exchange-sim -p keel-cli --release >&2
fi
log "done"
