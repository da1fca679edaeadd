#!/usr/bin/env bash
# Benchmarks (not part of the tests): each compares tradewatch with its peer in the same run, on a real QuestDB.
# Results: bench/results/*.json; summary: BENCHMARKS.md. Sustained-run lengths: BENCH_WRITER_SECONDS (writer bench, 5 rounds
# of 12 s runs), BENCH_PY_SECONDS (Python SDK bench, 5 pairs of 8 s runs), BENCH_SECONDS (overload bench, 60 s).
# The dashboard-query and storage benches share one build of the reference workload: BENCH_DAYS days (default 30,
# ~10-15 min on 2 cores) in BENCH_DATA_ROOT, kept and reused when given, else a temporary root deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/setup.sh
echo "== writer vs @questdb/nodejs-client"; node --import tsx bench/writer.bench.ts
echo "== SDK per-call cost vs prom-client"; node --import tsx bench/sdk.bench.ts
echo "== Python SDK vs the official Python client"; .venv/bin/python bench/python_sdk.bench.py
echo "== installed packages: CLI start, SDK import and footprint"; node --import tsx bench/install.bench.ts
own_root=""
if [ -z "${BENCH_DATA_ROOT:-}" ]; then
  own_root="$(mktemp -d /tmp/tw-bench-ref-XXXXXX)"
  export BENCH_DATA_ROOT="$own_root"
  trap 'rm -rf "$own_root"' EXIT
fi
echo "== dashboard queries over the reference workload (native partitions)"; node --import tsx bench/queries.bench.ts
echo "== storage per table at the reference workload, native, then tiered (Parquet after 1 day)"; node --import tsx bench/storage.bench.ts
echo "== dashboard queries again on tiered storage"; BENCH_STORAGE_TIER=tiered node --import tsx bench/queries.bench.ts
echo "== Parquet codecs: size and a 30-day raw scan"; node --import tsx bench/parquet-codecs.bench.ts
echo "== overload: 5x capacity for 60 s"; node --import tsx bench/overload.bench.ts
echo "== summary"; node --import tsx bench/summary.ts
