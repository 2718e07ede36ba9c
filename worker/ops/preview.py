"""Preview: the canonical article of a page, without storing or delivering it.

`syndicate extract`, POST /preview and (through it) the console all call preview(). A page fetched for no
configured source is fetched as the one ad-hoc source below, allowed its own host only, so a preview
cannot be pointed anywhere a real source could not.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from worker.config import Source, load_config
from worker.extract import extract_article
from worker.http.client import Client, check_allowed
from worker.schema import Article
from worker.settings import Settings

#: the address links resolve against when HTML comes with none (a reserved domain: never fetched)
PLACEHOLDER_URL = "https://preview.invalid/"

def adhoc_source(url: str) -> Source:
    """The source of a page fetched for no configured source: named for, and allowed, its own host only."""
    host = urlsplit(url).hostname or ""
    return Source(id="adhoc", name=host or "adhoc", allowed_domains=[host or "invalid"])


def preview(settings: Settings, source_id: str | None, url: str | None = None, html: str | bytes | None = None,
            page_url: str | None = None) -> Article:
    """Extract `html` as it is, or fetch `url` when no HTML is given. Links resolve against `page_url`, else
    the URL (the one fetched, after redirects), else PLACEHOLDER_URL; a source_id brings that source's
    selectors, name and attribution (the config is read only then)."""
    source = load_config(settings.config_dir).source(source_id) if source_id else None
    if html is not None:
        return extract_article(html, page_url or url or PLACEHOLDER_URL, source)
    if url is None:
        raise ValueError("preview needs a url to fetch or the page's html")
    fetch_source = source or adhoc_source(url)
    check_allowed(url, fetch_source)
    page = Client.process_local(settings).for_source(fetch_source).page(url)
    return extract_article(page.body, page_url or page.url, source)
