"""ccxt auto-instrumentation: one call wraps a ccxt exchange instance (``ccxt``, ``ccxt.async_support`` or
``ccxt.pro``) so that

* every REST call (``fetch*``, ``create*``, ``cancel*``, ``edit*``) records a ``tw_fetches`` row: the dataset from
  the method name (``fetchOpenInterest`` → ``open_interest``), the symbol argument (``*`` for exchange-wide calls),
  the latency, a status mapped from ccxt's error classes (``RateLimitExceeded``/``DDoSProtection`` → rate_limited,
  ``RequestTimeout`` → timeout, anything else → error), the records returned; a failure also records a
  ``tw_errors`` row, and the rate-limit headers of the response a ``tw_rate_limits`` row;
* every ``watch*`` call (the websocket loops of ccxt.pro) counts a message on the channel (the dataset), with the
  exchange's timestamp for latency when the result carries one; the first message after start or after a failure
  records ``connected`` (with the downtime), a network failure ``disconnected``.

Errors are classified by ccxt's class names and hierarchy (the MRO), so this module does not import ccxt. The
caller's call is unchanged: same result, same exception. Recording never raises.
"""

from __future__ import annotations

import functools
import inspect
import re
import time
from typing import Any, Callable, TypeVar

from .monitor import Monitor

__all__ = ["instrument_ccxt", "classify_error", "dataset_of", "read_rate_limit"]

E = TypeVar("E")
_REST_PREFIXES = ("fetch", "create", "cancel", "edit")
_KNOWN_QUOTAS = {"binanceusdm": 2400.0, "binancecoinm": 2400.0, "binance": 6000.0}
_MARK = "__tradewatch_instrumented__"
#: ccxt's own machinery behind every call: not datasets.
_PLUMBING = frozenset({"fetch", "fetch2", "fetch_2", "watch", "watchMultiple", "watch_multiple", "watchTopics", "watch_topics"})


def dataset_of(method: str) -> str:
    """``fetchOpenInterest`` / ``fetch_open_interest`` → ``open_interest``; ``watchLiquidations`` → ``liquidations``."""
    name = re.sub(r"^(fetch|watch)_?", "", method)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    name = re.sub(r"_for_symbols$", "", name)
    return name or method


def classify_error(err: BaseException) -> tuple[str, str, bool]:
    """(fetch status, error kind, connectivity problem) by ccxt's error hierarchy; works without importing ccxt."""
    names = {c.__name__ for c in type(err).__mro__}
    kind = type(err).__name__
    if names & {"RateLimitExceeded", "DDoSProtection"}:
        return "rate_limited", kind, False
    if "RequestTimeout" in names or isinstance(err, TimeoutError):
        return "timeout", "RequestTimeout", True
    if "NetworkError" in names or isinstance(err, ConnectionError):
        return "error", kind, True
    return "error", kind, False


def _num(raw: Any) -> float | None:
    try:
        v = float(raw)
    except (TypeError, ValueError):
        return None
    return v if v == v and abs(v) != float("inf") else None


def read_rate_limit(exchange_id: str, headers: Any) -> tuple[float | None, float | None]:
    """(used, quota) from response headers, as the reference daemon reads them: Binance ``X-MBX-USED-WEIGHT-1M``,
    Bybit ``X-Bapi-Limit-Status``/``X-Bapi-Limit``, else ``X-RateLimit-*``."""
    if not headers:
        return None, None
    h = {str(k).lower(): v for k, v in dict(headers).items()}
    used = _num(h.get("x-mbx-used-weight-1m", h.get("x-mbx-used-weight")))
    if used is not None:
        return used, _KNOWN_QUOTAS.get(exchange_id)
    remaining, quota = _num(h.get("x-bapi-limit-status")), _num(h.get("x-bapi-limit"))
    if remaining is not None:
        return (max(0.0, quota - remaining), quota) if quota is not None else (None, None)
    quota, used, remaining = _num(h.get("x-ratelimit-limit")), _num(h.get("x-ratelimit-used")), _num(h.get("x-ratelimit-remaining"))
    if used is not None:
        return used, quota
    if quota is not None and remaining is not None:
        return max(0.0, quota - remaining), quota
    return None, None


class _Recorder:
    def __init__(self, exchange: Any, monitor: Monitor, exchange_id: str) -> None:
        self.ex = exchange
        self.mon = monitor
        self.id = exchange_id
        self.channels_up: dict[str, bool] = {}

    def rest_done(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], started: float,
                  result: Any = None, err: BaseException | None = None) -> None:
        try:
            latency = (time.perf_counter() - started) * 1000
            symbol = kwargs.get("symbol", args[0] if args and isinstance(args[0], str) else None)
            symbol = symbol if isinstance(symbol, str) and symbol else "*"
            dataset = dataset_of(method)
            if err is None:
                records = len(result) if isinstance(result, (list, tuple)) else (1 if result is not None else 0)
                self.mon.fetch(self.id, dataset, symbol, "ok", latency_ms=latency, records=records)
            else:
                status, kind, _ = classify_error(err)
                self.mon.fetch(self.id, dataset, symbol, status, latency_ms=latency)
                self.mon.error(err, "rest", exchange=self.id, kind=kind)
            headers = getattr(self.ex, "last_response_headers", None)
            used, quota = read_rate_limit(self.id, headers)
            throttled = err is not None and classify_error(err)[0] == "rate_limited"
            retry = _num((dict(headers or {}) or {}).get("Retry-After")) if headers else None
            if used is not None or throttled:
                self.mon.rate_limit(self.id, used=used, quota=quota, throttled=throttled, retry_after_seconds=retry)
        except Exception:  # recording never raises into the caller
            pass

    def watch_done(self, method: str, result: Any = None, err: BaseException | None = None) -> None:
        try:
            channel = dataset_of(method)
            if err is None:
                if not self.channels_up.get(channel):
                    self.channels_up[channel] = True
                    self.mon.connection_state(self.id, channel, "connected")
                items = result if isinstance(result, list) else [result]
                for item in items or [None]:
                    ts = item.get("timestamp") if isinstance(item, dict) else None
                    self.mon.message(self.id, channel, exchange_time=ts if isinstance(ts, (int, float)) else None)
                return
            status, kind, connectivity = classify_error(err)
            self.mon.error(err, "websocket", exchange=self.id, kind=kind)
            if connectivity and self.channels_up.get(channel, True):
                self.channels_up[channel] = False
                self.mon.connection_state(self.id, channel, "disconnected", reason=str(err)[:500] or kind)
        except Exception:
            pass


def _wrap(rec: _Recorder, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    watch = name.startswith("watch")
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as err:
                if isinstance(err, Exception):
                    rec.watch_done(name, err=err) if watch else rec.rest_done(name, args, kwargs, started, err=err)
                raise
            rec.watch_done(name, result) if watch else rec.rest_done(name, args, kwargs, started, result)
            return result
        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except Exception as err:
            rec.rest_done(name, args, kwargs, started, err=err)
            raise
        rec.rest_done(name, args, kwargs, started, result)
        return result
    return wrapper


def instrument_ccxt(exchange: E, monitor: Monitor, *, exchange_id: str | None = None) -> E:
    """Wraps the exchange instance's REST and ``watch*`` methods in place (idempotent) and returns it."""
    if getattr(exchange, _MARK, False):
        return exchange
    rec = _Recorder(exchange, monitor, exchange_id or str(getattr(exchange, "id", "unknown")))
    for name in dir(type(exchange)):
        is_rest = name.startswith(_REST_PREFIXES)
        if name in _PLUMBING or not (is_rest or name.startswith("watch")):
            continue
        if name.startswith(("watch_", "fetch_", "create_", "cancel_", "edit_")) and any(ch.isupper() for ch in name):
            continue
        fn = getattr(exchange, name, None)
        if callable(fn):
            setattr(exchange, name, _wrap(rec, name, fn))
    setattr(exchange, _MARK, True)
    return exchange
