"""Published and updated dates of a page, from every place a page states them, in priority order.

Machine-readable values come first (configured selector, JSON-LD, meta tags, microdata, <time> in the
article), then what the reader sees (datelines in the article header), then the URL (/2017/09/22/),
then htmldate as a last resort. Visible datelines also serve a second purpose: they show the page's
own wall-clock time, which reveals its timezone when the machine value was declared in UTC.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from lxml import etree

from worker import css
from worker.extract.dates import fallback_date, first_date, localize, parse_local, url_date, wall_clock
from worker.extract.document import class_tokens, collapse, text_of
from worker.extract.jsonld import JsonLd
from worker.extract.pageindex import PageIndex
from worker.extract.textdates import primary_language, written_dateline

PUBLISHED_META = (
    "article:published_time", "article:published", "article.published", "og:article:published_time",
    "og:published_time", "datepublished", "pubdate", "publishdate", "publish-date", "published_at",
    "pub_date", "dc.date.issued", "dcterms.created", "dc.date", "date", "sailthru.date", "parsely-pub-date",
    "article_date_original", "datecreated", "article.created",
)
UPDATED_META = (
    "article:modified_time", "article:modified", "article.updated", "og:article:modified_time", "og:updated_time",
    "datemodified", "last-modified", "updated-date", "dc.date.modified", "article_date_updated",
)
# itemprop dates, found with the page index's sieve over lowercased attributes, then tested exactly
_ITEMPROP_MARK = ("datepublished", "datecreated", "datemodified", "dateupdated")
_PUBLISHED_PROPS = ("datePublished", "dateCreated")
_UPDATED_PROPS = ("dateModified", "dateUpdated")
_DATELINE_WORDS = ("date", "time", "publish", "posted", "byline", "dateline", "meta", "stamp")
_DATELINE_CLASS = re.compile("|".join(_DATELINE_WORDS))
_UPDATE_WORDS = re.compile(r"updat|modif")
_NOT_DATELINE = re.compile(r"comment|related|recommend|promo|sidebar|footer|widget|card|teaser|list|nav")
_MAX_DATELINE = 120
_PUBLISHED_LABEL = re.compile(
    r"\W*(?:published|posted|veröffentlicht|publiziert|publié|publicado|pubblicato|opublikowano|gepubliceerd|julkaistu)",
    re.IGNORECASE,
)


def _value(element: etree._Element) -> str:
    return element.get("datetime") or element.get("content") or text_of(element)


def _in_noise(element: etree._Element, tokens=class_tokens) -> bool:  # noqa: ANN001
    """Inside comments, rails of other stories, footers: their dates are not this article's."""
    return any(_NOT_DATELINE.search(tokens(a)) for a in element.iterancestors() if isinstance(a.tag, str))


def _itemprops(index: PageIndex, scope: etree._Element, props: tuple[str, ...]) -> list[etree._Element]:
    """Elements inside the scope (not the scope itself) whose itemprop is one of props."""
    marked = [e for e in index.marked(_ITEMPROP_MARK) if e.get("itemprop") in props and e is not scope]
    return index.within(marked, scope)


def visible_datelines(scope: etree._Element, index: PageIndex | None = None) -> tuple[list[str], list[str]]:
    """(published, updated) texts of short dateline-like elements in the article, in page order."""
    published: list[str] = []
    updated: list[str] = []
    index = index or PageIndex(scope)
    # <time> elements and those whose class/id/role reads like a dateline, in page order
    candidates = {e: None for e in index.marked(_DATELINE_WORDS)}
    candidates.update((t, None) for t in scope.iter("time"))
    for element in sorted(index.within(list(candidates), scope), key=index.position):
        if element.tag in ("script", "style", "meta", "body", "html"):
            continue
        tokens = index.tokens(element)
        if element.tag != "time" and not _DATELINE_CLASS.search(tokens):
            continue
        text = collapse(" ".join(element.itertext()))
        if not text or len(text) > _MAX_DATELINE or _in_noise(element, index.tokens):
            continue
        (updated if _UPDATE_WORDS.search(tokens) or re.match(r"\W*updated", text, re.I) else published).append(text)
    return published, updated


def find_dates(
    root: etree._Element, scope: etree._Element, url: str, ld: JsonLd, meta: dict[str, list[str]],
    selector: str | None = None, language: str | None = None, index: PageIndex | None = None,
) -> tuple[datetime | None, datetime | None, list[str]]:
    """(published, updated, dateline texts seen) with each date in the page's own offset."""
    one = lambda keys: [meta[k][0] for k in keys if k in meta]  # noqa: E731
    index = index or PageIndex(root)
    noise = lambda element: _in_noise(element, index.tokens)  # noqa: E731
    chosen = css.select_one(root, selector)
    selected = [_value(chosen), text_of(chosen)] if chosen is not None else []
    times = ([t for t in scope.iterdescendants("time") if not noise(t)]
             or [t for t in root.iterdescendants("time") if not noise(t)])
    time_published = [t.get("datetime") for t in times if t.get("datetime")
                      and not _UPDATE_WORDS.search(class_tokens(t) + (t.get("itemprop") or "").lower())]
    time_updated = [t.get("datetime") for t in times if t.get("datetime")
                    and _UPDATE_WORDS.search(class_tokens(t) + (t.get("itemprop") or "").lower())]
    itemprop = [_value(e) for e in _itemprops(index, scope, _PUBLISHED_PROPS) if not noise(e)]
    seen_published, seen_updated = visible_datelines(scope, index)

    # "10/05/2022" is 10 May everywhere but in (US) English
    dayfirst = primary_language(language) not in (None, "en")
    # a dateline that says it is the publication goes before others ("Wydrukowano: …" is the print date)
    seen_published.sort(key=lambda text: not _PUBLISHED_LABEL.match(text))
    published = first_date(
        *selected, ld.text("datePublished"), ld.text("dateCreated"), *one(PUBLISHED_META), *itemprop,
        *time_published, *seen_published, dayfirst=dayfirst,
    )
    if published is None:
        written = written_dateline(seen_published, language)
        published = written.replace(tzinfo=timezone.utc) if written else None
    published = published or url_date(url)
    if published is None:
        published = fallback_date(root, language)
    updated = first_date(
        ld.text("dateModified"), *one(UPDATED_META), *[_value(e) for e in _itemprops(index, scope, _UPDATED_PROPS)],
        *time_updated, *seen_updated, dayfirst=dayfirst,
    )

    # what the page shows as local time, and the offsets its machine dates carry, reveal its timezone
    shown = [w for w in map(wall_clock, [*seen_published, *seen_updated, *[text_of(t) for t in times]]) if w]
    zoneless = [w for w in map(wall_clock, one(PUBLISHED_META) + one(UPDATED_META)) if w and w.hour + w.minute]
    offsets = [d.utcoffset() or timedelta(0) for d in
               map(parse_local, [*one(PUBLISHED_META), *one(UPDATED_META), ld.text("dateModified"), *time_published])
               if d is not None and d.tzinfo is not None]
    if published is not None:
        published = localize(published, shown + zoneless, offsets)
    if updated is not None:
        updated = localize(updated, shown + zoneless, offsets)
    return published, updated, seen_published + seen_updated
