#!/usr/bin/env bash
# Fetches the pinned QuestDB server jar into the cache (~/.cache/tradewatch/questdb/, or $TRADEWATCH_CACHE_DIR/questdb/)
# and prints its path. The version, Maven call and sha1 check live in packages/cli/src/questdb/ (one place); this is
# the entry point for setup scripts. Needs: node_modules installed (npm ci), Maven, Java 17+ at run time.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ! -d "$repo_root/node_modules/tsx" ]]; then
  echo "fetch-questdb: run 'npm ci' in $repo_root first" >&2
  exit 1
fi
exec node "$repo_root/packages/cli/bin/tradewatch.js" questdb fetch "$@"
