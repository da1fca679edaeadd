"""Taking an encoded ILP batch apart again (slow paths only: a batch QuestDB rejected)."""

from __future__ import annotations


def split_lines(payload: bytes) -> list[bytes]:
    """Logical lines, each with its newline. A newline after an odd number of backslashes is escaped (inside a value)."""
    lines: list[bytes] = []
    start = 0
    pos = payload.find(b"\n")
    while pos >= 0:
        slashes = 0
        k = pos - 1
        while k >= start and payload[k] == 0x5C:
            slashes += 1
            k -= 1
        if slashes % 2 == 0:
            lines.append(payload[start : pos + 1])
            start = pos + 1
        pos = payload.find(b"\n", pos + 1)
    if start < len(payload):
        lines.append(payload[start:])
    return lines


def table_of_line(line: bytes) -> str:
    i = 0
    while i < len(line):
        b = line[i]
        if b == 0x5C:
            i += 2
            continue
        if b in (0x2C, 0x20):
            return line[:i].decode("utf-8", "replace")
        i += 1
    return line.decode("utf-8", "replace").rstrip()
