"""A one-shot trap a server sets for the next request (or chunk) that matches, held until the test lets go.

Why: the chaos tests kill a worker at a chosen moment (while the partner is sending it a page, while
its SQL statement is in flight). The server side catches that moment: the test arms a Hold, the serving
thread that meets a matching item is held there and the Hold's `caught` event is set, the test kills the
worker, then releases. The partner site and the TCP proxy each had this written out; it is one thing.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

#: the longest a serving thread stays held when the test never releases it (then it carries on)
HOLD_AT_MOST = 60.0


class Hold(Generic[T]):
    def __init__(self) -> None:
        self.caught = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._matches: Callable[[T], bool] | None = None  # armed while set

    def arm(self, matches: Callable[[T], bool] = lambda item: True) -> threading.Event:
        """Catch the next item `matches` accepts; returns the event set when one is caught."""
        self.caught.clear()
        self._release.clear()
        with self._lock:
            self._matches = matches
        return self.caught

    def release(self) -> None:
        """Disarm, and let a held thread go on."""
        with self._lock:
            self._matches = None
        self._release.set()

    def catch(self, item: T) -> bool:
        """Called by the serving thread for each item: when armed and `item` matches, disarm, set `caught`
        and wait until released (True); otherwise return False at once."""
        with self._lock:
            if self._matches is None or not self._matches(item):
                return False
            self._matches = None
        self.caught.set()
        self._release.wait(timeout=HOLD_AT_MOST)
        return True
