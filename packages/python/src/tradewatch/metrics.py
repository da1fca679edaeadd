"""The SDK's Prometheus metrics: the catalog's names, labels, help texts and buckets, served through
``prometheus_client`` as one custom collector.

Series live in plain dicts (a hook updates a number; no per-call lock or object churn) and are rendered at scrape
time. Cardinality is bounded like the TypeScript SDK: a metric holds ``max_series`` label sets; beyond that, new
label sets are folded into ``__other__`` one open-vocabulary label at a time (the catalog's ``fold`` order), with a
reserve of 10% for partly folded sets, and ``tradewatch_sdk_series_overflow_total{metric}`` counts every folded call.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from typing import Callable, Iterable, Sequence

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from .catalog import CATALOG, MetricDef


class Series:
    __slots__ = ("value", "folded")

    def __init__(self, folded: bool) -> None:
        self.value = 0.0
        self.folded = folded


class HistogramSeries:
    __slots__ = ("counts", "sum", "count", "bounds", "folded")

    def __init__(self, bounds: Sequence[float], folded: bool) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.count = 0
        self.folded = folded

    def observe(self, v: float) -> None:
        self.counts[bisect_left(self.bounds, v)] += 1
        self.sum += v
        self.count += 1


class Family:
    def __init__(self, name: str, kind: str, help: str, labels: Sequence[str], fold: Sequence[str],
                 buckets: Sequence[float] | None, max_series: int) -> None:
        self.name, self.kind, self.help, self.labels = name, kind, help, tuple(labels)
        self.buckets = tuple(sorted(buckets)) if buckets else None
        self.max_series = max_series
        self.reserve = max(10, max_series // 10)
        self.fold_order = [self.labels.index(f) for f in fold if f in self.labels]
        self.series: dict[tuple[str, ...], Series | HistogramSeries] = {}
        self._lock = threading.Lock()

    def _new(self, folded: bool) -> Series | HistogramSeries:
        return HistogramSeries(self.buckets, folded) if self.buckets is not None else Series(folded)

    def get(self, values: tuple[str, ...]) -> Series | HistogramSeries:
        s = self.series.get(values)
        if s is not None:
            return s
        with self._lock:
            s = self.series.get(values)
            if s is not None:
                return s
            if not self.fold_order or len(self.series) < self.max_series:
                s = self.series[values] = self._new(False)
                return s
            folded = list(values)
            for k, pos in enumerate(self.fold_order):
                folded[pos] = CATALOG.overflow_label_value
                key = tuple(folded)
                hit = self.series.get(key)
                if hit is not None:
                    return hit
                if k == len(self.fold_order) - 1 or len(self.series) < self.max_series + self.reserve:
                    s = self.series[key] = self._new(True)
                    return s
            raise AssertionError("unreachable")

    def metric(self) -> Metric:
        labels = list(self.labels)
        if self.kind == "counter":
            fam: Metric = CounterMetricFamily(self.name, self.help, labels=labels)
        elif self.kind == "gauge":
            fam = GaugeMetricFamily(self.name, self.help, labels=labels)
        else:
            fam = HistogramMetricFamily(self.name, self.help, labels=labels)
        for values, s in list(self.series.items()):
            if isinstance(s, HistogramSeries):
                acc, buckets = 0, []
                for bound, n in zip(s.bounds, s.counts):
                    acc += n
                    buckets.append((_le(bound), float(acc)))
                buckets.append(("+Inf", float(s.count)))
                assert isinstance(fam, HistogramMetricFamily)
                fam.add_metric(list(values), buckets, s.sum)
            else:
                fam.add_metric(list(values), s.value)  # type: ignore[attr-defined]
        return fam


def _le(bound: float) -> str:
    return repr(float(bound))


class SdkMetrics(Collector):
    """Every SDK family of one registry (monitors sharing a registry share it, told apart by ``service``)."""

    _by_registry: dict[int, SdkMetrics] = {}
    _class_lock = threading.Lock()

    def __init__(self, max_series: int) -> None:
        self.max_series = max_series
        self.families: dict[str, Family] = {}
        self._on_collect: list[Callable[[], None]] = []
        for d in CATALOG.metrics.values():
            self.families[d.name] = Family(d.name, d.kind, d.help, d.labels, d.fold, d.buckets, max_series)

    @classmethod
    def for_registry(cls, registry: CollectorRegistry, max_series: int) -> SdkMetrics:
        with cls._class_lock:
            found = cls._by_registry.get(id(registry))
            if found is None:
                found = cls._by_registry[id(registry)] = SdkMetrics(max_series)
                registry.register(found)
            return found

    def family(self, d: MetricDef) -> Family:
        return self.families[d.name]

    def custom(self, name: str, kind: str, labels: Sequence[str]) -> Family:
        f = self.families.get(name)
        if f is None:
            f = self.families[name] = Family(name, kind, f"Custom metric {name} (tradewatch SDK).", labels, (), None, self.max_series)
        return f

    def on_collect(self, fn: Callable[[], None]) -> None:
        self._on_collect.append(fn)

    def collect(self) -> Iterable[Metric]:
        for fn in self._on_collect:
            try:
                fn()
            except Exception:  # a failing refresh must not break the scrape
                pass
        for f in list(self.families.values()):
            if f.series:
                yield f.metric()

    def describe(self) -> Iterable[Metric]:
        return []


def metric_def(name: str) -> MetricDef:
    return CATALOG.metrics[name]
