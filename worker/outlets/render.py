"""The article as a standalone HTML page: what an editor sees before it goes on the outlet's site.

Every field is written for the place it takes in the page (worker/outlets/encoding.py): text escaped as
element content or as an attribute value, body_html allowlisted by nh3 once more on its way out.
"""
from __future__ import annotations

from html import escape

from worker.outlets.encoding import html_body
from worker.schema import Article

_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{headline}</title>
<link rel="canonical" href="{url}">
<meta name="syndication-id" content="{id}">
<meta name="syndication-version" content="{version}">
</head>
<body>
<article class="syndicated" data-source="{source_id}">
<header>
<h1>{headline}</h1>
{byline}{dateline}{section}</header>
{figure}<div class="article-body">
{body}
</div>
<footer><p class="attribution"><a href="{url}" rel="nofollow">{attribution}</a></p></footer>
</article>
</body>
</html>
"""


def _date(article: Article) -> str:
    if not article.published:
        return ""
    published = article.published.strftime("%Y-%m-%d %H:%M UTC")
    text = f'<time datetime="{article.published.isoformat()}">{published}</time>'
    if article.updated and article.updated != article.published:
        updated = article.updated.strftime("%Y-%m-%d %H:%M UTC")
        text += f' <span class="updated">Updated <time datetime="{article.updated.isoformat()}">{updated}</time></span>'
    return f'<p class="dateline">{text}</p>\n'


def _figure(article: Article) -> str:
    image = article.lead_image
    if image is None:
        return ""
    size = "".join(
        f' {name}="{value}"' for name, value in (("width", image.width), ("height", image.height)) if value
    )
    caption = ""
    if image.caption or image.credit:
        credit = f' <span class="credit">{escape(image.credit)}</span>' if image.credit else ""
        caption = f"<figcaption>{escape(image.caption or '')}{credit}</figcaption>"
    alt = escape(image.alt or image.caption or "", quote=True)
    return f'<figure class="lead-image"><img src="{escape(image.url, quote=True)}" alt="{alt}"{size}>{caption}</figure>\n'


def render_article_html(article: Article) -> str:
    names = ", ".join(a.name for a in article.authors)
    return _PAGE.format(
        lang=escape(article.language or "en", quote=True),
        headline=escape(article.headline),
        url=escape(article.url, quote=True),
        id=escape(article.id, quote=True),
        version=article.version,
        source_id=escape(article.source.id, quote=True),
        byline=f'<p class="byline">By {escape(names)}</p>\n' if names else "",
        dateline=_date(article),
        section=f'<p class="section">{escape(article.section)}</p>\n' if article.section else "",
        figure=_figure(article),
        body=html_body(article),
        attribution=escape(article.attribution),
    )
