#!/usr/bin/env bash
# The test suite in tiers. `npm test` (no argument) runs everything: set-up, type-check, lint, then every tier.
#   bash scripts/test.sh unit          test/*.unit.test.ts, all in one process (test/unit-tier.ts): pure logic, the
#                                      writer through a fake transport, virtual clocks; no QuestDB, no set-up beyond
#                                      `npm ci` (npm run test:unit)
#   bash scripts/test.sh integration   every other TypeScript test file (real QuestDB, the simulator with real ccxt,
#                                      the CLI, Prometheus) and the Python package's tests (npm run test:integration)
#   bash scripts/test.sh FILE...       just those files: *.test.ts for node --test, *.py (packages/python/tests) for pytest
# Before the integration tier (and FILE...) the CLI is compiled, once per run and only if its source changed since the
# last build, and the tests' `tradewatch` runs use that compiled copy: TRADEWATCH_TEST_COMPILED_CLI=1 (exported here
# once the build is current, inherited by every child; see packages/cli/bin/tradewatch.js, scripts/compiled-cli.js).
# Unset, as under `npm run test:only`, the CLI runs from the TypeScript source through tsx.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
# Only this script decides which CLI the tests run: a value left in the caller's shell could be a stale promise.
unset TRADEWATCH_TEST_COMPILED_CLI

# Test data on tmpfs when there is room for it: every test QuestDB's data root, spool and scratch directory is made in
# TMPDIR. On this machine's ext4 (mounted with discard) copying the 1,800-file schema template took 0.76 s of kernel
# time against 0.05 s on /dev/shm, and a whole run's kernel time fell from 108 to 82 core-s. The servers are as real
# either way; only the page cache they write to is not backed by a disk. A run peaks at about 5.3 GB there (the
# packaging test's README run alone takes 4.3 GB: its QuestDB has the product's 16 MiB append pages), so a /dev/shm
# with less than 8 GiB free (a container's default is 64 MiB) is left alone; TRADEWATCH_TEST_TMPDIR chooses the place
# instead. Each run has a directory of its own there, deleted when the run ends (tmpfs is memory: what a test leaves
# behind must not outlive the run), and directories of runs that are gone are deleted when the next run starts.
use_test_tmpdir() {
  local base=${TRADEWATCH_TEST_TMPDIR:-} old
  if [ -z "$base" ]; then
    [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ] || return 0
    [ "$(( $(stat -f -c '%a * %S' /dev/shm) ))" -ge $((8 << 30)) ] || return 0
    base=/dev/shm/tradewatch-test-$(id -u)
  fi
  mkdir -p "$base" || return 0
  for old in "$base"/run-*; do
    [ -d "$old" ] && ! kill -0 "${old##*-}" 2>/dev/null && rm -rf "$old"
  done
  test_tmpdir="$base/run-$$"
  mkdir -p "$test_tmpdir" && export TMPDIR=$test_tmpdir
  trap 'rm -rf "$test_tmpdir"' EXIT
}
use_test_tmpdir

integration_files() { ls test/*.test.ts | grep -v '\.unit\.test\.ts$'; }
# Files whose scenarios depend on getting CPU in time: the scenario files drive a daemon against the simulator on the
# real clock (keepalive deadlines, reconnect backoff, fetch windows), and the overload test needs a producer faster
# than its writer for 3 s. They run one at a time, in their own lane after pytest (python_then_real_clock).
real_clock_files() { ls test/scenario-*.test.ts test/storage-overload.test.ts; }
# The longest shared files first: started last, one of them would run alone at the end of the lane while the other
# slots have nothing left. Longest in the suite, where a file waits on a timer as long as it does alone but gets about
# 0.4 of a core: the larger of its wall time alone and 2.5 x its CPU alone (each file alone, idle AMD EPYC 2 cores,
# 2026-12-04; packaging 36 s / 51 core-s, simulator 43 s / 5, demo 16 s / 16). A stale list costs only time, never a test.
slowest_first=(packaging simulator demo ilp-contract redaction grafana-queries storage-faults grafana-questdb-health
  alerts-default-scale alerts-writer-backlog cli alerts-recovery questdb-lifecycle storage-writer schema-apply)
shared_files() {
  local all name
  all="$(integration_files | grep -v -e '^test/scenario-' -e '^test/storage-overload\.test\.ts$')"
  for name in "${slowest_first[@]}"; do grep -x "test/$name.test.ts" <<<"$all" || true; done
  grep -v -x -F "$(printf 'test/%s.test.ts\n' "${slowest_first[@]}")" <<<"$all"
}
# timed LABEL COMMAND...: runs COMMAND, then says how long it took.
timed() { local label=$1 start=$SECONDS rc=0; shift; "$@" || rc=$?; echo "== $label: $((SECONDS - start)) s"; return $rc; }

# Unit files share nothing and run in one process: test/unit-tier.ts imports every test/*.unit.test.ts (a process per
# file doubled the tier's CPU; see there). Integration files run three at a time (but for the real-clock
# scenarios, below): each starts its own QuestDB (fresh temp data root, free loopback ports, a retry when a port is
# lost to a race) and its own simulator (port 0), and much of their time is spent waiting on a starting JVM, a child
# process or a timer: with two at a time a whole run used 792 core-s in 520 s (idle machine), a quarter of the cores idle.
# TW_TEST_CONCURRENCY overrides the integration files' concurrency (1: one file at a time).
run_unit() { node --import tsx --test --test-reporter=spec test/unit-tier.ts; }
run_ts() { node --import tsx --test --test-reporter=spec --test-concurrency="${TW_TEST_CONCURRENCY:-3}" "$@"; }

# The compiled CLI (transpiled with esbuild as tsx does, staged in packages/cli/.test-build; nothing to do when the
# source is unchanged):
# tests spawn `tradewatch` hundreds of times, and from the source each start pays tsx (~0.45 s of CPU more apiece).
build_compiled_cli() { timed 'compiled CLI' node scripts/compiled-cli.js; }
# use_compiled_cli STATUS: after a build that ended with STATUS, the tests run the compiled CLI, or the source if the
# build failed (said, never silent; the caller decides whether that fails the run).
use_compiled_cli() {
  if [ "$1" -eq 0 ]; then
    export TRADEWATCH_TEST_COMPILED_CLI=1
  else
    echo "== the compiled CLI did not build: the tests run the CLI from its source (through tsx)" >&2
    return 1
  fi
}

# Test servers start faster with a class-data archive of QuestDB (made once per machine, next to the cached jar) and
# C1-only JIT: start-up compilation is most of a short-lived server's start time, and tests never run one long enough
# for C2 to pay off. Explicit GCs off: QuestDB calls System.gc() twice as it starts (two full collections, 0.19 s of
# pause on two GC threads; it keeps its data off-heap, so they only tidy the start's garbage), and without them a
# start-to-stop of an idle test server took 1.8-2.0 s of CPU instead of 2.1-2.4 (4 starts each, AMD EPYC 2 cores).
# Set TRADEWATCH_QUESTDB_JVM_OPTIONS (even to "") to choose otherwise. Benchmarks do not use this.
questdb_test_jvm() {
  [ -n "${TRADEWATCH_QUESTDB_JVM_OPTIONS+set}" ] && return 0
  local archive
  archive="$(node --import tsx scripts/questdb-class-archive.ts)"
  export TRADEWATCH_QUESTDB_JVM_OPTIONS="-XX:TieredStopAtLevel=1 -XX:+DisableExplicitGC${archive:+ -XX:SharedArchiveFile=$archive}"
}

# Runs "$@" with its output kept in a file; lane_wait prints it whole once it has ended (lanes run side by side and
# would otherwise interleave their lines) and returns its status.
declare -A lane_pid lane_log
lane_start() {
  local name=$1; shift
  lane_log[$name]="$(mktemp "${TMPDIR:-/tmp}/tradewatch-test-$name.XXXXXX")"
  "$@" >"${lane_log[$name]}" 2>&1 &
  lane_pid[$name]=$!
}
lane_wait() {
  local name=$1 rc=0
  wait "${lane_pid[$name]}" || rc=$?
  cat "${lane_log[$name]}"; rm -f "${lane_log[$name]}"
  return $rc
}
run_python() {
  # pytest exit codes: 0 passed, 1 failures, 2 interrupted, 3 internal error, 4 usage error, 5 no tests collected.
  # Every one but 0 fails the run: collecting nothing means tests went missing, never a pass.
  local py_status=0
  (cd packages/python && ../../.venv/bin/python -m pytest -q -p no:cacheprovider "$@") || py_status=$?
  [ "$py_status" -eq 5 ] && echo "pytest collected no tests: failing the run" >&2
  return "$py_status"
}
# mypy (strict) over the Python package, then its tests: both need the .venv set-up makes.
python_lane() {
  local status=0
  (cd packages/python && timed mypy ../../.venv/bin/python -m mypy) || status=1
  # Two workers, each file whole on one of them (each worker starts its own session QuestDB through the CLI).
  timed 'integration tier (Python)' run_python -n 2 --dist loadfile tests || status=1
  return $status
}
# The real-clock files one at a time, after the Python lane: that lane is the shorter one, so they overlap the shared
# TypeScript files instead of running alone after them on a half-idle machine (the two lanes end within seconds of
# each other on an idle machine). They are proven to pass while two busy loops take the cores besides.
python_then_real_clock() {
  local status=0
  python_lane || status=1
  TW_TEST_CONCURRENCY=1 timed 'integration tier (TypeScript, real-clock scenarios)' run_ts $(real_clock_files) || status=1
  return $status
}
# The TypeScript files three at a time beside pytest (its own QuestDB, through the CLI), then the real-clock files.
run_integration() {
  local status=0
  lane_start python-then-real-clock python_then_real_clock
  timed 'integration tier (TypeScript, three files at a time)' run_ts $(shared_files) || status=1
  lane_wait python-then-real-clock || status=1
  return $status
}
checks_then_unit() {
  local status=0
  # At the default priority: niced, this lane finished last (type-check 150-200 s for 15 s of work on an idle
  # machine, about 900 s while two busy loops took the cores), and the run ends with its last lane.
  timed typecheck npx tsc -p tsconfig.json --noEmit || status=1
  timed lint npx eslint . || status=1
  timed 'unit tier' run_unit || status=1
  return $status
}

case "${1:-all}" in
  unit) timed 'unit tier' run_unit ;;
  integration)
    status=0
    bash scripts/setup.sh; questdb_test_jvm
    build_status=0; build_compiled_cli || build_status=$?
    use_compiled_cli "$build_status" || status=1
    timed 'integration tier' run_integration || status=1
    exit $status
    ;;
  all)
    start=$SECONDS
    # Three lanes side by side: the type-check, lint and unit tier (they need only node_modules, so they start while
    # set-up installs the Python side and QuestDB), the TypeScript integration files, mypy then pytest. Every lane runs
    # to its end even when another fails, so one run shows every failure.
    status=0
    lane_start checks checks_then_unit
    bash scripts/setup.sh; questdb_test_jvm
    echo "== set-up: $((SECONDS - start)) s"
    build_status=0; build_compiled_cli || build_status=$?
    use_compiled_cli "$build_status" || status=1
    timed 'integration tier' run_integration || status=1
    lane_wait checks || status=1
    echo "== whole suite: $((SECONDS - start)) s"
    exit $status
    ;;
  *)
    bash scripts/setup.sh
    ts_files=(); py_files=()
    for f in "$@"; do
      case "$f" in *.py) py_files+=("$(realpath "$f")") ;; *) ts_files+=("$f") ;; esac
    done
    questdb_test_jvm
    # A failed build only warns here: these files run from the source then, and the full run reports the build.
    build_status=0; build_compiled_cli || build_status=$?
    use_compiled_cli "$build_status" || true
    status=0
    if [ ${#ts_files[@]} -gt 0 ]; then run_ts "${ts_files[@]}" || status=$?; fi
    if [ ${#py_files[@]} -gt 0 ]; then run_python "${py_files[@]}" || status=$?; fi
    exit $status
    ;;
esac
