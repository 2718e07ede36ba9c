"""Author names from bylines: "By A and B", "A, B & C", JSON-LD Person objects, meta author tags."""
from __future__ import annotations

import re
from collections.abc import Iterable

from worker.extract.document import collapse
from worker.schema import Author

_BY_PREFIX = re.compile(r"^\s*(?:written\s+)?by\s*[:\-–—]?\s+", re.IGNORECASE)
_SEPARATORS = re.compile(r"\s*(?:,|;|&|\band\b)\s*", re.IGNORECASE)
# A byline often ends with its own dateline or role after a separator ("By A | Sept 22"); cut at digits
_TRAILING_DATE = re.compile(
    r"\s*(?:[|•·]|\b(?:updated|published|posted)\b|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d|\d).*$",
    re.IGNORECASE,
)
_NOT_A_NAME = re.compile(r"https?://|@|\bstaff\b$|^\W*$", re.IGNORECASE)


def split_byline(byline: str | None) -> list[str]:
    """Names in a byline, without "By " and split on "and", commas, "&" and the like."""
    text = collapse(byline)
    if not text:
        return []
    text = _BY_PREFIX.sub("", text)
    text = _TRAILING_DATE.sub("", text)
    names = []
    for part in _SEPARATORS.split(text):
        name = _BY_PREFIX.sub("", part).strip(" .:-–—")
        if name and not _NOT_A_NAME.search(name) and len(name) <= 80 and len(name.split()) <= 6:
            names.append(name)
    return names


def names_from_jsonld(value: object) -> list[str]:
    """Names from a JSON-LD author value: a string, a Person/Organization object, or a list of either."""
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        if isinstance(item, str):
            names.extend(split_byline(item))
        elif isinstance(item, dict):
            name = item.get("name")
            if isinstance(name, list):
                name = name[0] if name else None
            if isinstance(name, str):
                names.extend(split_byline(name))
    return names


def to_authors(names: Iterable[str]) -> list[Author]:
    """Author objects, case-insensitively de-duplicated, in the order first seen."""
    seen: set[str] = set()
    authors = []
    for name in names:
        key = name.casefold()
        if key not in seen:
            seen.add(key)
            authors.append(Author(name=name))
    return authors
