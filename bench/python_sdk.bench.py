"""Python SDK vs the official Python `questdb` client, side by side in one run on a real QuestDB (started through the
project's CLI on a throwaway data root). Writes bench/results/python.json; bench/summary.ts renders it.

Every case runs the two sides in pairs, alternating which goes first, each run starting once QuestDB has applied every
earlier row and after a garbage collection; the result is the median of the pairs' ratios, reported with their min
and max (the same statistic for both sides: no best-of-N).

1. Cost of one call, as CPU time of the thread doing the work (wall time on a shared 2-core machine counts the waits
   for a core): `Sender.row()` alone (auto-flush off; the buffer is sent between timed chunks) vs `Monitor.fetch` on
   the caller's thread (validation, metrics, queueing) plus the encoding of its row into ILP, which the writer thread
   does later: timed here with that thread held off, so nothing is sent during the timed chunks on either side.
   Also, as information: the wall time per call of a caller's loop with the writer thread running (GIL hand-overs,
   the collections the thread's allocations trigger) and the p99/max of single hook calls. That figure depends on
   the scheduler and the load; it is the one that swung from 0.9x to 2.6x between earlier runs.
2. Sustained throughput into QuestDB for BENCH_PY_SECONDS: the SDK's hooks with its background writer vs `Sender.row()`
   with the client's default auto-flush, both until every row is acknowledged.
3. Backtest DataFrames: `post_backtest` (checks + `Buffer.dataframe` + a default writer) vs the client's own
   `Sender.dataframe()` on the same frames, rows acknowledged.

Usage: .venv/bin/python bench/python_sdk.bench.py   (BENCH_PY_SECONDS, default 8: five pairs of short runs follow the
machine's load better than two long ones; BENCH_FRAME_ROWS, default 500000;
BENCH_CASES, default "cost,throughput,dataframe": a subset prints its results and leaves bench/results alone)
"""

from __future__ import annotations

import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, cast

import numpy as np
import pandas as pd

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "packages/python/tests"))
from conftest import QuestDb, cli, free_port  # noqa: E402  (the tests' CLI-driven QuestDB)

import questdb  # noqa: E402
from tradewatch import Monitor, Writer  # noqa: E402
from tradewatch._qdb import Sender, TimestampNanos  # noqa: E402
from tradewatch.backtest import post_backtest  # noqa: E402

SECONDS = float(os.environ.get("BENCH_PY_SECONDS", "8"))
FRAME_ROWS = int(os.environ.get("BENCH_FRAME_ROWS", "500000"))
EXCHANGES = ["binanceusdm", "bybit", "okx", "bitget", "hyperliquid"]
SYMBOLS = [f"C{i}/USDT:USDT" for i in range(50)]
CHUNK = 10_000
# Paired runs per case (one run of each side per pair, the order alternating between pairs); the result is the median
# of the pairs' ratios, and their min and max are reported with it. About 3.5 minutes in all on 2 cores.
COST_PAIRS, TP_PAIRS, DF_PAIRS = 5, 5, 5
CASES = {"cost", "throughput", "dataframe"}
SELECTED = set(os.environ.get("BENCH_CASES", ",".join(sorted(CASES))).split(","))
if not SELECTED <= CASES:
    raise SystemExit(f"BENCH_CASES: unknown case(s) {sorted(SELECTED - CASES)}; cases are {sorted(CASES)}")


def _chunked(call: Callable[[int], None], calls: int, between: Callable[[], object] | None = None) -> tuple[float, float]:
    """Runs ``call(i)`` for i in range(calls) in timed chunks (``between`` runs between them, untimed); the medians over
    chunks of the wall time and of the calling thread's CPU time per call, in ns. Both sides go through it: the same
    loop and closure call around each row."""
    walls, cpus = [], []
    for chunk in range(calls // CHUNK):
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        for i in range(chunk * CHUNK, (chunk + 1) * CHUNK):
            call(i)
        walls.append((time.perf_counter_ns() - w0) / CHUNK)
        cpus.append((time.thread_time_ns() - c0) / CHUNK)
        if between is not None:
            between()
    return statistics.median(walls), statistics.median(cpus)


def official_row_cost(q: QuestDb, calls: int) -> dict[str, float]:
    """``Sender.row()`` alone (auto-flush off): the buffer is sent between timed chunks."""
    conf = f"http::addr=127.0.0.1:{q.http_port};protocol_version=1;auto_flush=off;"
    t0 = time.time_ns()
    with Sender.from_conf(conf) as s:
        row = s.row

        def call(i: int) -> None:
            row("tw_fetches", symbols={"service": "bench-py", "instance": "official-cost", "exchange": EXCHANGES[i % 5],
                                       "dataset": "open_interest", "symbol": SYMBOLS[i % 50], "status": "ok"},
                columns={"latency_ms": 12.5, "records": i}, at=TimestampNanos(t0 + i * 1000))
        wall, cpu = _chunked(call, calls, s.flush)
    return {"wallNs": wall, "cpuNs": cpu}


def _cost_monitor(q: QuestDb) -> Monitor:
    # 200k calls in a second or two outpace any delivery: a memory bound that holds them all (as in the throughput
    # case), so that no row is dropped (a dropped batch is never sent: it would make the hook look cheaper than it is).
    return Monitor("bench-py", instance="sdk-cost", questdb=q.url, sample_interval=0,
                   writer_options={"stats_interval": 0, "max_buffered_bytes": 256 << 20})


def _fetch(mon: Monitor) -> Callable[[int], None]:
    fetch = mon.fetch

    def call(i: int) -> None:
        fetch(EXCHANGES[i % 5], "open_interest", SYMBOLS[i % 50], "ok", latency_ms=12.5, records=i)
    return call


def sdk_hook_work(q: QuestDb, calls: int) -> dict[str, float]:
    """The whole CPU work of a hook call, without I/O (as ``Sender.row()`` alone): ``Monitor.fetch`` on the caller's
    thread while the writer thread is held off (it waits on the writer's encode lock, as it does while a hook encodes
    an overlong queue), then the encoding of those rows into ILP, the part the writer thread does later, timed here
    on this thread. Held off, the thread neither competes for the GIL nor sends during the timed chunks, exactly as
    the peer sends only between them."""
    mon = _cost_monitor(q)
    w = cast(Writer, mon.writer)
    w._encode_lock.acquire()  # bench-only use of internals: the thread's encode step waits on this lock
    try:
        wall, cpu = _chunked(_fetch(mon), calls)
        c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
        w._encode_queue()  # what the thread would do with the queued rows, here, timed
        encode_cpu, encode_wall = (time.thread_time_ns() - c0) / calls, (time.perf_counter_ns() - w0) / calls
    finally:
        w._encode_lock.release()
    stats = mon.shutdown()
    assert stats is not None and stats.balanced and stats.rows_dropped == 0 and stats.rows_written >= calls, stats
    return {"hookWallNs": wall, "hookCpuNs": cpu, "encodeCpuNs": encode_cpu, "encodeWallNs": encode_wall,
            "cpuNs": cpu + encode_cpu}


def sdk_hook_concurrent(q: QuestDb, calls: int) -> dict[str, float]:
    """``Monitor.fetch`` as a caller's loop sees it: the writer thread runs meanwhile (encoding and sending, holding
    the GIL in turns; its allocations trigger collections in the caller's chunks), and single calls timed one by one."""
    mon = _cost_monitor(q)
    call = _fetch(mon)
    wall, cpu = _chunked(call, calls)
    singles = []
    for i in range(calls // 2):
        a = time.perf_counter_ns()
        call(i)
        singles.append(time.perf_counter_ns() - a)
    stats = mon.shutdown()
    assert stats is not None and stats.balanced and stats.rows_dropped == 0, stats
    singles.sort()
    return {"wallNs": wall, "cpuNs": cpu, "p99Us": singles[int(len(singles) * 0.99)] / 1e3, "maxUs": singles[-1] / 1e3}


def spread(ratios: list[float]) -> dict[str, object]:
    """The paired runs' ratios: their median (the result) and their spread."""
    return {"ratio": statistics.median(ratios), "min": min(ratios), "max": max(ratios), "pairs": ratios}


def settled(q: QuestDb, table: str) -> None:
    """Before each timed run, either side's: QuestDB has applied every earlier row (its WAL apply would take CPU from
    whichever side runs next on 2 cores) and this process's garbage is collected (a full collection left pending by
    the run before would land in the next one's timer)."""
    q.wait_applied(table, 300)
    gc.collect()


def official_throughput(q: QuestDb) -> dict[str, float]:
    # The client at its documented auto-flush defaults (75,000 rows / 1 s), as in the writer bench: a smaller setting
    # would handicap the peer.
    conf = f"http::addr=127.0.0.1:{q.http_port};protocol_version=1;"
    t0 = time.time_ns()
    i = 0
    start, cpu0 = time.perf_counter(), time.process_time()
    with Sender.from_conf(conf) as s:
        while time.perf_counter() - start < SECONDS:
            for _ in range(1000):
                s.row("tw_fetches", symbols={"service": "bench-py", "instance": "official-tp", "exchange": EXCHANGES[i % 5],
                                             "dataset": "open_interest", "symbol": SYMBOLS[i % 50], "status": "ok"},
                      columns={"latency_ms": 12.5, "records": i}, at=TimestampNanos(t0 + i * 1000))
                i += 1
        s.flush()
    elapsed = time.perf_counter() - start
    return {"rows": i, "seconds": elapsed, "rowsPerSecond": i / elapsed, "cpuUsPerRow": (time.process_time() - cpu0) / i * 1e6}


def sdk_throughput(q: QuestDb) -> dict[str, float]:
    mon = Monitor("bench-py", instance="sdk-tp", questdb=q.url, sample_interval=0,
                  writer_options={"stats_interval": 0, "max_buffered_bytes": 256 << 20})
    i = 0
    start, cpu0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < SECONDS:
        for _ in range(1000):
            mon.fetch(EXCHANGES[i % 5], "open_interest", SYMBOLS[i % 50], "ok", latency_ms=12.5, records=i)
            i += 1
    stats = mon.shutdown()
    elapsed = time.perf_counter() - start
    assert stats is not None and stats.balanced and stats.rows_dropped == 0 and stats.rows_pending == 0, stats
    # The process's CPU (both threads: hooks, encoding, sending) per row: what the machine's load does not change.
    return {"rows": i, "seconds": elapsed, "rowsPerSecond": i / elapsed, "written": stats.rows_written,
            "cpuUsPerRow": (time.process_time() - cpu0) / i * 1e6}


def frame(n: int, run: str) -> pd.DataFrame:
    start = datetime.now(timezone.utc) - timedelta(days=30)
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "ts": pd.date_range(start, periods=n, freq="1s", tz="UTC"),
        "exchange": pd.Series(np.array(EXCHANGES, dtype=object)[np.arange(n) % 5]),
        "symbol": pd.Series(np.array(SYMBOLS, dtype=object)[np.arange(n) % 50]),
        "order_id": [f"o{i}" for i in range(n)], "fill_id": [f"{run}-f{i}" for i in range(n)],
        "side": pd.Series(np.where(np.arange(n) % 2 == 0, "buy", "sell").astype(object)),
        "price": 90_000 + rng.standard_normal(n), "amount": 0.01, "fee": 0.1,
    })


def official_dataframe(q: QuestDb, df: pd.DataFrame) -> float:
    full = df.assign(strategy="bench", run_id="official-df", mode="backtest")
    symbols = ["strategy", "run_id", "mode", "exchange", "symbol", "side"]
    conf = f"http::addr=127.0.0.1:{q.http_port};protocol_version=1;auto_flush=off;"
    start = time.perf_counter()
    with Sender.from_conf(conf) as s:
        for a in range(0, len(full), 50_000):
            s.dataframe(full.iloc[a : a + 50_000], table_name="tw_fills", symbols=symbols, at="ts")
            s.flush()
    return len(full) / (time.perf_counter() - start)


def sdk_dataframe(q: QuestDb, df: pd.DataFrame) -> float:
    w = Writer(q.url)  # the defaults a user's writer has, as the peer runs at its own
    start = time.perf_counter()
    report = post_backtest(w, "bench", "sdk-df", fills=df)
    elapsed = time.perf_counter() - start
    stats = w.close()
    assert report.flushed and report.refused == 0 and stats.rows_written == len(df) and stats.balanced, (report, stats)
    return len(df) / elapsed


def main() -> None:
    root = tempfile.mkdtemp(prefix="tw-bench-python-")
    q = QuestDb(root, free_port(), free_port(), free_port(), free_port())
    q.start()
    load_start = os.getloadavg()
    try:
        cli("schema", "apply", "--questdb-url", q.url)
        calls = 200_000
        result: dict[str, object] = {
            "date": datetime.now(timezone.utc).isoformat(),
            "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                        "python": platform.python_version(), "client": questdb.__version__},
            "settings": {"seconds": SECONDS, "callsPerRun": calls, "frameRows": FRAME_ROWS,
                         "pairs": {"cost": COST_PAIRS, "throughput": TP_PAIRS, "dataframe": DF_PAIRS}},
        }
        if "cost" in SELECTED:
            rows: list[dict[str, object]] = []
            for k in range(COST_PAIRS):
                # One pair: the peer, our whole work, our caller's view; the order alternates between pairs, so that a
                # drift of the machine's load over the case does not favour either side.
                run = {}
                for side in (("official", "work", "concurrent") if k % 2 == 0 else ("concurrent", "work", "official")):
                    settled(q, "tw_fetches")
                    run[side] = {"official": official_row_cost, "work": sdk_hook_work, "concurrent": sdk_hook_concurrent}[side](q, calls)
                rows.append(run)
                print(f"call cost pair {k + 1}: Sender.row {run['official']['cpuNs']:.0f} ns CPU ({run['official']['wallNs']:.0f} wall), "
                      f"Monitor.fetch {run['work']['hookCpuNs']:.0f} + encoding {run['work']['encodeCpuNs']:.0f} ns CPU, "
                      f"with the writer running {run['concurrent']['wallNs']:.0f} ns wall", flush=True)
            med = statistics.median
            result["callCost"] = {
                "officialRowNs": med(r["official"]["cpuNs"] for r in rows),
                "sdkHookNs": med(r["work"]["cpuNs"] for r in rows),
                "sdkCallerNs": med(r["work"]["hookCpuNs"] for r in rows),
                "sdkEncodeNs": med(r["work"]["encodeCpuNs"] for r in rows),
                "caller": spread([r["work"]["hookCpuNs"] / r["official"]["cpuNs"] for r in rows]),
                **spread([r["work"]["cpuNs"] / r["official"]["cpuNs"] for r in rows]),
                "concurrent": {
                    "officialWallNs": med(r["official"]["wallNs"] for r in rows),
                    "sdkWallNs": med(r["concurrent"]["wallNs"] for r in rows),
                    **spread([r["concurrent"]["wallNs"] / r["official"]["wallNs"] for r in rows]),
                },
                "sdkHookP99Us": med(r["concurrent"]["p99Us"] for r in rows),
                "sdkHookMaxUs": max(r["concurrent"]["maxUs"] for r in rows),
                "runs": rows,
            }
        if "throughput" in SELECTED:
            tp: list[tuple[dict[str, float], dict[str, float]]] = []
            for k in range(TP_PAIRS):
                got: dict[str, dict[str, float]] = {}
                for side in (("official", "sdk") if k % 2 == 0 else ("sdk", "official")):
                    settled(q, "tw_fetches")
                    got[side] = official_throughput(q) if side == "official" else sdk_throughput(q)
                tp.append((got["official"], got["sdk"]))
                print(f"throughput pair {k + 1}: official {got['official']['rowsPerSecond']:.0f} rows/s, "
                      f"SDK {got['sdk']['rowsPerSecond']:.0f} rows/s", flush=True)
            result["throughput"] = {
                "officialRowsPerSecond": statistics.median(o["rowsPerSecond"] for o, _ in tp),
                "sdkRowsPerSecond": statistics.median(s_["rowsPerSecond"] for _, s_ in tp),
                **spread([s_["rowsPerSecond"] / o["rowsPerSecond"] for o, s_ in tp]),
                # Rows per CPU-second of this process, SDK over client: the same comparison without the load's swings.
                "perCpu": spread([o["cpuUsPerRow"] / s_["cpuUsPerRow"] for o, s_ in tp]),
                "runs": [{"official": o, "sdk": s_} for o, s_ in tp],
            }
        if "dataframe" in SELECTED:
            df = frame(FRAME_ROWS, "a")
            dfs: list[tuple[float, float]] = []
            for k in range(DF_PAIRS):
                rate: dict[str, float] = {}
                for side in (("official", "sdk") if k % 2 == 0 else ("sdk", "official")):
                    settled(q, "tw_fills")
                    rate[side] = official_dataframe(q, df) if side == "official" else sdk_dataframe(q, df)
                dfs.append((rate["official"], rate["sdk"]))
                print(f"dataframe pair {k + 1}: official {rate['official']:.0f} rows/s, SDK {rate['sdk']:.0f} rows/s", flush=True)
            result["dataframe"] = {
                "officialRowsPerSecond": statistics.median(o for o, _ in dfs),
                "sdkRowsPerSecond": statistics.median(s_ for _, s_ in dfs),
                **spread([s_ / o for o, s_ in dfs]),
                "runs": [{"official": o, "sdk": s_} for o, s_ in dfs],
                "table": "tw_fills",
            }
        result["load"] = {"atStart": list(load_start), "atEnd": list(os.getloadavg())}
        if SELECTED == CASES:
            os.makedirs(os.path.join(REPO, "bench/results"), exist_ok=True)
            with open(os.path.join(REPO, "bench/results/python.json"), "w", encoding="utf-8") as f:
                json.dump(result, f, indent=1)
        print(json.dumps(result, indent=1))
    finally:
        try:
            q.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
