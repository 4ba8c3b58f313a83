"""Memos of lately used values, for conversions a hot path repeats with the same inputs.

A ``Recent`` is a plain dict (look it up with ``get``, at dict speed) that empties itself
when it outgrows its bound, so a long-running process never keeps more than that.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(dict[K, V]):
    def __init__(self, bound: int) -> None:
        super().__init__()
        self.bound = bound

    def remember(self, key: K, value: V) -> V:
        """Keep ``value`` for ``key`` (forgetting everything first when full); the value."""
        if len(self) >= self.bound:
            self.clear()
        self[key] = value
        return value
