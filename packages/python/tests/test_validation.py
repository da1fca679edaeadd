"""Validation the TypeScript writer shares, plus the refusals QuestDB would otherwise hide: a typo'd table, an
extra column, a missing or unknown vocabulary value, a timestamp before 2000, older than the TTL or far ahead."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

import pytest

from tradewatch import InvalidRowError, Monitor
from tradewatch.catalog import table
from tradewatch.rows import TableEncoder
from vectors import CapturingWriter

NOW_US = time.time_ns() // 1000
FETCHES_TTL_US = table("tw_fetches").ttl_hours * 3_600_000_000
TTL_TEXT = f"older than the table's TTL ({table('tw_fetches').ttl_value} {table('tw_fetches').ttl_unit}"
FETCH = {"ts": NOW_US, "service": "s", "instance": "i", "exchange": "bybit", "dataset": "oi", "symbol": "BTC", "status": "ok"}


def refused(table_name: str, row: dict[str, object]) -> InvalidRowError:
    with pytest.raises(InvalidRowError) as info:
        TableEncoder(table(table_name)).validate(row)
    return info.value


def test_a_typo_in_a_table_name_is_refused_naming_the_tables() -> None:
    with pytest.raises(ValueError, match="unknown table 'tw_fetch'; tradewatch tables are: tw_process_samples"):
        table("tw_fetch")


def test_extra_columns_missing_required_values_and_vocabulary() -> None:
    e = refused("tw_fetches", {**FETCH, "extra": 1})
    assert e.column == "extra" and "unknown column 'extra'" in str(e)
    e = refused("tw_fetches", {k: v for k, v in FETCH.items() if k != "status"})
    assert e.column == "status" and "is required" in str(e)
    e = refused("tw_fetches", {**FETCH, "status": "OK"})
    assert e.column == "status" and "must be one of blocked, error, ok, rate_limited, timeout, got str 'OK'" in str(e)


@pytest.mark.parametrize("ts,message", [
    (int(time.time()), "before 2000-01-01"),                        # seconds where microseconds belong
    (int(time.time() * 1000), "before 2000-01-01"),                 # milliseconds
    (time.time_ns(), "more than a day in the future"),              # nanoseconds
    (NOW_US - FETCHES_TTL_US - 86_400_000_000, TTL_TEXT),
], ids=["seconds", "milliseconds", "nanoseconds", "older than the TTL"])  # ids without the clock: pytest-xdist workers
def test_timestamps_questdb_would_silently_lose_are_refused_clearly(ts: int, message: str) -> None:
    e = refused("tw_fetches", {**FETCH, "ts": ts})
    assert e.column == "ts" and message in str(e), str(e)


def test_a_backtest_over_last_year_fits_the_trading_tables_ttl() -> None:
    row = {"ts": NOW_US - 365 * 86_400_000_000, "strategy": "s", "run_id": "r", "mode": "backtest", "realized": 1.0, "unrealized": 0.0}
    TableEncoder(table("tw_strategy_pnl")).validate(row)


def test_refused_hook_calls_are_counted_logged_once_and_never_raise(caplog: pytest.LogCaptureFixture) -> None:
    w = CapturingWriter()
    mon = Monitor("v", instance="i", writer=w, sample_interval=0, logger=logging.getLogger("tw-validation"))
    with caplog.at_level(logging.WARNING, logger="tw-validation"):
        for _ in range(5):
            mon.fetch("bybit", "oi", "BTC", "ok", at=datetime.now(timezone.utc) - timedelta(microseconds=FETCHES_TTL_US, days=1))
    assert len(w.rows) == 1  # the start row only
    fam = mon._sdk.families["tradewatch_sdk_invalid_calls_total"]
    assert {k: getattr(s, "value") for k, s in fam.series.items()} == {("v", "fetch", "at"): 5.0}
    assert len([r for r in caplog.records if "fetch() call refused (at)" in r.getMessage()]) == 1
    assert "older than the table's TTL" in caplog.records[0].getMessage()


def test_monitor_host_must_be_a_name() -> None:
    for bad in ("", "h" * 257, 42):
        with pytest.raises(ValueError, match="Monitor: host must be a non-empty string of at most 256 characters"):
            Monitor("v", instance="i", host=bad, writer=CapturingWriter(), sample_interval=0)  # type: ignore[arg-type]
