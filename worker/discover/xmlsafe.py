"""Partner XML is hostile input: inflate it with a cap, refuse entity tricks, bound the work.

Feeds go to feedparser, which is lenient and good at the feed formats but was not built for hostile
input: it expands nothing itself today, yet it parses every entry however many there are (100,000 items
took over a minute in a test), and given *bytes* it would even treat them as a file name and open it.
So before feedparser sees a feed, `screen_feed` makes one fast expat pass (about 100 MB/s) that

- refuses any entity declaration, internal or external (the same handlers defusedxml installs; written
  against expat directly because the pass also needs each tag's prefix and byte offset, which
  defusedxml's ElementTree layer hides), and never loads an external DTD;
- stops at the entry after the cap and cuts the document there, closing the open elements, so the
  document feedparser gets is still well-formed and bounded;
- collects RFC 6721 tombstones (at:deleted-entry), which feedparser drops.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from xml.parsers import expat

from worker.discover.candidates import DecompressedTooLargeError, DiscoveryParseError, UnsafeXmlError

#: Cap on inflated gzip data: the sitemap protocol allows 50 MB uncompressed, anything past it is abuse.
MAX_DECOMPRESSED_BYTES = 50 * 1024 * 1024

TOMBSTONE_NS = "http://purl.org/atompub/tombstones/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
_ENTRY_NAMES = frozenset({"item", "entry"})
_ENTRY_PARENTS = frozenset({"channel", "RDF", "feed", "rss"})  # where feed entries live in RSS 0.9x-2.0/Atom
_ENTITY_DECLARATION = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")


def gunzip_capped(data: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """`data` inflated when it starts with the gzip magic bytes, else unchanged.

    Inflates at most limit+1 bytes, so a gzip bomb costs limit bytes of memory, not its full size.
    """
    if not data.startswith(b"\x1f\x8b"):
        return data
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        inflated = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise DiscoveryParseError(f"the gzip data is corrupt ({exc})") from None
    if len(inflated) > limit:
        raise DecompressedTooLargeError(f"gzip data inflates past the {limit}-byte limit; refused")
    if not inflater.eof:
        raise DiscoveryParseError("the gzip data is truncated (download cut short?)")
    return inflated


def _refuse_entity(*args: object) -> None:
    name = args[0] if args else "?"
    raise UnsafeXmlError(f"the document declares the entity {name!r}; entity declarations are refused "
                         "(billion-laughs / external-entity protection)")


def _refuse_external(context: object, base: object, system_id: object, public_id: object) -> int:
    raise UnsafeXmlError(f"the document references the external entity {system_id!r}; refused")


def new_expat_parser(namespace_separator: str | None = None) -> expat.XMLParserType:
    """An expat parser that raises UnsafeXmlError at the first entity declaration or external reference.

    Raising at the *declaration* means a billion-laughs document is refused before any expansion.
    """
    parser = expat.ParserCreate(namespace_separator=namespace_separator)
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)  # never read the external DTD
    return parser


def refuse_entities_in_raw(data: bytes) -> None:
    """Fallback screen for bytes expat could not read up to the root element (unknown encoding, broken
    prolog): refuse any `<!ENTITY`, also in UTF-16/32 where NUL bytes sit between the letters."""
    wide = b"\x00" in data[:4]
    if _ENTITY_DECLARATION.search(data) or (wide and _ENTITY_DECLARATION.search(data.replace(b"\x00", b""))):
        raise UnsafeXmlError("the document declares entities; entity declarations are refused")


@dataclass
class Tombstone:
    """An Atom tombstone: the entry `ref` (its atom:id; required by RFC 6721, "" when a partner omits it)
    was deleted at `when`."""

    ref: str
    when: str | None = None
    link: str | None = None


@dataclass
class ScreenedFeed:
    data: bytes
    #: True when the document had more entries than the cap and was cut
    truncated: bool = False
    tombstones: list[Tombstone] = field(default_factory=list)


class _Cut(Exception):
    """Raised from a handler to stop expat once the entry cap is reached."""


def _split(name: str) -> tuple[str, str, str]:
    """(namespace, local, qualified name as written) from expat's "uri local prefix" form."""
    parts = name.split(" ")
    if len(parts) == 3:
        return parts[0], parts[1], f"{parts[2]}:{parts[1]}"
    if len(parts) == 2:
        return parts[0], parts[1], parts[1]
    return "", name, name


def _closing_tags(stack: list[str], data: bytes) -> bytes:
    text = "".join(f"</{qname}>" for qname in reversed(stack))
    # the appended tags must be in the document's own encoding; expat only reads UTF-8/16 and 8-bit sets
    if data.startswith((b"\xff\xfe", b"<\x00")):
        return text.encode("utf-16-le")
    if data.startswith((b"\xfe\xff", b"\x00<")):
        return text.encode("utf-16-be")
    return text.encode("utf-8")  # also right for ASCII names in 8-bit documents


def _cut_loosely(data: bytes, max_entries: int) -> ScreenedFeed:
    """For documents expat rejects (undeclared prefixes, `&nbsp;` without a DTD — feedparser's loose
    parser copes with those): cut before the entry after the cap by a byte pattern. Loose parsing does
    not need the closing tags."""
    for count, match in enumerate(_ENTRY_START.finditer(data), start=1):
        if count > max_entries:
            return ScreenedFeed(data[:match.start()], truncated=True)
    return ScreenedFeed(data)


def screen_feed(data: bytes, max_entries: int) -> ScreenedFeed:
    """Refuse entity tricks, cap the entries, collect tombstones (see the module docstring)."""
    parser = new_expat_parser(namespace_separator=" ")
    parser.namespace_prefixes = True
    stack: list[str] = []
    locals_: list[str] = []
    entries = 0
    tombstones: list[Tombstone] = []
    cut_at: list[int] = []
    root_seen = False

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal entries, root_seen
        root_seen = True
        namespace, local, qname = _split(name)
        if local in _ENTRY_NAMES and (not locals_ or locals_[-1] in _ENTRY_PARENTS):
            entries += 1
            if entries > max_entries:
                cut_at.append(parser.CurrentByteIndex)
                raise _Cut
        if namespace == TOMBSTONE_NS and local == "deleted-entry":
            tombstones.append(Tombstone(ref=attrs.get("ref", ""), when=attrs.get("when")))
        elif (namespace == ATOM_NS and local == "link" and locals_ and locals_[-1] == "deleted-entry"
              and attrs.get("rel", "alternate") == "alternate"):
            tombstones[-1].link = attrs.get("href")
        stack.append(qname)
        locals_.append(local)

    def end(name: str) -> None:
        stack.pop()
        locals_.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except _Cut:
        cut = data[:cut_at[0]] + _closing_tags(stack, data)
        return ScreenedFeed(cut, truncated=True, tombstones=tombstones)
    except (expat.ExpatError, LookupError, ValueError):  # LookupError/ValueError: encoding expat cannot decode
        if not root_seen:  # the prolog, the only place entities are declared, was not fully read
            refuse_entities_in_raw(data)
        screened = _cut_loosely(data, max_entries)
        screened.tombstones = tombstones
        return screened
    return ScreenedFeed(data, tombstones=tombstones)

