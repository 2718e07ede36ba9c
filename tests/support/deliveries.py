"""Waiting, in a test, for a real worker's deliveries to reach a final state in the store.

Why a helper: tests that run `syndicate worker` on real Redis learn that it is done only from the store;
each wrote the same polling loop. A deadline, not a sleep: generous, since a loaded machine is slow.
"""
from __future__ import annotations

import time

from worker.store import Delivery, DeliveryState, Store

FINAL = (DeliveryState.DELIVERED, DeliveryState.FAILED)


def wait_settled(store: Store, count: int, *, timeout: float, exactly: bool = False,
                 every: float = 0.2) -> list[Delivery]:
    """The deliveries once there are `count` of them (at least, unless `exactly`) and all are final; an
    AssertionError showing them when that takes longer than `timeout` seconds."""
    deadline = time.monotonic() + timeout
    rows: list[Delivery] = []
    while time.monotonic() < deadline:
        rows = store.deliveries()
        enough = len(rows) == count if exactly else len(rows) >= count
        if enough and all(r.state in FINAL for r in rows):
            return rows
        time.sleep(every)
    raise AssertionError(f"deliveries did not settle: {rows}")
