"""Python SDK vs the official Python `questdb` client, side by side in one run on a real QuestDB (started through the
project's CLI on a throwaway data root). Writes bench/results/python.json; bench/summary.ts renders it.

1. Cost of one hook call (`Monitor.fetch`: validation, metrics and queueing; the writer thread, which encodes the
   queued rows, runs meanwhile and its share of the GIL lands in the timed chunks) vs `Sender.row()` alone
   (auto-flush off; the buffer is sent between timed chunks), per call, plus the p99/max of single hook calls.
2. Sustained throughput into QuestDB for BENCH_SECONDS: the SDK's hooks with its background writer vs `Sender.row()`
   with auto-flush (5000 rows / 250 ms), both until every row is acknowledged.
3. Backtest DataFrames: `post_backtest` (checks + `Buffer.dataframe` + the writer) vs the client's own
   `Sender.dataframe()` on the same frames, rows acknowledged; the two alternate, each starting once QuestDB has
   applied the rows of the run before.

Usage: .venv/bin/python bench/python_sdk.bench.py   (BENCH_SECONDS, default 20; BENCH_FRAME_ROWS, default 500000;
BENCH_CASES, default "cost,throughput,dataframe": a subset prints its results and leaves bench/results alone)
"""

from __future__ import annotations

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

import numpy as np
import pandas as pd

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "packages/python/tests"))
from conftest import QuestDb, cli, free_port  # noqa: E402  (the tests' CLI-driven QuestDB)

import questdb  # noqa: E402
from tradewatch import Monitor, Writer  # noqa: E402
from tradewatch._qdb import Sender, TimestampNanos  # noqa: E402
from tradewatch.backtest import post_backtest  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
FRAME_ROWS = int(os.environ.get("BENCH_FRAME_ROWS", "500000"))
EXCHANGES = ["binanceusdm", "bybit", "okx", "bitget", "hyperliquid"]
SYMBOLS = [f"C{i}/USDT:USDT" for i in range(50)]
CHUNK = 10_000
CASES = {"cost", "throughput", "dataframe"}
SELECTED = set(os.environ.get("BENCH_CASES", ",".join(sorted(CASES))).split(","))
if not SELECTED <= CASES:
    raise SystemExit(f"BENCH_CASES: unknown case(s) {sorted(SELECTED - CASES)}; cases are {sorted(CASES)}")


def official_row_cost(q: QuestDb, calls: int) -> float:
    conf = f"http::addr=127.0.0.1:{q.http_port};protocol_version=1;auto_flush=off;"
    per_call = []
    t0 = time.time_ns()
    with Sender.from_conf(conf) as s:
        for chunk in range(calls // CHUNK):
            start = time.perf_counter_ns()
            for i in range(chunk * CHUNK, (chunk + 1) * CHUNK):
                s.row("tw_fetches", symbols={"service": "bench-py", "instance": "official-cost", "exchange": EXCHANGES[i % 5],
                                             "dataset": "open_interest", "symbol": SYMBOLS[i % 50], "status": "ok"},
                      columns={"latency_ms": 12.5, "records": i}, at=TimestampNanos(t0 + i * 1000))
            per_call.append((time.perf_counter_ns() - start) / CHUNK)
            s.flush()
    return statistics.median(per_call)


def sdk_hook_cost(q: QuestDb, calls: int) -> tuple[float, float, float]:
    # 400k calls in about 2 s outpace any delivery: a memory bound that holds them all (as in the throughput case), so
    # that no row is dropped (a dropped batch is never sent: it would make the hook look cheaper than it is).
    mon = Monitor("bench-py", instance="sdk-cost", questdb=q.url, sample_interval=0,
                  writer_options={"stats_interval": 0, "max_buffered_bytes": 256 << 20})
    per_call, singles = [], []
    for chunk in range(calls // CHUNK):
        start = time.perf_counter_ns()
        for i in range(chunk * CHUNK, (chunk + 1) * CHUNK):
            mon.fetch(EXCHANGES[i % 5], "open_interest", SYMBOLS[i % 50], "ok", latency_ms=12.5, records=i)
        per_call.append((time.perf_counter_ns() - start) / CHUNK)
    for i in range(calls):  # single calls, each timed: the tail the caller's loop sees (the writer thread runs too)
        a = time.perf_counter_ns()
        mon.fetch(EXCHANGES[i % 5], "open_interest", SYMBOLS[i % 50], "ok", latency_ms=12.5, records=i)
        singles.append(time.perf_counter_ns() - a)
    stats = mon.shutdown()
    assert stats is not None and stats.balanced and stats.rows_dropped == 0, stats
    singles.sort()
    return statistics.median(per_call), singles[int(len(singles) * 0.99)] / 1e3, singles[-1] / 1e3


def official_throughput(q: QuestDb) -> dict[str, float]:
    # The client at its documented auto-flush defaults (75,000 rows / 1 s), as in the writer bench: a smaller setting
    # would handicap the peer.
    conf = f"http::addr=127.0.0.1:{q.http_port};protocol_version=1;"
    t0 = time.time_ns()
    i = 0
    start = time.perf_counter()
    with Sender.from_conf(conf) as s:
        while time.perf_counter() - start < SECONDS:
            for _ in range(1000):
                s.row("tw_fetches", symbols={"service": "bench-py", "instance": "official-tp", "exchange": EXCHANGES[i % 5],
                                             "dataset": "open_interest", "symbol": SYMBOLS[i % 50], "status": "ok"},
                      columns={"latency_ms": 12.5, "records": i}, at=TimestampNanos(t0 + i * 1000))
                i += 1
        s.flush()
    elapsed = time.perf_counter() - start
    return {"rows": i, "seconds": elapsed, "rowsPerSecond": i / elapsed}


def sdk_throughput(q: QuestDb) -> dict[str, float]:
    mon = Monitor("bench-py", instance="sdk-tp", questdb=q.url, sample_interval=0,
                  writer_options={"stats_interval": 0, "max_buffered_bytes": 256 << 20})
    i = 0
    start = time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        for _ in range(1000):
            mon.fetch(EXCHANGES[i % 5], "open_interest", SYMBOLS[i % 50], "ok", latency_ms=12.5, records=i)
            i += 1
    stats = mon.shutdown()
    elapsed = time.perf_counter() - start
    assert stats is not None and stats.balanced and stats.rows_dropped == 0 and stats.rows_pending == 0, stats
    return {"rows": i, "seconds": elapsed, "rowsPerSecond": i / elapsed, "written": stats.rows_written}


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
            "settings": {"seconds": SECONDS, "callsPerRun": calls, "frameRows": FRAME_ROWS, "runs": 2},
        }
        if "cost" in SELECTED:
            # Alternating, each run from a server that has applied the rows before it (outside the timer): QuestDB
            # applying the previous run's rows takes CPU from whichever side runs next on a 2-core machine.
            official_ns: list[float] = []
            sdk: list[tuple[float, float, float]] = []
            for _ in range(2):
                q.wait_applied("tw_fetches", 300)
                official_ns.append(official_row_cost(q, calls))
                q.wait_applied("tw_fetches", 300)
                sdk.append(sdk_hook_cost(q, calls))
            print(f"call cost: Sender.row {min(official_ns):.0f} ns, Monitor.fetch {min(s[0] for s in sdk):.0f} ns", flush=True)
            result["callCost"] = {"officialRowNs": min(official_ns), "sdkHookNs": min(s[0] for s in sdk),
                                  "ratio": min(s[0] for s in sdk) / min(official_ns),
                                  "sdkHookP99Us": min(s[1] for s in sdk), "sdkHookMaxUs": min(s[2] for s in sdk)}
        if "throughput" in SELECTED:
            # Alternating, twice, each run from a server that has applied the rows before it (outside the timer), as in
            # the DataFrame case: a sustained run is otherwise slowed by the previous run's WAL still being applied.
            tp_officials: list[dict[str, float]] = []
            tp_sdks: list[dict[str, float]] = []
            for _ in range(2):
                q.wait_applied("tw_fetches", 300)
                tp_officials.append(official_throughput(q))
                q.wait_applied("tw_fetches", 300)
                tp_sdks.append(sdk_throughput(q))
            tp_official = max(tp_officials, key=lambda r: r["rowsPerSecond"])
            tp_sdk = max(tp_sdks, key=lambda r: r["rowsPerSecond"])
            print(f"throughput: official {tp_official['rowsPerSecond']:.0f} rows/s, SDK {tp_sdk['rowsPerSecond']:.0f} rows/s", flush=True)
            result["throughput"] = {"official": tp_official, "sdk": tp_sdk,
                                    "ratio": tp_sdk["rowsPerSecond"] / tp_official["rowsPerSecond"]}
        if "dataframe" in SELECTED:
            df = frame(FRAME_ROWS, "a")
            df_official: list[float] = []
            df_sdk: list[float] = []
            for _ in range(2):
                # Alternating, each run from a server that has applied the previous run's rows (outside the timer):
                # 500k rows of WAL still being applied would slow whichever side ran next.
                q.wait_applied("tw_fills", 300)
                df_official.append(official_dataframe(q, df))
                q.wait_applied("tw_fills", 300)
                df_sdk.append(sdk_dataframe(q, df))
            print(f"dataframe: official {max(df_official):.0f} rows/s, SDK {max(df_sdk):.0f} rows/s, "
                  f"ratio {max(df_sdk) / max(df_official):.2f}", flush=True)
            result["dataframe"] = {"officialRowsPerSecond": max(df_official), "sdkRowsPerSecond": max(df_sdk),
                                   "ratio": max(df_sdk) / max(df_official), "table": "tw_fills"}
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
