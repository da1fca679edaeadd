"""The Python SDK's metrics: the catalog's names, labels and help texts, and an exposition promtool accepts in both
formats."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import urllib.parse
import urllib.request
from pathlib import Path

from conftest import REPO, free_port, until
from tradewatch import Monitor
from tradewatch.exposition import render_metrics, serve_metrics
from vectors import CapturingWriter


def busy_monitor() -> Monitor:
    mon = Monitor("py-metrics", instance="m-1", writer=CapturingWriter(), sample_interval=0)
    mon.fetch("bybit", "open_interest", "BTC/USDT:USDT", "ok", latency_ms=12.0, records=3)
    mon.fetch("bybit", "open_interest", "BTC/USDT:USDT", "timeout", latency_ms=10_000.0)
    mon.error(TimeoutError("slow"), "fetcher", exchange="bybit")
    mon.data_gap("bybit", "liquidations", "BTC/USDT:USDT", 1_700_000_000_000, 1_700_000_030_000)
    mon.liquidation("bybit", "BTC/USDT:USDT", "sell", 97000.0, 0.1, value_usd=9700.0)
    mon.storage_size("parquet", 1234, files=2)
    mon.open_interest("bybit", "BTC/USDT:USDT", 1.0)
    mon.funding_rate("bybit", "BTC/USDT:USDT", 0.0001)
    mon.connection_state("bybit", "liquidations", "connected")
    mon.message("bybit", "liquidations", exchange_time=None)
    mon.rate_limit("bybit", used=10, quota=100, throttled=True)
    s = mon.strategy("mm", "run-1", "paper")
    s.order("bybit", "BTC/USDT:USDT", "o1", "buy", "open")
    s.fill("bybit", "BTC/USDT:USDT", "o1", "f1", "buy", 97000.0, 0.1)
    s.position("bybit", "BTC/USDT:USDT", 0.1, mark_price=97000.0)
    s.pnl(1.0, 2.0, equity=100.0, gross_exposure=9700.0)
    mon.metric("queue_depth", 3, labels={"queue": 'q"1\\\n'})
    mon.metric("jobs_total", 1, kind="counter")
    mon.fetch("bybit", "oi", "BTC", "OK")  # refused: counted
    mon.sample()
    return mon


def test_names_labels_help_and_buckets_are_the_catalogs() -> None:
    with open(os.path.join(REPO, "packages/python/src/tradewatch/catalog.json"), encoding="utf-8") as f:
        catalog = {m["name"]: m for m in json.load(f)["metrics"]["list"]}
    mon = busy_monitor()
    seen = set()
    for family in mon.registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        if name in ("queue_depth", "jobs_total"):
            continue
        d = catalog[name]
        seen.add(name)
        assert family.documentation == d["help"] and family.type == d["kind"], name
        for sample in family.samples:
            labels = [k for k in sample.labels if k != "le"]
            assert labels == d["labels"], f"{name}: {labels}"
    assert len(seen) >= 40, sorted(set(catalog) - seen)


def promtool_check(body: bytes) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is required (bash scripts/setup.sh installs it)"
    done = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert done.returncode == 0 and (done.stdout + done.stderr).strip() == b"", (done.stdout + done.stderr).decode()


def test_promtool_accepts_the_prometheus_text_format() -> None:
    _, body = render_metrics(busy_monitor().registry, "prometheus")
    promtool_check(body)


def test_the_openmetrics_format_passes_promtool_lint_and_a_real_prometheus_parses_it(tmp_path: Path) -> None:
    """promtool (2.42 here, and every release so far: prometheus/prometheus#8932) parses only the text format, so
    the OpenMetrics body is checked by what does parse it: family names must be unique (a gauge `x` beside a
    counter `x_total` clash there; the catalog had one), and a real Prometheus scrapes the endpoint with its
    OpenMetrics-first Accept header and must report the target up, without error, with the counter's value."""
    mon = busy_monitor()
    content_type, body = render_metrics(mon.registry, "openmetrics")
    assert content_type.startswith("application/openmetrics-text") and body.endswith(b"# EOF\n")
    families = [line.split()[2] for line in body.decode().splitlines() if line.startswith("# TYPE ")]
    assert len(families) == len(set(families)), "every OpenMetrics family name is unique"
    prometheus = shutil.which("prometheus")
    assert prometheus, "prometheus is required (bash scripts/setup.sh installs it)"
    port, prom_port = free_port(), free_port()
    serve_metrics(mon.registry, port)
    accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
        f"  - job_name: py\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    proc = subprocess.Popen([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def target() -> dict[str, str]:
            with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/targets", timeout=5) as r:
                active = json.loads(r.read())["data"]["activeTargets"]
            return active[0] if active else {}
        until(lambda: target().get("health") in ("up", "down"), 60, "the first scrape")
        t = target()
        assert t["health"] == "up" and t["lastError"] == "", t
        q = urllib.parse.urlencode({"query": 'tradewatch_fetches_total{status="timeout"}'})
        with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/query?{q}", timeout=5) as r:
            result = json.loads(r.read())["data"]["result"]
        assert [float(x["value"][1]) for x in result] == [1.0]
    finally:
        proc.terminate()
        proc.wait(10)


def _samples(mon: Monitor, sample: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for m in mon.registry.collect() for s in m.samples if s.name == sample}


def test_fetch_metrics_count_every_call_when_series_are_folded() -> None:
    """fetch finds its series through a cache of unfolded series: calls to new, known and folded label sets (two
    series per metric, then everything folds into __other__) all land, and every call to a folded series is counted
    as an overflow."""
    mon = Monitor("py-fold", instance="f-1", writer=CapturingWriter(), sample_interval=0, max_series_per_metric=2)
    calls = [(f"ex{i % 40}", "ok" if i % 3 else "timeout", 0.25 * (i + 1), i) for i in range(400)]
    for exchange, status, latency, records in calls:
        mon.fetch(exchange, "oi", "BTC/USDT:USDT", status, latency_ms=latency, records=records)
    mon.fetch("ex0", "oi", "BTC/USDT:USDT", "ok")  # neither latency nor records: the total only
    totals = _samples(mon, "tradewatch_fetches_total")
    assert sum(totals.values()) == len(calls) + 1
    # Unfolded: the first two label sets of each metric, (ex0, timeout) and (ex1, ok) for the totals, ex0 and ex1 for
    # the durations.
    ex0_timeout = sum(1 for c in calls if c[0] == "ex0" and c[1] == "timeout")
    ex1_ok = sum(1 for c in calls if c[0] == "ex1" and c[1] == "ok")
    assert totals[(("dataset", "oi"), ("exchange", "ex0"), ("service", "py-fold"), ("status", "timeout"))] == ex0_timeout
    assert totals[(("dataset", "oi"), ("exchange", "ex1"), ("service", "py-fold"), ("status", "ok"))] == ex1_ok
    assert sum(_samples(mon, "tradewatch_fetch_duration_seconds_count").values()) == len(calls)
    assert abs(sum(_samples(mon, "tradewatch_fetch_duration_seconds_sum").values())
               - sum(c[2] for c in calls) / 1000) < 1e-9
    assert sum(_samples(mon, "tradewatch_fetch_records_total").values()) == sum(c[3] for c in calls)
    overflow = _samples(mon, "tradewatch_sdk_series_overflow_total")
    assert overflow[(("metric", "tradewatch_fetches_total"), ("service", "py-fold"))] == len(calls) + 1 - ex0_timeout - ex1_ok
    ex01 = sum(1 for c in calls if c[0] in ("ex0", "ex1"))
    assert overflow[(("metric", "tradewatch_fetch_duration_seconds"), ("service", "py-fold"))] == len(calls) - ex01
    with_records = [c for c in calls if c[3] > 0]  # the first two: ex1 and ex2 (ex0's first call has 0 records)
    ex12 = sum(1 for c in with_records if c[0] in ("ex1", "ex2"))
    assert overflow[(("metric", "tradewatch_fetch_records_total"), ("service", "py-fold"))] == len(with_records) - ex12
    mon.close()
