#!/usr/bin/env bash
# End-to-end check of scripts/neo4j.sh against a real server (why: the proxy's contract with
# Neo4j is only worth something if a real 5.26 server behaves as assumed).
#
# Checks: authenticated Query API 202 with data, wrong/missing password 401, UNWIND … MERGE with
# parameters is idempotent, a composite UNIQUE constraint works on Community, data survives a
# restart on the same directory, SIGTERM exits cleanly, --exit-on-stdin-eof stops with the parent.
# Prints start-up time, stop time and RSS. Exit 0 = all passed, 3 = java/mvn missing (skip).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NEO="$REPO/scripts/neo4j.sh"
PW="smoke-test-pw"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/keel-neo4j-smoke.XXXXXX")"
DATA="$WORK/data"
PID=""

cleanup() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [[ -f "$WORK/err" ]]; then tail -20 "$WORK/err" >&2; fi
  exit 1
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

set +e
"$NEO" install
rc=$?
set -e
[[ $rc -eq 0 ]] || exit "$rc"

# Starts the server in the background; sets PID and BASE, echoes the start-up time.
start() {
  local t0 line
  t0="$(now)"
  : >"$WORK/out"
  "$NEO" run --data "$DATA" --port 0 --password "$PW" >"$WORK/out" 2>"$WORK/err" &
  PID=$!
  for _ in $(seq 1 1800); do
    line="$(head -n1 "$WORK/out")"
    if [[ "$line" == NEO4J_READY* ]]; then
      BASE="${line#NEO4J_READY }"
      STARTUP="$(secs "$t0" "$(now)")"
      return 0
    fi
    kill -0 "$PID" 2>/dev/null || fail "server exited before NEO4J_READY"
    sleep 0.1
  done
  fail "no NEO4J_READY within 180 s"
}

stop() {
  local t0
  t0="$(now)"
  kill -TERM "$PID"
  local rc=0
  wait "$PID" || rc=$?
  STOP="$(secs "$t0" "$(now)")"
  PID=""
  # 143 = killed by SIGTERM without a clean exit; the shutdown hook makes it exit normally.
  [[ $rc -eq 0 || $rc -eq 143 ]] || fail "server exit code $rc after SIGTERM"
}

# query USER:PW JSON -> "<status> <body>"
query() {
  curl -s -o "$WORK/body" -w '%{http_code}' -u "$1" -H 'Content-Type: application/json' \
    -H 'Accept: application/json' -d "$2" "$BASE/db/neo4j/query/v2"
  echo " $(cat "$WORK/body")"
}

expect() { # expect NAME ACTUAL PATTERN
  [[ "$2" =~ $3 ]] || fail "$1: got '$2', expected /$3/"
  echo "ok: $1"
}

start
echo "start-up (empty data dir): ${STARTUP}s at $BASE"
[[ "$(wc -l <"$WORK/out")" -eq 1 ]] || fail "stdout must hold exactly one line"

expect "create 202" "$(query "neo4j:$PW" '{"statement":"CREATE (n:T {x:1}) RETURN n.x"}')" \
  '^202 .*"values":\[\[1\]\]'
expect "wrong password 401" "$(query "neo4j:not-the-password" '{"statement":"RETURN 1"}')" \
  '^401 .*Unauthorized'
expect "default password 401" "$(query "neo4j:neo4j" '{"statement":"RETURN 1"}')" '^401 '
expect "no auth 401" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"statement":"RETURN 1"}' "$BASE/db/neo4j/query/v2")" '^401$'
expect "unique constraint" "$(query "neo4j:$PW" \
  '{"statement":"CREATE CONSTRAINT event_key IF NOT EXISTS FOR (e:Event) REQUIRE (e.bot_id, e.seq) IS UNIQUE"}')" \
  '^202 '
MERGE='{"statement":"UNWIND $rows AS r MERGE (e:Event {bot_id: r.b, seq: r.s})","parameters":{"rows":[{"b":"bot-1","s":1},{"b":"bot-1","s":2},{"b":"bot-1","s":2}]},"includeCounters":true}'
expect "unwind merge" "$(query "neo4j:$PW" "$MERGE")" '^202 .*"nodesCreated":2'
expect "unwind merge again" "$(query "neo4j:$PW" "$MERGE")" '^202 .*"nodesCreated":0'

RSS_KB="$(ps -o rss= -p "$PID" | tr -d ' ')" # neo4j.sh execs java: PID is the JVM
stop
echo "stop after SIGTERM: ${STOP}s"

start
echo "start-up (existing data dir): ${STARTUP}s"
expect "data kept after restart" \
  "$(query "neo4j:$PW" '{"statement":"MATCH (n:T) WITH count(n) AS t MATCH (e:Event) RETURN t, count(e)"}')" \
  '^202 .*"values":\[\[1,2\]\]'
stop

# --exit-on-stdin-eof: the server must go when the pipe feeding it closes.
exec 8> >(exec "$NEO" run --data "$DATA" --port 0 --password "$PW" --exit-on-stdin-eof \
  >"$WORK/out" 2>"$WORK/err")
EOFPID=$!
for _ in $(seq 1 1800); do
  grep -q NEO4J_READY "$WORK/out" && break
  sleep 0.1
done
grep -q NEO4J_READY "$WORK/out" || fail "no NEO4J_READY with --exit-on-stdin-eof"
exec 8>&-
for _ in $(seq 1 300); do
  kill -0 "$EOFPID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$EOFPID" 2>/dev/null; then
  kill -TERM "$EOFPID"
  fail "server still running 30 s after stdin closed"
fi
echo "ok: exit on stdin EOF"

echo "RSS after the checks: $((RSS_KB / 1024)) MB"
echo "PASS"
