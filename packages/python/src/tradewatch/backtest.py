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
from typing import TYPE_CHECKING, Any, Callable

from ._qdb import Buffer
from .catalog import CATALOG, Table, table as table_named
from .frame_checks import check_column, constant_text_rule
from .rows import MAX_FUTURE_MICROS, describe
from .monitor import Monitor
from .writer import Writer

if TYPE_CHECKING:
    import pandas as pd

#: Rows per ILP batch handed to the writer at most: large enough for throughput, small enough for one request.
CHUNK_ROWS = 50_000
#: Batches are at most this fraction of the writer's in-memory bound: two fit below ``need_drain``'s half, so the
#: writer's thread sends one while the next is encoded, and a default writer (16 MB) sends 4 MB requests, its own
#: ``max_batch_bytes``. Each request is a WAL commit in QuestDB: eighths (2 MB, ~10k fills) made five times the
#: requests of the client's 50k-row ones and measured slower than quarters in paired runs (bench/python_sdk.bench.py).
_BATCH_SHARE = 4
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
    configured retention in place of the table's default TTL.

    The caller's frame is neither changed nor copied when its columns already have the types the table takes: the
    result shares their data, the run labels are categoricals of one value, and rows are filtered (a copy) only
    when some were refused."""
    import numpy as np
    import pandas as pd

    if t.timestamp in frame.columns:
        raw_ts = frame[t.timestamp]
    elif isinstance(frame.index, pd.DatetimeIndex):
        raw_ts = frame.index.to_series(index=pd.RangeIndex(len(frame)))
    else:
        raise ValueError(f"{t.name}: the frame needs a {t.timestamp!r} column (datetime64) or a DatetimeIndex")
    known = {c.name for c in t.columns}
    unknown = [c for c in frame.columns if c not in known or c in _RUN_LABELS]
    if unknown:
        raise ValueError(f"{t.name}: unknown or reserved columns {unknown}; columns are: {', '.join(sorted(known - set(_RUN_LABELS)))}")
    for c in t.columns:
        if c.required and c.name not in frame.columns and c.name != t.timestamp and c.name not in _RUN_LABELS:
            raise ValueError(f"{t.name}: required column {c.name!r} is missing from the frame")

    n = len(frame)
    report = TableReport()
    ok = np.ones(n, dtype=bool)

    def refuse(mask: Any, reason: str, value_at: Callable[[int], object]) -> None:
        bad = mask & ok
        count = int(np.count_nonzero(bad))
        if count:
            first = int(np.argmax(bad))
            ok[bad] = False
            report.refused += count
            if len(report.reasons) < 10:
                value = value_at(first)
                if isinstance(value, np.generic):  # a numpy scalar reads as its Python value (float 1.5, not np.float64)
                    value = value.item()
                report.reasons.append(f"{count} rows: {reason}, got {describe(value)} (first at row {first})")

    ts_at: Callable[[int], object] = raw_ts.iloc.__getitem__
    times, ts_units = _utc_times(raw_ts)
    ticks = times.to_numpy(dtype=f"datetime64[{ts_units}]").view(np.int64)
    per_micro = _UNITS_PER_MICRO[ts_units]
    now = time.time_ns() // 1000
    ttl_text = f"{t.ttl_value} {t.ttl_unit}" if ttl_hours is None else f"{ttl_hours} HOURS, configured retention"
    oldest = now - (t.ttl_hours if ttl_hours is None else ttl_hours) * 3_600_000_000
    # NaT reads as the smallest int64: refused first as missing, before any bound looks at it.
    refuse(times.isna().to_numpy(), f"{t.timestamp} is missing or not a time", ts_at)
    refuse(ticks < _ceil_units(CATALOG.limits.min_event_time_micros, per_micro),
           f"{t.timestamp} is before 2000-01-01 (a unit mix-up?)", ts_at)
    refuse(ticks < _ceil_units(oldest, per_micro), f"{t.timestamp} is older than the table's TTL ({ttl_text})", ts_at)
    refuse(ticks > _floor_units(now + MAX_FUTURE_MICROS, per_micro),
           f"{t.timestamp} is more than a day in the future (a unit mix-up?)", ts_at)

    labels = {"strategy": strategy, "run_id": run_id, "mode": "backtest", "service": service, "instance": instance}
    columns: dict[str, Any] = {}
    for c in t.columns:
        if c.name == t.timestamp:
            columns[c.name] = None  # set below, once the refused rows are known
            continue
        label = labels.get(c.name)
        if label is not None:
            rule = constant_text_rule(c, label)
            if rule is not None:
                refuse(ok, rule, lambda _: label)
            # One value for every row: a categorical costs one byte per row and Buffer.dataframe encodes it once.
            codes: Any = np.zeros(n, dtype=np.int8)
            columns[c.name] = pd.Categorical.from_codes(codes, categories=pd.Index([label]))
            continue
        if c.name not in frame.columns:
            continue
        given = frame[c.name]
        checked = check_column(c, given)
        value_at: Callable[[int], object] = given.iloc.__getitem__
        if c.required:
            refuse(checked.missing, f"{c.name} is required", value_at)
        for r in checked.refusals:
            refuse(r.mask, r.rule, value_at)
        columns[c.name] = checked.values
    # Arrays, not Series: the frame's own index (any labels) must not realign the columns against the RangeIndex.
    columns[t.timestamp] = (times if ts_units in _DATAFRAME_UNITS else _as_micros(times, ok)).array
    df = pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False)
    return (df[ok] if report.refused else df), report


#: Time units of a datetime64 column as ticks per microsecond (an int, or the fraction 1/k as -k).
_UNITS_PER_MICRO = {"ns": 1000, "us": 1, "ms": -1000, "s": -1_000_000}
#: The units Buffer.dataframe takes for the designated timestamp.
_DATAFRAME_UNITS = ("ns", "us")


def _utc_times(raw: pd.Series) -> tuple[pd.Series, str]:
    """The column as UTC datetimes (unparseable values as NaT) and their unit; no pass when it already is."""
    import pandas as pd

    dtype = raw.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC":
        times = raw
    else:
        times = pd.to_datetime(raw, utc=True, errors="coerce")
    return times, str(times.dt.unit)


def _ceil_units(micros: int, per_micro: int) -> int:
    return micros * per_micro if per_micro > 0 else -(-micros // -per_micro)


def _floor_units(micros: int, per_micro: int) -> int:
    return micros * per_micro if per_micro > 0 else micros // -per_micro


def _as_micros(times: pd.Series, ok: Any) -> Any:
    """Second or millisecond datetimes in microseconds (which Buffer.dataframe takes); refused rows become NaT first,
    so that a far-off value cannot overflow."""
    import numpy as np
    import pandas as pd

    naive = times.to_numpy(dtype=f"datetime64[{times.dt.unit}]").copy()
    naive[~ok] = np.datetime64("NaT")
    return pd.Series(naive.astype("datetime64[us]")).dt.tz_localize("UTC")


def _post_frame(writer: Writer, t: Table, frame: pd.DataFrame, strategy: str, run_id: str, service: str | None,
                instance: str | None, ttl_hours: int | None) -> TableReport:
    df, report = prepare_frame(t, frame, strategy, run_id, service, instance, ttl_hours)
    symbols = [c.name for c in t.columns if c.type == "SYMBOL" and c.name in df.columns]
    batch_bytes = max(1, writer.max_buffered_bytes // _BATCH_SHARE)
    rows = min(CHUNK_ROWS, 1_000)  # a first small batch measures this frame's bytes per row
    start = 0
    while start < len(df):
        chunk = df.iloc[start : start + rows]
        buf = Buffer(protocol_version=1)
        buf.dataframe(chunk, table_name=t.name, symbols=symbols, at=t.timestamp)
        payload = bytes(buf)
        writer.write_payload(payload, len(chunk))
        report.posted += len(chunk)
        start += len(chunk)
        rows = max(1, min(CHUNK_ROWS, batch_bytes * len(chunk) // max(1, len(payload))))
        while writer.need_drain:
            writer.drained(timeout=60)
    return report
