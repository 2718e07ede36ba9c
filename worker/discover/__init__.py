"""Feeds, sitemaps and listing pages -> candidate article links. Pure parsers: no network, no store.

    candidates.py  the Candidate link and the named parse errors
    feeds.py, sitemaps.py, listing.py   one parser per kind of document
    xmlsafe.py     the expat pass that refuses entity declarations before any XML parser sees them
    patterns.py    operator include/exclude patterns on RE2 (linear time)
    filters.py     which candidates a source wants (allowed domains, include/exclude, newer than)

`from worker.discover import parse_feed, filter_candidates, ...` keeps working: names are looked up in
filters.py on first use, not at import, because worker.config imports discover.patterns and filters.py
imports worker.config (an eager import here would be a cycle).

May import: worker.errors, worker.config, worker.http.urls. Never Celery, flow, ops, web or cli.
"""
from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(importlib.import_module("worker.discover.filters"), name)
