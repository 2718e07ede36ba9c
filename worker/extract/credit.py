"""Whom an article is from and whom its attribution line credits: one rule for scraped and declared articles."""
from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from worker.config import Source
from worker.schema import SourceRef, render_attribution


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "unknown"


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or "unknown"


def source_fields(source: Source | None, site_name: str | None, url: str, credited: str | None) -> dict[str, Any]:
    """Who we got the article from (source) and whom the attribution credits: the source's partner, or
    the original publisher a republished article names (`credited`: "From The Epoch Times" at its foot).

    A canonical link to another host alone changes the article's URL, not the credit: sites often
    serve under one host and declare another. Without a configured source (`syndicate extract` on a
    file) the page's own site name, else its host, stands in.
    """
    if source is not None:
        return {
            "source": SourceRef(id=source.id, name=source.name),
            "attribution": render_attribution(source.attribution, credited or source.name),
            "rights": source.rights,
        }
    name = site_name or _host(url)
    return {"source": SourceRef(id=_slug(name), name=name), "attribution": render_attribution(None, credited or name)}
