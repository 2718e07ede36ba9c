"""`worker.fetch` as it was before the house plan: the fetch client now lives in worker.http.client.

Kept so code outside the package that imports worker.fetch still runs; inside, import worker.http.client.
"""
from __future__ import annotations

from typing import Any

from worker.http import client as _client
from worker.http.client import *  # noqa: F401,F403 - the public names, for `from worker.fetch import X`


def __getattr__(name: str) -> Any:
    return getattr(_client, name)
