"""Sending one ILP batch to QuestDB's ``/write?precision=n`` and classifying the answer, as the TypeScript writer does
(src/storage/http-sender.ts): ok, rejected (the request committed nothing; QuestDB names the first bad line),
unavailable (retry later), config (credentials or URL wrong)."""

from __future__ import annotations

import base64
import http.client
import json
import os
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Outcome:
    kind: str  # 'ok' | 'rejected' | 'unavailable' | 'config'
    status: int = 0
    message: str = ""
    line: int | None = None
    error_id: str | None = None


def classify(status: int, body: str) -> Outcome:
    if 200 <= status < 300:
        return Outcome("ok", status)
    message, line, error_id = body.strip()[:500] or f"HTTP {status}", None, None
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            if isinstance(parsed.get("message"), str):
                message = parsed["message"]
            if isinstance(parsed.get("line"), int):
                line = parsed["line"]
            if isinstance(parsed.get("errorId"), str):
                error_id = parsed["errorId"]
    except ValueError:
        pass
    if status in (401, 403, 404, 405):
        return Outcome("config", status, message)
    if status in (408, 429) or status >= 500 or status < 200:
        return Outcome("unavailable", status, message)
    return Outcome("rejected", status, message, line, error_id)


class HttpTransport:
    """One keep-alive connection, used by the writer's thread only. Credentials come from the URL or the environment
    (``QDB_USER``/``QDB_PASSWORD`` basic auth, ``QDB_TOKEN`` bearer), never from code."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"questdb url must be http(s)://host:port, got {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 9000)
        self._path = (parts.path.rstrip("/") or "") + "/write?precision=n"
        self._timeout = timeout
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        user = parts.username or os.environ.get("QDB_USER")
        password = parts.password or os.environ.get("QDB_PASSWORD")
        token = os.environ.get("QDB_TOKEN")
        if user and password:
            self._headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        elif token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._conn: http.client.HTTPConnection | None = None

    def send(self, payload: bytes) -> Outcome:
        for attempt in (0, 1):
            conn = self._conn
            if conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                conn = self._conn = cls(self._host, self._port, timeout=self._timeout)
            try:
                conn.request("POST", self._path, body=payload, headers=self._headers)
                resp = conn.getresponse()
                body = resp.read().decode("utf-8", "replace")
                return classify(resp.status, body)
            except (OSError, http.client.HTTPException) as err:
                self.close()
                # A keep-alive connection the server closed meanwhile fails at once: retry once on a fresh one.
                if attempt == 0 and isinstance(err, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)):
                    continue
                return Outcome("unavailable", 0, f"{type(err).__name__}: {err}")
        return Outcome("unavailable", 0, "no answer")

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
