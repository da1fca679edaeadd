"""The writer: rows are validated on the caller's thread and queued; the background thread encodes them (the
official client's ``Buffer.row``, or text lines for number-only tables: rows.py), batches and delivers them: a hook
call costs validation plus a list append. The
guarantees are the TypeScript writer's (docs/writer.md):

* while QuestDB is unreachable, sealed batches go to a bounded on-disk spool (``spool_dir``) and are replayed in
  order when it is back; a restarted writer replays what an earlier process left;
* a row QuestDB rejects is quarantined with QuestDB's error (``<spool_dir>/quarantine/rejected-DAY.jsonl``) and the
  rest of its batch is delivered;
* accounting is exact at every instant: ``accepted + recovered == written + dropped + rejected + pending``;
* ``write`` raises only ``InvalidRowError`` (refused input) or ``WriterClosedError``; delivery problems never reach
  the caller. The monitor turns both into counted, logged refusals.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from bisect import bisect_left
from itertools import accumulate, islice
from typing import Any, Mapping, cast

from ._qdb import Buffer, TimestampNanos

from .catalog import Table, table as table_named
from .ilp import split_lines, table_of_line
from .retention import TtlInput, retention_hours
from .rows import InvalidRowError, TableEncoder, Validated
from .spool import Spool
from .transport import HttpTransport, Outcome

__all__ = ["Writer", "WriterStats", "WriterClosedError", "InvalidRowError"]

log = logging.getLogger("tradewatch.writer")


class WriterClosedError(RuntimeError):
    pass


@dataclass(frozen=True)
class WriterStats:
    rows_accepted: int
    #: Rows found in the spool at start (left by an earlier process); they are delivered like accepted rows.
    rows_recovered: int
    rows_written: int
    rows_dropped: int
    rows_rejected: int
    #: In memory (buffer and sealed batches) plus in the spool.
    rows_pending: int
    queue_rows: int
    spool_rows: int
    spool_bytes: int
    rows_spooled: int
    rows_replayed: int
    connected: bool
    lag_ms: float
    last_error: str | None
    #: The spool's bound (``max_spool_bytes``): a full spool gives rows up. 0 without a spool.
    spool_max_bytes: int = 0

    @property
    def balanced(self) -> bool:
        return self.rows_accepted + self.rows_recovered == (
            self.rows_written + self.rows_dropped + self.rows_rejected + self.rows_pending
        )


@dataclass
class _Batch:
    payload: bytes
    rows: int
    created_ms: float


class Writer:
    def __init__(
        self,
        url: str = "http://127.0.0.1:9000",
        *,
        spool_dir: str | None = None,
        quarantine_dir: str | None = None,
        flush_interval: float = 0.25,
        flush_rows: int = 5000,
        max_batch_bytes: int = 4 << 20,
        max_buffered_bytes: int = 16 << 20,
        max_spool_bytes: int = 1 << 30,
        request_timeout: float = 10.0,
        retry_initial: float = 0.25,
        retry_max: float = 5.0,
        service: str | None = None,
        instance: str | None = None,
        stats_interval: float = 10.0,
        retention: Mapping[str, TtlInput] | None = None,
    ) -> None:
        # Configured TTLs (``{"tw_fetches": "30d"}``): rows older than their table keeps are refused (retention.py).
        self._ttl_hours = retention_hours(retention, "Writer")
        if flush_interval <= 0 or flush_rows < 1 or max_buffered_bytes < 1 or max_spool_bytes < 1:
            raise ValueError("flush_interval, flush_rows, max_buffered_bytes and max_spool_bytes must be positive")
        self._transport = HttpTransport(url, request_timeout)
        self._spool = Spool(spool_dir, max_spool_bytes) if spool_dir else None
        qdir = quarantine_dir or (os.path.join(spool_dir, "quarantine") if spool_dir else None)
        self._quarantine_dir = qdir
        self._flush_interval = flush_interval
        self._flush_rows = flush_rows
        self._max_batch_bytes = max_batch_bytes
        self._max_buffered = max_buffered_bytes
        # Queued rows are not yet bytes: an encoder's queue past about the memory bound's worth of lines (at 128
        # bytes a line, about the size of a fetch row's) is encoded by the hook that finds it so (write_values).
        self._queue_limit = max(flush_rows * 2, max_buffered_bytes // 128)
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._encoders: dict[str, TableEncoder] = {}

        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        # Held by whoever moves queued rows into batches (the thread, write_payload, close): keeps batches in order.
        self._encode_lock = threading.Lock()
        # Validated rows waiting for the thread, one deque per encoder (TableEncoder: its values tuples; table name:
        # Validated rows), in the order written. Hooks append without a lock (deque.append is atomic); rows leave only
        # under _lock, by popleft (_take_queue_locked), so a row is counted exactly once: accepted = _accepted +
        # _taken + queued (_queued_locked). A deque per encoder rather than one deque of (encoder, values) pairs: a
        # values tuple holds only numbers and strings and the garbage collector untracks it at its first collection;
        # a pair holding the encoder would stay tracked until sent and make the callers' collections ever longer.
        self._queues: dict[Any, deque[Any]] = {}
        self._taken = 0  # rows taken off the queues (into _encoding, or dropped at close)
        self._queue_empty = True  # no row queued since the thread last took them (for _queue_oldest_ms)
        self._queue_oldest_ms = 0.0  # when a row was queued into empty queues (the oldest queued row's age)
        self._encoding = 0  # rows taken off the queue and being encoded (still pending)
        self._encoding_oldest_ms = 0.0
        self._batches: deque[_Batch] = deque()
        # The batch on the wire: the thread sends the head of _batches outside the lock and pops it when QuestDB
        # answers, so the memory bound (applied by hooks too, see write_values) must never drop it meanwhile.
        self._sending: _Batch | None = None
        self._mem_bytes = 0
        self._accepted = 0  # rows accepted other than through the queue (write_payload)
        self._recovered = self._spool.rows if self._spool else 0
        self._written = 0
        self._dropped = 0
        self._rejected = 0
        self._spool_rows = self._recovered
        self._spooled = 0
        self._replayed = 0
        self._mem_out = 0  # rows that left memory (written, rejected, dropped, spooled): FIFO, so flush can wait on it
        self._flush_wanted = False
        self._closing = False
        self._closed = False
        self._connected = True
        self._last_error: str | None = None
        self._head_rest: tuple[int, int, list[bytes]] | None = None  # (segment, offset, lines) of a split spool head
        self._service, self._instance = service, instance
        self._stats_interval = stats_interval
        self._next_stats = time.monotonic() + stats_interval
        if self._spool and self._spool.rows:
            log.warning("tradewatch: %d rows found in the spool %s; replaying them", self._spool.rows, spool_dir)
        self._thread = threading.Thread(target=self._run, name="tradewatch-writer", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    # -- the caller's side ----------------------------------------------------------------------------------------
    def encoder(self, table: str | Table) -> TableEncoder:
        name = table if isinstance(table, str) else table.name
        enc = self._encoders.get(name)
        if enc is None:
            enc = self._encoders[name] = TableEncoder(table_named(name), ttl_hours=self._ttl_hours.get(name))
        return enc

    def write(self, table: str | Table, row: Mapping[str, Any]) -> None:
        """Validates and queues one row. Raises InvalidRowError (nothing queued) or WriterClosedError."""
        enc = self._encoders.get(table) if isinstance(table, str) else None
        if enc is None:
            enc = self.encoder(table)
        self.write_checked(enc.table.name, enc.validate(row))

    def write_checked(self, table: str, checked: Validated) -> None:
        """Queues a row that ``encoder(table)`` has validated (``validate`` or ``validate_values``). Raises
        WriterClosedError (nothing queued)."""
        self.write_values(table, checked)

    def write_values(self, encoder: TableEncoder | str, values: Any) -> None:
        """Queues a row that ``encoder`` checked as a values tuple (``check_values`` / ``check_values_now``): no dict
        on the caller's thread; the writer's thread writes the line (``encode_line``), the monitor's path for its
        busiest hook. (With a table name: a ``Validated`` row, as ``write_checked``.) Raises WriterClosedError."""
        # No lock: the append is atomic and counts the row as accepted and pending at once (see _queues).
        if self._closing:
            raise WriterClosedError("the writer is closed; the row was not recorded")
        queue = self._queues.get(encoder)
        if queue is None:
            queue = self._queue_of(encoder)
        if self._queue_empty:
            self._queue_empty = False
            self._queue_oldest_ms = time.time() * 1000
        queue.append(values)
        if self._closing:  # close() began meanwhile: the row is counted by close, or dropped here if close is done
            self._settle_late_rows()
        elif len(queue) == self._flush_rows:
            with self._cond:
                self._cond.notify()
        elif len(queue) >= self._queue_limit and self._encode_lock.acquire(blocking=False):
            # The thread is not taking rows (a send QuestDB is slow to answer): they become batches here, where the
            # memory bound applies (the oldest dropped and counted), so the queue cannot grow without bound.
            try:
                self._encode_queue()
            finally:
                self._encode_lock.release()

    def _queue_of(self, target: TableEncoder | str) -> deque[Any]:
        with self._lock:  # readers iterate _queues under the lock: it only grows under it
            queue = self._queues.get(target)
            if queue is None:
                queue = self._queues[target] = deque()
            return queue

    def _settle_late_rows(self) -> None:
        """Rows a hook appended while close() ran: close counts what it finds in the queue as dropped; rows appended
        after that (close finished) are counted as dropped here, so the accounting stays exact."""
        with self._lock:
            if not self._closed:
                return  # close has not counted the queue yet: it will
            n = sum(len(rows) for _, rows in self._take_queue_locked())
            if n:
                self._dropped += n
                self._mem_out += n
                log.error("tradewatch: %d rows dropped: written while the writer closed", n)

    def _queued_locked(self) -> int:
        return sum(map(len, self._queues.values()))

    def _take_queue_locked(self) -> list[tuple[Any, list[Any]]]:
        """Takes every queued row (under _lock): (encoder, its rows oldest first) for each encoder with rows. popleft,
        not a swap of the deque: a hook may hold the deque it is about to append to."""
        self._queue_empty = True
        taken = []
        for target, queue in self._queues.items():
            n = len(queue)
            if n:
                taken.append((target, list(islice(iter(queue.popleft, None), n))))
                self._taken += n
        return taken

    def write_payload(self, payload: bytes, rows: int) -> None:
        """Queues an already validated ILP batch (text protocol, ns timestamps, ``rows`` lines): the backtest path."""
        with self._encode_lock:
            self._encode_queue()
            with self._lock:
                if self._closing:
                    raise WriterClosedError("the writer is closed; the rows were not recorded")
                self._write_payload_locked(payload, rows)

    def _write_payload_locked(self, payload: bytes, rows: int) -> None:
        self._accepted += rows
        # As before the queue existed: the bound is applied when queued rows are sealed, not to a backtest's payload
        # (a backtest paces itself with need_drain / drained()).
        self._add_batch_locked(payload, rows, time.time() * 1000, bounded=False)
        self._cond.notify()

    @property
    def max_buffered_bytes(self) -> int:
        """The in-memory bound: a backtest sizes its batches to a fraction of it (see ``need_drain``)."""
        return self._max_buffered

    @property
    def need_drain(self) -> bool:
        """True while the in-memory backlog is above half its bound (a backtest should wait: see ``drained``)."""
        return self._mem_bytes > self._max_buffered // 2

    def drained(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._mem_bytes > self._max_buffered // 4 and not self._closed:
                self._flush_wanted = True
                self._cond.notify_all()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(0.05 if left is None else min(left, 0.05))
        return True

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Waits until every row accepted so far is acknowledged by QuestDB, spooled, rejected or dropped.
        Returns False on timeout. Never raises."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._accepted + self._taken + self._queued_locked()
            while self._mem_out < target and not self._closed:
                self._flush_wanted = True
                self._cond.notify_all()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(0.05 if left is None else min(left, 0.05))
            return self._mem_out >= target

    def close(self, timeout: float = 30.0) -> WriterStats:
        """Flushes (at most ``timeout`` s), stops the thread, and returns the final accounting. Rows still in memory
        when QuestDB stays unreachable and there is no spool are counted as dropped (and logged). Idempotent."""
        self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout + 5)
        with self._lock:
            lost = sum(len(rows) for _, rows in self._take_queue_locked()) + self._encoding + sum(b.rows for b in self._batches)
            if lost:
                self._dropped += lost
                self._mem_out += lost
                self._encoding = 0
                self._batches.clear()
                self._mem_bytes = 0
                why = (f"QuestDB unreachable ({self._last_error})" if not self._connected
                       else f"QuestDB reachable but they were not delivered within the {timeout} s close timeout")
                log.error("tradewatch: %d rows dropped at close: %s, and no spool", lost, why)
            self._closed = True
            self._cond.notify_all()
        self._transport.close()
        if self._spool:
            self._spool.close()
        return self.stats()

    def stats(self) -> WriterStats:
        with self._lock:
            queued = self._queued_locked()  # read once: hooks append meanwhile, without the lock
            queue = queued + self._encoding + sum(b.rows for b in self._batches)
            if self._batches:
                oldest = self._batches[0].created_ms
            elif self._encoding:
                oldest = self._encoding_oldest_ms
            else:
                oldest = self._queue_oldest_ms if queued else 0.0
            if self._spool and self._spool.records:
                oldest = min(oldest or float("inf"), self._spool.records[0].created_ms)
            return WriterStats(
                rows_accepted=self._accepted + self._taken + queued,
                rows_recovered=self._recovered,
                rows_written=self._written,
                rows_dropped=self._dropped,
                rows_rejected=self._rejected,
                rows_pending=queue + self._spool_rows,
                queue_rows=queue,
                spool_rows=self._spool_rows,
                spool_bytes=self._spool.bytes if self._spool else 0,
                rows_spooled=self._spooled,
                rows_replayed=self._replayed,
                connected=self._connected,
                lag_ms=max(0.0, time.time() * 1000 - oldest) if oldest else 0.0,
                last_error=self._last_error,
                spool_max_bytes=self._spool.max_bytes if self._spool else 0,
            )

    def _at_exit(self) -> None:
        if not self._closing:
            self.close(timeout=5.0)

    # -- the thread ---------------------------------------------------------------------------------------------
    def _encode_queue(self) -> None:
        """Encodes the queued rows into batches (the caller holds ``_encode_lock``, not ``_lock``: hooks keep
        queueing meanwhile). Rows stay counted as pending (``_encoding``) until their batch is in ``_batches``."""
        with self._lock:
            created = self._queue_oldest_ms  # before the take: a hook finding the queue empty after it sets it anew
            taken = self._take_queue_locked()
            if not taken:
                return
            self._encoding = sum(len(rows) for _, rows in taken)
            self._encoding_oldest_ms = created
        # Batches are built from each encoder's rows in turn, in the order they were written (rows of different
        # encoders, i.e. tables, need no order among them: each row has its own ts), as lines written as text
        # (encode_line: values tuples of tables whose fields are numbers) or by the client's Buffer.row (the rest).
        # An encoder's rows are written by one map() (no bytecode of this loop per row: the thread holds the GIL that
        # the hooks' callers need as briefly as it can) and cut into batches exactly as row by row.
        buf = Buffer(protocol_version=1)
        done: list[bytes] = []  # the batch's finished runs
        text: list[str] = []    # the current run of text lines
        size = text_size = 0    # bytes in done; characters in text (≈ bytes: symbols are mostly ASCII)
        rows = 0
        limit = self._max_batch_bytes
        for target, values in taken:
            encode_line = None if target.__class__ is str else target.encode_line
            if encode_line is not None:
                try:
                    lines: list[str | None] | None = list(map(encode_line, values))
                except Exception:  # unreachable after validation; the row-by-row path below counts the culprit
                    lines = None
                if lines is not None and None not in lines:  # else a row without a field (or a failure): row by row
                    if len(buf):
                        chunk = bytes(buf)
                        done.append(chunk)
                        size += len(chunk)
                        buf.clear()  # type: ignore[no-untyped-call]
                    ends = list(accumulate(map(len, cast("list[str]", lines))))
                    n, first = len(ends), 0
                    while first < n:
                        before = ends[first - 1] if first else 0
                        # The first row that brings the batch to the limit ends it, as the row-by-row check does.
                        cut = bisect_left(ends, before + limit - size - text_size, first)
                        stop = n if cut >= n else cut + 1
                        text.extend(cast("list[str]", lines[first:stop]))
                        text_size += ends[stop - 1] - before
                        rows += stop - first
                        first = stop
                        if size + text_size >= limit:
                            self._ship(done, text, buf, rows, created)
                            done, text = [], []
                            size = text_size = rows = 0
                    continue
            for checked in values:
                try:
                    line = None
                    if target.__class__ is str:
                        table = target
                        symbols, columns, ts = checked
                    else:
                        enc: TableEncoder = target
                        table = enc.table.name
                        encode_line = enc.encode_line
                        line = encode_line(checked) if encode_line is not None else None
                        if line is None:
                            symbols, columns, ts = enc.to_row(checked)
                    if line is not None:
                        if len(buf):
                            chunk = bytes(buf)
                            done.append(chunk)
                            size += len(chunk)
                            buf.clear()  # type: ignore[no-untyped-call]
                        text.append(line)
                        text_size += len(line)
                    else:
                        if text:
                            chunk = "".join(text).encode()
                            done.append(chunk)
                            size += len(chunk)
                            text = []
                            text_size = 0
                        buf.row(table, symbols=symbols, columns=columns, at=TimestampNanos(ts * 1000))
                except Exception as err:  # validation makes this unreachable; if not, the row is counted, never lost
                    with self._lock:
                        self._encoding -= 1
                        self._rejected += 1
                        self._mem_out += 1
                    name = target if isinstance(target, str) else getattr(getattr(target, "table", None), "name", "?")
                    self._note(f"a validated {name} row could not be encoded ({type(err).__name__}: {err}); counted as rejected")
                    continue
                rows += 1
                if size + text_size + len(buf) >= limit:
                    self._ship(done, text, buf, rows, created)
                    done, text = [], []
                    size = text_size = rows = 0
        if rows:
            self._ship(done, text, buf, rows, created)

    def _ship(self, done: list[bytes], text: list[str], buf: Buffer, rows: int, created_ms: float) -> None:
        """Seals the batch being built (once per batch, not per row) and queues it for delivery."""
        payload = self._seal(done, text, buf)
        with self._lock:
            self._encoding -= rows
            self._add_batch_locked(payload, rows, created_ms)

    @staticmethod
    def _seal(done: list[bytes], text: list[str], buf: Buffer) -> bytes:
        """The batch's bytes, runs in order (``buf`` is cleared for the next batch)."""
        if text:
            done.append("".join(text).encode())
        elif len(buf):
            done.append(bytes(buf))
            buf.clear()  # type: ignore[no-untyped-call]
        return done[0] if len(done) == 1 else b"".join(done)

    def _add_batch_locked(self, payload: bytes, rows: int, created_ms: float, bounded: bool = True) -> None:
        self._batches.append(_Batch(payload, rows, created_ms))
        self._mem_bytes += len(payload)
        # Memory bound without a spool (or with a spool that cannot take it): the oldest batches go first.
        while bounded and self._mem_bytes > self._max_buffered and len(self._batches) > 1:
            self._drop_oldest_locked("the in-memory bound (max_buffered_bytes)")

    def _drop_oldest_locked(self, why: str) -> None:
        i = 1 if self._batches[0] is self._sending else 0
        b = self._batches[i]
        del self._batches[i]
        self._mem_bytes -= len(b.payload)
        self._dropped += b.rows
        self._mem_out += b.rows
        # Say which of the two it is: an outage, or a producer faster than delivery while QuestDB answers (then
        # QuestDB is not to blame, as in the TypeScript writer).
        cause = (f"while QuestDB was unreachable ({self._last_error})" if not self._connected
                 else "while QuestDB was reachable: rows came faster than they could be delivered")
        self._note(f"{b.rows} rows dropped: {why} ({self._max_buffered} bytes) was reached {cause}")

    def _run(self) -> None:
        backoff = 0.0
        while True:
            with self._cond:
                wait = backoff if backoff else self._flush_interval
                if not (self._closing or self._flush_wanted or self._queued_locked() >= self._flush_rows):
                    self._cond.wait(wait)
                self._flush_wanted = False
                closing = self._closing
            with self._encode_lock:
                self._encode_queue()
            try:
                delivered = self._deliver()
            except Exception as err:  # never let the thread die: count, log, retry
                self._note(f"writer thread error: {type(err).__name__}: {err}")
                delivered = False
            self._maybe_write_stats()
            with self._cond:
                self._cond.notify_all()
            if delivered:
                backoff = 0.0
            else:
                backoff = min(self._retry_max, max(self._retry_initial, backoff * 2))
            if closing:
                with self._lock:
                    idle = not self._batches and not self._queued_locked()
                if idle or not delivered:
                    return

    def _deliver(self) -> bool:
        """Replays the spool, then the in-memory batches, in order. False when QuestDB is unreachable."""
        spool = self._spool
        while spool is not None and spool.records:
            head = spool.head()
            assert head is not None
            record, payload = head
            if self._head_rest and self._head_rest[:2] == (record.segment, record.offset):
                lines = self._head_rest[2]
            else:
                lines = None
            outcome = self._transport.send(payload if lines is None else b"".join(lines))
            if outcome.kind == "ok":
                self._connected_again()
                with self._lock:
                    n = record.rows if lines is None else len(lines)  # a split head settled its other lines earlier
                    self._written += n
                    self._replayed += n
                    self._spool_rows -= n
                    spool.ack_head()
                self._head_rest = None
                continue
            if outcome.kind == "rejected":
                w, r, rest = self._around_rejection(lines if lines is not None else split_lines(payload), outcome)
                with self._lock:
                    self._written += w
                    self._replayed += w
                    self._rejected += r
                    self._spool_rows -= w + r
                if rest is None:
                    with self._lock:
                        spool.ack_head()
                    self._head_rest = None
                    continue
                self._head_rest = (record.segment, record.offset, rest)
                return False
            self._down(outcome)
            self._spool_new_batches()
            return False

        while True:
            with self._lock:
                if not self._batches:
                    return True
                batch = self._sending = self._batches[0]
            try:
                if not self._deliver_head(batch):
                    return False
            finally:
                with self._lock:
                    self._sending = None

    def _deliver_head(self, batch: _Batch) -> bool:
        """Sends the head batch (``_sending``). True when it is settled (written, or its bad lines quarantined and the
        rest written); False when the rest must wait: QuestDB unreachable, or a split left lines undelivered."""
        outcome = self._transport.send(batch.payload)
        if outcome.kind == "ok":
            self._connected_again()
            with self._lock:
                self._batches.popleft()
                self._mem_bytes -= len(batch.payload)
                self._written += batch.rows
                self._mem_out += batch.rows
            return True
        if outcome.kind == "rejected":
            w, r, rest = self._around_rejection(split_lines(batch.payload), outcome)
            with self._lock:
                self._written += w
                self._rejected += r
                self._mem_out += w + r
                if rest is None:
                    self._batches.popleft()
                    self._mem_bytes -= len(batch.payload)
                else:
                    new_payload = b"".join(rest)
                    self._mem_bytes -= len(batch.payload) - len(new_payload)
                    batch.payload = new_payload
                    batch.rows = len(rest)
            if rest is None:
                return True
            self._spool_new_batches()
            return False
        self._down(outcome)
        self._spool_new_batches()
        return False

    def _around_rejection(self, lines: list[bytes], rejection: Outcome) -> tuple[int, int, list[bytes] | None]:
        """QuestDB refused a request as a whole, naming its first bad line. Quarantines the named line and resends
        the rest; without a usable line number, halves the group until the bad line stands alone. Returns (written,
        rejected, rest): rest is None when every line was settled, else the lines an outage left undelivered."""
        written = rejected = 0
        groups: list[list[bytes]] = [lines]
        outcome = rejection
        first = True
        while groups:
            group = groups.pop(0)
            if not first:
                outcome = self._transport.send(b"".join(group))
            first = False
            if outcome.kind == "ok":
                written += len(group)
                continue
            if outcome.kind != "rejected":
                self._down(outcome)
                rest = [ln for g in [group, *groups] for ln in g]
                return written, rejected, rest
            line = outcome.line
            if line is not None and 1 <= line <= len(group):
                self._quarantine(group[line - 1], outcome)
                rejected += 1
                before, after = group[: line - 1], group[line:]
                # Lines before the named one were fine as far as QuestDB read; both parts go again (nothing was committed).
                groups[:0] = [g for g in (before, after) if g]
            elif len(group) == 1:
                self._quarantine(group[0], outcome)
                rejected += 1
            else:
                mid = len(group) // 2
                groups[:0] = [group[:mid], group[mid:]]
        return written, rejected, None

    def _spool_new_batches(self) -> None:
        """QuestDB is unreachable: move the in-memory batches to the spool, in order (full spool: oldest go)."""
        spool = self._spool
        if spool is None:
            return
        while True:
            with self._lock:
                if not self._batches:
                    return
                batch = self._batches[0]
            while not spool.fits(len(batch.payload)) and spool.records:
                with self._lock:
                    head = spool.records[0]
                    split = self._head_rest
                    n = len(split[2]) if split and split[:2] == (head.segment, head.offset) else head.rows
                    spool.ack_head()
                    self._spool_rows -= n
                    self._dropped += n
                self._head_rest = None
                self._note(f"{n} rows dropped: the spool is full ({spool.max_bytes} bytes); oldest batch given up")
            try:
                if not spool.fits(len(batch.payload)):
                    raise OSError(f"batch of {len(batch.payload)} bytes exceeds the whole spool")
                spool.append(batch.payload, batch.rows, batch.created_ms)
            except OSError as err:
                self._note(f"cannot spool: {err}; the batch stays in memory")
                return
            with self._lock:
                self._batches.popleft()
                self._mem_bytes -= len(batch.payload)
                self._spool_rows += batch.rows
                self._spooled += batch.rows
                self._mem_out += batch.rows

    def _down(self, outcome: Outcome) -> None:
        if self._connected:
            log.warning("tradewatch: QuestDB unreachable (%s); %s", outcome.message, "spooling" if self._spool else "buffering in memory")
        self._connected = False
        self._last_error = f"QuestDB {outcome.kind}: {outcome.message}"

    def _connected_again(self) -> None:
        if not self._connected:
            log.warning("tradewatch: QuestDB reachable again; delivering")
        self._connected = True

    def _note(self, message: str) -> None:
        self._last_error = message
        log.error("tradewatch: %s", message)

    def _quarantine(self, line: bytes, outcome: Outcome) -> None:
        text = line.decode("utf-8", "replace").rstrip("\n")
        self._last_error = f"QuestDB rejected a row: {outcome.message}"
        log.error("tradewatch: QuestDB rejected a row; quarantined: %s (%s)", outcome.message, text[:500])
        if not self._quarantine_dir:
            return
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
            "table": table_of_line(line),
            "line": text,
            "error": outcome.message,
            "errorId": outcome.error_id,
            "status": outcome.status,
        }
        try:
            os.makedirs(self._quarantine_dir, exist_ok=True)
            day = time.strftime("%Y-%m-%d", time.gmtime())
            with open(os.path.join(self._quarantine_dir, f"rejected-{day}.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
        except OSError as err:
            log.error("tradewatch: cannot write the quarantine file (%s); the rejected row is only in this log", err)

    def _maybe_write_stats(self) -> None:
        if not self._service or not self._instance or self._stats_interval <= 0 or time.monotonic() < self._next_stats:
            return
        self._next_stats = time.monotonic() + self._stats_interval
        s = self.stats()
        try:
            self.write("tw_writer_stats", {
                "ts": time.time_ns() // 1000,
                "service": self._service,
                "instance": self._instance,
                "queue_rows": s.queue_rows,
                "queue_bytes": self._mem_bytes,
                "spool_bytes": s.spool_bytes,
                "rows_written": s.rows_written,
                "rows_rejected": s.rows_rejected,
                "rows_dropped": s.rows_dropped,
                "rows_spooled": s.rows_spooled,
                "rows_replayed": s.rows_replayed,
                "lag_ms": s.lag_ms,
                "last_error": (s.last_error or "")[:4096] or None,
            })
        except (InvalidRowError, WriterClosedError):
            pass
