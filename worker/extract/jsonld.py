"""schema.org JSON-LD: find the article node among everything a page declares.

Pages embed several blocks (WebSite, BreadcrumbList, Organization, the article), often inside an
@graph and linked by @id references, and their JSON is not always strictly valid; all of that is
tolerated here so the metadata layer can treat JSON-LD as one clean dictionary.
"""
from __future__ import annotations

import html
import json
import re
from typing import Any

from lxml import etree

_ARTICLE_TYPES = {
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "backgroundnewsarticle", "reviewnewsarticle", "askpublicnewsarticle", "blogposting",
    "liveblogposting", "report", "scholarlyarticle", "techarticle", "socialmediaposting", "claimreview",
}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_COMMENT_WRAPPER = re.compile(r"^\s*(?:<!--|/\*\s*<!\[CDATA\[\s*\*/|<!\[CDATA\[)|(?:-->|/\*\s*\]\]>\s*\*/|\]\]>)\s*$")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
# 'single-quoted' values, another hand-written JSON-LD habit
_SINGLE_QUOTED = re.compile(r"(:\s*)'((?:[^'\\]|\\.)*)'(\s*[,}\]])")


def _load(text: str) -> Any:
    text = _COMMENT_WRAPPER.sub("", text).strip().rstrip(";")
    try:
        return json.loads(text, strict=False)
    except ValueError:
        # hand-written JSON-LD often has trailing commas; one repair attempt, then give up on the block
        repaired = _SINGLE_QUOTED.sub(lambda m: m.group(1) + json.dumps(m.group(2)) + m.group(3), text)
        try:
            return json.loads(_TRAILING_COMMA.sub(r"\1", repaired), strict=False)
        except ValueError:
            return None


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {v.rsplit("/", 1)[-1].lower() for v in values if isinstance(v, str)}


def _walk(value: Any, out: list[dict[str, Any]]) -> None:
    """Every typed node, depth first, so articles nested in @graph, lists or mainEntity are found."""
    if isinstance(value, list):
        for item in value:
            _walk(item, out)
    elif isinstance(value, dict):
        if "@type" in value:
            out.append(value)
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement", "hasPart"):
            if isinstance(value.get(key), (list, dict)):
                _walk(value[key], out)


class JsonLd:
    """The page's JSON-LD nodes, with the article node picked out and @id references resolvable."""

    def __init__(self, root: etree._Element) -> None:
        self.nodes: list[dict[str, Any]] = []
        for script in root.iter("script"):  # walked in C; a "//script[...]" XPath costs ten times more
            if (script.get("type") or "").translate(_ASCII_LOWER) != "application/ld+json":
                continue
            data = _load(script.text or "")
            if data is not None:
                _walk(data, self.nodes)
        self._by_id = {n["@id"]: n for n in self.nodes if isinstance(n.get("@id"), str)}
        articles = [n for n in self.nodes if _types(n) & _ARTICLE_TYPES]
        # With several candidates (a page listing related articles), the one with a body or headline wins
        articles.sort(key=lambda n: (not n.get("articleBody"), not n.get("headline")))
        self.article: dict[str, Any] = articles[0] if articles else {}

    def resolve(self, value: Any) -> Any:
        """Follow an {"@id": ...} reference to the node it names, when the page declares it."""
        if isinstance(value, dict) and set(value) == {"@id"}:
            return self._by_id.get(value["@id"], value)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def get(self, key: str) -> Any:
        return self.resolve(self.article.get(key))

    def text(self, key: str) -> str | None:
        """A string property of the article; the first item when the page gives a list."""
        value = self.get(key)
        if isinstance(value, list):
            value = next((v for v in value if isinstance(v, str)), None)
        if isinstance(value, dict):
            value = value.get("name") or value.get("@value")
        # CMSs often HTML-escape JSON-LD strings ("&#8211;", "&nbsp;"): a reader sees the characters
        value = html.unescape(value).replace("\xa0", " ").strip() if isinstance(value, str) else None
        return value or None

    def publisher_name(self) -> str | None:
        publisher = self.get("publisher")
        if isinstance(publisher, list):
            publisher = publisher[0] if publisher else None
        publisher = self.resolve(publisher)
        if isinstance(publisher, dict):
            publisher = publisher.get("name")
        return html.unescape(publisher).strip() or None if isinstance(publisher, str) else None

    def image(self) -> dict[str, Any] | None:
        """The article's image as {url, width, height, caption, credit}; the first when there are several."""
        value = self.get("image") or self.get("thumbnailUrl")
        if isinstance(value, list):
            value = value[0] if value else None
        value = self.resolve(value)
        if isinstance(value, str):
            return {"url": value}
        if not isinstance(value, dict):
            return None
        url = value.get("url") or value.get("contentUrl")
        if isinstance(url, list):
            url = url[0] if url else None
        if not isinstance(url, str):
            return None
        credit = value.get("creditText") or value.get("copyrightHolder") or value.get("author")
        credit = self.resolve(credit)
        if isinstance(credit, dict):
            credit = credit.get("name")
        return {
            "url": url,
            "width": pixel_size(value.get("width")),
            "height": pixel_size(value.get("height")),
            "caption": value.get("caption") if isinstance(value.get("caption"), str) else None,
            "credit": credit if isinstance(credit, str) else None,
        }


def pixel_size(value: Any) -> int | None:
    """A positive pixel size from 1200, "1200", "1200px" or a QuantitativeValue; else None."""
    if isinstance(value, dict):
        value = value.get("value")
    try:
        number = int(float(str(value).strip().removesuffix("px")))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
