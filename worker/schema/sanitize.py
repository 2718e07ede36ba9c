"""What a canonical article may hold, enforced where it is built (worker/schema/__init__.py), so that no outlet is
ever handed something a reader's software would run.

- URLs: absolute http(s) with a host, nothing else (no javascript:, data:, vbscript:, file:, no relative
  or scheme-relative form left unresolved). Characters that a URL parser silently drops (tab, CR, LF) are
  dropped, as browsers do, so `java\\tscript:` is seen as what a browser sees: javascript:. Other control
  characters, the bidi controls that can make a link read as something else, and `"`, `<`, `>` and the
  backtick (never valid in a URL, and what breaks out of a quoted attribute or into markup when a
  consumer pastes the URL unescaped) are percent-encoded, as browsers do: the link still leads where it
  led. Spaces are left as they are: partners' image paths have them, and they escape nothing.
- body_html: nh3 (the Rust ammonia sanitizer) with the contract's allowlist of tags and attributes; link
  and image URLs http(s) only (nh3's url_schemes), relative ones resolved against the article's URL (in
  nh3's attribute filter, so that nh3 still decides what a URL attribute is and what its scheme is).
- Text (headline, names, caption, credit, section, tags..., and the text of the body): the invisible
  controls that reorder or hide what follows them are removed. Outlets join fields ("By A, B",
  "Caption (Credit)", "From Partner") and readers show them on one line, where an unterminated
  right-to-left override in one turns the next one around (`txt.exe` shown for `exe.txt`). What is
  given up: an RTL text that used explicit embeddings rather than marks may order a mixed-direction
  phrase differently; no character of it is lost. Text stays text: escaping it for HTML is each
  outlet's job (see worker/outlets/encoding.py).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote, urljoin, urlsplit

import nh3

WEB_SCHEMES = frozenset({"http", "https"})
#: the contract's body allowlist (DESIGN.md, "Canonical article"); worker/extract/clean.py keeps the same
BODY_TAGS = frozenset({"p", "h2", "h3", "h4", "blockquote", "ul", "ol", "li", "a", "strong", "em",
                       "figure", "img", "figcaption", "br"})
BODY_ATTRIBUTES: dict[str, frozenset[str]] = {"a": frozenset({"href"}), "img": frozenset({"src", "alt"})}
#: removed with everything inside them, not just unwrapped: their text is code or another document
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "noscript", "template", "object", "embed", "svg",
                                  "math", "form", "textarea", "select", "button"})
_URL_ATTRIBUTES = frozenset({("a", "href"), ("img", "src")})

#: C0 controls and space, which the WHATWG URL parser strips from both ends of a URL
_URL_EDGE = "".join(chr(c) for c in range(0x21))
#: removed from anywhere in a URL by the WHATWG URL parser (and by Python's urlsplit)
_URL_DROPPED = re.compile(r"[\t\n\r]")
#: kept in a URL only percent-encoded: other controls, the bidi marks, embeddings, overrides and isolates,
#: and the characters RFC 3986 excludes that end a quoted attribute or open markup
_URL_ENCODED = re.compile(r"[\x00-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\"<>`]")
#: removed from short text: C0 controls but tab and line breaks, DEL, and the bidi embeddings, overrides
#: and isolates (the marks U+200E/U+200F/U+061C stay: they affect only neutral characters next to them)
_TEXT_HIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _percent_encode(match: re.Match[str]) -> str:
    return quote(match.group(), safe="")


def web_url(value: object, base: str | None = None) -> str | None:
    """`value` as an absolute http(s) URL with a host, or None when it is not one.

    A relative or scheme-relative value is resolved against `base` when one is given (else None). An
    absolute value comes back as it was apart from the edits described in the module docstring, so an
    article's URL (and the id derived from it) does not change by passing through here again.
    """
    if not isinstance(value, str):
        return None
    candidate = _URL_ENCODED.sub(_percent_encode, _URL_DROPPED.sub("", value.strip(_URL_EDGE)))
    if not candidate:
        return None
    try:
        parts = urlsplit(candidate)
        if not parts.scheme and base is not None:
            candidate = urljoin(base, candidate)
            parts = urlsplit(candidate)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError:  # an unclosed IPv6 bracket, a bad port
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        return None
    return candidate


def plain_text(value: str) -> str:
    """Text without the invisible characters that reorder or hide the text after it."""
    return _TEXT_HIDDEN.sub("", value)


def sanitize_body_html(html: str, base: str | None = None,
                       img_src: Callable[[str], str | None] | None = None) -> str:
    """body_html on the contract's allowlist, every link and image URL absolute http(s).

    Idempotent, and a no-op on what worker.extract produced (it ends with the same nh3 allowlist), so
    validating a stored article again changes neither its body nor its content hash. `img_src`, when
    given, is handed each image's absolute URL and returns what the src becomes (an outlet's own copy):
    outlets rewrite images through the same allowlist instead of a second one.
    """
    if not html:
        return ""

    def filter_attribute(tag: str, attribute: str, value: str) -> str | None:
        # nh3 has already dropped the absolute URLs of other schemes; this resolves the relative ones
        # with urljoin, as worker.http.urls.join_http does at extraction, so both agree on every link
        if (tag, attribute) not in _URL_ATTRIBUTES:
            return value
        url = web_url(value, base)
        return img_src(url) if url is not None and img_src is not None and tag == "img" else url

    return nh3.clean(
        html,
        tags=set(BODY_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in BODY_ATTRIBUTES.items()},
        attribute_filter=filter_attribute,
        url_schemes=set(WEB_SCHEMES),
        link_rel=None,
        strip_comments=True,
    )
