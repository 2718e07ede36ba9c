"""Dates from pages, timezone-aware, keeping the offset the page declared.

The Article stores UTC, but "which day was this published" is a question about the page's own
timezone: 23:03 in San Francisco is already tomorrow in UTC. So dates here keep the offset the page
gave (the schema converts to UTC on the way in), and `localize` moves a machine timestamp declared in
UTC into the page's zone when the page shows the same instant as local wall-clock time elsewhere.

Zoneless values ("2019-11-18 20:58:46", "Nov 18, 2019 9:24 pm") are read as wall-clock time with a UTC
label: that keeps the day the page shows, and priority order (machine-readable first) decides which
source wins, not whether a zone was given.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

import lxml.html
from dateutil import parser as dateparser

from worker.extract.textdates import text_date

_LABEL = re.compile(
    r"^\s*(?:last\s+)?(?:updated|modified|published|posted|created|on|date)\s*(?:on|at)?\s*:?\s*", re.IGNORECASE
)
# Common zone abbreviations dateutil does not know on its own; US ones dominate English news pages.
_TZINFOS = {
    "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
    "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
    "BST": 3600, "CET": 3600, "CEST": 7200, "IST": 19800, "JST": 9 * 3600,
}
_HAS_DIGIT = re.compile(r"\d")
_YEAR_FIRST = re.compile(r"\D{0,20}\d{4}\b")
_HAS_CLOCK = re.compile(r"\d{1,2}[:.h]\d{2}")
# "2019-11-20T09:29:08+0000": Python before 3.11 wants the colon in the offset
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
# /2019/11/18/, /2019/nov/18/, /2019-11-18/, _20191118_ in a URL path
_URL_DATE = re.compile(
    r"(?<!\d)(20\d{2}|19\d{2})[/_-](\d{1,2}|[a-z]{3})[/_-](\d{1,2})(?!\d)|(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)",
    re.IGNORECASE,
)
_MONTHS = {m: i for i, m in enumerate(("jan feb mar apr may jun jul aug sep oct nov dec").split(), 1)}


def _parse_text(text: str, *, ignore_zone: bool = False, dayfirst: bool = False) -> datetime | None:
    try:
        return datetime.fromisoformat(_COMPACT_OFFSET.sub(r"\1:\2", text.replace("Z", "+00:00")))
    except ValueError:
        pass
    try:
        with warnings.catch_warnings():
            # an unknown zone name ("AMT") yields a naive datetime, handled by the caller; no need to warn
            warnings.simplefilter("ignore", dateparser.UnknownTimezoneWarning)
            # dayfirst is for "10/05/2022"; dateutil would also turn "2022-05-04" into 5 April
            dayfirst = dayfirst and not _YEAR_FIRST.match(text)
            return dateparser.parse(text, tzinfos=_TZINFOS, fuzzy=True, ignoretz=ignore_zone, dayfirst=dayfirst)
    except (ValueError, OverflowError, TypeError):
        return None


def parse_date(value: object, *, assume_utc: bool = True) -> datetime | None:
    """A UTC datetime from an ISO string or loose human text; None when it is not a date (feeds, sitemaps)."""
    found = parse_local(value, assume_utc=assume_utc)
    return found.astimezone(timezone.utc) if found else None


def parse_local(value: object, *, assume_utc: bool = True, dayfirst: bool = False) -> datetime | None:
    """An aware datetime in the offset the value declares; None when it is not a date.

    A value without a zone is wall-clock time: labelled UTC when assume_utc, else rejected. dayfirst
    reads "10/05/2022" as 10 May, as every language but (US) English writes it.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _HAS_DIGIT.search(value):
        text = _LABEL.sub("", value.strip())
        if not text or len(text) > 80:
            return None
        parsed = _parse_text(text, dayfirst=dayfirst)
        if parsed is None:
            return None
    else:
        return None
    if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
        if not assume_utc:
            return None
        parsed = parsed.replace(tzinfo=timezone.utc)
    if not 1990 <= parsed.year <= 2100:
        return None  # a stray number read as a year, or a CMS placeholder such as 0001-01-01
    return parsed


def first_date(*candidates: object, dayfirst: bool = False) -> datetime | None:
    """The first candidate, in the caller's priority order, that parses with an explicit zone, else the
    first that parses at all: a zoneless value can only be placed in time by guessing."""
    for candidate in candidates:
        found = parse_local(candidate, assume_utc=False, dayfirst=dayfirst)
        if found:
            return found
    for candidate in candidates:
        found = parse_local(candidate, dayfirst=dayfirst)
        if found:
            return found
    return None


def wall_clock(text: str) -> datetime | None:
    """The naive local date and time a visible dateline shows ("Nov 18, 2019 at 9:24 pm ET"), only when it
    shows a time of day as well as a date; the zone, if any, is ignored (it is the point of the exercise)."""
    text = _LABEL.sub("", text.strip())
    if not _HAS_CLOCK.search(text) or len(text) > 80 or not re.search(r"\d{4}|\b\d{1,2}[./]\d{1,2}[./]\d{2}\b", text):
        return None
    parsed = _parse_text(text, ignore_zone=True)
    if parsed is None or not 1990 <= parsed.year <= 2100:
        return None
    return parsed.replace(tzinfo=None)


def localize(instant: datetime, wall_clocks: Iterable[datetime], declared_offsets: Iterable[timedelta]) -> datetime:
    """`instant` in the page's own offset when the page reveals it, else unchanged.

    The page reveals its zone when a visible dateline shows the same instant as wall-clock time (the
    difference is then a whole quarter hour within real UTC offsets), or, for an instant declared in UTC,
    when another machine date on the page carries a non-zero offset (its modified time, say).
    """
    base = instant.replace(tzinfo=None, second=0, microsecond=0) - (instant.utcoffset() or timedelta(0))
    for shown in wall_clocks:
        offset = shown.replace(second=0, microsecond=0) - base
        quarter_hours, rest = divmod(offset.total_seconds(), 900)
        if rest == 0 and -12 * 3600 <= offset.total_seconds() <= 14 * 3600:
            return instant.astimezone(timezone(offset))
    if instant.utcoffset() == timedelta(0):
        for offset in declared_offsets:
            if offset:
                return instant.astimezone(timezone(offset))
    return instant


def url_date(url: str) -> datetime | None:
    """The date a URL path carries (/2019/11/18/, /2019/nov/18/), as midnight wall-clock; else None."""
    path = re.sub(r"^[a-z]+://[^/]+", "", url or "", flags=re.IGNORECASE)
    for match in _URL_DATE.finditer(path):
        year, month, day = (match.group(1), match.group(2), match.group(3)) if match.group(1) else match.group(4, 5, 6)
        month_number = _MONTHS.get(month[:3].lower()) if month.isalpha() else int(month)
        try:
            found = datetime(int(year), month_number or 0, int(day), tzinfo=timezone.utc)
        except ValueError:
            continue
        if 1990 <= found.year <= 2100:
            return found
    return None


def fallback_date(page: lxml.html.HtmlElement | str, language: str | None = None) -> datetime | None:
    """htmldate's guess (it knows many languages' month names and CMS conventions), only as a last resort.

    Its answer is a bare day, kept as midnight wall-clock; original_date asks for the publication, not
    the last change. Without htmldate installed there is simply no fallback.

    htmldate's extensive search hands the text it cannot read itself to dateparser for every language at
    once, whose first calls in a process load all of its locales (seconds: more than the rest of the
    metadata of hundreds of pages). So this runs htmldate's fast mode, then the steps its extensive
    search adds, reading free text with htmldate's own parser and dateparser for the page's declared
    language only (one locale, milliseconds), then htmldate's regex search of the page. `language` is the
    page's declared language when the caller knows it from more than <html lang>.
    """
    try:
        from htmldate import find_date
    except ImportError:  # pragma: no cover - optional dependency
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = lxml.html.document_fromstring(page) if isinstance(page, str) else page
            found = find_date(tree, original_date=True, extensive_search=False, outputformat="%Y-%m-%d")
            found = found or text_date(tree, language)
    except Exception:  # noqa: BLE001 - a heuristic helper must never break extraction
        return None
    return parse_local(found) if found else None
