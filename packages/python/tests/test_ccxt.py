"""ccxt instrumentation, and the Python reference daemon example (ccxt from PyPI) against the project's exchange
simulator (started through the CLI): its rows land in QuestDB and show in the dashboards' queries."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

from conftest import CLI, REPO, QuestDb, free_port, until
from tradewatch.instrument import classify_error, dataset_of, read_rate_limit


class NetworkError(Exception): ...
class RateLimitExceeded(NetworkError): ...
class DDoSProtection(NetworkError): ...
class RequestTimeout(NetworkError): ...
class BadSymbol(Exception): ...


def test_datasets_statuses_and_headers() -> None:
    assert dataset_of("fetchOpenInterest") == dataset_of("fetch_open_interest") == "open_interest"
    assert dataset_of("watchLiquidationsForSymbols") == "liquidations"
    # By ccxt's class names and hierarchy (these stand-ins have ccxt's names; the real classes are tested below).
    assert classify_error(RateLimitExceeded("x"))[0] == "rate_limited"
    assert classify_error(DDoSProtection("x"))[0] == "rate_limited"
    assert classify_error(RequestTimeout("x"))[:2] == ("timeout", "RequestTimeout")
    assert classify_error(NetworkError("x")) == ("error", "NetworkError", True)
    assert classify_error(BadSymbol("x")) == ("error", "BadSymbol", False)
    import ccxt
    assert classify_error(ccxt.RateLimitExceeded("x"))[0] == "rate_limited"
    assert classify_error(ccxt.RequestTimeout("x"))[0] == "timeout"
    assert classify_error(ccxt.ExchangeNotAvailable("x"))[2] is True
    assert read_rate_limit("bybit", {"X-Bapi-Limit-Status": "590", "X-Bapi-Limit": "600"}) == (10.0, 600.0)
    assert read_rate_limit("binanceusdm", {"x-mbx-used-weight-1m": "42"}) == (42.0, 2400.0)


def test_the_python_reference_daemon_against_the_simulator(questdb: QuestDb, run_id: str) -> None:
    port = free_port()
    sim = subprocess.Popen([*CLI, "simulate", "--port", str(port), "--exchanges", "bybit", "--symbols", "BTC,ETH",
                            "--liquidation-rate", "5"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert sim.stdout is not None
        bybit = None
        for line in sim.stdout:
            found = re.search(r"bybit\s+REST (\S+)\s+WS (\S+)", line)
            if found:
                bybit = found.group(1)
            if "control" in line:
                break
        assert bybit, "the simulator printed its addresses"
        rest = bybit.rstrip("/")
        ws = rest.replace("http://", "ws://")
        daemon = subprocess.Popen([sys.executable, os.path.join(REPO, "packages/python/examples/reference_daemon.py"),
                                   "--questdb", questdb.url, "--instance", run_id, "--rest", rest, "--ws", ws,
                                   "--seconds", "25", "--interval", "0.5"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        where = f"service = 'py-reference-daemon' AND instance = '{run_id}'"
        until(lambda: questdb.count("tw_fetches", where + " AND status = 'ok'") > 4, 90, "ok fetches")
        body = json.dumps({"kind": "rate_limit", "retryAfterSec": 3}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/control/bybit/fault", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 201
        out, _ = daemon.communicate(timeout=120)
        assert daemon.returncode == 0 and "stopped cleanly" in out, out
    finally:
        sim.terminate()
        sim.wait(30)
    for t in ("tw_fetches", "tw_open_interest", "tw_funding_rates", "tw_liquidations", "tw_connection_events",
              "tw_connection_samples", "tw_errors", "tw_rate_limits"):
        questdb.wait_applied(t)
    datasets = {r["dataset"]: r["n"] for r in questdb.sql(f"SELECT dataset, count() n FROM tw_fetches WHERE {where} AND status = 'ok'")}
    assert {"open_interest", "funding_rate", "markets"} <= set(datasets), datasets
    assert questdb.count("tw_fetches", where + " AND status = 'rate_limited'") > 0
    assert questdb.count("tw_errors", where + " AND kind = 'RateLimitExceeded'") > 0
    assert questdb.count("tw_rate_limits", where + " AND throttled") > 0
    assert questdb.count("tw_open_interest", "exchange = 'bybit' AND service = 'py-reference-daemon'") > 0
    assert questdb.count("tw_liquidations", where) > 0
    assert questdb.count("tw_connection_events", where + " AND state = 'connected' AND channel = 'liquidations'") >= 1
    assert questdb.count("tw_connection_samples", where + " AND messages > 0") > 0
    # The Pipeline dashboard's fetch panels and the Exchange dashboard's connection panels read these tables by
    # service and exchange: run one of each, with Grafana's macros for the last hour.
    for name in ("pipeline.json", "exchange.json"):
        with open(os.path.join(REPO, "deploy/grafana/provisioning/dashboards", name), encoding="utf-8") as fh:
            dash = json.load(fh)
        sqls = [t.get("rawSql") for p in dash["panels"] for t in p.get("targets", []) if t.get("rawSql")]
        hits = 0
        for sql in sqls:
            if "tw_fetches" not in sql and "tw_connection_samples" not in sql:
                continue
            q = _expand(sql, run_id)
            if q is None:
                continue
            rows = questdb.sql(q)
            hits += bool(rows)
        assert hits > 0, f"{name}: a panel query over these tables returns the daemon's rows"


def _expand(sql: str, instance: str) -> str | None:
    """Grafana's QuestDB macros for the last hour and one selected service/exchange; None for other variables."""
    now = time.time()
    frm = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(now - 3600))
    to = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(now + 60))
    sql = re.sub(r"\$__timeFilter\((\w+)\)", rf"\1 >= '{frm}' AND \1 <= '{to}'", sql)
    sql = re.sub(r"\$__conditionalAll\(([^,]+\)), \$\w+\)", r"\1", sql)
    sql = sql.replace("$__fromTime", f"'{frm}'").replace("$__toTime", f"'{to}'")
    sql = sql.replace("$__sampleByInterval", "10s").replace("$__interval_ms", "10000")
    sql = sql.replace("$service", "'py-reference-daemon'").replace("$exchange", "'bybit'")
    return None if "$" in sql else sql
