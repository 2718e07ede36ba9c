"""Per-source CSS selectors, compiled once to XPath by cssselect (the library lxml itself uses)."""
from __future__ import annotations

from functools import lru_cache

from cssselect import GenericTranslator, SelectorError
from lxml import etree

from worker.errors import ExtractionError

_TRANSLATOR = GenericTranslator()


def css_to_xpath(selector: str) -> str:
    """XPath for a CSS selector; raises ValueError with cssselect's reason when it is not valid CSS."""
    try:
        return _TRANSLATOR.css_to_xpath(selector)
    except SelectorError as exc:
        raise ValueError(f"not a valid CSS selector {selector!r}: {exc}") from None


@lru_cache(maxsize=512)
def compile_css(selector: str) -> etree.XPath:
    try:
        return etree.XPath(css_to_xpath(selector))
    except ValueError as exc:
        raise ExtractionError(str(exc)) from None


def select(root: etree._Element, selector: str) -> list[etree._Element]:
    return [el for el in compile_css(selector)(root) if isinstance(el, etree._Element)]


def select_one(root: etree._Element, selector: str | None) -> etree._Element | None:
    if not selector:
        return None
    found = select(root, selector)
    return found[0] if found else None
