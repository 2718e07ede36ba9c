"""Author names from bylines: "By A and B", "A, B & C", JSON-LD Person objects, meta author tags.

A byline mixes names with things that are not authors: a role ("Staff Writer"), the outlet the writer
works for ("Troy L. Smith, Cleveland.com", "Tom Davies Associated Press"), a handle, a CMS account
("admin"). Those are taken off the name; an organisation that *is* the author (an agency, a desk, the
site itself) is kept and marked with role="organization" so outlets can render it differently.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable

from worker.extract.document import collapse
from worker.schema import Author

ORGANIZATION = "organization"

_BY_PREFIX = re.compile(
    r"^\s*(?:(?:written|posted|reported|photos?|story)\s+by\b|by\b|von\b|por\b|par\b|door\b)\s*[:\-–—]?\s*",
    re.IGNORECASE,
)
_LABEL_PREFIX = re.compile(
    r"^\s*(?:(?:author|autor|auteur|автор)\s*:?|(?:text|texto|texte|текст|words)\s*:)\s*", re.IGNORECASE
)
# a section or kicker in front of the byline in the same element: "Tech Industry by Steven Musil"
# ("von" and "van" are not cut there: they are particles of names, "Alexa von Heyden")
_INNER_BY = re.compile(r"^(?:\S+\s+){1,4}?(?i:by|par|por)\s+(?=[^\W\d_])")
# conjunctions in several languages; "y"/"e" only in lower case, so initials ("Sarah E. Needleman") survive
_SEPARATORS = re.compile(r"\s*(?:,|;|&|\b(?i:and|und|et|и)\b|\b[ye]\b)\s*")
# A byline often ends with its own dateline after a separator ("By A | Sept 22"); cut there
_TRAILING_DATE = re.compile(
    r"\s*(?:[|•·／/]|\b(?:updated|published|posted|on|publiziert|veröffentlicht|aktualisiert|publié|"
    r"publicado|actualizado|pubblicato)\b|\bam\s*$|\bam\s+(?=\d|[a-zäöü]+tag\b|mittwoch\b)|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d|"
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|(?<!\w)\d).*$",
    re.IGNORECASE,
)
_HANDLES = re.compile(r"@\w+|\S+@\S+\.\w+|https?://\S+")
# Job titles that follow a name in a byline; removed from the name, kept as the author's role
_ROLE = re.compile(
    r"\s*,?\s*\b((?:(?:senior|chief|staff|contributing|special|deputy|associate|managing|executive|political|"
    r"business|sports?|news|technology|tech|science|health|foreign|national|investigative|opinion|guest)\s+)*"
    r"(?:writer|reporter|editor|correspondent|columnist|contributor|journalist|producer|photographer|"
    r"analyst|critic|intern|editor-in-chief))\b.*$",
    re.IGNORECASE,
)
# CMS accounts and form labels that are not anybody's name ("red" is the newsroom's "Redaktion", "redakcja")
_NOT_A_NAME = re.compile(
    r"https?://|@|^\W*$|^(?:\w*admin\w*|administrator|webmaster|editor|staff|guest|гость|anonymous|unknown|"
    r"name\b.*|nama\b.*|comments?|share|follow|biography|view .*|no author|none|red\.?)$|copyright|rights reserved|©",
    re.IGNORECASE,
)
# Agencies and newsroom words: a byline part that is one of these names an organisation, not a person
_AGENCIES = (
    "associated press", "the associated press", "ap", "reuters", "afp", "agence france-presse", "upi",
    "bloomberg", "bloomberg news", "dpa", "efe", "ansa", "xinhua", "tass", "pti", "ians", "cnn wire",
    "press association", "pa", "canadian press", "the canadian press", "kyodo", "yonhap", "aap",
    "ats", "sda", "apa", "jiji", "jiji press", "anp", "belga", "europa press", "lusa", "ntb", "ritzau", "ani",
)
_INITIAL_SPLIT = re.compile(r"[\s.]+")
# a role described in words, not a name: "a deputy editor", "the paper's correspondent"
_DESCRIPTION = re.compile(r"^(?:a|an|the)\s")  # lower case: "The Associated Press" is a name
_ORG_WORDS = re.compile(
    r"\b(?:staff|news|desk|wire|wires|services?|sport|sports|press|media|magazine|team|times|post|journal|"
    r"herald|tribune|daily|weekly|international|network|agency|group|inc|ltd|llc|gmbh|"
    r"editorial|newsroom|bureau|project|foundation|institute|center|centre|council|committee|association|"
    r"society|university|office|department|ministry|coalition|alliance|union|initiative|campaign)\b|\.(?:com|org|net|co|uk|in|ru|de)\b|事務所|会社",
    re.IGNORECASE,
)
_AGENCY_SUFFIX = re.compile(r"^(.+?)\s+(" + "|".join(re.escape(a) for a in _AGENCIES if " " in a) + r")$", re.IGNORECASE)


def is_organization(name: str, site_name: str | None = None) -> bool:
    """True for an agency, a desk or an outlet ("Reuters", "Telegraph Sport", "IGN Staff", the site)."""
    key = collapse(name).casefold().strip(" .")
    if key in _AGENCIES or (site_name and key.replace("-", " ") == collapse(site_name).casefold().replace("-", " ")):
        return True
    return bool(_ORG_WORDS.search(key))


def _clean_part(part: str) -> tuple[str, str | None]:
    """(name, role) from one byline part."""
    name = _LABEL_PREFIX.sub("", _BY_PREFIX.sub("", part)).strip(" :-–—|")
    # a trailing dot ends the name unless it closes an initial ("Nicolas Gutierrez C.")
    name = name if re.search(r"(?:^|\s)[^\W\d_]\.$", name) else name.rstrip(". ")
    name = name.lstrip(". ")
    role_match = _ROLE.search(name)
    role = None
    # a role needs a whole name before it: "Cleo Columnist" may be somebody's name
    if role_match and len(name[: role_match.start()].split()) >= 2:
        role = role_match.group(1)
        name = name[: role_match.start()].strip(" ,.-–—")
    head, dot, tail = name.partition(". ")
    if dot and is_organization(tail) and len(head.split()) >= 2:
        name, role = head, role or tail  # "Finian Cunningham. Sputnik International"
    agency = _AGENCY_SUFFIX.match(name)
    if agency and len(agency.group(1).split()) >= 2:
        name, role = agency.group(1), role or agency.group(2)  # "Tom Davies Associated Press"
    return name, role


def _initials_only(name: str) -> bool:
    """ "J J", "ln", "J. D.": a desk's or writer's short mark, not a name a reader can use. Two capitals
    in one token ("RT", "AS") are how outlets abbreviate their own names, and are kept."""
    tokens = [t for t in _INITIAL_SPLIT.split(name) if t]
    return all(len(t) <= 2 for t in tokens) and (name.islower() or any(len(t) == 1 for t in tokens))


def _one_organisation(text: str) -> bool:
    """True for "ACLU Speech, Privacy & Technology Project": a lone word joined by "&" or "and" to the
    next part is a word of one name, not a person of its own."""
    pieces = re.split(r"(\s*(?:,|;|&|\b(?i:and|und|et)\b)\s*)", text)
    for index in range(0, len(pieces), 2):
        word = pieces[index].strip()
        if len(word.split()) != 1 or word.casefold() in _AGENCIES:
            continue
        around = [pieces[i].strip().casefold() for i in (index - 1, index + 1) if 0 <= i < len(pieces)]
        if any(sep in ("&", "and", "und", "et") for sep in around) and is_organization(text):
            return True
    return False


def byline_authors(byline: str | None) -> list[Author]:
    """Authors in a byline, without "By ", roles, handles and the outlet a writer is affiliated with."""
    text = _HANDLES.sub(" ", html.unescape(collapse(byline)))
    text = collapse(_LABEL_PREFIX.sub("", _BY_PREFIX.sub("", collapse(text))))
    text = _INNER_BY.sub("", text, count=1)
    if not text:
        return []
    text = _TRAILING_DATE.sub("", text)
    if _one_organisation(text) and not _NOT_A_NAME.search(text) and len(text.split()) <= 8:
        return [Author(name=text.strip(" .,;"), role=ORGANIZATION)]
    parts = [p for p in _SEPARATORS.split(text) if p.strip()]
    capitalised = any(p[:1].isupper() for p in parts)
    authors: list[Author] = []
    for index, part in enumerate(parts):
        name, role = _clean_part(part)
        if not name or _NOT_A_NAME.search(name) or len(name) > 80 or len(name.split()) > 6:
            continue
        if _DESCRIPTION.match(name) or (capitalised and name[:1].islower() and not is_organization(name)):
            continue  # "a deputy editor", "other outlets" beside capitalised names: words about the writers
        if _initials_only(name) and name.casefold().strip(".") not in _AGENCIES:
            continue
        affiliation = (
            index > 0 and authors and authors[-1].role != ORGANIZATION and "," in text
            and (is_organization(name) or len(name.split()) == 1)
        )
        if index > 0 and authors and authors[-1].role == ORGANIZATION and len(name.split()) == 1:
            continue  # "Reuters, Washington": the agency's dateline city
        if affiliation:
            # "Troy L. Smith, Cleveland.com", "Victor Tangermann, Futurism": the writer's outlet, not a co-author
            authors[-1].role = authors[-1].role or name
            continue
        authors.append(Author(name=name, role=ORGANIZATION if name.casefold() in _AGENCIES else role))
    return authors


def split_byline(byline: str | None) -> list[str]:
    """Names in a byline, without "By " and split on "and", commas, "&" and the like."""
    return [a.name for a in byline_authors(byline)]


def jsonld_authors(value: object) -> list[Author]:
    """Authors from a JSON-LD author value: a string, a Person/Organization object, or a list of either."""
    items = value if isinstance(value, list) else [value]
    authors: list[Author] = []
    for item in items:
        if isinstance(item, str):
            authors.extend(byline_authors(item))
        elif isinstance(item, dict):
            name = item.get("name")
            if isinstance(name, list):
                name = name[0] if name else None
            if not isinstance(name, str):
                continue
            kind = item.get("@type") or item.get("type") or ""
            kind = " ".join(kind) if isinstance(kind, list) else str(kind)
            found = byline_authors(name)
            if "organization" in kind.lower():
                found = [Author(name=a.name, role=ORGANIZATION) for a in found]
            url = item.get("url") if isinstance(item.get("url"), str) else None
            authors.extend(a.model_copy(update={"url": a.url or url}) for a in found)
    return authors


def names_from_jsonld(value: object) -> list[str]:
    return [a.name for a in jsonld_authors(value)]


def _without_site(name: str, site_name: str | None) -> str:
    """ "unocero - Alberto Ávila" on unocero's pages is Alberto Ávila: the site's name is not his."""
    if not site_name:
        return name
    site = collapse(site_name).casefold()
    for sep in (" - ", " – ", " | ", ": ", " / "):
        head, found, tail = name.partition(sep)
        if found and head.strip().casefold() == site and tail.strip():
            return tail.strip()
        head, found, tail = name.rpartition(sep)
        if found and tail.strip().casefold() == site and head.strip():
            return head.strip()
    return name


def to_authors(names: Iterable[str | Author], site_name: str | None = None) -> list[Author]:
    """Author objects, case-insensitively de-duplicated, in the order first seen; organisations marked."""
    seen: set[str] = set()
    authors = []
    for item in names:
        author = item if isinstance(item, Author) else Author(name=item)
        bare = _without_site(author.name, site_name)
        if bare != author.name:
            author = author.model_copy(update={"name": bare})
        key = author.name.casefold()
        if key in seen:
            continue
        seen.add(key)
        if author.role is None and is_organization(author.name, site_name):
            author = author.model_copy(update={"role": ORGANIZATION})
        authors.append(author)
    return authors
