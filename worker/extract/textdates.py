"""The free-text part of htmldate's extensive date search, without its costly dateparser set-up.

htmldate ends its search by reading every short text segment of the page ("publiziert am 25. September
2018", "15 августа 2016, 13:43") and, when nothing there is a date, by regex over the page source.
Segments its own parser cannot read go to dateparser with every language enabled; dateparser's first
calls in a process then load all of its ~200 locales. Here those segments go to dateparser for the
language the page declares (<html lang>, or what the metadata layer found), which loads one locale, and a page that declares none is
read by htmldate's parser alone.
"""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

import lxml.html

# a year and a word or a separated day/month: what a written-out date needs before dateparser is asked
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_DAY_AND_MONTH = re.compile(r"(?<!\d)\d{1,2}(?!\d)")
_LANGUAGE = re.compile(r"^[a-z]{2,3}\b", re.IGNORECASE)


@lru_cache(maxsize=32)
def _parser(language: str) -> Any:
    """A strict dateparser for one language (day, month and year all required), or None."""
    try:
        from dateparser import DateDataParser

        return DateDataParser(languages=[language], settings={
            "PARSERS": ["custom-formats", "absolute-time"], "STRICT_PARSING": True, "PREFER_DATES_FROM": "past",
            "RETURN_AS_TIMEZONE_AWARE": False,
        })
    except Exception:  # noqa: BLE001 - an unknown language or no dateparser: htmldate's parser alone
        return None


def primary_language(tag: str | None) -> str | None:
    """The primary language subtag ("de" for "de-CH", "pt" for "pt_BR"), lowercased."""
    match = _LANGUAGE.match(tag or "")
    return match.group(0).lower() if match else None


def page_language(tree: lxml.html.HtmlElement) -> str | None:
    """The primary language of <html lang>."""
    return primary_language(tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang"))


def _written_date(parser: Any, segment: str, earliest: datetime, latest: datetime) -> datetime | None:
    if not (_YEAR.search(segment) and len(_DAY_AND_MONTH.findall(segment)) >= 1 and len(segment) <= 60):
        return None
    try:
        found = parser.get_date_data(segment)["date_obj"]
    except Exception:  # noqa: BLE001 - dateparser's own errors on odd text
        return None
    return found if found is not None and earliest <= found <= latest else None


def text_date(tree: lxml.html.HtmlElement, language: str | None = None) -> str | None:
    """The earliest date written in the page's short text segments, else htmldate's regex search of the
    page; "YYYY-MM-DD" or None."""
    try:
        from htmldate.core import search_page
        from htmldate.extractors import FREE_TEXT_EXPRESSIONS, try_date_expr
        from htmldate.settings import MAX_SEGMENT_LEN, MIN_SEGMENT_LEN
        from htmldate.utils import Extractor
        from htmldate.validators import get_max_date, get_min_date
    except ImportError:  # pragma: no cover - htmldate moved its internals: its fast mode alone
        return None
    earliest, latest = get_min_date(None), get_max_date(None)
    language = primary_language(language) or page_language(tree)
    parser = _parser(language) if language else None
    best: datetime | None = None
    for segment in FREE_TEXT_EXPRESSIONS(tree):
        segment = segment.strip()
        if not MIN_SEGMENT_LEN < len(segment) < MAX_SEGMENT_LEN:
            continue
        read = try_date_expr(segment, "%Y-%m-%d", False, earliest, latest)
        found = datetime.strptime(read, "%Y-%m-%d") if read else None
        if found is None and parser is not None:
            found = _written_date(parser, segment, earliest, latest)
        if found is not None and (best is None or found < best):
            best = found
    if best is not None:
        return best.strftime("%Y-%m-%d")
    options = Extractor(False, latest, earliest, True, "%Y-%m-%d")
    return search_page(lxml.html.tostring(tree, encoding="unicode"), options)


def written_dateline(texts: list[str], language: str | None) -> datetime | None:
    """The first date written out in the page's language in one of its visible datelines ("Par Loïc Le
    Clerc | 30 septembre 2018"), which dateutil cannot read; naive wall-clock time, or None."""
    language = primary_language(language)
    if not language or language == "en" or not texts:
        return None
    try:
        from dateparser.search import search_dates
    except ImportError:  # pragma: no cover - optional dependency
        return None
    for text in texts:
        try:
            found = search_dates(text, languages=[language], settings={
                "STRICT_PARSING": True, "PREFER_DATES_FROM": "past", "RETURN_AS_TIMEZONE_AWARE": False})
        except Exception:  # noqa: BLE001 - dateparser's own errors on odd text
            continue
        if found:
            return found[0][1]
    return None
