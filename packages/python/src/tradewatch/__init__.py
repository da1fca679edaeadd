"""tradewatch: monitoring for crypto trading infrastructure on QuestDB and Prometheus (the Python SDK)."""

from .catalog import CATALOG
from .clock import MicrosClock, TimeInput, to_micros
from .monitor import Monitor, MonitorWriter, Readiness, StrategyMonitor
from .rows import InvalidRowError
from .writer import Writer, WriterClosedError, WriterStats

SCHEMA_VERSION = CATALOG.schema_version

__all__ = [
    "Monitor", "MonitorWriter", "Readiness", "StrategyMonitor", "Writer", "WriterStats", "WriterClosedError",
    "InvalidRowError", "MicrosClock", "TimeInput", "to_micros", "SCHEMA_VERSION", "CATALOG",
]
