#!/usr/bin/env bash
# `npm start`: bootstrap the pinned tools, build, then run the whole stack until Ctrl-C.
# See scripts/start.ts for the environment variables it reads.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KEEL_ROOT"
bash scripts/bootstrap.sh
bash scripts/build.sh
exec node scripts/start.ts
