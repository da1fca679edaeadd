"""Seeded bad-input fuzz through every hook into a real QuestDB: no exception reaches the caller, every valid row
is stored exactly once with its exact values, and every refused call is counted."""

from __future__ import annotations

import logging
import math
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from conftest import QuestDb
from tradewatch import Monitor
from tradewatch.catalog import table

SEED = 20261202
MB = "x" * (1 << 20)
# Valid label values that need escaping in ILP and in SQL: they must arrive exactly as given.
ODD_LABELS = ["a,b", 'q"uote', "back\\slash", "new\nline", "sp ace", "eq=ual", "ünïcødé ✓", "tab\tbed"]
BAD_VALUES: list[tuple[str, Any]] = [
    ("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf), ("str", "12"), ("bool", True), ("list", [1]),
    ("dict", {"a": 1}), ("bytes", b"x"), ("none", None),
]
BAD_LABELS: list[Any] = ["", MB, "nul\0byte", 12, None, math.nan, b"bytes", "\ud800"]
NOW_MS = time.time() * 1000
BAD_TIMES: list[Any] = [
    NOW_MS / 1000,                       # seconds where milliseconds belong: 1970
    NOW_MS * 1000,                       # microseconds where milliseconds belong: far future
    NOW_MS * 1_000_000,                  # nanoseconds
    NOW_MS - (table("tw_fetches").ttl_hours + 24) * 3_600_000,  # older than tw_fetches' TTL
    datetime(1999, 12, 31, tzinfo=timezone.utc),
    math.nan, "2026-01-01", -1,
]


def test_seeded_bad_input_never_raises_and_every_valid_row_is_stored_once(questdb: QuestDb, run_id: str) -> None:
    rng = random.Random(SEED)
    log = logging.getLogger(f"fuzz-{run_id}")
    log.propagate = False
    mon = Monitor("py-fuzz", instance=run_id, questdb=questdb.url, sample_interval=0, logger=log,
                  writer_options={"stats_interval": 0})
    expected: dict[int, tuple[str, str]] = {}
    refused_fetches = 0
    base = datetime.now(timezone.utc) - timedelta(hours=1)
    for i in range(3000):
        args: dict[str, Any] = {
            "exchange": rng.choice(["bybit", "binanceusdm", *ODD_LABELS]),
            "dataset": "oi",
            "symbol": rng.choice(["BTC/USDT:USDT", *ODD_LABELS]),
            "status": rng.choice(["ok", "error", "rate_limited", "timeout"]),
            "latency_ms": rng.random() * 100,
            "records": i,
            "at": rng.choice([None, base + timedelta(microseconds=i), base.timestamp() * 1000 + i / 1000 + 0.5]),
        }
        corrupt = rng.random() < 0.5
        if corrupt:
            field = rng.choice(["exchange", "symbol", "status", "latency_ms", "records", "at"])
            if field in ("exchange", "symbol"):
                args[field] = rng.choice(BAD_LABELS)
            elif field == "status":
                args[field] = rng.choice(["OK", "", None, "success", 1])
            elif field == "at":
                args[field] = rng.choice(BAD_TIMES)
            else:
                args[field] = rng.choice([v for n, v in BAD_VALUES if n != "none"] + [2.5] * (field == "records"))
        exchange, symbol = args["exchange"], args["symbol"]
        mon.fetch(args.pop("exchange"), args.pop("dataset"), args.pop("symbol"), args.pop("status"), **args)
        if corrupt:
            refused_fetches += 1
        else:
            expected[i] = (exchange, symbol)
        # Every other hook gets junk too: none of it may raise.
        junk = rng.choice([v for _, v in BAD_VALUES] + BAD_LABELS + BAD_TIMES)
        mon.liquidation("bybit", rng.choice(["BTC", junk]), rng.choice(["buy", junk]), junk, 1.0)
        mon.open_interest(junk, "BTC", rng.choice([junk, 1.0]), at=rng.choice([None, junk]))
        mon.funding_rate("bybit", junk, junk, next_funding_time=junk)
        mon.connection_state("bybit", rng.choice(["ws", junk]), rng.choice(["connected", junk]), attempt=junk)
        mon.message(junk, "ws", exchange_time=junk)
        mon.rate_limit(junk, used=junk, throttled=junk)
        mon.data_gap("bybit", "oi", "BTC", junk, junk)
        mon.storage_size(junk, junk, files=junk)
        mon.error(junk, rng.choice(["fetcher", junk]), exchange=junk, kind=rng.choice([None, junk]))
        mon.metric(rng.choice(["m_ok", junk, "tradewatch_x"]), junk, labels=rng.choice([None, {"a": junk}, {junk: "v"} if isinstance(junk, str) else None]))
        s = mon.strategy("fuzz", run_id, "backtest")
        s.fill("bybit", "BTC", junk, "f", "buy", junk, 1.0)
        s.order("bybit", "BTC", "o", rng.choice(["buy", junk]), rng.choice(["open", junk]), price=junk)
        s.pnl(junk, 0.0, equity=junk)
        s.position("bybit", junk, junk)
    stats = mon.shutdown()
    assert stats is not None and stats.balanced and stats.rows_rejected == 0 and stats.rows_dropped == 0, stats
    questdb.wait_applied("tw_fetches")
    rows = questdb.sql(f"SELECT records, exchange, symbol FROM tw_fetches WHERE service = 'py-fuzz' AND instance = '{run_id}'")
    stored = [int(r["records"]) for r in rows]
    assert len(stored) == len(set(stored)), "no row stored twice"
    assert len(stored) == 3000 - refused_fetches
    invalid = sum(v for (_, method, _f), v in _invalid_counts(mon).items() if method == "fetch")
    assert invalid == refused_fetches
    by_marker = {int(r["records"]): (r["exchange"], r["symbol"]) for r in rows}
    assert by_marker == expected, "exactly the valid rows, with their labels exactly as given"
    odd = [m for m, (e, s) in expected.items() if e in ODD_LABELS or s in ODD_LABELS]
    assert len(odd) > 100, "the valid rows include many labels that need escaping"


def _invalid_counts(mon: Monitor) -> dict[tuple[str, ...], float]:
    fam = mon._sdk.families["tradewatch_sdk_invalid_calls_total"]
    return {k: getattr(s, "value", 0.0) for k, s in fam.series.items()}
