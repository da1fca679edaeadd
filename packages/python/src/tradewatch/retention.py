"""Configured retention: table TTLs where the database's differ from the schema's defaults.

The TypeScript SDK's ``createMonitor({ retention })`` takes ``{table: {value, unit}}``, the CLI config's
``storage.retention.<table>`` takes ``"90d"``; both shapes are accepted here, with the same units and the same hours
per unit (a month is a twelfth of a year, as QuestDB normalizes 12 MONTHS to 1 YEAR). A row older than its table's
TTL is refused: QuestDB would accept it and delete it at once. Bad options raise ``ValueError`` naming the field
(``retention.<table>``) and the value.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Union

from .catalog import CATALOG

__all__ = ["TtlInput", "retention_hours", "ttl_hours"]

#: ``{"value": 30, "unit": "DAYS"}`` (the TypeScript SDK's ``Ttl``) or ``"30d"`` / ``"30 days"`` (the CLI config's).
TtlInput = Union[Mapping[str, Any], str]

_HOURS_PER_UNIT = {"HOUR": 1, "DAY": 24, "WEEK": 24 * 7, "MONTH": 730, "YEAR": 8760}
# The config's spellings (packages/sdk/src/schema/retention.ts): lower-case "m" is refused, minutes or months
# would be a guess.
_CONFIG_UNITS = {
    "h": "HOUR", "hour": "HOUR", "hours": "HOUR",
    "d": "DAY", "day": "DAY", "days": "DAY",
    "w": "WEEK", "week": "WEEK", "weeks": "WEEK",
    "M": "MONTH", "month": "MONTH", "months": "MONTH",
    "y": "YEAR", "year": "YEAR", "years": "YEAR",
}
_CONFIG_TEXT = re.compile(r"^\s*(\d+)\s*([A-Za-z]+)\s*$")


def _describe(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:77] + '...' if len(text) > 80 else text}"


def ttl_hours(value: object, field: str) -> int:
    """One TTL in hours; ``field`` names it in the error (``Monitor: retention.tw_fetches``)."""
    if isinstance(value, str):
        m = _CONFIG_TEXT.match(value)
        unit = None
        if m:
            unit = _CONFIG_UNITS.get(m.group(2)) or (_CONFIG_UNITS.get(m.group(2).lower()) if len(m.group(2)) > 1 else None)
        if not m or unit is None:
            raise ValueError(f"{field} must be a whole number and a unit (90d, 12h, 2w, 6M, 5y) or "
                             f"{{'value': n, 'unit': 'DAYS'}}, got {_describe(value)}")
        n = int(m.group(1))
    elif isinstance(value, Mapping):
        extra = sorted(str(k) for k in value if k not in ("value", "unit"))
        if extra:
            raise ValueError(f"{field} has unknown key(s) {', '.join(extra)}: a TTL is {{'value': n, 'unit': 'DAYS'}}, "
                             f"got {_describe(value)}")
        raw_value, raw_unit = value.get("value"), value.get("unit")
        if type(raw_value) is not int:
            raise ValueError(f"{field}.value must be a whole number of units, got {_describe(raw_value)}")
        n = raw_value
        unit = raw_unit.upper().removesuffix("S") if isinstance(raw_unit, str) else None
        if unit not in _HOURS_PER_UNIT:
            raise ValueError(f"{field}.unit must be one of HOURS, DAYS, WEEKS, MONTHS, YEARS, got {_describe(raw_unit)}")
    else:
        raise ValueError(f"{field} must be {{'value': n, 'unit': 'DAYS'}} or a string such as '90d', got {_describe(value)}")
    if n < 1:
        raise ValueError(f"{field} must be at least 1 {unit.lower()}, got {_describe(value)}")
    return n * _HOURS_PER_UNIT[unit]


def retention_hours(retention: object, where: str) -> dict[str, int]:
    """``{table: hours}`` from a retention option; unknown tables and bad TTLs raise ``ValueError``."""
    if retention is None:
        return {}
    if not isinstance(retention, Mapping):
        raise ValueError(f"{where}: retention must be a mapping of table name to TTL, got {_describe(retention)}")
    out: dict[str, int] = {}
    for name, ttl in retention.items():
        if name not in CATALOG.tables:
            raise ValueError(f"{where}: retention.{name}: no table of that name (tables: {', '.join(sorted(CATALOG.tables))})")
        out[name] = ttl_hours(ttl, f"{where}: retention.{name}")
    return out
