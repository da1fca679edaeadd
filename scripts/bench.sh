#!/usr/bin/env bash
# Benchmarks (not part of the tests): each compares tradewatch with its peer in the same run, on a real QuestDB.
# Results: bench/results/*.json; summary: BENCHMARKS.md. BENCH_SECONDS sets the sustained-run length (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/setup.sh
echo "== writer vs @questdb/nodejs-client"; node --import tsx bench/writer.bench.ts
echo "== SDK per-call cost vs prom-client"; node --import tsx bench/sdk.bench.ts
echo "== summary"; node --import tsx bench/summary.ts
