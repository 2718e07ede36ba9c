"""Feeds, sitemaps and listing pages -> candidate article links; discovery kinds are plug-ins.

    kind.py        the port: DiscoveryKind (an options model and `discover(fetch, options, source,
                   state) -> candidates`), resolved from a discover entry's `kind:` by name
    candidates.py  the Candidate link and the named parse errors
    feeds.py, sitemaps.py, listing.py   one parser per kind of document, and the built-in kinds
                   (FeedKind, SitemapKind, ListingKind) that read them through the fetch they are handed
    ninjs.py, wordpress.py   structured sources: IPTC ninjs endpoints and WordPress's REST API, whose
                   candidates carry the declared article (worker.schema.declared) instead of a page to scrape
    xmlsafe.py     the expat pass that refuses entity declarations before any XML parser sees them
    filters.py     which candidates a source wants (allowed domains, include/exclude, newer than)

No network and no store of its own: a kind reads the partner only through the `fetch` the poll stage
(worker/flow/poll.py) hands it. `from worker.discover import parse_feed, filter_candidates, ...` keeps
working: names are looked up in filters.py on first use, not at import.

May import: worker.errors, worker.config, worker.css, worker.schema (the declared article),
worker.extract.document and worker.extract.authors (splitting a ninjs `by` line), worker.http (urls; page for
types). Never Celery, flow, ops, web or cli.
"""
from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(importlib.import_module("worker.discover.filters"), name)
