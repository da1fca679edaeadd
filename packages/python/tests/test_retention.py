"""Configured retention (the TypeScript SDK's ``createMonitor({ retention })``, the config's
``storage.retention.<table>``): rows are checked against the configured TTL instead of the schema default, on a real
QuestDB; bad options raise naming the field and the value."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest

from conftest import QuestDb, until
from tradewatch import InvalidRowError, Monitor, Writer
from tradewatch.backtest import post_backtest
from tradewatch.catalog import table
from tradewatch.retention import retention_hours, ttl_hours
from tradewatch.rows import TableEncoder

DAY_MS = 86_400_000
FETCHES_TTL_DAYS = table("tw_fetches").ttl_hours // 24


def invalid_calls(mon: Monitor) -> dict[tuple[str, ...], float]:
    fam = mon._sdk.families["tradewatch_sdk_invalid_calls_total"]
    return {k: getattr(s, "value") for k, s in fam.series.items()}


def fetches_total(mon: Monitor) -> float:
    return sum(getattr(s, "value") for s in mon._sdk.families["tradewatch_fetches_total"].series.values())


@pytest.mark.parametrize("given,hours", [
    ("90d", 90 * 24), ("12h", 12), ("2w", 336), ("6M", 6 * 730), ("5y", 5 * 8760), ("30 days", 720), (" 1 Year ", 8760),
    ({"value": 5, "unit": "YEARS"}, 5 * 8760), ({"value": 14, "unit": "DAYS"}, 336), ({"value": 1, "unit": "month"}, 730),
])
def test_ttls_in_the_sdk_and_config_spellings(given: Any, hours: int) -> None:
    assert ttl_hours(given, "retention.tw_fetches") == hours


@pytest.mark.parametrize("given,message", [
    ({"tw_fetchez": "30d"}, "Monitor: retention.tw_fetchez: no table of that name (tables: tw_alert_events"),
    ({"tw_fetches": "30m"}, "Monitor: retention.tw_fetches must be a whole number and a unit (90d, 12h, 2w, 6M, 5y) or "
                            "{'value': n, 'unit': 'DAYS'}, got str '30m'"),
    ({"tw_fetches": "0d"}, "Monitor: retention.tw_fetches must be at least 1 day, got str '0d'"),
    ({"tw_fetches": {"value": 2.5, "unit": "DAYS"}}, "Monitor: retention.tw_fetches.value must be a whole number of units, got float 2.5"),
    ({"tw_fetches": {"value": 2, "unit": "FORTNIGHTS"}}, "Monitor: retention.tw_fetches.unit must be one of HOURS, DAYS, WEEKS, "
                                                         "MONTHS, YEARS, got str 'FORTNIGHTS'"),
    ({"tw_fetches": {"value": 2, "units": "DAYS"}}, "Monitor: retention.tw_fetches has unknown key(s) units"),
    ({"tw_fetches": 30}, "Monitor: retention.tw_fetches must be {'value': n, 'unit': 'DAYS'} or a string such as '90d', got int 30"),
    (["tw_fetches"], "Monitor: retention must be a mapping of table name to TTL, got list ['tw_fetches']"),
])
def test_bad_retention_options_name_the_field_and_the_value(given: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        retention_hours(given, "Monitor")
    assert message in str(info.value), str(info.value)
    with pytest.raises(ValueError, match="Monitor: retention"):  # the monitor checks at start, before any thread
        Monitor("r", instance="i", questdb="http://127.0.0.1:9", sample_interval=0, retention=given)


def test_retention_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="retention is given both as an argument and in writer_options"):
        Monitor("r", instance="i", questdb="http://127.0.0.1:9", sample_interval=0, retention={"tw_fetches": "1d"},
                writer_options={"retention": {"tw_fetches": "2d"}})


def test_the_ttl_message_names_the_configured_retention() -> None:
    now = time.time_ns() // 1000
    enc = TableEncoder(table("tw_fetches"), ttl_hours=24)
    row = {"ts": now - 2 * 86_400_000_000, "service": "s", "instance": "i", "exchange": "bybit", "dataset": "oi",
           "symbol": "BTC", "status": "ok"}
    with pytest.raises(InvalidRowError, match=r"older than the table's TTL \(24 HOURS, configured retention"):
        enc.validate(row)
    enc.validate({**row, "ts": now - 3_600_000_000})


@pytest.mark.parametrize("shared", [False, True], ids=["own writer", "shared writer"])
def test_rows_are_checked_against_the_configured_retention(questdb: QuestDb, run_id: str, shared: bool) -> None:
    service = f"ret-{'shared' if shared else 'own'}-{run_id}"[:200]
    writer = Writer(questdb.url, stats_interval=0) if shared else None
    retention = {"tw_fetches": "1d", "tw_errors": {"value": 5, "unit": "YEARS"}}
    mon = Monitor(service, instance="i", sample_interval=0, logger=logging.getLogger("tw-retention"), retention=retention,
                  **({"writer": writer} if writer else {"questdb": questdb.url, "writer_options": {"stats_interval": 0}}))
    now_ms = time.time() * 1000
    mon.fetch("bybit", "oi", "BTC", "ok", at=now_ms - 2 * DAY_MS)        # within the default 90 days, beyond 1 day
    mon.fetch("bybit", "oi", "BTC", "ok", at=now_ms - 3_600_000)          # within both
    mon.fetch("bybit", "oi", "ETH", "ok")                                 # now (the monitor's clock)
    mon.error("boom", "ingest", at=now_ms - (FETCHES_TTL_DAYS + 10) * DAY_MS)  # beyond tw_errors' default 90 days, within 5 years
    assert invalid_calls(mon) == {(service, "fetch", "at"): 1.0}
    assert fetches_total(mon) == 2
    stats = mon.close()
    if writer is not None:
        stats = writer.close()
    assert stats is not None and stats.balanced and stats.rows_dropped == 0 and stats.rows_pending == 0, stats
    questdb.wait_applied("tw_fetches")
    until(lambda: questdb.count("tw_fetches", f"service = '{service}'") == 2, 30, "2 fetch rows")
    assert questdb.count("tw_fetches", f"service = '{service}' AND ts < dateadd('d', -1, now())") == 0


def test_a_backtest_is_checked_against_the_writers_retention() -> None:
    # Every row is refused before anything is queued: nothing to deliver, so no QuestDB is needed.
    w = Writer("http://127.0.0.1:9", stats_interval=0, retention={"tw_fills": "30d"})
    start = datetime.now(timezone.utc) - timedelta(days=60)
    fills = pd.DataFrame({"ts": pd.date_range(start, periods=3, freq="1h", tz="UTC"), "exchange": "bybit",
                          "symbol": "BTC/USDT:USDT", "order_id": ["o1", "o2", "o3"], "fill_id": ["f1", "f2", "f3"],
                          "side": "buy", "price": 90_000.0, "amount": 0.01})
    report = post_backtest(w, "s", "r", fills=fills, flush_timeout=5)
    stats = w.close(timeout=1)
    assert report.tables["tw_fills"].refused == 3 and report.tables["tw_fills"].posted == 0, report
    assert "older than the table's TTL (720 HOURS, configured retention)" in report.tables["tw_fills"].reasons[0]
    assert stats.rows_accepted == 0 and stats.balanced, stats
