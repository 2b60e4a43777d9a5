#!/usr/bin/env bash
# RUSTC_WORKSPACE_WRAPPER of the full test run's native compile (scripts/test.sh): the build of
# `cargo test` is also the native clippy pass (`-D warnings` through CLIPPY_ARGS) of the crates
# that are linted natively — engine, simulator, CLI — so their dependencies are not compiled a
# second time in check mode for a separate `cargo clippy`. scripts/python-wheel.sh uses it too: the
# wheel's build is the clippy pass of keel-py (the Python bindings). The Worker crates (edge, Durable
# Objects, neo4j-proxy) are compiled natively only for their pure unit tests and go straight to
# rustc: they are linted as wasm32, where they run (scripts/build.sh), and natively
# `clippy::result_large_err` fires on 64-bit pointer sizes only.
#
# Cargo calls a workspace wrapper as `<wrapper> <rustc> <args...>`; clippy-driver takes the same.
case "${CARGO_PKG_NAME:-}" in
  keel-engine|keel-exchange-sim|keel-cli|keel-py) exec clippy-driver "$@" ;;
  *) exec "$@" ;;
esac
