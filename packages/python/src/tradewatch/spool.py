"""On-disk spool of unacknowledged ILP batches: the TypeScript writer's format (src/storage/spool.ts, docs/spool.md),
so either SDK can replay the other's spool.

Layout of the directory: ``spool.lock`` (pid of the owner), ``seg-NNNNNNNNNNNN.tws`` segments of records, ``cursor``
(``{"segment":N,"offset":M}``, padded to a fixed size: everything before it has been acknowledged).

Record = 24-byte header + payload (one ILP batch, text protocol, nanosecond timestamps):
``F7 54 57 01`` magic, u32 LE payload length, u32 LE rows, f64 LE createdAt (ms since epoch of the oldest row),
u32 LE CRC-32 over header bytes 4..20 and the payload. A torn or corrupt record (crash mid-write) is skipped.
"""

from __future__ import annotations

import json
import os
import re
import struct
import zlib
from collections import deque
from dataclasses import dataclass

MAGIC = b"\xf7\x54\x57\x01"
HEADER = struct.Struct("<4sIId")  # magic, length, rows, createdAt; the CRC follows
HEADER_BYTES = 24
CURSOR_BYTES = 64
_SEGMENT = re.compile(r"^seg-(\d{12})\.tws$")


@dataclass
class SpoolRecord:
    segment: int
    offset: int
    length: int
    rows: int
    created_ms: float

    @property
    def end(self) -> int:
        return self.offset + HEADER_BYTES + self.length


def encode_record(payload: bytes, rows: int, created_ms: float) -> bytes:
    head = HEADER.pack(MAGIC, len(payload), rows, created_ms)
    crc = zlib.crc32(payload, zlib.crc32(head[4:20]))
    return head + struct.pack("<I", crc) + payload


def decode_records(data: bytes, start: int = 0) -> tuple[list[tuple[int, int, int, float]], int]:
    """(offset, length, rows, createdAt) of every valid record from ``start``, and how many bytes were skipped."""
    out: list[tuple[int, int, int, float]] = []
    pos, skipped = start, 0
    while pos + HEADER_BYTES <= len(data):
        magic, length, rows, created = HEADER.unpack_from(data, pos)
        ok = magic == MAGIC and pos + HEADER_BYTES + length <= len(data)
        if ok:
            (crc,) = struct.unpack_from("<I", data, pos + 20)
            body = data[pos + HEADER_BYTES : pos + HEADER_BYTES + length]
            ok = zlib.crc32(body, zlib.crc32(data[pos + 4 : pos + 20])) == crc
        if ok:
            out.append((pos, length, rows, created))
            pos += HEADER_BYTES + length
        else:
            nxt = data.find(MAGIC, pos + 1)
            skipped += (len(data) if nxt < 0 else nxt) - pos
            if nxt < 0:
                break
            pos = nxt
    return out, skipped


class SpoolLockedError(RuntimeError):
    pass


class Spool:
    """Bounded, ordered, crash-safe. Not thread-safe: the writer's thread is its only user."""

    def __init__(self, directory: str, max_bytes: int, segment_bytes: int = 16 << 20) -> None:
        self.dir = directory
        self.max_bytes = max_bytes
        self.segment_bytes = max(1 << 16, min(segment_bytes, max_bytes // 4 or segment_bytes))
        os.makedirs(directory, exist_ok=True)
        self._lock()
        self.records: deque[SpoolRecord] = deque()
        self.bytes = 0
        self.rows = 0
        self.corrupt_bytes = 0
        self._seq = 0
        self._fd: int | None = None
        self._size = 0
        self._load()

    # -- opening ------------------------------------------------------------------------------------------------
    def _lock(self) -> None:
        path = os.path.join(self.dir, "spool.lock")
        try:
            with open(path, encoding="ascii") as f:
                pid = int(f.read().strip() or "0")
            if pid and pid != os.getpid() and _alive(pid):
                raise SpoolLockedError(f"spool directory {self.dir} is in use by process {pid}")
        except (FileNotFoundError, ValueError):
            pass
        with open(path, "w", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")

    def _segments(self) -> list[int]:
        return sorted(int(m.group(1)) for n in os.listdir(self.dir) if (m := _SEGMENT.match(n)))

    def _path(self, seq: int) -> str:
        return os.path.join(self.dir, f"seg-{seq:012d}.tws")

    def _load(self) -> None:
        cursor = self._read_cursor()
        for seq in self._segments():
            self._seq = max(self._seq, seq)
            if cursor and seq < cursor[0]:
                os.unlink(self._path(seq))
                continue
            with open(self._path(seq), "rb") as f:
                data = f.read()
            start = cursor[1] if cursor and seq == cursor[0] else 0
            found, skipped = decode_records(data, start)
            self.corrupt_bytes += skipped
            for off, length, rows, created in found:
                self._push(SpoolRecord(seq, off, length, rows, created))

    def _read_cursor(self) -> tuple[int, int] | None:
        try:
            with open(os.path.join(self.dir, "cursor"), encoding="utf-8") as f:
                parsed = json.loads(f.read())
            return int(parsed["segment"]), int(parsed["offset"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _push(self, r: SpoolRecord) -> None:
        self.records.append(r)
        self.bytes += HEADER_BYTES + r.length
        self.rows += r.rows

    # -- use ----------------------------------------------------------------------------------------------------
    def fits(self, payload_len: int) -> bool:
        return self.bytes + HEADER_BYTES + payload_len <= self.max_bytes

    def append(self, payload: bytes, rows: int, created_ms: float) -> None:
        """Appends one batch (the caller checked ``fits``). Raises OSError when the disk refuses."""
        if self._fd is None or self._size >= self.segment_bytes:
            self._rotate()
        assert self._fd is not None
        data = encode_record(payload, rows, created_ms)
        offset = self._size
        os.write(self._fd, data)
        self._size += len(data)
        self._push(SpoolRecord(self._seq, offset, len(payload), rows, created_ms))

    def _rotate(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._seq += 1
        self._fd = os.open(self._path(self._seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = 0

    def head(self) -> tuple[SpoolRecord, bytes] | None:
        if not self.records:
            return None
        r = self.records[0]
        with open(self._path(r.segment), "rb") as f:
            f.seek(r.offset + HEADER_BYTES)
            return r, f.read(r.length)

    def ack_head(self) -> None:
        """The head record is acknowledged (or given up): advance the cursor, delete consumed segments."""
        r = self.records.popleft()
        self.bytes -= HEADER_BYTES + r.length
        self.rows -= r.rows
        if not self.records:
            self.clear_files()
            return
        nxt = self.records[0]
        for seq in self._segments():
            if seq < nxt.segment:
                os.unlink(self._path(seq))
        self._write_cursor(nxt.segment, nxt.offset)

    def clear_files(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        for seq in self._segments():
            os.unlink(self._path(seq))
        try:
            os.unlink(os.path.join(self.dir, "cursor"))
        except FileNotFoundError:
            pass

    def _write_cursor(self, segment: int, offset: int) -> None:
        text = json.dumps({"segment": segment, "offset": offset}, separators=(",", ":")).ljust(CURSOR_BYTES)
        fd = os.open(os.path.join(self.dir, "cursor"), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
        try:
            os.unlink(os.path.join(self.dir, "spool.lock"))
        except FileNotFoundError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
