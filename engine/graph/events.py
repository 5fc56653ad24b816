"""A tiny synchronous observer: `event.subscribe(fn)`, `event.emit(*args)`.

The document emits one event per change; the studio bridges them to Qt signals
and the analysis cache uses them to know what to re-infer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    """A list of callbacks called in subscription order."""

    __slots__ = ("_handlers", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[..., Any]] = []

    def subscribe(self, handler: Callable[..., Any]) -> None:
        self._handlers.append(handler)

    def unsubscribe(self, handler: Callable[..., Any]) -> None:
        self._handlers.remove(handler)

    def emit(self, *args: Any) -> None:
        for handler in list(self._handlers):
            handler(*args)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self._handlers)} handlers)"
