"""Benchmark peer: the official Python `questdb` client writing the same tw_fetches rows as fetchRow() in
bench/writer.bench.ts, row by row with Sender.row(), for SECONDS seconds, then flushing.

Usage: .venv/bin/python bench/python_writer.py HOST:PORT SECONDS [INSTANCE [T0_MICROS]]
Prints {"rows": n, "seconds": s, "cpuSeconds": c, "client": version} (JSON) on stdout (c: CPU time of the process over the s seconds). Instance label: INSTANCE (default 'python'). Timestamps strictly increase
(t0 + i microseconds) so DEDUP keeps every row.
"""
import json
import sys
import time

import questdb

try:
    from questdb import Sender, TimestampNanos
except ImportError:  # clients before 5.x
    from questdb.ingress import Sender, TimestampNanos

EXCHANGES = ["binanceusdm", "bybit", "okx", "bitget", "hyperliquid"]
SYMBOLS = [f"C{i}/USDT:USDT" for i in range(50)]


def main():
    addr, seconds = sys.argv[1], float(sys.argv[2])
    # Auto-flush at the client's documented defaults (75,000 rows or 1 s for HTTP); protocol 1 sends the same text
    # lines as the other writers.
    conf = f"http::addr={addr};protocol_version=1;"
    instance = sys.argv[3] if len(sys.argv) > 3 else "python"
    # microseconds, like Date.now() * 1000; the bench passes each run its own minute
    t0 = int(sys.argv[4]) if len(sys.argv) > 4 else time.time_ns() // 1000
    n_ex, n_sym = len(EXCHANGES), len(SYMBOLS)
    i = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    deadline = start + seconds
    with Sender.from_conf(conf) as sender:
        row = sender.row
        while time.perf_counter() < deadline:
            # Check the clock once per 1000 rows, as the Node peers' loops are cheap per row too.
            for _ in range(1000):
                row(
                    "tw_fetches",
                    symbols={
                        "service": "bench",
                        "instance": instance,
                        "exchange": EXCHANGES[i % n_ex],
                        "dataset": "funding_rate" if i % 3 == 0 else "open_interest",
                        "symbol": SYMBOLS[i % n_sym],
                        "status": "error" if i % 97 == 0 else "ok",
                    },
                    columns={"latency_ms": (i % 500) + 0.25, "records": 1},
                    at=TimestampNanos((t0 + i) * 1000),
                )
                i += 1
        sender.flush()
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start  # user+system of this process, its client's threads included
    print(json.dumps({"rows": i, "seconds": seconds, "cpuSeconds": cpu_seconds, "client": getattr(questdb, "__version__", None)}))


if __name__ == "__main__":
    main()
