"""The official client's ILP encoder. ``questdb.ingress`` is the module that has ``Buffer`` in every client since
4.x (6.x marks it deprecated in favour of its QWP/WebSocket API, which QuestDB 9.3's HTTP ILP does not need)."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from questdb.ingress import Buffer, IngressError, Sender, TimestampMicros, TimestampNanos

__all__ = ["Buffer", "IngressError", "Sender", "TimestampMicros", "TimestampNanos"]
