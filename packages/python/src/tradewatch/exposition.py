"""``/metrics`` in both exposition formats, from the monitor's registry (``prometheus_client`` renders them)."""

from __future__ import annotations

from prometheus_client import exposition, start_http_server
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import CollectorRegistry

PROMETHEUS_CONTENT_TYPE = exposition.CONTENT_TYPE_LATEST
OPENMETRICS_CONTENT_TYPE = openmetrics.CONTENT_TYPE_LATEST


def render_metrics(registry: CollectorRegistry, fmt: str = "prometheus") -> tuple[str, bytes]:
    """(content type, body) in ``prometheus`` text 0.0.4 or ``openmetrics`` 1.0.0."""
    if fmt == "openmetrics":
        return OPENMETRICS_CONTENT_TYPE, openmetrics.generate_latest(registry)  # type: ignore[no-untyped-call]
    return PROMETHEUS_CONTENT_TYPE, exposition.generate_latest(registry)


def serve_metrics(registry: CollectorRegistry, port: int, addr: str = "127.0.0.1") -> object:
    """Serves ``/metrics`` on ``addr:port`` from a daemon thread; the format follows the scraper's Accept header."""
    return start_http_server(port, addr=addr, registry=registry)
