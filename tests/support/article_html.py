"""Small hand-made article pages for the extraction tests: enough prose to be an article, a title and an h1,
and slots for the markup a test is about (head tags, lines before or after the text, chrome outside it).

Written once so that the byline, tag and headline tests build their pages one way; the generated partner
site (tests/support/partner_pages.py) is for whole sites, not for one feature of one page.
"""
from __future__ import annotations


def prose(noun: str = "story", paragraphs: int = 6) -> str:
    """Numbered paragraphs, long enough together that the extractor takes them for an article's text."""
    return "".join(f"<p>Sentence number {i} of the {noun}, long enough to read like the text of an article.</p>"
                   for i in range(paragraphs))


def article_page(title: str, text: str, *, head: str = "", before: str = "", after: str = "",
                 outside: str = "") -> str:
    """<title> and <h1> both `title`; `before` and `after` sit around `text` inside the <article>,
    `outside` in the body ahead of it."""
    return (f"<html><head><title>{title}</title>{head}</head><body>{outside}<article><h1>{title}</h1>"
            f"{before}{text}{after}</article></body></html>")
