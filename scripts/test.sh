#!/usr/bin/env bash
# The whole test suite: set-up, type-check, lint, then every test file against real QuestDB.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/setup.sh
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint .
echo "== tests"
if [ $# -gt 0 ]; then files=("$@"); else files=(test/*.test.ts); fi
exec node --import tsx --test --test-reporter=spec --test-concurrency=1 "${files[@]}"
