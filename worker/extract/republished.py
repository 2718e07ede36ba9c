"""Republished articles: a partner page carrying another outlet's story.

Syndicated copies say so, either in a closing line ("From The Epoch Times", "Originally published by
The Conversation", "This article was originally published on Futurism", "Republished with permission
from X") or by pointing <link rel="canonical"> at the original on another site. The canonical article
must then be attributed to the original outlet and point at the original URL, and the attribution line
must not be repeated at the foot of the body (the outlet renders its own attribution).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from worker.extract.document import collapse

_NAME = r"(?P<name>[A-Z0-9][\w&'’.\- ]{1,60}?)"
# Closing attribution lines; the whole short block must be the attribution, not a sentence mentioning one
_ATTRIBUTION = re.compile(
    r"^(?:this (?:article|story|piece|post) (?:was |is )?(?:originally |first )?(?:published|appeared) "
    r"(?:on|in|by|at)|(?:this (?:article|story) )?(?:was )?originally (?:published|appeared) (?:on|in|by|at)|"
    r"first (?:published|appeared) (?:on|in|by|at)|"
    r"republished (?:with permission )?(?:from|by)|reprinted (?:with permission )?from|"
    r"(?:this (?:article|story) is )?republished from|from|source|via|courtesy of)\s*:?\s+"
    + _NAME + r"(?:\s+(?:under a creative commons license|with permission)[^.]*)?\s*\.?$",
    re.IGNORECASE,
)
_MAX_WORDS = 16
# an outlet's name is Title Case ("The Conversation", "The Epoch Times") or a domain ("futurism.com");
# this keeps "From Monday onwards prices rise." from reading as an attribution
_SMALL_WORDS = {"of", "the", "and", "for", "de", "&", "a", "on", "in", "at"}
_TRAILING_BLOCKS = 4


@dataclass(frozen=True)
class Original:
    """The outlet (and, when the page names it, the URL) that first published the article."""

    name: str | None
    url: str | None = None


def attribution_name(text: str) -> str | None:
    """The original outlet named by an attribution line, or None when the text is not one."""
    text = collapse(text)
    if not text or len(text.split()) > _MAX_WORDS:
        return None
    match = _ATTRIBUTION.match(text)
    if not match:
        return None
    name = match.group("name").strip(" .")
    words = name.split()
    title_case = all(w[0].isupper() or w[0].isdigit() or w.lower() in _SMALL_WORDS for w in words)
    return name if (title_case or ("." in name and len(words) == 1)) and len(words) <= 6 else None


def _host(url: str | None) -> str:
    host = (urlsplit(url or "").hostname or "").lower()
    return host.removeprefix("www.").removeprefix("amp.").removeprefix("m.")


def _trailing_blocks(wrapper: etree._Element) -> list[etree._Element]:
    blocks = [b for b in wrapper if isinstance(b.tag, str) and collapse(b.text_content())]
    return blocks[-_TRAILING_BLOCKS:]


def find_original(root: etree._Element, page_url: str, canonical_url: str | None,
                  site_name: str | None = None) -> Original | None:
    """The original of a republished page, or None for a page that is its own original.

    `root` is the article body (or the whole page); only its last few blocks are read, because that is
    where attribution lines go and a story may mention "from Reuters" anywhere in its text.
    """
    name = None
    for block in reversed(_trailing_blocks(root)):
        name = attribution_name(block.text_content())
        if name:
            break
    if name and site_name and name.casefold() == site_name.casefold():
        name = None  # "From The Epoch Times" on The Epoch Times' own page is no republication
    elsewhere = bool(canonical_url) and _host(canonical_url) not in ("", _host(page_url))
    if not name and not elsewhere:
        return None
    return Original(name=name, url=canonical_url if elsewhere else None)


def drop_attribution(wrapper: etree._Element) -> str | None:
    """Remove, in place, a closing attribution line from the body; returns the outlet it named."""
    for block in reversed(_trailing_blocks(wrapper)):
        name = attribution_name(block.text_content())
        if name:
            block.drop_tree()
            return name
    return None


__all__ = ["Original", "attribution_name", "drop_attribution", "find_original"]
