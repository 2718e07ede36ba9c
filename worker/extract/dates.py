"""Dates from pages, always as timezone-aware UTC datetimes.

Machine-readable dates (JSON-LD, meta, <time datetime>) carry their offset and are trusted first. Visible
text such as "Updated: September 22, 2017 3:40 pm" usually has no zone, so it is only a last resort and
is read as UTC; that way it can never beat a dated JSON-LD value.
"""
from __future__ import annotations

import re
import warnings
from datetime import datetime, timezone

from dateutil import parser as dateparser

_LABEL = re.compile(r"^\s*(?:last\s+)?(?:updated|modified|published|posted|on)\s*(?:on|at)?\s*:?\s*", re.IGNORECASE)
# Common zone abbreviations dateutil does not know on its own; US ones dominate English news pages.
_TZINFOS = {
    "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
    "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
    "BST": 3600, "CET": 3600, "CEST": 7200,
}
_HAS_DIGIT = re.compile(r"\d")


def parse_date(value: object, *, assume_utc: bool = True) -> datetime | None:
    """A UTC datetime from an ISO string or loose human text; None when it is not a date.

    A value without a zone is taken as UTC when assume_utc, else rejected (callers that have a better,
    zoned source ask for rejection so a zoneless guess cannot win).
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _HAS_DIGIT.search(value):
        text = _LABEL.sub("", value.strip())
        if not text or len(text) > 80:
            return None
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                with warnings.catch_warnings():
                    # an unknown zone name ("AMT") yields a naive datetime, handled below; no need to warn
                    warnings.simplefilter("ignore", dateparser.UnknownTimezoneWarning)
                    parsed = dateparser.parse(text, tzinfos=_TZINFOS, fuzzy=True)
            except (ValueError, OverflowError, TypeError):
                return None
    else:
        return None
    if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
        if not assume_utc:
            return None
        parsed = parsed.replace(tzinfo=timezone.utc)
    if not 1990 <= parsed.year <= 2100:
        return None  # a stray number read as a year, not a publication date
    return parsed.astimezone(timezone.utc)


def first_date(*candidates: object) -> datetime | None:
    """The first candidate that parses with an explicit zone, else the first that parses at all."""
    for candidate in candidates:
        found = parse_date(candidate, assume_utc=False)
        if found:
            return found
    for candidate in candidates:
        found = parse_date(candidate)
        if found:
            return found
    return None
