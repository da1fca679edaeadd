#!/usr/bin/env bash
# The test suite in tiers. `npm test` (no argument) runs everything: set-up, type-check, lint, then every tier.
#   bash scripts/test.sh unit          test/*.unit.test.ts: pure logic, the writer through a fake transport, virtual
#                                      clocks; no QuestDB, no set-up beyond `npm ci` (npm run test:unit)
#   bash scripts/test.sh integration   every other TypeScript test file (real QuestDB, the simulator with real ccxt,
#                                      the CLI, Prometheus) and the Python package's tests (npm run test:integration)
#   bash scripts/test.sh FILE...       just those files: *.test.ts for node --test, *.py (packages/python/tests) for pytest
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund

unit_files() { ls test/*.unit.test.ts; }
integration_files() { ls test/*.test.ts | grep -v '\.unit\.test\.ts$'; }
timed() { local start=$SECONDS rc=0; "$@" || rc=$?; echo "== $1: $((SECONDS - start)) s"; return $rc; }

# Unit files share nothing and run two at a time; integration files one at a time (each starts its own QuestDB).
run_unit() { node --import tsx --test --test-reporter=spec --test-concurrency=2 "$@"; }
run_ts() { node --import tsx --test --test-reporter=spec --test-concurrency=1 "$@"; }
run_python() {
  # pytest exit codes: 0 passed, 1 failures, 2 interrupted, 3 internal error, 4 usage error, 5 no tests collected.
  # Every one but 0 fails the run: collecting nothing means tests went missing, never a pass.
  local py_status=0
  (cd packages/python && ../../.venv/bin/python -m pytest -q -p no:cacheprovider "$@") || py_status=$?
  [ "$py_status" -eq 5 ] && echo "pytest collected no tests: failing the run" >&2
  return "$py_status"
}
run_integration() {
  local status=0
  run_ts $(integration_files) || status=1
  run_python tests || status=1
  return $status
}

case "${1:-all}" in
  unit) timed run_unit $(unit_files) ;;
  integration) bash scripts/setup.sh; timed run_integration ;;
  all)
    bash scripts/setup.sh
    echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
    (cd packages/python && ../../.venv/bin/python -m mypy)
    echo "== lint"; npx eslint .
    # Both tiers run even if the first fails, so one run shows every failure.
    status=0
    echo "== unit tier"; timed run_unit $(unit_files) || status=1
    echo "== integration tier"; timed run_integration || status=1
    exit $status
    ;;
  *)
    bash scripts/setup.sh
    ts_files=(); py_files=()
    for f in "$@"; do
      case "$f" in *.py) py_files+=("$(realpath "$f")") ;; *) ts_files+=("$f") ;; esac
    done
    status=0
    if [ ${#ts_files[@]} -gt 0 ]; then run_ts "${ts_files[@]}" || status=$?; fi
    if [ ${#py_files[@]} -gt 0 ]; then run_python "${py_files[@]}" || status=$?; fi
    exit $status
    ;;
esac
