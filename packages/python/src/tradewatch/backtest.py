"""Posting a whole backtest from pandas DataFrames (fills, orders, positions, PnL curve) with ``mode=backtest`` and a
``run_id``, through the official client's DataFrame path (``Buffer.dataframe``) and the writer's guarantees (spool,
quarantine, exact accounting).

Each frame has a ``ts`` column (datetime64, or a DatetimeIndex) and the table's columns by name, without the run
labels (strategy, run_id, mode; service and instance are optional), which are added here. Rows are checked with the
rules of the hooks, vectorised: required values present, vocabularies, label lengths, finite numbers, integral
integers, and the designated timestamp not before 2000, not older than the table's TTL (ten years for the trading
tables) and not a day ahead. A refused row is left out and reported in the result (count and first reasons); the rest
is posted. An unknown column refuses the whole frame, so a typo never reaches the table as a new column.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._qdb import Buffer
from .catalog import CATALOG, Table, table as table_named
from .rows import MAX_FUTURE_MICROS
from .monitor import Monitor
from .writer import Writer

if TYPE_CHECKING:
    import pandas as pd

#: Rows per ILP batch handed to the writer: large enough for throughput, small enough for one request.
CHUNK_ROWS = 50_000
FRAMES = {"fills": "tw_fills", "orders": "tw_orders", "positions": "tw_positions", "pnl": "tw_strategy_pnl"}
_RUN_LABELS = ("strategy", "run_id", "mode")


@dataclass
class TableReport:
    posted: int = 0
    refused: int = 0
    reasons: list[str] = field(default_factory=list)


@dataclass
class BacktestReport:
    run_id: str
    tables: dict[str, TableReport]
    #: True when every posted row was acknowledged by QuestDB (or spooled) within the flush timeout.
    flushed: bool

    @property
    def posted(self) -> int:
        return sum(t.posted for t in self.tables.values())

    @property
    def refused(self) -> int:
        return sum(t.refused for t in self.tables.values())


def post_backtest(
    target: Writer | Monitor,
    strategy: str,
    run_id: str,
    *,
    fills: pd.DataFrame | None = None,
    orders: pd.DataFrame | None = None,
    positions: pd.DataFrame | None = None,
    pnl: pd.DataFrame | None = None,
    service: str | None = None,
    instance: str | None = None,
    flush_timeout: float | None = 300.0,
) -> BacktestReport:
    """Posts the frames given and waits until QuestDB acknowledged them (or the writer spooled them).

    Raises ValueError for what is configuration, not data: empty strategy or run_id, an unknown column, no ``ts``.
    """
    writer = target.writer if isinstance(target, Monitor) else target
    if not isinstance(writer, Writer):
        raise ValueError("post_backtest: needs a tradewatch Writer (or a Monitor that has one)")
    if isinstance(target, Monitor):
        service = service or target.service
        instance = instance or target.instance
    for name, value in (("strategy", strategy), ("run_id", run_id)):
        if type(value) is not str or not value or len(value) > CATALOG.limits.max_symbol_chars:
            raise ValueError(f"post_backtest: {name} must be a non-empty string of at most 256 characters, got {value!r}")
    reports: dict[str, TableReport] = {}
    frames = {"fills": fills, "orders": orders, "positions": positions, "pnl": pnl}
    for key, frame in frames.items():
        if frame is None:
            continue
        t = table_named(FRAMES[key])
        # The TTL rows are checked against: a monitor's configured retention, else the writer's (or the default).
        own = target._encoders.get(t.name) if isinstance(target, Monitor) else None
        hours = (own or writer.encoder(t.name)).ttl_hours
        reports[t.name] = _post_frame(writer, t, frame, strategy, run_id, service, instance,
                                      None if hours == t.ttl_hours else hours)
        while writer.need_drain:
            writer.drained(timeout=60)
    flushed = writer.flush(flush_timeout)
    return BacktestReport(run_id, reports, flushed)


def prepare_frame(t: Table, frame: pd.DataFrame, strategy: str, run_id: str, service: str | None,
                  instance: str | None, ttl_hours: int | None = None) -> tuple[pd.DataFrame, TableReport]:
    """The frame as the table takes it (run labels added, rows checked), and what was refused. ``ttl_hours``: a
    configured retention in place of the table's default TTL."""
    import numpy as np
    import pandas as pd

    df = frame.copy()
    if t.timestamp not in df.columns:
        if isinstance(df.index, pd.DatetimeIndex):
            df = df.reset_index(names=t.timestamp)
        else:
            raise ValueError(f"{t.name}: the frame needs a {t.timestamp!r} column (datetime64) or a DatetimeIndex")
    known = {c.name for c in t.columns}
    unknown = [c for c in df.columns if c not in known or c in _RUN_LABELS]
    if unknown:
        raise ValueError(f"{t.name}: unknown or reserved columns {unknown}; columns are: {', '.join(sorted(known - set(_RUN_LABELS)))}")
    df["strategy"] = strategy
    df["run_id"] = run_id
    df["mode"] = "backtest"
    if service is not None:
        df["service"] = service
    if instance is not None:
        df["instance"] = instance

    report = TableReport()
    ok = np.ones(len(df), dtype=bool)

    def refuse(mask: Any, reason: str) -> None:
        bad = mask & ok
        n = int(bad.sum())
        if n:
            ok[bad] = False
            report.refused += n
            if len(report.reasons) < 10:
                first = int(np.flatnonzero(bad)[0])
                report.reasons.append(f"{n} rows: {reason} (first at row {first})")

    ts = pd.to_datetime(df[t.timestamp], utc=True, errors="coerce")
    # NaT reads as the smallest int64: refused below as "missing" before any other rule looks at it.
    micros = np.asarray(ts.to_numpy(dtype="datetime64[ns]").astype(np.int64) // 1000, dtype=np.int64)
    now = time.time_ns() // 1000
    refuse(ts.isna().to_numpy(), f"{t.timestamp} is missing or not a time")
    refuse(micros < CATALOG.limits.min_event_time_micros, f"{t.timestamp} is before 2000-01-01 (a unit mix-up?)")
    ttl_text = f"{t.ttl_value} {t.ttl_unit}" if ttl_hours is None else f"{ttl_hours} HOURS, configured retention"
    ttl_micros = (t.ttl_hours if ttl_hours is None else ttl_hours) * 3_600_000_000
    refuse(micros < now - ttl_micros, f"{t.timestamp} is older than the table's TTL ({ttl_text})")
    refuse(micros > now + MAX_FUTURE_MICROS, f"{t.timestamp} is more than a day in the future (a unit mix-up?)")
    df[t.timestamp] = ts
    for c in t.columns:
        if c.name == t.timestamp:
            continue
        if c.name not in df.columns:
            if c.required:
                raise ValueError(f"{t.name}: required column {c.name!r} is missing from the frame")
            continue
        col = df[c.name]
        missing = col.isna().to_numpy()
        if c.required:
            refuse(missing, f"{c.name} is required")
        present = ~missing
        if c.type in ("SYMBOL", "VARCHAR"):
            s = col.astype("string")
            limit = CATALOG.limits.max_symbol_chars if c.type == "SYMBOL" else CATALOG.limits.max_varchar_chars
            lengths = s.str.len().fillna(0).to_numpy()
            refuse(present & (lengths > limit), f"{c.name} is longer than {limit} characters")
            if c.type == "SYMBOL":
                refuse(present & (lengths == 0), f"{c.name} must not be empty")
            refuse(present & s.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool), f"{c.name} contains U+0000")
            if c.values is not None:
                refuse(present & ~s.isin(sorted(c.values)).fillna(False).to_numpy(dtype=bool), f"{c.name} must be one of {', '.join(sorted(c.values))}")
            df[c.name] = col if col.dtype == object else s.astype(object).where(pd.Series(present, index=s.index))
        elif c.type in ("DOUBLE", "FLOAT"):
            num = pd.to_numeric(col, errors="coerce").astype("float64")
            refuse(present & ~np.isfinite(num.to_numpy()), f"{c.name} must be a finite number")
            df[c.name] = num
        elif c.type in ("LONG", "INT"):
            num = pd.to_numeric(col, errors="coerce")
            arr = num.to_numpy(dtype="float64", na_value=np.nan)
            bound = CATALOG.limits.int_max if c.type == "INT" else 2**63 - 1
            refuse(present & ~(np.isfinite(arr) & (np.mod(arr, 1) == 0) & (np.abs(arr) <= bound)), f"{c.name} must be an integer")
            df[c.name] = num.astype("Int64") if c.type == "LONG" else num.astype("Int32", errors="ignore")
        elif c.type == "BOOLEAN":
            refuse(present & ~col.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool), f"{c.name} must be a boolean")
        elif c.type == "TIMESTAMP":
            df[c.name] = pd.to_datetime(col, utc=True, errors="coerce")
    order = [c.name for c in t.columns if c.name in df.columns]
    return df.loc[ok, order], report


def _post_frame(writer: Writer, t: Table, frame: pd.DataFrame, strategy: str, run_id: str, service: str | None,
                instance: str | None, ttl_hours: int | None) -> TableReport:
    df, report = prepare_frame(t, frame, strategy, run_id, service, instance, ttl_hours)
    symbols = [c.name for c in t.columns if c.type == "SYMBOL" and c.name in df.columns]
    for start in range(0, len(df), CHUNK_ROWS):
        chunk = df.iloc[start : start + CHUNK_ROWS]
        buf = Buffer(protocol_version=1)
        buf.dataframe(chunk, table_name=t.name, symbols=symbols, at=t.timestamp)
        writer.write_payload(bytes(buf), len(chunk))
        report.posted += len(chunk)
        while writer.need_drain:
            writer.drained(timeout=60)
    return report
