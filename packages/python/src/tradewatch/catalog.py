"""The schema and SDK metric catalog, read from ``catalog.json``.

``catalog.json`` is generated from the TypeScript source (``npm run gen``), the single definition of every table and
metric; the generated-files test fails when it is stale. Nothing here is hand-maintained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool
    values: frozenset[str] | None


@dataclass(frozen=True)
class Table:
    name: str
    timestamp: str
    ttl_value: int
    ttl_unit: str
    ttl_hours: int
    dedup_keys: tuple[str, ...]
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None


@dataclass(frozen=True)
class MetricDef:
    name: str
    kind: str
    help: str
    labels: tuple[str, ...]
    fold: tuple[str, ...]
    buckets: tuple[float, ...] | None
    group: str


@dataclass(frozen=True)
class Limits:
    max_symbol_chars: int
    max_varchar_chars: int
    int_max: int
    min_event_time_micros: int


@dataclass(frozen=True)
class Catalog:
    schema_version: int
    limits: Limits
    tables: dict[str, Table]
    metrics: dict[str, MetricDef]
    overflow_label_value: str
    default_max_series: int


def _load() -> Catalog:
    raw: dict[str, Any] = json.loads(resources.files(__package__).joinpath("catalog.json").read_text("utf-8"))
    lim = raw["limits"]
    tables = {
        t["name"]: Table(
            name=t["name"],
            timestamp=t["timestamp"],
            ttl_value=t["ttl"]["value"],
            ttl_unit=t["ttl"]["unit"],
            ttl_hours=t["ttl"]["hours"],
            dedup_keys=tuple(t["dedupKeys"]),
            columns=tuple(
                Column(c["name"], c["type"], bool(c["required"]), frozenset(c["values"]) if "values" in c else None)
                for c in t["columns"]
            ),
        )
        for t in raw["tables"]
    }
    metrics = {
        m["name"]: MetricDef(
            name=m["name"],
            kind=m["kind"],
            help=m["help"],
            labels=tuple(m["labels"]),
            fold=tuple(m["fold"]),
            buckets=tuple(float(b) for b in m["buckets"]) if "buckets" in m else None,
            group=m["group"],
        )
        for m in raw["metrics"]["list"]
    }
    return Catalog(
        schema_version=raw["schemaVersion"],
        limits=Limits(lim["maxSymbolChars"], lim["maxVarcharChars"], lim["intMax"], lim["minEventTimeMicros"]),
        tables=tables,
        metrics=metrics,
        overflow_label_value=raw["metrics"]["overflowLabelValue"],
        default_max_series=raw["metrics"]["defaultMaxSeries"],
    )


CATALOG = _load()


def table(name: str) -> Table:
    """The table called ``name``; raises ValueError naming the known tables (a typo never creates a table)."""
    found = CATALOG.tables.get(name)
    if found is None:
        raise ValueError(f"unknown table {name!r}; tradewatch tables are: {', '.join(CATALOG.tables)}")
    return found
