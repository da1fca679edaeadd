"""Row validation and ILP encoding, per table of the catalog.

The same rules as the TypeScript writer (src/storage/ilp-encoder.ts): types, closed vocabularies, required columns,
symbol and text limits, no NaN/Infinity, no U+0000 or lone surrogates, integer ranges. Two more rules for the
designated timestamp, because QuestDB would accept such rows (HTTP 204) and then silently lose them or misfile them:
before 2000-01-01 (a unit mix-up: seconds or milliseconds where microseconds belong), or older than the table's TTL.
A refused row raises :class:`InvalidRowError` naming the table, the column and the value; nothing reaches the buffer.
Encoding is the official ``questdb`` client's ``Buffer.row``, except for rows checked as values tuples of tables
whose fields are all numbers (``encode_line``): their lines are written as text, with the table and symbols part
escaped by ``Buffer.row`` once per symbol values.
"""

from __future__ import annotations

import math
import re
import struct
import time
from typing import Any, Callable, Mapping

from ._qdb import Buffer, TimestampMicros, TimestampNanos

from .catalog import CATALOG, Column, Table

#: Latest timestamp QuestDB's designated timestamp can travel as (int64 nanoseconds), in microseconds.
MAX_TIMESTAMP_MICROS = 9_223_372_036_854_775
#: Event times further ahead than this are unit mix-ups (a clock may run a little ahead, not a day).
MAX_FUTURE_MICROS = 86_400_000_000
_LONG_MAX = 9_223_372_036_854_775_807
_SAFE_INT = 2**53 - 1
_FLOAT32_MAX = struct.unpack("f", b"\xff\xff\x7f\x7f")[0]
#: Accepted values remembered per symbol column (beyond this the memory starts over).
_ACCEPTED_LIMIT = 4096
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_TEXT_RULE = "contains U+0000 or a lone surrogate (QuestDB rejects or mangles both)"
_TIMESTAMP_RULE = "must be whole microseconds since 1970-01-01 (an int, not after 2262-04-11)"

Row = Mapping[str, Any]
#: A checked row: (symbols, columns, designated timestamp in µs), ready for ``Buffer.row``.
Validated = tuple[dict[str, "str | None"], dict[str, Any], int]


class InvalidRowError(ValueError):
    """A row the writer refuses; ``column`` names the offending column (None for the row as a whole)."""

    def __init__(self, table: str, column: str | None, value: object, message: str) -> None:
        super().__init__(message)
        self.table = table
        self.column = column
        self.value = value


def describe(value: object) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"


Check = Callable[[Table, Column, Any], Any]


def _invalid(t: Table, c: Column, v: object, rule: str) -> InvalidRowError:
    return InvalidRowError(t.name, c.name, v, f"{t.name}.{c.name} ({c.type}) {rule}, got {describe(v)}")


def _text(t: Table, c: Column, v: Any, limit: int, allow_empty: bool) -> str:
    if type(v) is not str:
        raise _invalid(t, c, v, "must be a string")
    if not v and not allow_empty:
        raise _invalid(t, c, v, "must not be empty")
    if len(v) > limit:
        raise _invalid(t, c, v, f"is longer than {limit} characters")
    if c.values is not None and v not in c.values:
        raise _invalid(t, c, v, f"must be one of {', '.join(sorted(c.values))}")
    if _BAD_TEXT.search(v):
        raise _invalid(t, c, v, _TEXT_RULE)
    return v


def _symbol(t: Table, c: Column, v: Any) -> str:
    return _text(t, c, v, CATALOG.limits.max_symbol_chars, False)


def _varchar(t: Table, c: Column, v: Any) -> str:
    return _text(t, c, v, CATALOG.limits.max_varchar_chars, True)


def _double(t: Table, c: Column, v: Any) -> float:
    if type(v) is float:
        if v - v != 0.0:  # NaN or ±Infinity: QuestDB would store NULL, almost always an upstream bug.
            raise _invalid(t, c, v, "must be finite (NaN and Infinity are rejected)")
        return v
    if type(v) is int:
        return float(v)
    raise _invalid(t, c, v, "must be a number")


def _float(t: Table, c: Column, v: Any) -> float:
    f = _double(t, c, v)
    if abs(f) > _FLOAT32_MAX:
        raise _invalid(t, c, v, "is outside the 32-bit FLOAT range")
    return f


def _integer(t: Table, c: Column, v: Any, bound: int, rule: str) -> int:
    if type(v) is int:
        i = v
    elif type(v) is float and v.is_integer() and abs(v) <= _SAFE_INT:
        i = int(v)
    else:
        raise _invalid(t, c, v, "must be an integer")
    if i > bound or i < -bound:
        raise _invalid(t, c, v, rule)
    return i


def _long(t: Table, c: Column, v: Any) -> int:
    return _integer(t, c, v, _LONG_MAX, "is outside the LONG range")


def _int(t: Table, c: Column, v: Any) -> int:
    return _integer(t, c, v, CATALOG.limits.int_max, f"must be an integer within ±{CATALOG.limits.int_max}")


def _boolean(t: Table, c: Column, v: Any) -> bool:
    if type(v) is not bool:
        raise _invalid(t, c, v, "must be a boolean")
    return v


def _timestamp(t: Table, c: Column, v: Any) -> TimestampMicros:
    if type(v) is not int or v < 0 or v > MAX_TIMESTAMP_MICROS:
        raise _invalid(t, c, v, _TIMESTAMP_RULE)
    return TimestampMicros(v)


_CHECKS: dict[str, Check] = {
    "SYMBOL": _symbol,
    "VARCHAR": _varchar,
    "DOUBLE": _double,
    "FLOAT": _float,
    "LONG": _long,
    "INT": _int,
    "BOOLEAN": _boolean,
    "TIMESTAMP": _timestamp,
}


class TableEncoder:
    """Validates rows of one table and appends them to a ``questdb`` Buffer. Reusable; one per table."""

    def __init__(self, table: Table, now_micros: Callable[[], int] | None = None, ttl_hours: int | None = None) -> None:
        self.table = table
        self._now = now_micros or _now_micros
        #: The TTL rows are checked against: the schema's, or a configured retention (``ttl_hours``).
        self.ttl_hours = table.ttl_hours if ttl_hours is None else ttl_hours
        self._ttl_text = (f"{table.ttl_value} {table.ttl_unit}" if ttl_hours is None
                          else f"{ttl_hours} HOURS, configured retention")
        self._ttl_micros = self.ttl_hours * 3_600_000_000
        self._known = frozenset(c.name for c in table.columns)
        self._ts = table.timestamp
        #: ``validate(row)`` → (symbols, columns, ts µs) ready for ``Buffer.row``; raises InvalidRowError. The
        #: table's generated validator (``_validator``): every check of the catalog's columns, unrolled.
        self.validate: Callable[[Row], Validated]
        #: The same checks for a row given as keyword arguments named after the columns (absent = None).
        self.validate_values: Callable[..., Validated]
        #: ``check_values(ts, *columns)`` in ``values_order(table)`` → the checked values as a tuple (no dict), for
        #: ``Writer.write_values``; ``check_values_now``: the same when ``ts`` is the SDK clock's reading of now.
        self.check_values: Callable[..., tuple[Any, ...]]
        self.check_values_now: Callable[..., tuple[Any, ...]]
        #: ``encode_line(values)`` → the row's ILP line, or None (use ``to_row`` and ``Buffer.row``); None for
        #: tables with a column that is not a number.
        self.encode_line: Callable[[tuple[Any, ...]], str | None] | None
        self._prefixes: dict[tuple[Any, ...], str] = {}
        order = values_order(table)
        self._n_symbols = sum(1 for c in table.columns if c.type == "SYMBOL")
        self._symbol_names = order[1 : 1 + self._n_symbols]
        self._field_names = order[1 + self._n_symbols :]
        self._timestamp_fields = frozenset(c.name for c in table.columns if c.type == "TIMESTAMP" and c.name != table.timestamp)
        (self.validate, self.validate_values, self.check_values, self.check_values_now,
         self.encode_line) = _validators(self)

    def check_time(self, ts: Any) -> int:
        """The designated timestamp, checked: whole µs, not before 2000, not older than the TTL, not a day ahead."""
        t = self.table
        now = self._now()
        if type(ts) is int and ts > now + MAX_FUTURE_MICROS:
            raise InvalidRowError(
                t.name, t.timestamp, ts,
                f"{t.name}.{t.timestamp}: {ts} µs is more than a day in the future, a unit mix-up (microseconds or "
                "nanoseconds given where the SDK expects milliseconds?); QuestDB would file it years ahead of every other row",
            )
        if type(ts) is not int or ts < 0:
            if ts is None:
                raise InvalidRowError(t.name, t.timestamp, ts, f"{t.name}.{t.timestamp} (designated timestamp, microseconds) is required, got no value")
            raise InvalidRowError(t.name, t.timestamp, ts, f"{t.name}.{t.timestamp}: {_TIMESTAMP_RULE}, got {describe(ts)}")
        if ts < CATALOG.limits.min_event_time_micros:
            raise InvalidRowError(
                t.name, t.timestamp, ts,
                f"{t.name}.{t.timestamp}: {ts} µs is before 2000-01-01, a unit mix-up (seconds or milliseconds given "
                "where the SDK expects a datetime or milliseconds, or µs expected by the row)",
            )
        oldest = now - self._ttl_micros
        if ts < oldest:
            raise InvalidRowError(
                t.name, t.timestamp, ts,
                f"{t.name}.{t.timestamp}: {_iso(ts)} is older than the table's TTL ({self._ttl_text}, "
                f"oldest accepted now {_iso(oldest)}); QuestDB would accept the row and then drop it",
            )
        return ts

    def _not_a_mapping(self, row: object) -> InvalidRowError:
        t = self.table
        return InvalidRowError(t.name, None, row, f"{t.name}: a row must be a mapping, got {describe(row)}")

    def _required(self, name: str) -> InvalidRowError:
        t = self.table
        c = t.column(name)
        assert c is not None
        return InvalidRowError(t.name, name, None, f"{t.name}.{name} ({c.type}) is required, got no value")

    def _check_unknown(self, row: Row) -> None:
        t = self.table
        for key in row:
            if key not in self._known:
                raise InvalidRowError(
                    t.name, str(key), row[key],
                    f"{t.name}: unknown column {key!r} (value {describe(row[key])}); columns are: "
                    + ", ".join(c.name for c in t.columns),
                )

    def _empty(self, row: Row) -> InvalidRowError:
        t = self.table
        return InvalidRowError(t.name, None, row, f"{t.name}: a row needs at least one column besides {t.timestamp}")

    def to_row(self, values: tuple[Any, ...]) -> Validated:
        """A checked values tuple as ``Buffer.row`` takes it (absent values left out, TIMESTAMP columns as µs)."""
        n = self._n_symbols
        symbols = {k: v for k, v in zip(self._symbol_names, values[1 : 1 + n]) if v is not None}
        columns = {k: (TimestampMicros(v) if k in self._timestamp_fields else v)
                   for k, v in zip(self._field_names, values[1 + n :]) if v is not None}
        return symbols, columns, values[0]

    def _prefix_of(self, key: tuple[Any, ...]) -> str:
        """The table name and symbols of a line, escaped by the official client (a row with one known column is
        encoded and that column's known text cut off). Cached per symbol values, up to _ACCEPTED_LIMIT × 16."""
        buf = Buffer(protocol_version=1)
        symbols = {k: v for k, v in zip(self._symbol_names, key) if v is not None}
        buf.row(self.table.name, symbols=symbols, columns={"x": 1}, at=TimestampNanos(1))
        line = bytes(buf).decode("utf-8")
        assert line.endswith(" x=1i 1\n"), line
        if len(self._prefixes) >= _ACCEPTED_LIMIT * 16:
            self._prefixes.clear()
        p = self._prefixes[key] = line[: -len(" x=1i 1\n")]
        return p

    def encode(self, row: Row, buffer: Buffer) -> None:
        symbols, columns, ts = self.validate(row)
        buffer.row(self.table.name, symbols=symbols, columns=columns, at=TimestampNanos(ts * 1000))


# -- generated validators ------------------------------------------------------------------------------------------
# A row's checks are unrolled into one function per table (source generated from the catalog, compiled once per
# table): no per-column loop, call or tuple unpacking on the hook's path. Values the fast paths do not settle go to
# the column's check function above, which raises with the documented message (or converts, as for int → DOUBLE).

_FACTORIES: dict[str, Callable[..., Any]] = {}


def _fast_path(c: Column, i: int) -> str:
    """A condition true when value ``v`` of column ``c`` needs its full check (``chk[i]``)."""
    if c.type == "DOUBLE":
        return "v.__class__ is not float or v - v != 0.0"
    if c.type == "FLOAT":
        return f"v.__class__ is not float or v - v != 0.0 or v > {_FLOAT32_MAX!r} or v < -{_FLOAT32_MAX!r}"
    if c.type == "LONG":
        return f"v.__class__ is not int or v > {_LONG_MAX} or v < -{_LONG_MAX}"
    if c.type == "INT":
        return f"v.__class__ is not int or v > {CATALOG.limits.int_max} or v < -{CATALOG.limits.int_max}"
    if c.type == "BOOLEAN":
        return "v.__class__ is not bool"
    return "True"


_LOCALS = frozenset({"row", "get", "now", "seen", "symbols", "columns", "v", "ts", "t", "col", "chk", "acc", "now_micros",
                     "check_time", "Mapping", "LIMIT", "FUTURE", "MIN_EVENT", "TTL", "required", "empty", "enc"})


def _symbol_check(i: int, v: str) -> list[str]:
    """Checks symbol ``v`` (column ``i``) unless it is a string already seen: a bounded set of accepted values makes
    the common case one set lookup."""
    return [
        f"            if {v}.__class__ is not str or {v} not in acc[{i}]:",
        f"                chk[{i}](t, col[{i}], {v})",
        f"                if len(acc[{i}]) >= LIMIT:",
        f"                    acc[{i}].clear()",
        f"                acc[{i}].add({v})",
    ]


def _body(table: Table, from_row: bool) -> list[str]:
    """The checks of one row: read from the mapping ``row`` (``from_row``), or from keyword arguments named after
    the columns (the monitor's path: no dict to build, no unknown column possible)."""
    symbols = [c for c in table.columns if c.type == "SYMBOL"]
    fields = [c for c in table.columns if c.type != "SYMBOL" and c.name != table.timestamp]
    assert from_row or not _LOCALS & {c.name for c in table.columns if c.name != table.timestamp}, \
        f"{table.name}: a column name shadows a name of the generated validator"

    def read(name: str) -> str:
        return f"get({name!r})" if from_row else name

    def absent(name: str) -> list[str]:
        return [f"            if {name!r} in row:", "                seen += 1"] if from_row else []

    present = ["            seen += 1"] if from_row else []
    lines = [
        f"        ts = {read(table.timestamp)}",
        "        now = now_micros()",
        "        if ts.__class__ is not int or ts > now + FUTURE or ts < MIN_EVENT or ts < now - TTL:",
        "            ts = check_time(ts)",
        *(["        seen = 1"] if from_row else []),
        "        symbols = {}",
        "        columns = {}",
    ]
    for i, c in enumerate(symbols):
        lines += [
            f"        v = {read(c.name)}",
            "        if v is None:",
            *absent(c.name),
            *([f"            raise required({c.name!r})"] if c.required else ["            pass"]),
            "        else:",
            *present,
            *_symbol_check(i, "v"),
            f"            symbols[{c.name!r}] = v",
        ]
    for k, c in enumerate(fields):
        i = len(symbols) + k
        lines += [
            f"        v = {read(c.name)}",
            "        if v is None:",
            *absent(c.name),
            *([f"            raise required({c.name!r})"] if c.required else ["            pass"]),
            "        else:",
            *present,
            f"            if {_fast_path(c, i)}:",
            f"                v = chk[{i}](t, col[{i}], v)",
            f"            columns[{c.name!r}] = v",
        ]
    if from_row:
        lines += ["        if seen != len(row):", "            check_unknown(row)"]
    lines += ["        if not symbols and not columns:", f"            raise empty({'row' if from_row else 'None'})",
              "        return symbols, columns, ts"]
    return lines


def _values_body(table: Table, trusted_time: bool) -> list[str]:
    """The same checks for a row given positionally (``values_order``): returns the checked values as a tuple, no
    dict built. ``trusted_time``: ``ts`` is the SDK clock's reading of now, which passes every time rule."""
    assert table.timestamp == "ts", f"{table.name}: the generated checks name the designated timestamp ts"
    symbols = [c for c in table.columns if c.type == "SYMBOL"]
    fields = [c for c in table.columns if c.type != "SYMBOL" and c.name != table.timestamp]
    lines = [] if trusted_time else [
        "        now = now_micros()",
        "        if ts.__class__ is not int or ts > now + FUTURE or ts < MIN_EVENT or ts < now - TTL:",
        "            ts = check_time(ts)",
    ]
    for i, c in enumerate(symbols):
        n = c.name
        lines += [f"        if {n} is None:", f"            raise required({n!r})"] if c.required else [f"        if {n} is None:", "            pass"]
        lines += [
            "        else:",
            *_symbol_check(i, n),
        ]
    for k, c in enumerate(fields):
        i = len(symbols) + k
        n = c.name
        lines += [f"        if {n} is None:", f"            raise required({n!r})"] if c.required else [f"        if {n} is None:", "            pass"]
        lines += ["        else:", f"            v = {n}", f"            if {_fast_path(c, i)}:", f"                {n} = chk[{i}](t, col[{i}], v)"]
    if not any(c.required for c in symbols + fields):
        names = [c.name for c in symbols + fields]
        lines += [f"        if {' and '.join(f'{n} is None' for n in names)}:", "            raise empty(None)"]
    lines += [f"        return ({', '.join(values_order(table))},)"]
    return lines


def values_order(table: Table) -> list[str]:
    """The order of a checked values tuple: the designated timestamp, the symbols, the other columns (table order)."""
    return ([table.timestamp] + [c.name for c in table.columns if c.type == "SYMBOL"]
            + [c.name for c in table.columns if c.type != "SYMBOL" and c.name != table.timestamp])


#: Column types a checked value is written as ILP text directly (the others go through ``Buffer.row``): Python's
#: ``repr`` of a finite float is its shortest round-trip form, which QuestDB reads back to the same double.
_LINE_TYPES = {"DOUBLE": "{%s!r}", "FLOAT": "{%s!r}", "LONG": "{%s}i", "INT": "{%s}i"}


def _line_source(table: Table) -> list[str]:
    """``encode_line(values)`` → the ILP line (str) of a checked values tuple, the symbols' part (table name and
    symbols, escaped by the official client) cached per symbol values; None when the row has no field to write (the
    caller encodes it with ``Buffer.row``). Only for tables whose fields are all numbers."""
    symbols = [c.name for c in table.columns if c.type == "SYMBOL"]
    fields = [c for c in table.columns if c.type != "SYMBOL" and c.name != table.timestamp]
    if not fields or any(c.type not in _LINE_TYPES for c in fields):
        return ["    encode_line = None"]
    key = f"({', '.join(symbols)},)" if symbols else "()"
    every = ",".join(f"{c.name}={_LINE_TYPES[c.type] % c.name}" for c in fields)
    lines = [
        "    def encode_line(values):",
        f"        {', '.join(values_order(table))}, = values",
        f"        key = {key}",
        "        p = prefixes.get(key)",
        "        if p is None:",
        "            p = prefix_of(key)",
        f"        if {' and '.join(f'{c.name} is not None' for c in fields)}:",
        f'            return f"{{p}} {every} {{{table.timestamp}}}000\\n"',
        "        parts = []",
    ]
    for c in fields:
        lines += [f"        if {c.name} is not None:", f'            parts.append(f"{c.name}={_LINE_TYPES[c.type] % c.name}")']
    lines += ["        if not parts:", "            return None",
              "        body = ','.join(parts)", f'        return f"{{p}} {{body}} {{{table.timestamp}}}000\\n"']
    return lines


def _factory_source(table: Table) -> str:
    params = ", ".join(f"{c.name}=None" for c in table.columns)
    positional = ", ".join(values_order(table))
    lines = [
        "def make(enc, t, col, chk, acc, now_micros, check_time, Mapping, LIMIT, FUTURE, MIN_EVENT, TTL, prefixes, prefix_of):",
        "    not_a_mapping, required, check_unknown, empty = enc._not_a_mapping, enc._required, enc._check_unknown, enc._empty",
        "    def validate(row):",
        "        if row.__class__ is not dict and not isinstance(row, Mapping):",
        "            raise not_a_mapping(row)",
        "        get = row.get",
        *_body(table, True),
        f"    def validate_values(*, {params}):",
        *_body(table, False),
        f"    def check_values({positional}):",
        *_values_body(table, False),
        f"    def check_values_now({positional}):",
        *_values_body(table, True),
        *_line_source(table),
        "    return validate, validate_values, check_values, check_values_now, encode_line",
    ]
    return "\n".join(lines) + "\n"


def _compile(t: Table) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(compile(_factory_source(t), f"<tradewatch validator {t.name}>", "exec"), namespace)
    make: Callable[..., Any] = namespace["make"]
    _FACTORIES[t.name] = make
    return make


def _validators(enc: TableEncoder) -> Any:
    t = enc.table
    make = _FACTORIES.get(t.name) or _compile(t)
    cols = [c for c in t.columns if c.type == "SYMBOL"] + [c for c in t.columns if c.type != "SYMBOL" and c.name != t.timestamp]
    return make(enc, t, cols, [_CHECKS[c.type] for c in cols], [set[str]() for c in cols if c.type == "SYMBOL"],
                enc._now, enc.check_time, Mapping, _ACCEPTED_LIMIT, MAX_FUTURE_MICROS,
                CATALOG.limits.min_event_time_micros, enc._ttl_micros, enc._prefixes, enc._prefix_of)


for _t in CATALOG.tables.values():  # compiled at import: the first hook call pays nothing
    _compile(_t)


def _now_micros() -> int:
    return time.time_ns() // 1000


def _iso(micros: int) -> str:
    secs, us = divmod(micros, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{us:06d}Z"


def finite(value: float) -> bool:
    return math.isfinite(value)
