"""Shared with the TypeScript SDK: runs test/fixtures/sdk-vectors.json through both SDKs."""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any, Mapping

from conftest import REPO
from tradewatch import Monitor, WriterStats
from tradewatch.catalog import table as table_named
from tradewatch.rows import TableEncoder

VECTORS = os.path.join(REPO, "test", "fixtures", "sdk-vectors.json")


class CapturingWriter:
    """Validates each row exactly as the real writer does, then keeps it instead of sending it."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, Any]]] = []
        self._enc: dict[str, TableEncoder] = {}

    def write(self, table: str, row: Mapping[str, Any]) -> None:
        enc = self._enc.get(table) or self._enc.setdefault(table, TableEncoder(table_named(table)))
        enc.validate(row)
        self.rows.append((table, dict(row)))

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self, timeout: float = 0) -> WriterStats:
        return self.stats()

    def stats(self) -> WriterStats:
        return WriterStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, True, 0.0, None)


def snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def resolve(value: Any, base: int) -> Any:
    if isinstance(value, dict):
        if "$t" in value:
            return base + value["$t"]
        return {k: resolve(v, base) for k, v in value.items()}
    return value


def python_rows(base_ms: int) -> list[list[tuple[str, dict[str, Any]]]]:
    with open(VECTORS, encoding="utf-8") as f:
        doc = json.load(f)
    w = CapturingWriter()
    mon = Monitor(doc["service"], instance=doc["instance"], writer=w, sample_interval=0)
    out = []
    for v in doc["events"]:
        w.rows = []
        args = resolve(v["args"], base_ms)
        method = v["method"]
        if method.startswith("strategy."):
            s = v["strategy"]
            target: Any = mon.strategy(s["strategy"], s["runId"], s["mode"])
            method = method.split(".", 1)[1]
        else:
            target = mon
        kwargs = {snake(k): val for k, val in args.items() if k != "err"}
        if "labels" in args:
            kwargs["labels"] = args["labels"]
        if method == "error":
            target.error(args["err"], **kwargs)
        else:
            getattr(target, snake(method))(**kwargs)
        out.append(w.rows)
    return out


def typescript_rows(base_ms: int) -> list[list[tuple[str, dict[str, Any]]]]:
    done = subprocess.run(["node", "--import", "tsx", "test/fixtures/sdk_vector_rows.ts", str(base_ms)],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    return [[(r["table"], r["row"]) for r in event] for event in json.loads(done.stdout)]


def present(row: Mapping[str, Any]) -> dict[str, Any]:
    """Absent values are null in TypeScript rows and None (or missing) in Python rows: compare what is set."""
    return {k: v for k, v in row.items() if v is not None}
