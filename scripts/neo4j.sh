#!/usr/bin/env bash
# Keel's local/test Neo4j 5.26 Community server (see tests/neo4j/README.md).
#
# Why: the audit trail lives in Neo4j and the neo4j-proxy Worker talks to it over the HTTP Query
# API; tests and local runs need a REAL server, and Maven Central is the only place we may get one.
#
#   scripts/neo4j.sh install
#       Fetch the pinned jars (tests/neo4j/pom.xml) into $KEEL_TOOLS_DIR/neo4j/lib and compile the
#       launcher into $KEEL_TOOLS_DIR/neo4j/classes. Idempotent: a stamp keyed on the pom and the
#       launcher source makes a repeat run a no-op.
#   scripts/neo4j.sh run --data DIR --password PW [--port PORT] [--exit-on-stdin-eof]
#       Exec the server (installing first if needed). Prints exactly one stdout line
#       `NEO4J_READY http://127.0.0.1:PORT` once the Query API answers; logs go to DIR/logs.
#       PORT 0 (default) picks a free port. The password may instead come from KEEL_NEO4J_PASSWORD.
#
# Environment: KEEL_TOOLS_DIR (default <repo>/.tools), KEEL_NEO4J_HEAP (default 512m),
#              KEEL_NEO4J_JVM_OPTS (extra JVM options, appended last).
# Exit codes: 2 usage error, 3 java/mvn missing or unusable (callers may skip Neo4j tests),
#             4 install failed, otherwise the launcher's own code.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${KEEL_TOOLS_DIR:-$REPO/.tools}"
HOME_DIR="$TOOLS/neo4j"
LIB="$HOME_DIR/lib"
CLASSES="$HOME_DIR/classes"
STAMP="$HOME_DIR/.stamp"
POM="$REPO/tests/neo4j/pom.xml"
SRC_DIR="$REPO/tests/neo4j/src/main/java"
MAIN_CLASS="dev.keel.neo4j.KeelNeo4j"

die() {
  local code="$1"
  shift
  echo "neo4j.sh: $*" >&2
  exit "$code"
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Java 17+ is what Neo4j 5.26 supports; anything else is "tool missing" for callers.
require_java() {
  command -v java >/dev/null 2>&1 || die 3 "java not found on PATH (need JDK 17+)"
  command -v javac >/dev/null 2>&1 || die 3 "javac not found on PATH (need a JDK 17+, not a JRE)"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "$major" =~ ^[0-9]+$ ]] || die 3 "cannot read the Java version"
  ((major >= 17)) || die 3 "Java $major found; Neo4j 5.26 needs 17 or newer"
}

current_key() {
  { cat "$POM"; find "$SRC_DIR" -name '*.java' -type f | LC_ALL=C sort | xargs cat; } |
    sha256sum | cut -d' ' -f1
}

is_installed() {
  [[ -f "$STAMP" && -d "$LIB" && -d "$CLASSES" ]] && [[ "$(cat "$STAMP")" == "$(current_key)" ]]
}

do_install() {
  require_java
  if is_installed; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die 3 "mvn not found on PATH (needed once to fetch Neo4j jars)"
  mkdir -p "$HOME_DIR"
  # One installer at a time (tests may start several servers in parallel).
  exec 9>"$HOME_DIR/.lock"
  if command -v flock >/dev/null 2>&1; then
    flock 9
  fi
  if is_installed; then
    exec 9>&-
    return 0
  fi
  local key tmp
  key="$(current_key)"
  tmp="$(mktemp -d "$HOME_DIR/.install.XXXXXX")"
  # A fresh folder each time: copying over an old lib/ would mix two Neo4j versions.
  # (Debian's Maven 3.8 prints stray colour resets even in batch mode; strip them.)
  if ! mvn -q -B -f "$POM" dependency:copy-dependencies \
    -DoutputDirectory="$tmp/lib" -DincludeScope=runtime 2>&1 | sed $'s/\e\\[0m//g' >&2; then
    rm -rf "$tmp"
    die 4 "mvn dependency:copy-dependencies failed (see output above)"
  fi
  mkdir -p "$tmp/classes"
  local sources=()
  mapfile -t sources < <(find "$SRC_DIR" -name '*.java' -type f | LC_ALL=C sort)
  if ! javac -nowarn --release 17 -encoding UTF-8 -cp "$tmp/lib/*" -d "$tmp/classes" "${sources[@]}" >&2; then
    rm -rf "$tmp"
    die 4 "javac failed on the launcher"
  fi
  rm -rf "$LIB" "$CLASSES"
  mv "$tmp/lib" "$LIB"
  mv "$tmp/classes" "$CLASSES"
  rm -rf "$tmp"
  echo "$key" >"$STAMP"
  exec 9>&- # release the lock; `run` must not hand it to the java process
  echo "neo4j.sh: installed Neo4j jars into $LIB" >&2
}

do_run() {
  # Validate the arguments the script itself needs; the launcher re-validates everything.
  local data=""
  local args=("$@")
  local i
  for ((i = 0; i < ${#args[@]}; i++)); do
    if [[ "${args[$i]}" == "--data" ]]; then
      data="${args[$((i + 1))]:-}"
    fi
  done
  [[ -n "$data" ]] || die 2 "run: --data DIR is required"
  do_install
  # C1-only JIT and the serial GC: on 2 shared cores they halve the CPU spent starting up
  # (~12 s instead of ~21 s) and used less CPU for the first 300 audit batches too; RSS ~340 MB
  # instead of ~430 MB. KEEL_NEO4J_JVM_OPTS comes last so it can override any of these
  # (e.g. -XX:TieredStopAtLevel=4 -XX:+UseG1GC for a long load test).
  local extra=()
  if [[ -n "${KEEL_NEO4J_JVM_OPTS:-}" ]]; then
    read -r -a extra <<<"$KEEL_NEO4J_JVM_OPTS"
  fi
  # The JVM refuses two collectors, so a GC chosen in KEEL_NEO4J_JVM_OPTS replaces ours.
  local gc=(-XX:+UseSerialGC)
  if [[ " ${KEEL_NEO4J_JVM_OPTS:-} " =~ \ -XX:\+Use[A-Za-z0-9]+GC\  ]]; then
    gc=()
  fi
  exec java \
    -Xms128m -Xmx"${KEEL_NEO4J_HEAP:-512m}" \
    -XX:TieredStopAtLevel=1 "${gc[@]}" \
    -XX:-OmitStackTraceInFastThrow -XX:+ExitOnOutOfMemoryError \
    --add-opens=java.base/java.nio=ALL-UNNAMED \
    --add-opens=java.base/java.io=ALL-UNNAMED \
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    -Dio.netty.tryReflectionSetAccessible=true \
    -Djdk.nio.maxCachedBufferSize=1024 \
    -Dlog4j2.disable.jmx=true \
    "${extra[@]}" \
    -cp "$CLASSES:$LIB/*" "$MAIN_CLASS" "$@"
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  install) do_install ;;
  run) do_run "$@" ;;
  -h | --help | help | "") usage ;;
  *) die 2 "unknown command: $cmd (expected install or run)" ;;
esac
