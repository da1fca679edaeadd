"""A real QuestDB for the Python tests, started through the project's CLI (``tradewatch questdb start``) on free
loopback ports and a throwaway data root, with the schema applied (``tradewatch schema apply``)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CLI = [shutil.which("node") or "node", os.path.join(REPO, "packages", "cli", "bin", "tradewatch.js")]


def pickable_port_range() -> tuple[int, int] | None:
    """Ports below the kernel's ephemeral range, from 10000 up, as the CLI picks them (pickablePortRange in
    packages/cli/src/questdb/ports.ts): a port the kernel hands out for port 0 is one it also gives any outgoing
    connection, which can take it while QuestDB is down between a kill and a restart on the same ports (a loaded run
    lost the ILP port of the outage test's QuestDB so). None when the range is unknown or leaves no room."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return (10_000, low - 1) if low - 10_000 >= 1000 else None


def free_ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports, outside the ephemeral range when it leaves room (else from port 0). The
    probe sockets stay open until all are chosen, so no port is chosen twice."""
    span = pickable_port_range()
    held: list[socket.socket] = []
    try:
        while len(held) < n:
            s = socket.socket()
            held.append(s)
            tries = [random.randint(*span) for _ in range(20)] if span else []
            for port in [*tries, 0]:  # port 0 (any free one) when no try was free
                try:
                    s.bind(("127.0.0.1", port))
                    break
                except OSError:
                    if port == 0:
                        raise
        return [int(s.getsockname()[1]) for s in held]
    finally:
        for s in held:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def cli(*args: str, timeout: float = 180) -> str:
    done = subprocess.run([*CLI, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"tradewatch {' '.join(args)} failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class QuestDb:
    data_root: str
    http_port: int
    pg_port: int
    ilp_port: int
    min_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        cli("questdb", "start", "--questdb-data-root", self.data_root, "--http-port", str(self.http_port),
            "--pg-port", str(self.pg_port), "--ilp-tcp-port", str(self.ilp_port), "--min-http-port", str(self.min_port),
            "--heap", "512m", "--small-footprint")

    def stop(self) -> None:
        cli("questdb", "stop", "--questdb-data-root", self.data_root)

    def pid(self) -> int:
        out = cli("questdb", "status", "--questdb-data-root", self.data_root)
        found = re.search(r"\(pid (\d+)", out)
        if not found:
            raise RuntimeError(f"no pid in: {out}")
        return int(found.group(1))

    def sql(self, query: str) -> list[dict[str, Any]]:
        url = f"{self.url}/exec?" + urllib.parse.urlencode({"query": query})
        with urllib.request.urlopen(url, timeout=30) as resp:
            body = json.loads(resp.read())
        names = [c["name"] for c in body.get("columns", [])]
        return [dict(zip(names, row)) for row in body.get("dataset", [])]

    def wait_applied(self, table: str, timeout: float = 60) -> None:
        """Waits until QuestDB applied every committed WAL transaction of ``table`` (rows are then visible)."""
        until(lambda: bool(self.sql(f"SELECT suspended, writerTxn, sequencerTxn FROM wal_tables() WHERE name = '{table}'"))
              and all(r["writerTxn"] == r["sequencerTxn"] for r in self.sql(
                  f"SELECT writerTxn, sequencerTxn FROM wal_tables() WHERE name = '{table}'")), timeout, f"{table} applied")

    def count(self, table: str, where: str = "true") -> int:
        return int(self.sql(f"SELECT count() n FROM {table} WHERE {where}")[0]["n"])


def until(cond: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def start_on_free_ports(root: str, attempts: int = 5) -> QuestDb:
    """free_ports() closes its sockets before QuestDB binds the ports, so another process (the other pytest worker, a
    TypeScript test file starting its own server) can take it in between: the CLI then finds a port in use, or QuestDB
    exits saying it could not bind. Fresh ports are tried then, as the TypeScript tests' server helper does; any other
    failure is raised at once."""
    for attempt in range(1, attempts + 1):
        q = QuestDb(root, *free_ports(4))
        try:
            q.start()
            return q
        except RuntimeError as err:
            lost_a_port = "could not bind" in str(err) or "are in use" in str(err)
            if not lost_a_port or attempt == attempts:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def questdb() -> Iterator[QuestDb]:
    root = tempfile.mkdtemp(prefix="tradewatch-pytest-questdb-")
    q = start_on_free_ports(root)
    try:
        cli("schema", "apply", "--questdb-url", q.url)
        yield q
    finally:
        try:
            q.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def run_id(request: pytest.FixtureRequest) -> str:
    """A value unique to the test, for rows that must not meet other tests' rows."""
    return f"{request.node.name[:40]}-{time.time_ns()}"
