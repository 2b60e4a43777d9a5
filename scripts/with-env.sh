#!/usr/bin/env bash
# Runs a command inside Keel's tool environment (scripts/env.sh), e.g.
#   bash scripts/with-env.sh wrangler --version
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec "$@"
