"""Each Python hook writes, column by column, what the TypeScript SDK writes for the same event."""

from __future__ import annotations

import time

from vectors import present, python_rows, typescript_rows


def test_python_rows_equal_typescript_rows() -> None:
    base = int(time.time() * 1000) // 1000 * 1000
    ts_rows = typescript_rows(base)
    py_rows = python_rows(base)
    assert len(ts_rows) == len(py_rows) > 30
    refused = 0
    for i, (ts_event, py_event) in enumerate(zip(ts_rows, py_rows)):
        assert [t for t, _ in py_event] == [t for t, _ in ts_event], f"event {i}: tables"
        for (table, ts_row), (_, py_row) in zip(ts_event, py_event):
            a, b = present(ts_row), present(py_row)
            assert sorted(a) == sorted(b), f"event {i} {table}: columns {sorted(a)} vs {sorted(b)}"
            for col in a:
                assert a[col] == b[col] and type(a[col] == b[col]) is bool, f"event {i} {table}.{col}: TS {a[col]!r} vs Python {b[col]!r}"
        refused += not ts_event
    assert refused >= 10, "the vectors include refused events, and both SDKs refuse them"
