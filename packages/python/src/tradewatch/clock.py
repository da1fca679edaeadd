"""Time: the SDK's strictly increasing microsecond clock, and the one rule for caller-supplied times."""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Union

#: A caller-supplied time: an aware ``datetime`` (naive ones are read as UTC), or milliseconds since the epoch
#: (what ``time.time() * 1000`` and ccxt's ``timestamp`` fields give), as in the TypeScript SDK.
TimeInput = Union[datetime, int, float]


class MicrosClock:
    """Microseconds since the epoch (UTC), strictly increasing per clock.

    Rows of one process instance are told apart by ``ts`` in the dedup keys, so two events in the same microsecond
    would upsert each other; bumping by 1 µs makes every row of the instance distinct.
    """

    def __init__(self, wall_ns: Callable[[], int] = time.time_ns) -> None:
        self._wall_ns = wall_ns
        self._last = 0
        self._lock = threading.Lock()

    def now(self) -> int:
        us = self._wall_ns() // 1000
        with self._lock:
            if us <= self._last:
                us = self._last + 1
            self._last = us
        return us


def to_micros(value: object) -> int:
    """A ``TimeInput`` in whole microseconds; raises TypeError/ValueError for anything else (NaN, strings, ...)."""
    if isinstance(value, bool):
        raise TypeError(f"a time must be a datetime or milliseconds since the epoch, got {value!r}")
    if isinstance(value, int):
        return value * 1000
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a time must be finite, got {value!r}")
        return round(value * 1000)
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        delta = aware - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    raise TypeError(f"a time must be a datetime or milliseconds since the epoch, got {_describe(value)}")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"
