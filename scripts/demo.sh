#!/usr/bin/env bash
# The demo stack (README's run command): dependencies and the QuestDB jar if missing, then `tradewatch demo`.
# Arguments go to `tradewatch demo` (e.g. --duration 60, --questdb-url http://host:9000).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
# Progress of a first download is shown; the path it prints is not needed here.
bash scripts/fetch-questdb.sh >/dev/null
exec node packages/cli/bin/tradewatch.js demo "$@"
