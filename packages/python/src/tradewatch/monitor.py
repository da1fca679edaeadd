"""The monitor: one hook call records a QuestDB row (through the writer) and updates the Prometheus metrics, exactly
as the TypeScript SDK's ``createMonitor`` does (same tables, columns, metric names, labels and help texts).

Hook calls never raise: a refused call (bad input, closed writer) is counted in
``tradewatch_sdk_invalid_calls_total{method,field}`` and logged once per (method, field). Metrics are updated only
when the row was accepted, so QuestDB and Prometheus count the same events. Configuration errors (``Monitor(...)``
arguments) do raise ``ValueError``: they are checked once, at start.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Protocol, cast

from prometheus_client.registry import CollectorRegistry

from .catalog import CATALOG, table as table_named
from .clock import MicrosClock, TimeInput, to_micros
from .diagnostics import Diagnostics, InputError, check_label
from .metrics import Family, HistogramSeries, SdkMetrics, Series
from .retention import TtlInput, retention_hours
from .rows import TableEncoder, Validated, describe
from .writer import Writer, WriterStats

__all__ = ["Monitor", "StrategyMonitor", "MonitorWriter", "Readiness"]

TradingMode = Literal["live", "paper", "backtest"]
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_TERMINAL = frozenset({"filled", "canceled", "rejected", "expired"})
MAX_TRACKED_ORDERS = 100_000
MAX_CUSTOM_METRICS = 1000
MAX_LABEL_SETS = 100_000
MAX_MESSAGE_CHARS = 4096
DROP_WINDOW_S = 60.0


class MonitorWriter(Protocol):
    """What the monitor needs of a writer (a shared :class:`Writer`, or a test double)."""

    def write(self, table: str, row: Mapping[str, Any]) -> None: ...
    def flush(self, timeout: float | None = ...) -> bool: ...
    def close(self, timeout: float = ...) -> WriterStats: ...
    def stats(self) -> WriterStats: ...


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str | None = None


def _opt_micros(value: TimeInput | None) -> int | None:
    return None if value is None else to_micros(value)


class _Channel:
    __slots__ = ("exchange", "name", "connected", "ever_connected", "lost_at", "attempts", "reconnects", "messages",
                 "lat_sum", "lat_count", "lat_max", "last_ms", "messages_total", "latency", "last_message", "up")

    def __init__(self, exchange: str, name: str, m: _Metrics, service: str) -> None:
        self.exchange, self.name = exchange, name
        self.connected = self.ever_connected = False
        self.lost_at: int | None = None
        self.attempts = self.reconnects = self.messages = self.lat_count = 0
        self.lat_sum = 0.0
        self.lat_max = -math.inf
        self.last_ms = 0.0
        key = (service, exchange, name)
        self.messages_total = m.s("tradewatch_messages_total", key)
        self.latency = m.h("tradewatch_message_latency_seconds", key)
        self.last_message = m.s("tradewatch_last_message_timestamp_seconds", key)
        self.up = m.s("tradewatch_connection_up", key)


class _Metrics:
    """Series look-ups by metric name (the catalog's), folding counted and logged."""

    def __init__(self, sdk: SdkMetrics, on_fold: Any) -> None:
        self.sdk = sdk
        self._on_fold = on_fold
        self._fam = {name: sdk.families[name] for name in CATALOG.metrics}

    def s(self, name: str, labels: tuple[str, ...]) -> Series:
        f = self._fam[name]
        s = f.get(labels)
        if s.folded:
            self._on_fold(f)
        assert isinstance(s, Series)
        return s

    def h(self, name: str, labels: tuple[str, ...]) -> HistogramSeries:
        f = self._fam[name]
        s = f.get(labels)
        if s.folded:
            self._on_fold(f)
        assert isinstance(s, HistogramSeries)
        return s


class Monitor:
    """Records the health, pipeline, exchange, trading and custom events of one service instance.

    Give either ``questdb`` (a URL: the monitor creates, owns and closes a :class:`Writer`; ``writer_options`` are
    passed to it) or ``writer`` (a shared writer the monitor flushes but does not close).
    """

    def __init__(
        self,
        service: str,
        *,
        instance: str | None = None,
        version: str | None = None,
        host: str | None = None,
        questdb: str | None = None,
        writer: MonitorWriter | None = None,
        writer_options: Mapping[str, Any] | None = None,
        registry: CollectorRegistry | None = None,
        logger: logging.Logger | None = None,
        sample_interval: float = 5.0,
        max_series_per_metric: int | None = None,
        ready_max_lag: float = 60.0,
        retention: Mapping[str, TtlInput] | None = None,
    ) -> None:
        if type(service) is not str or not service or len(service) > 256:
            raise ValueError(f"Monitor: service must be a non-empty string of at most 256 characters, got {describe(service)}")
        instance = socket.gethostname() if instance is None else instance
        if type(instance) is not str or not instance or len(instance) > 256:
            raise ValueError(f"Monitor: instance must be a non-empty string of at most 256 characters, got {describe(instance)}")
        host = socket.gethostname() if host is None else host
        if type(host) is not str or not host or len(host) > 256:
            raise ValueError(f"Monitor: host must be a non-empty string of at most 256 characters, got {describe(host)}")
        if not isinstance(sample_interval, (int, float)) or sample_interval < 0:
            raise ValueError(f"Monitor: sample_interval must be a number of seconds ≥ 0, got {describe(sample_interval)}")
        max_series = CATALOG.default_max_series if max_series_per_metric is None else max_series_per_metric
        if type(max_series) is not int or max_series < 1:
            raise ValueError(f"Monitor: max_series_per_metric must be an integer ≥ 1, got {describe(max_series)}")
        ttl_hours = retention_hours(retention, "Monitor")
        self.service = service
        self.instance = instance
        self.logger = logger or logging.getLogger("tradewatch")
        self.registry = registry or CollectorRegistry()
        if writer is not None:
            self.writer: MonitorWriter = writer
            self._owns_writer = False
        elif questdb is not None:
            options = dict(writer_options or {})
            if ttl_hours:
                if "retention" in options:
                    raise ValueError("Monitor: retention is given both as an argument and in writer_options; give it once")
                options["retention"] = retention
            self.writer = Writer(questdb, service=service, instance=instance, **options)
            self._owns_writer = True
        else:
            raise ValueError("Monitor: either writer (a shared writer) or questdb (a URL for a writer of its own) is required")
        # A plain Writer (not a subclass or another MonitorWriter): hooks may hand it rows checked without a dict.
        w = self.writer
        # A shared Writer checks rows against its own TTLs; this monitor's retention needs encoders of its own (rows
        # then reach the writer checked). Another MonitorWriter gets the rows as they are and checks them itself.
        self._encoders: dict[str, TableEncoder] = {}
        if type(w) is Writer and not self._owns_writer:
            self._encoders = {name: TableEncoder(table_named(name), ttl_hours=h) for name, h in ttl_hours.items()}
        fetches = (self._encoders.get("tw_fetches") or w.encoder("tw_fetches")) if type(w) is Writer else None
        # fetch's path into our own Writer, bound once (no attribute look-up or bound-method object per call): the
        # writer's write_values, the encoder's checks of a row timed now and of a row with a given time, the encoder.
        self._fast_fetch: tuple[Callable[[Any, Any], None], Callable[..., Any], Callable[..., Any], TableEncoder] | None = (
            (cast(Writer, w).write_values, fetches.check_values_now, fetches.check_values, fetches)
            if fetches is not None else None)
        self._ready_max_lag = ready_max_lag
        self._clock = MicrosClock()
        self._lock = threading.RLock()
        sdk = SdkMetrics.for_registry(self.registry, max_series)
        self._sdk = sdk
        self._diag = Diagnostics(self.logger, sdk.families["tradewatch_sdk_invalid_calls_total"], service)
        overflow = sdk.families["tradewatch_sdk_series_overflow_total"]

        def on_fold(f: Family) -> None:
            s = overflow.get((service, f.name))
            assert isinstance(s, Series)
            s.value += 1
            self._diag.once(f"overflow\0{f.name}", f"tradewatch: metric {f.name} reached {f.max_series} label sets; "
                            "new ones are recorded under __other__ (tradewatch_sdk_series_overflow_total counts them; "
                            "QuestDB rows keep the real labels)")

        self._m = _Metrics(sdk, on_fold)
        # fetch's series by its fetches_total labels: [fetches_total, fetch_duration_seconds or None,
        # fetch_records_total or None], unfolded series only (series are never removed from their family).
        self._fetch_series: dict[tuple[str, str, str, str], list[Any]] = {}
        self._svc = (service,)
        self._channels: dict[tuple[str, str], _Channel] = {}
        self._strategies: dict[tuple[str, str, str], StrategyMonitor] = {}
        self._custom: dict[str, tuple[str, tuple[str, ...], Family, dict[str, list[Any]]]] = {}
        self._m.s("tradewatch_process_info", (service, instance, version or "", str(os.getpid()))).value = 1
        self._started = time.time()
        self._m.s("tradewatch_process_start_time_seconds", self._svc).value = round(_process_start_time())
        self._last_cpu = time.process_time()
        self._last_wall = time.monotonic()
        self._sampler_lag_ms = 0.0
        self._last_dropped = 0
        self._last_drop_at = -math.inf
        self._shut = False
        self._version = version
        # Written into every process sample: the fleet view names each process's machine from its latest sample.
        self._host = host
        self._watch_writer()
        sdk.on_collect(self._refresh_uptime)
        self._lifecycle("start", None)
        self._stop_event = threading.Event()
        self._timer: threading.Thread | None = None
        if sample_interval > 0:
            self._timer = threading.Thread(target=self._sample_loop, args=(float(sample_interval),),
                                           name="tradewatch-sampler", daemon=True)
            self._timer.start()

    # -- plumbing -------------------------------------------------------------------------------------------------
    # Every use of self._clock happens under self._lock (hooks, samples, lifecycle rows): the clock's own lock is
    # skipped (now_serialized), one lock per hook call instead of two.
    def _ts(self, at: TimeInput | None) -> int:
        return self._clock.now_serialized() if at is None else to_micros(at)

    def _write(self, method: str, table: str, row: Mapping[str, Any]) -> bool:
        try:
            enc = self._encoders.get(table) if self._encoders else None
            if enc is not None:
                cast(Writer, self.writer).write_checked(table, enc.validate(row))
            else:
                self.writer.write(table, row)
            return True
        except Exception as err:
            self._diag.invalid(method, err)
            return False

    def _watch_writer(self) -> None:
        m = self._m
        series = {n: m.s(n, self._svc) for n in (
            "tradewatch_writer_connected", "tradewatch_writer_queue_rows", "tradewatch_writer_spool_bytes",
            "tradewatch_writer_spool_max_bytes", "tradewatch_writer_lag_seconds", "tradewatch_writer_rows_written_total",
            "tradewatch_writer_rows_rejected_total", "tradewatch_writer_rows_dropped_total")}

        def refresh() -> None:
            s = self.writer.stats()
            series["tradewatch_writer_connected"].value = 1 if s.connected else 0
            series["tradewatch_writer_queue_rows"].value = s.queue_rows
            series["tradewatch_writer_spool_bytes"].value = s.spool_bytes
            series["tradewatch_writer_spool_max_bytes"].value = s.spool_max_bytes
            series["tradewatch_writer_lag_seconds"].value = s.lag_ms / 1000
            series["tradewatch_writer_rows_written_total"].value = s.rows_written
            series["tradewatch_writer_rows_rejected_total"].value = s.rows_rejected
            series["tradewatch_writer_rows_dropped_total"].value = s.rows_dropped

        self._sdk.on_collect(refresh)

    def _refresh_uptime(self) -> None:
        self._m.s("tradewatch_process_uptime_seconds", self._svc).value = time.time() - _process_start_time()

    def _lifecycle(self, event: str, reason: str | None) -> None:
        with self._lock:
            self._write(event, "tw_process_events", {
                "ts": self._clock.now_serialized(), "service": self.service, "instance": self.instance, "event": event,
                "pid": os.getpid(), "version": self._version, "reason": reason,
            })

    # -- health -----------------------------------------------------------------------------------------------------
    def error(self, err: object, component: str, *, exchange: str | None = None, kind: str | None = None,
              at: TimeInput | None = None) -> None:
        """An error with where it happened; ``kind`` defaults to the exception's class name (ccxt: ``NetworkError``...)."""
        try:
            k = kind if kind is not None else _error_kind(err)
            message = _error_message(err)
            if message is not None and len(message) > MAX_MESSAGE_CHARS:
                message = message[:MAX_MESSAGE_CHARS]
            with self._lock:
                ts = self._ts(at)
                if not self._write("error", "tw_errors", {
                    "ts": ts, "service": self.service, "instance": self.instance, "component": component,
                    "exchange": exchange, "kind": k, "message": message,
                }):
                    return
                self._m.s("tradewatch_errors_total", (self.service, component, exchange or "", k)).value += 1
                self._m.s("tradewatch_last_error_timestamp_seconds", self._svc).value = ts / 1e6
        except Exception as e:
            self._diag.invalid("error", e)

    # -- pipeline ---------------------------------------------------------------------------------------------------
    def fetch(self, exchange: str, dataset: str, symbol: str, status: str, *, latency_ms: float | None = None,
              records: int | None = None, at: TimeInput | None = None) -> None:
        """One data fetch and its outcome (status: ok, error, rate_limited, timeout, blocked)."""
        # The busiest hook: its three series are found with one look-up (_fetch_series, unfolded series only); a
        # first, folded or new series takes _fetch_metrics. A refused row raises out of write into the except below.
        try:
            with self._lock:
                svc = self.service
                fast = self._fast_fetch
                if fast is not None:  # our own Writer: the same checks, without a dict; the line is written on its thread
                    write_values, check_now, check_at, enc = fast
                    if at is None:  # the clock's reading of now passes every time rule: not checked again
                        values = check_now(self._clock.now_serialized(), svc, self.instance, exchange, dataset, symbol,
                                           status, latency_ms, records)
                    else:
                        values = check_at(to_micros(at), svc, self.instance, exchange, dataset, symbol, status,
                                          latency_ms, records)
                    write_values(enc, values)
                else:
                    ts = self._clock.now_serialized() if at is None else to_micros(at)
                    self.writer.write("tw_fetches", {
                        "ts": ts, "service": svc, "instance": self.instance, "exchange": exchange, "dataset": dataset,
                        "symbol": symbol, "status": status, "latency_ms": latency_ms, "records": records,
                    })
                key = (svc, exchange, dataset, status)
                known = self._fetch_series.get(key)
                if (known is None or (latency_ms is not None and known[1] is None)
                        or (records is not None and records > 0 and known[2] is None)):
                    self._fetch_metrics(key, latency_ms, records)
                    return
                known[0].value += 1
                if latency_ms is not None:
                    h = known[1]
                    v = latency_ms / 1000  # HistogramSeries.observe, inlined on the busiest hook
                    h.counts[bisect_left(h.bounds, v)] += 1
                    h.sum += v
                    h.count += 1
                if records is not None and records > 0:
                    known[2].value += records
        except Exception as e:
            self._diag.invalid("fetch", e)

    def _fetch_metrics(self, key: tuple[str, str, str, str], latency_ms: float | None, records: int | None) -> None:
        """A fetch's metrics through the families (new series created, folded ones counted); the series that are
        not folded are remembered in _fetch_series for the next call with the same labels (at most one entry per
        unfolded fetches_total series: bounded by max_series)."""
        s = self._m.s("tradewatch_fetches_total", key)
        s.value += 1
        known = self._fetch_series.get(key)
        if known is None and not s.folded:
            known = self._fetch_series[key] = [s, None, None]
        key3 = key[:3]
        if latency_ms is not None:
            h = self._m.h("tradewatch_fetch_duration_seconds", key3)
            h.observe(latency_ms / 1000)
            if known is not None and not h.folded:
                known[1] = h
        if records is not None and records > 0:
            r = self._m.s("tradewatch_fetch_records_total", key3)
            r.value += records
            if known is not None and not r.folded:
                known[2] = r

    def data_gap(self, exchange: str, dataset: str, symbol: str, start: TimeInput, end: TimeInput, *,
                 reason: str | None = None, at: TimeInput | None = None) -> None:
        try:
            s, e = to_micros(start), to_micros(end)
            duration = (e - s) / 1e6
            with self._lock:
                if not self._write("data_gap", "tw_data_gaps", {
                    "ts": self._ts(at), "service": self.service, "instance": self.instance, "exchange": exchange,
                    "dataset": dataset, "symbol": symbol, "gap_start": s, "gap_end": e, "duration_s": duration,
                    "reason": reason,
                }):
                    return
                self._m.s("tradewatch_data_gaps_total", (self.service, exchange, dataset)).value += 1
                if duration > 0:
                    self._m.s("tradewatch_data_gap_seconds_total", (self.service, exchange, dataset)).value += duration
        except Exception as err:
            self._diag.invalid("data_gap", _field_error(err, "start"))

    def liquidation(self, exchange: str, symbol: str, side: str, price: float, amount: float, *,
                    value_usd: float | None = None, exchange_time: TimeInput | None = None,
                    at: TimeInput | None = None) -> None:
        try:
            with self._lock:
                if not self._write("liquidation", "tw_liquidations", {
                    "ts": self._ts(at), "service": self.service, "instance": self.instance, "exchange": exchange,
                    "symbol": symbol, "side": side, "price": price, "amount": amount, "value_usd": value_usd,
                    "exchange_ts": _opt_micros(exchange_time),
                }):
                    return
                key = (self.service, exchange, symbol, side)
                self._m.s("tradewatch_liquidations_total", key).value += 1
                if value_usd is not None and value_usd > 0:
                    self._m.s("tradewatch_liquidation_value_usd_total", key).value += value_usd
        except Exception as e:
            self._diag.invalid("liquidation", e)

    def storage_size(self, store: str, bytes: int, *, files: int | None = None, at: TimeInput | None = None) -> None:
        try:
            with self._lock:
                if not self._write("storage_size", "tw_storage_size", {
                    "ts": self._ts(at), "service": self.service, "instance": self.instance, "store": store,
                    "bytes": bytes, "files": files,
                }):
                    return
                self._m.s("tradewatch_storage_bytes", (self.service, store)).value = bytes
                if files is not None:
                    self._m.s("tradewatch_storage_files", (self.service, store)).value = files
        except Exception as e:
            self._diag.invalid("storage_size", e)

    def open_interest(self, exchange: str, symbol: str, open_interest: float, *,
                      open_interest_value: float | None = None, at: TimeInput | None = None) -> None:
        try:
            with self._lock:
                if self._write("open_interest", "tw_open_interest", {
                    "ts": self._ts(at), "exchange": exchange, "symbol": symbol, "service": self.service,
                    "open_interest": open_interest, "open_interest_value": open_interest_value,
                }):
                    self._m.s("tradewatch_market_rows_total", (self.service, exchange, "open_interest")).value += 1
        except Exception as e:
            self._diag.invalid("open_interest", e)

    def funding_rate(self, exchange: str, symbol: str, funding_rate: float, *, mark_price: float | None = None,
                     index_price: float | None = None, next_funding_time: TimeInput | None = None,
                     at: TimeInput | None = None) -> None:
        try:
            with self._lock:
                if self._write("funding_rate", "tw_funding_rates", {
                    "ts": self._ts(at), "exchange": exchange, "symbol": symbol, "service": self.service,
                    "funding_rate": funding_rate, "mark_price": mark_price, "index_price": index_price,
                    "next_funding_ts": _opt_micros(next_funding_time),
                }):
                    self._m.s("tradewatch_market_rows_total", (self.service, exchange, "funding_rate")).value += 1
        except Exception as e:
            self._diag.invalid("funding_rate", e)

    # -- exchange connectivity --------------------------------------------------------------------------------------
    def _channel(self, exchange: str, channel: str) -> _Channel:
        ch = self._channels.get((exchange, channel))
        if ch is None:
            check_label("exchange", exchange)
            check_label("channel", channel)
            ch = self._channels[(exchange, channel)] = _Channel(exchange, channel, self._m, self.service)
        return ch

    def message(self, exchange: str, channel: str, exchange_time: TimeInput | None = None) -> None:
        """One message received on a channel (hot path: aggregated, one sample row per channel per interval)."""
        try:
            with self._lock:
                ch = self._channels.get((exchange, channel)) or self._channel(exchange, channel)
                now_ms = time.time() * 1000
                if ch.messages_total.folded:
                    self._m.s("tradewatch_messages_total", (self.service, exchange, channel))
                ch.messages += 1
                ch.last_ms = now_ms
                ch.messages_total.value += 1
                ch.last_message.value = now_ms / 1000
                if exchange_time is not None:
                    try:
                        lat = now_ms - to_micros(exchange_time) / 1000
                    except (TypeError, ValueError):
                        lat = math.nan  # an unusable exchange time is ignored; the message still counts
                    if lat == lat:
                        ch.lat_sum += lat
                        ch.lat_count += 1
                        if lat > ch.lat_max:
                            ch.lat_max = lat
                        ch.latency.observe(lat / 1000 if lat > 0 else 0)
        except Exception as e:
            self._diag.invalid("message", e)

    def connection_state(self, exchange: str, channel: str, state: str, *, reason: str | None = None,
                         attempt: int | None = None, at: TimeInput | None = None) -> None:
        """A connection state change (connected, disconnected, reconnecting); downtime is computed on reconnect."""
        try:
            with self._lock:
                ch = self._channel(exchange, channel)
                ts = self._ts(at)
                downtime: float | None = None
                att: int | None = None
                if state == "connected":
                    if ch.lost_at is not None:
                        downtime = max(0.0, (ts - ch.lost_at) / 1e6)
                elif state == "reconnecting":
                    att = attempt if attempt is not None else ch.attempts + 1
                if not self._write("connection_state", "tw_connection_events", {
                    "ts": ts, "service": self.service, "instance": self.instance, "exchange": exchange,
                    "channel": channel, "state": state, "reason": reason, "downtime_s": downtime, "attempt": att,
                }):
                    return
                key = (self.service, exchange, channel)
                self._m.s("tradewatch_connection_state_changes_total", (*key, state)).value += 1
                if state == "connected":
                    if ch.lost_at is not None and ch.ever_connected:
                        ch.reconnects += 1
                        self._m.s("tradewatch_reconnects_total", key).value += 1
                    if downtime is not None:
                        self._m.s("tradewatch_connection_downtime_seconds_total", key).value += downtime
                    ch.connected = ch.ever_connected = True
                    ch.lost_at = None
                    ch.attempts = 0
                else:
                    if ch.lost_at is None:
                        ch.lost_at = ts
                    ch.connected = False
                    if att is not None:
                        ch.attempts = att
                ch.up.value = 1 if ch.connected else 0
        except Exception as e:
            self._diag.invalid("connection_state", e)

    def rate_limit(self, exchange: str, *, used: float | None = None, quota: float | None = None,
                   throttled: bool | None = None, retry_after_seconds: float | None = None,
                   at: TimeInput | None = None) -> None:
        try:
            with self._lock:
                if not self._write("rate_limit", "tw_rate_limits", {
                    "ts": self._ts(at), "service": self.service, "instance": self.instance, "exchange": exchange,
                    "used": used, "quota": quota, "throttled": throttled, "retry_after_s": retry_after_seconds,
                }):
                    return
                key = (self.service, exchange)
                if used is not None:
                    self._m.s("tradewatch_rate_limit_used", key).value = used
                if quota is not None:
                    self._m.s("tradewatch_rate_limit_quota", key).value = quota
                if throttled is not None:
                    self._m.s("tradewatch_rate_limit_throttled", key).value = 1 if throttled else 0
                    if throttled:
                        self._m.s("tradewatch_rate_limit_throttled_total", key).value += 1
        except Exception as e:
            self._diag.invalid("rate_limit", e)

    # -- trading ----------------------------------------------------------------------------------------------------
    def strategy(self, strategy: str, run_id: str, mode: TradingMode) -> StrategyMonitor:
        """The recording handle of one strategy run (live, paper or backtest); the same handle for the same run."""
        key = (str(strategy), str(run_id), str(mode))
        with self._lock:
            h = self._strategies.get(key)
            if h is None:
                h = self._strategies[key] = StrategyMonitor(self, strategy, run_id, mode)
            return h

    # -- custom -----------------------------------------------------------------------------------------------------
    def metric(self, name: str, value: float, *, kind: Literal["gauge", "counter"] = "gauge",
               labels: Mapping[str, str] | None = None, at: TimeInput | None = None) -> None:
        """A custom gauge (current value) or counter (an increment ≥ 0; the SDK stores the running total)."""
        try:
            if type(value) not in (int, float) or not math.isfinite(value):
                raise InputError("value", f"value must be a finite number, got {describe(value)}")
            if kind == "counter" and value < 0:
                raise InputError("value", f"a counter takes increments ≥ 0, got {value}")
            with self._lock:
                ckind, names, fam, entries = self._custom_family(name, kind, labels)
                canonical = _canonical(names, labels)
                entry = entries.get(canonical)
                if entry is None and len(entries) >= MAX_LABEL_SETS:
                    raise InputError("labels", f"metric {name} has {MAX_LABEL_SETS} label sets already; new ones are refused")
                total = (entry[1] if entry else 0) + value if kind == "counter" else value
                if not self._write("metric", "tw_metrics", {
                    "ts": self._ts(at), "name": name, "service": self.service, "instance": self.instance,
                    "labels": canonical, "kind": kind, "source": "sdk", "value": float(total),
                }):
                    return
                if entry is None:
                    vals = (self.service, *(labels[n] for n in names)) if labels else (self.service,)
                    entry = entries[canonical] = [fam.get(vals), 0.0]
                entry[1] = total
                series = entry[0]
                if series.folded:
                    self._m._on_fold(fam)
                series.value = series.value + value if kind == "counter" else value
        except Exception as e:
            self._diag.invalid("metric", e)

    def _custom_family(self, name: object, kind: str, labels: Mapping[str, str] | None) -> tuple[str, tuple[str, ...], Family, dict[str, list[Any]]]:
        if type(name) is not str or not _METRIC_NAME.match(name):
            raise InputError("name", f"name must be a Prometheus metric name, got {describe(name)}")
        if name.startswith("tradewatch_"):
            raise InputError("name", f"the tradewatch_ prefix is reserved for the SDK's own metrics, got {name}")
        if kind not in ("gauge", "counter"):
            raise InputError("kind", f"kind must be gauge or counter, got {describe(kind)}")
        if labels is not None and not isinstance(labels, Mapping):
            raise InputError("labels", f"labels must be a mapping of label name to value, got {describe(labels)}")
        names = tuple(sorted(labels)) if labels else ()
        for label in names:
            if type(label) is not str or not _LABEL_NAME.match(label) or label.startswith("__") or label in ("service", "le", "quantile"):
                raise InputError("labels", f"label name {label!r} is not allowed (Prometheus label syntax; not service, le, quantile or __*)")
            v = labels[label] if labels else None
            if type(v) is not str or not v or len(v) > 256:
                raise InputError("labels", f"label {label} must be a non-empty string of at most 256 characters, got {describe(v)}")
        existing = self._custom.get(name)
        if existing is not None:
            if existing[0] != kind or existing[1] != names:
                raise InputError("labels", f"metric {name} was first recorded as a {existing[0]} with labels "
                                           f"({','.join(existing[1])}); got a {kind} with ({','.join(names)})")
            return existing
        if len(self._custom) >= MAX_CUSTOM_METRICS:
            raise InputError("name", f"more than {MAX_CUSTOM_METRICS} custom metric names; {name} refused")
        fam = self._sdk.custom(name, kind, ("service", *names))
        if fam.kind != kind or fam.labels != ("service", *names):
            raise InputError("name", f"metric {name} is registered with other labels or kind in this registry")
        created: tuple[str, tuple[str, ...], Family, dict[str, list[Any]]] = (kind, names, fam, {})
        self._custom[name] = created
        return created

    # -- sampling, readiness, shutdown ------------------------------------------------------------------------------
    def _sample_loop(self, interval: float) -> None:
        while True:
            expected = time.monotonic() + interval
            if self._stop_event.wait(interval):
                return
            # How late the sampler woke: a busy interpreter (GIL held by the caller's threads) shows here, the
            # Python counterpart of the event-loop lag the TypeScript SDK reports.
            self._sampler_lag_ms = max(0.0, (time.monotonic() - expected) * 1000)
            self.sample()

    def sample(self) -> None:
        """Takes the health and connection samples now (the sampler thread does this every ``sample_interval``)."""
        try:
            with self._lock:
                self._sample_health()
                self._sample_channels()
                self.readiness()
        except Exception as e:
            self._diag.invalid("sample", e)

    def _sample_health(self) -> None:
        wall, cpu = time.monotonic(), time.process_time()
        elapsed = wall - self._last_wall
        cpu_percent = (cpu - self._last_cpu) / elapsed * 100 if elapsed > 0 else 0.0
        self._last_wall, self._last_cpu = wall, cpu
        rss = _rss_bytes()
        uptime = time.time() - _process_start_time()
        self._write("sample", "tw_process_samples", {
            "ts": self._clock.now_serialized(), "service": self.service, "instance": self.instance, "pid": os.getpid(),
            "uptime_s": uptime, "rss_bytes": rss, "cpu_percent": round(cpu_percent * 100) / 100,
            "event_loop_lag_ms": round(self._sampler_lag_ms * 1000) / 1000,
            "host": self._host, "version": self._version,
        })
        m = self._m
        m.s("tradewatch_process_uptime_seconds", self._svc).value = uptime
        if rss is not None:
            m.s("tradewatch_process_resident_memory_bytes", self._svc).value = rss
        m.s("tradewatch_process_cpu_seconds_total", self._svc).value = cpu
        m.s("tradewatch_process_event_loop_lag_seconds", self._svc).value = self._sampler_lag_ms / 1000

    def _sample_channels(self) -> None:
        for ch in list(self._channels.values()):
            ok = self._write("sample", "tw_connection_samples", {
                "ts": self._clock.now_serialized(), "service": self.service, "instance": self.instance, "exchange": ch.exchange,
                "channel": ch.name, "connected": ch.connected, "messages": ch.messages,
                "latency_ms_avg": ch.lat_sum / ch.lat_count if ch.lat_count else None,
                "latency_ms_max": ch.lat_max if ch.lat_count else None,
                "last_message_ts": to_micros(ch.last_ms) if ch.last_ms > 0 else None,
                "reconnects": ch.reconnects,
            })
            if ok:
                ch.messages = ch.lat_count = 0
                ch.lat_sum = 0.0
                ch.lat_max = -math.inf

    def readiness(self) -> Readiness:
        """Not ready after shutdown, when the writer dropped rows within a minute, or when QuestDB has been
        unreachable with nothing spooled for longer than ``ready_max_lag``."""
        if self._shut:
            return Readiness(False, "monitor is shut down")
        try:
            s = self.writer.stats()
            now = time.monotonic()
            if s.rows_dropped > self._last_dropped:
                self._last_dropped = s.rows_dropped
                self._last_drop_at = now
            if now - self._last_drop_at < DROP_WINDOW_S:
                return Readiness(False, f"writer dropped rows within the last {DROP_WINDOW_S:.0f} s ({s.rows_dropped} in total); last error: {s.last_error or 'none'}")
            if not s.connected and s.spool_bytes == 0 and s.lag_ms > self._ready_max_lag * 1000:
                return Readiness(False, f"QuestDB unreachable and rows unacknowledged for {round(s.lag_ms / 1000)} s: {s.last_error or 'no error recorded'}")
            return Readiness(True)
        except Exception as e:
            return Readiness(False, f"writer stats unavailable: {e}")

    @property
    def need_drain(self) -> bool:
        return bool(getattr(self.writer, "need_drain", False))

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Waits until everything recorded so far is acknowledged by QuestDB (or spooled). Never raises."""
        try:
            return self.writer.flush(timeout)
        except Exception:
            return False

    def shutdown(self, reason: str | None = None, timeout: float = 30.0) -> WriterStats | None:
        """The same as :meth:`close` (the TypeScript SDK's former name, kept there as a deprecated alias too)."""
        return self.close(reason, timeout)

    def close(self, reason: str | None = None, timeout: float = 30.0) -> WriterStats | None:
        """Final samples, a ``stop`` row, flush (and close an owned writer); returns the writer's final stats.
        Idempotent (None after the first call); never raises."""
        if self._shut:
            return None
        try:
            self._stop_event.set()
            self.sample()
            self._lifecycle("stop", reason)
            self._shut = True
            if self._owns_writer:
                return self.writer.close(timeout)
            self.writer.flush(timeout)
            return self.writer.stats()
        except Exception as e:
            self.logger.error("tradewatch: monitor shutdown failed: %s", e)
            return None

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StrategyMonitor:
    """Recording methods for one strategy run; from ``monitor.strategy(strategy, run_id, mode)``."""

    def __init__(self, monitor: Monitor, strategy: str, run_id: str, mode: str) -> None:
        self._mon = monitor
        self.strategy, self.run_id, self.mode = strategy, run_id, mode
        self._prefix = (monitor.service, strategy, run_id, mode)
        self._open: set[str] = set()
        self._order_events_seen = False
        self._tracking_full = False

    def _base(self, at: TimeInput | None) -> dict[str, Any]:
        m = self._mon
        return {"ts": m._ts(at), "strategy": self.strategy, "run_id": self.run_id, "mode": self.mode,
                "service": m.service, "instance": m.instance}

    def open_orders(self) -> int:
        return len(self._open)

    def pnl(self, realized: float, unrealized: float, *, equity: float | None = None,
            gross_exposure: float | None = None, open_orders: int | None = None, currency: str | None = None,
            at: TimeInput | None = None) -> None:
        m = self._mon
        try:
            with m._lock:
                oo = open_orders if open_orders is not None else (len(self._open) if self._order_events_seen else None)
                if not m._write("pnl", "tw_strategy_pnl", {**self._base(at), "currency": currency, "realized": realized,
                                "unrealized": unrealized, "equity": equity, "gross_exposure": gross_exposure, "open_orders": oo}):
                    return
                p = self._prefix
                m._m.s("tradewatch_strategy_realized_pnl", p).value = realized
                m._m.s("tradewatch_strategy_unrealized_pnl", p).value = unrealized
                if equity is not None:
                    m._m.s("tradewatch_strategy_equity", p).value = equity
                if gross_exposure is not None:
                    m._m.s("tradewatch_strategy_gross_exposure", p).value = gross_exposure
                if oo is not None:
                    m._m.s("tradewatch_strategy_open_orders", p).value = oo
        except Exception as e:
            m._diag.invalid("pnl", e)

    def order(self, exchange: str, symbol: str, order_id: str, side: str, status: str, *, type: str | None = None,
              price: float | None = None, amount: float | None = None, filled: float | None = None,
              reason: str | None = None, at: TimeInput | None = None) -> None:
        m = self._mon
        try:
            with m._lock:
                if not m._write("order", "tw_orders", {**self._base(at), "exchange": exchange, "symbol": symbol,
                                "order_id": order_id, "side": side, "type": type, "status": status, "price": price,
                                "amount": amount, "filled": filled, "reason": reason}):
                    return
                m._m.s("tradewatch_orders_total", (*self._prefix, exchange, status)).value += 1
                self._order_events_seen = True
                if status in _TERMINAL:
                    self._open.discard(order_id)
                elif len(self._open) < MAX_TRACKED_ORDERS:
                    self._open.add(order_id)
                elif order_id not in self._open and not self._tracking_full:
                    self._tracking_full = True
                    m._diag.warn(f"tradewatch: more than {MAX_TRACKED_ORDERS} open orders tracked for one run; further "
                                 "orders are not tracked as open (are terminal statuses reported?)")
                m._m.s("tradewatch_strategy_open_orders", self._prefix).value = len(self._open)
        except Exception as e:
            m._diag.invalid("order", e)

    def fill(self, exchange: str, symbol: str, order_id: str, fill_id: str, side: str, price: float, amount: float, *,
             fee: float | None = None, fee_currency: str | None = None, liquidity: str | None = None,
             at: TimeInput | None = None) -> None:
        m = self._mon
        try:
            with m._lock:
                if not m._write("fill", "tw_fills", {**self._base(at), "exchange": exchange, "symbol": symbol,
                                "order_id": order_id, "fill_id": fill_id, "side": side, "price": price, "amount": amount,
                                "fee": fee, "fee_currency": fee_currency, "liquidity": liquidity}):
                    return
                m._m.s("tradewatch_fills_total", (*self._prefix, exchange)).value += 1
                m._m.s("tradewatch_fill_notional_total", (*self._prefix, exchange)).value += abs(price * amount)
        except Exception as e:
            m._diag.invalid("fill", e)

    def position(self, exchange: str, symbol: str, quantity: float, *, entry_price: float | None = None,
                 mark_price: float | None = None, exposure: float | None = None, unrealized: float | None = None,
                 at: TimeInput | None = None) -> None:
        m = self._mon
        try:
            exp = exposure if exposure is not None else (quantity * mark_price if mark_price is not None else None)
            with m._lock:
                if not m._write("position", "tw_positions", {**self._base(at), "exchange": exchange, "symbol": symbol,
                                "quantity": quantity, "entry_price": entry_price, "mark_price": mark_price,
                                "exposure": exp, "unrealized": unrealized}):
                    return
                m._m.s("tradewatch_position_quantity", (*self._prefix, exchange, symbol)).value = quantity
                if exp is not None:
                    m._m.s("tradewatch_position_exposure", (*self._prefix, exchange, symbol)).value = exp
        except Exception as e:
            m._diag.invalid("position", e)


def _error_kind(err: object) -> str:
    if isinstance(err, BaseException):
        return type(err).__name__
    return "Error" if isinstance(err, str) else type(err).__name__


def _error_message(err: object) -> str | None:
    if isinstance(err, BaseException):
        return str(err) or None
    if isinstance(err, str):
        return err or None
    return None


def _field_error(err: Exception, field: str) -> Exception:
    if isinstance(err, (TypeError, ValueError)) and not hasattr(err, "field") and not hasattr(err, "column"):
        return InputError(field, str(err))
    return err


def _canonical(names: tuple[str, ...], labels: Mapping[str, str] | None) -> str:
    if not names or labels is None:
        return ""
    parts = []
    for n in names:
        v = labels[n]
        if "\\" in v or '"' in v or "\n" in v:
            v = v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        parts.append(f'{n}="{v}"')
    return ",".join(parts)


_START: float | None = None


def _process_start_time() -> float:
    global _START
    if _START is None:
        try:
            with open("/proc/self/stat", encoding="ascii") as f:
                ticks = int(f.read().rsplit(")", 1)[1].split()[19])
            with open("/proc/uptime", encoding="ascii") as f:
                up = float(f.read().split()[0])
            _START = time.time() - up + ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            _START = time.time()
    return _START


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
