"""Refused calls: counted in ``tradewatch_sdk_invalid_calls_total{method,field}`` and logged once per (method, field)."""

from __future__ import annotations

import logging
import threading

from .metrics import Family, Series
from .rows import InvalidRowError, describe

MAX_DISTINCT_PROBLEMS = 1000

#: Columns whose hook argument is not the column's own name.
FIELD_NAMES = {
    "ts": "at",
    "exchange_ts": "exchange_time",
    "gap_start": "start",
    "gap_end": "end",
    "duration_s": "end",
    "next_funding_ts": "next_funding_time",
    "retry_after_s": "retry_after_seconds",
}


class InputError(ValueError):
    """An input problem the SDK detects before the writer sees the row, naming the caller's argument."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Diagnostics:
    def __init__(self, logger: logging.Logger, invalid_calls: Family, service: str) -> None:
        self.logger = logger
        self._invalid = invalid_calls
        self._service = service
        self._seen: set[str] = set()
        self._saturated = False
        self._lock = threading.Lock()

    def invalid(self, method: str, err: BaseException) -> None:
        try:
            field = "(arguments)"
            if isinstance(err, InvalidRowError):
                if err.column is not None:
                    field = FIELD_NAMES.get(err.column, err.column)
            elif isinstance(err, InputError):
                field = err.field
            elif type(err).__name__ == "WriterClosedError":
                field = "(writer)"
            reason = str(err) or describe(err)
            s = self._invalid.get((self._service, method, field))
            assert isinstance(s, Series)
            s.value += 1
            self.once(f"{method}\0{field}", f"tradewatch: {method}() call refused ({field}): {reason}; further "
                      f"{method}/{field} problems are only counted in tradewatch_sdk_invalid_calls_total")
        except Exception:  # reporting must never become an exception for the caller
            pass

    def once(self, key: str, message: str) -> None:
        with self._lock:
            if key in self._seen:
                return
            if len(self._seen) >= MAX_DISTINCT_PROBLEMS:
                if not self._saturated:
                    self._saturated = True
                    self.warn(f"tradewatch: more than {MAX_DISTINCT_PROBLEMS} distinct SDK problems; new ones are counted but no longer logged")
                return
            self._seen.add(key)
        self.warn(message)

    def warn(self, message: str) -> None:
        try:
            self.logger.warning(message)
        except Exception:
            pass


def check_label(field: str, value: object) -> str:
    if type(value) is not str or not value or len(value) > 256:
        raise InputError(field, f"{field} must be a non-empty string of at most 256 characters, got {describe(value)}")
    return value
