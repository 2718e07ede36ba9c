"""Each field of the canonical article written the way the slot it goes into is read.

A field is either plain text (headline, description, author names, caption, credit, section, tags,
attribution) or HTML (body_html). A slot is read either as plain text (JSON Feed `title`/`summary`,
ninjs `text/plain` values, RSS `dc:creator` and `category`, an Atom person's name) or as HTML (RSS
`description` and `content:encoded`, Atom text constructs of type "html", JSON Feed `content_html`,
WordPress `title`, `excerpt` and `content`, the files outlet's page).

- plain text into a plain slot: as it is; the serializer (lxml, json) escapes it for its own syntax;
- plain text into an HTML slot: HTML-escaped here, then escaped again by the serializer. Escaping only
  once for XML is the classic feed bug: the reader undoes the XML escaping and then reads HTML, so the
  text `<img src=x onerror=...>` becomes an image that runs a script;
- HTML into an HTML slot: through nh3 with the contract's allowlist once more (worker.schema.sanitize). The
  schema has done it already; doing it again where the HTML leaves us costs little and holds even for
  an Article built without validation (model_construct, model_copy).
"""
from __future__ import annotations

from html import escape

from worker.schema.sanitize import sanitize_body_html
from worker.schema import Article


def html_text(text: str | None) -> str:
    """Plain text as HTML element content: `&`, `<` and `>` escaped (quotes need no escaping there)."""
    return escape(text or "", quote=False)


def html_attribute(text: str | None) -> str:
    """Plain text as an HTML attribute value (always written in double quotes)."""
    return escape(text or "", quote=True)


def html_body(article: Article) -> str:
    """The article's body HTML, allowlisted; relative links resolved against the article's URL."""
    return sanitize_body_html(article.body_html, article.url)


def attribution_html(article: Article) -> str:
    """The attribution line linked to the partner's canonical URL, as the feeds and the page end with it."""
    return (f'<p class="attribution"><a href="{html_attribute(article.url)}" rel="nofollow">'
            f"{html_text(article.attribution)}</a></p>")
