#!/usr/bin/env bash
# The whole test suite: set-up, type-check, lint, then every test file against real QuestDB.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/setup.sh
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
(cd packages/python && ../../.venv/bin/python -m mypy)
echo "== lint"; npx eslint .
# Arguments pick files: *.test.ts for node --test, *.py (under packages/python/tests) for pytest; none: everything.
ts_files=(); py_files=()
for f in "$@"; do
  case "$f" in *.py) py_files+=("$(realpath "$f")") ;; *) ts_files+=("$f") ;; esac
done
if [ $# -eq 0 ]; then ts_files=(test/*.test.ts); py_files=(tests); fi
status=0
if [ ${#ts_files[@]} -gt 0 ]; then
  echo "== tests (TypeScript)"
  node --import tsx --test --test-reporter=spec --test-concurrency=1 "${ts_files[@]}" || status=$?
fi
if [ ${#py_files[@]} -gt 0 ]; then
  echo "== tests (Python)"
  # pytest exit codes: 0 passed, 1 failures, 2 interrupted, 3 internal error, 4 usage error, 5 no tests collected.
  # Every one but 0 fails the run: collecting nothing means tests went missing, never a pass.
  py_status=0
  (cd packages/python && ../../.venv/bin/python -m pytest -q -p no:cacheprovider "${py_files[@]}") || py_status=$?
  if [ "$py_status" -ne 0 ]; then
    [ "$py_status" -eq 5 ] && echo "pytest collected no tests: failing the run" >&2
    status=$py_status
  fi
fi
exit "$status"
