"""A discovery kind from outside the worker package: a partner API listing its articles as JSON.

Named in sources.yaml as `kind: tests.support.json_index_kind:JsonIndexKind`, the way an operator names a
kind of their own; tests/test_discover_kinds.py polls it through the real poll stage.

    {"items": [{"url": "/story.html", "title": "...", "updated": "2024-05-01T10:00:00Z"}, ...]}
"""
from __future__ import annotations

import json

from pydantic import Field

from worker.config import Source
from worker.discover.candidates import Candidate, DiscoveryParseError, parse_w3c_date
from worker.discover.kind import DiscoveryKind, DiscoveryOptions, Fetch, PollState
from worker.http.urls import join_http, normalize_link


class JsonIndexOptions(DiscoveryOptions):
    url: str
    max_items: int = Field(default=100, ge=1, le=1000)


class JsonIndexKind(DiscoveryKind[JsonIndexOptions]):
    options_model = JsonIndexOptions
    richness = 2  # a title and a date: more than a listing link, less than a feed entry

    def discover(self, fetch: Fetch, options: JsonIndexOptions, source: Source, state: PollState) -> list[Candidate]:
        page = fetch(options.url)
        if page is None:
            return []
        try:
            items = json.loads(page.body)["items"]
            found = []
            for item in items[:options.max_items]:
                url = join_http(page.url, item["url"])
                if url is not None:
                    found.append(Candidate(url=normalize_link(url), title=item.get("title"),
                                           updated=parse_w3c_date(item.get("updated"))))
        except (ValueError, KeyError, TypeError) as exc:
            raise DiscoveryParseError(f"{page.url}: not a JSON index of articles ({type(exc).__name__}: {exc})") from None
        return found


class NotAKind:
    """Has an options model but is no discovery kind (nothing to call): refused at load by name."""

    options_model = JsonIndexOptions
