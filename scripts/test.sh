#!/usr/bin/env bash
# The test suite in tiers. `npm test` (no argument) runs everything: set-up, type-check, lint, then both tiers.
#   bash scripts/test.sh unit          test/*.unit.test.ts: pure logic, fake transport, virtual clock; no QuestDB,
#                                      no set-up beyond `npm ci` (npm run test:unit)
#   bash scripts/test.sh integration   every other test file: real QuestDB, the simulator with real ccxt, the CLI,
#                                      Prometheus, Python (npm run test:integration)
#   bash scripts/test.sh FILE...       just those files
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund

unit_files() { ls test/*.unit.test.ts; }
integration_files() { ls test/*.test.ts | grep -v '\.unit\.test\.ts$'; }
# Unit files run in parallel (they share nothing); integration files one at a time (each starts its own QuestDB).
run_unit() { node --import tsx --test --test-reporter=spec --test-concurrency=2 $(unit_files); }
run_integration() { node --import tsx --test --test-reporter=spec --test-concurrency=1 $(integration_files); }
timed() { local start=$SECONDS rc=0; "$@" || rc=$?; echo "== $1: $((SECONDS - start)) s"; return $rc; }

case "${1:-all}" in
  unit) timed run_unit ;;
  integration) bash scripts/setup.sh; timed run_integration ;;
  all)
    bash scripts/setup.sh
    echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
    echo "== lint"; npx eslint .
    # Both tiers run even if the first fails, so one run shows every failure.
    rc=0
    echo "== unit tier"; timed run_unit || rc=1
    echo "== integration tier"; timed run_integration || rc=1
    exit $rc
    ;;
  *) bash scripts/setup.sh; exec node --import tsx --test --test-reporter=spec --test-concurrency=1 "$@" ;;
esac
