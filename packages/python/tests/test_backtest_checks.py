"""The backtest path's vectorised row checks (prepare_frame) refuse exactly the rows the hooks refuse, report each
rule with the column and the first offending value, and leave clean frames uncopied. No QuestDB: nothing is posted;
test_backtest.py posts frames to a real one."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tradewatch._qdb import Buffer
from tradewatch.backtest import prepare_frame
from tradewatch.catalog import table
from tradewatch.rows import InvalidRowError, TableEncoder

FILLS = table("tw_fills")
PNL = table("tw_strategy_pnl")
NOW_US = time.time_ns() // 1000
HOUR_US = 3_600_000_000


def fills(n: int, **changes: Any) -> pd.DataFrame:
    base = pd.DataFrame({
        "ts": pd.date_range(pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=30), periods=n, freq="1min"),
        "exchange": "bybit", "symbol": "BTC/USDT:USDT", "order_id": [f"o{i}" for i in range(n)],
        "fill_id": [f"f{i}" for i in range(n)], "side": np.where(np.arange(n) % 2 == 0, "buy", "sell").astype(object),
        "price": 90_000.0 + np.arange(n), "amount": 0.01, "fee": 0.1, "liquidity": "taker",
    })
    for name, value in changes.items():
        base[name] = value
    return base


def prepare(frame: pd.DataFrame, t: Any = FILLS, **kw: Any) -> tuple[pd.DataFrame, Any]:
    return prepare_frame(t, frame, kw.pop("strategy", "s1"), kw.pop("run_id", "r1"), kw.pop("service", None),
                         kw.pop("instance", None), **kw)


def refused_rows(out: pd.DataFrame, n: int) -> set[int]:
    return set(range(n)) - set(out.index)


# Values per column that the hooks accept or refuse, each tried alone in an otherwise valid row.
CANDIDATES: dict[str, list[Any]] = {
    "exchange": ["bybit", "", "x" * 256, "x" * 257, None, "bad\ud800", "a\x00b", 3, 3.5, "ok-é"],
    "side": ["buy", "sell", "long", "", None, 5, "buy\x00"],
    "order_id": ["o1", "", None, "a\x00b", "x" * 65_536, "x" * 65_537, 7, "ünï"],
    "price": [1.5, 2, float("inf"), float("-inf"), True, "1.5", None, 2**70],
    "fee": [0.1, None, float("inf"), False, 0],
    "liquidity": ["maker", "taker", "both", None, ""],
}


def test_a_frame_refuses_the_rows_the_hooks_refuse_and_only_those() -> None:
    hooks = TableEncoder(FILLS)
    base = {"strategy": "s1", "run_id": "r1", "mode": "backtest", "exchange": "bybit", "symbol": "BTC/USDT:USDT",
            "order_id": "o", "fill_id": "f", "side": "buy", "price": 1.0, "amount": 0.01}
    rows: list[dict[str, Any]] = []
    for column, values in CANDIDATES.items():
        rows += [{**base, column: v} for v in values]
    times = [NOW_US - HOUR_US, 946_684_799_000_000, NOW_US - 11 * 365 * 24 * HOUR_US, NOW_US + 48 * HOUR_US,
             NOW_US - 9 * 365 * 24 * HOUR_US, None]
    rows += [{**base, "ts": ts} for ts in times]
    for r in rows:
        r.setdefault("ts", NOW_US - 2 * HOUR_US)

    def hooks_refuse(row: dict[str, Any]) -> bool:
        try:
            hooks.validate({k: v for k, v in row.items() if v is not None})
            return False
        except InvalidRowError:
            return True

    expected = {i for i, r in enumerate(rows) if hooks_refuse(r)}
    frame = pd.DataFrame({
        c: pd.Series([r.get(c) for r in rows], dtype=object)
        for c in ("exchange", "symbol", "order_id", "fill_id", "side", "price", "amount", "fee", "liquidity")
    })
    frame["ts"] = pd.to_datetime(pd.Series([r["ts"] for r in rows], dtype="float64"), unit="us", utc=True)
    out, report = prepare(frame)
    assert refused_rows(out, len(rows)) == expected, report.reasons
    assert report.refused == len(expected) and len(out) == len(rows) - len(expected)
    # What is left encodes: Buffer.dataframe takes every column as prepared.
    symbols = [c.name for c in FILLS.columns if c.type == "SYMBOL" and c.name in out.columns]
    Buffer(protocol_version=1).dataframe(out, table_name=FILLS.name, symbols=symbols, at=FILLS.timestamp)


@pytest.mark.parametrize("column,value,reason", [
    ("side", "long", "side must be one of buy, sell, got str 'long'"),
    ("exchange", "", "exchange must not be empty, got str ''"),
    ("symbol", "S" * 257, "symbol is longer than 256 characters"),
    ("order_id", "a\x00b", "order_id contains U+0000 or a lone surrogate"),
    ("fill_id", None, "fill_id is required, got NoneType None"),
    ("price", float("inf"), "price must be a finite number (NaN and Infinity are rejected), got float inf"),
    ("price", float("nan"), "price is required, got float nan"),
    ("price", "12", "price must be a number, got str '12'"),
    ("amount", True, "amount must be a number"),
    ("liquidity", "both", "liquidity must be one of maker, taker, got str 'both'"),
    ("exchange", 42, "exchange must be a string, got int 42"),
])
def test_each_refusal_names_the_column_the_rule_and_the_first_value(column: str, value: Any, reason: str) -> None:
    frame = fills(6)
    frame[column] = frame[column].astype(object)
    frame.loc[[3, 5], column] = pd.Series([value, value], index=[3, 5], dtype=object)
    out, report = prepare(frame)
    assert refused_rows(out, 6) == {3, 5}, report
    assert report.refused == 2 and len(report.reasons) == 1
    assert report.reasons[0].startswith(f"2 rows: {reason}") and report.reasons[0].endswith("(first at row 3)"), report.reasons


def test_the_designated_timestamp_rules_name_the_field_and_the_value() -> None:
    frame = fills(5)
    frame["ts"] = pd.Series([pd.Timestamp("1999-12-31", tz="UTC"), pd.NaT,
                             pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=40),
                             pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=2), pd.Timestamp.now(tz="UTC")])
    out, report = prepare(frame, ttl_hours=30 * 24)
    assert refused_rows(out, 5) == {0, 1, 2, 3}
    text = "\n".join(report.reasons)
    assert "ts is missing or not a time, got NaTType NaT (first at row 1)" in text
    assert "ts is before 2000-01-01 (a unit mix-up?), got Timestamp Timestamp('1999-12-31 00:00:00+0000', tz='UTC')" in text
    assert "ts is older than the table's TTL (720 HOURS, configured retention)" in text and "(first at row 2)" in text
    assert "ts is more than a day in the future (a unit mix-up?)" in text and "(first at row 3)" in text
    # Without a configured retention the table's ten years apply: 40 days old is fine.
    assert prepare(frame)[1].refused == 3


def test_timestamps_given_as_numbers_or_in_coarse_units_are_handled() -> None:
    seconds = fills(3)
    seconds["ts"] = seconds["ts"].dt.as_unit("s")
    out, report = prepare(seconds)
    assert report.refused == 0 and str(out["ts"].dtype) == "datetime64[us, UTC]"
    assert list(out["ts"]) == list(seconds["ts"])
    micros = fills(3)
    micros["ts"] = (micros["ts"].astype("int64") // 1000).astype("int64")  # µs numbers read as ns: 1970
    out, report = prepare(micros)
    assert len(out) == 0 and "before 2000-01-01 (a unit mix-up?), got int" in report.reasons[0]
    naive = fills(3)
    naive["ts"] = naive["ts"].dt.tz_localize(None)
    assert prepare(naive)[1].refused == 0
    labelled = fills(3).set_index(pd.Index([30, 10, 20]))  # an index of other labels does not realign the columns
    out, report = prepare(labelled)
    assert report.refused == 0 and list(out["ts"]) == list(labelled["ts"]) and list(out["fill_id"]) == ["f0", "f1", "f2"]
    indexed = fills(3).set_index("ts")
    out, report = prepare(indexed)
    assert report.refused == 0 and list(out["ts"]) == list(indexed.index)


def test_integer_columns_follow_the_hooks_rules() -> None:
    n = 7
    frame = pd.DataFrame({"ts": pd.date_range(pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=1), periods=n, freq="1h"),
                          "realized": 1.0, "unrealized": 0.0,
                          "open_orders": [3.0, 1.5, 2.0**31, np.nan, -(2.0**31) + 1, float("inf"), 7.0]})
    out, report = prepare(frame, PNL)
    assert refused_rows(out, n) == {1, 2, 5}, report.reasons
    assert list(out["open_orders"].astype("float64").fillna(-1)) == [3, -1, -2**31 + 1, 7]
    assert "2 rows: open_orders must be an integer, got float 1.5 (first at row 1)" in report.reasons
    ints = frame.assign(open_orders=np.array([1, 2, 3, 2**31, -(2**31), 5, 6], dtype=np.int64))
    out, report = prepare(ints, PNL)
    assert refused_rows(out, n) == {3, 4}
    assert report.reasons[0].startswith("2 rows: open_orders must be an integer within ±2147483647, got int 2147483648")
    flags = frame.assign(open_orders=True)
    assert prepare(flags, PNL)[1].refused == n


def test_categorical_and_string_dtype_columns_are_checked_per_value() -> None:
    frame = fills(6)
    frame["side"] = pd.Categorical(["buy", "sell", "long", None, "buy", "long"])
    frame["exchange"] = pd.array(["bybit", "", "okx", "okx", None, "bybit"], dtype="string")
    out, report = prepare(frame)
    assert refused_rows(out, 6) == {1, 2, 3, 4, 5}, report.reasons
    assert "1 rows: exchange must not be empty, got str '' (first at row 1)" in report.reasons
    assert "2 rows: side must be one of buy, sell, got str 'long' (first at row 2)" in report.reasons
    assert "1 rows: side is required, got float nan (first at row 3)" in report.reasons
    assert "1 rows: exchange is required, got NAType <NA> (first at row 4)" in report.reasons
    Buffer(protocol_version=1).dataframe(out, table_name=FILLS.name, symbols=["strategy", "run_id", "mode", "exchange", "side"],
                                         at="ts")


def test_a_categorical_of_other_than_strings_is_refused_per_row() -> None:
    frame = fills(3)
    frame["symbol"] = pd.Categorical(["BTC", 7, "ETH"])
    out, report = prepare(frame)
    assert refused_rows(out, 3) == {1} and report.reasons == ["1 rows: symbol must be a string, got int 7 (first at row 1)"]


def test_a_bad_run_label_refuses_every_row_once() -> None:
    out, report = prepare(fills(4), service="")
    assert len(out) == 0 and report.reasons == ["4 rows: service must not be empty, got str '' (first at row 0)"]
    out, report = prepare(fills(4), instance="i\x00")
    assert len(out) == 0 and "instance contains U+0000" in report.reasons[0]


def test_a_clean_frame_is_used_as_given_not_copied_or_changed() -> None:
    frame = fills(1000)
    before = frame.copy()
    out, report = prepare(frame, service="svc")
    assert report.refused == 0 and len(out) == 1000
    pd.testing.assert_frame_equal(frame, before)
    for name in ("price", "order_id", "side"):
        assert np.shares_memory(out[name].to_numpy(), frame[name].to_numpy()), name
    assert set(out["strategy"]) == {"s1"} and set(out["run_id"]) == {"r1"} and set(out["mode"]) == {"backtest"}
    assert set(out["service"]) == {"svc"} and "instance" not in out.columns
    buf = Buffer(protocol_version=1)
    buf.dataframe(out.iloc[:1], table_name=FILLS.name, symbols=["strategy", "run_id", "mode", "service", "exchange", "symbol",
                                                                "side", "liquidity"], at="ts")
    line = bytes(buf).decode()
    assert line.startswith("tw_fills,strategy=s1,run_id=r1,mode=backtest,service=svc,exchange=bybit,symbol=BTC/USDT:USDT,side=buy,liquidity=taker ")
    assert 'order_id="o0",fill_id="f0",price=90000.0,amount=0.01,fee=0.1 ' in line


def test_frames_that_are_configuration_errors_raise() -> None:
    with pytest.raises(ValueError, match=r"unknown or reserved columns \['sidee'\]"):
        prepare(fills(2).rename(columns={"side": "sidee"}))
    with pytest.raises(ValueError, match=r"unknown or reserved columns \['run_id'\]"):
        prepare(fills(2, run_id="x"))
    with pytest.raises(ValueError, match="required column 'price' is missing"):
        prepare(fills(2).drop(columns=["price"]))
    with pytest.raises(ValueError, match="needs a 'ts' column"):
        prepare(fills(2).drop(columns=["ts"]))
