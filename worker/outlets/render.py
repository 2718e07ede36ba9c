"""The article as a standalone HTML page: what an editor sees before it goes on the outlet's site, laid out
as an outlet's article page would be (a small readable stylesheet inline, nothing fetched from elsewhere).

Every field is written for the place it takes in the page (worker/outlets/encoding.py): text escaped as
element content or as an attribute value, body_html allowlisted by nh3 once more on its way out.

Images: given the version's stored images (`images`, worker/outlets/images.py), the page links each
stored one by its file name, relatively (the files outlet writes the files beside the page); an image the
store does not have keeps the partner's URL. The lead image is a figure whose caption and credit are two
elements of the figcaption; its alt text is written only when it says something the caption does not
(the caption is then the image's description, read once, as HTML's figure/figcaption intends), so the
caption's text appears once on the page. A lead image the body already shows is not shown a second time.
"""
from __future__ import annotations

from html import escape

from worker.outlets.encoding import html_body
from worker.outlets.images import ArticleImages, body_image_urls, rewrite_body_images
from worker.schema import Article, Image, normalize_text

#: the page's stylesheet: readable measure and type, figures that fit the column, caption and credit apart
STYLESHEET = """\
:root { color-scheme: light; }
body { margin: 0; background: #fbfaf7; color: #1d1d1b;
       font: 1.125rem/1.65 Georgia, "Times New Roman", serif; }
article.syndicated { max-width: 42rem; margin: 0 auto; padding: 2.5rem 1.25rem 3rem; }
article.syndicated h1 { font-size: 2.1rem; line-height: 1.2; margin: 0 0 .75rem; }
header p { margin: .2rem 0; font: .95rem/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #55524d; }
header .section { text-transform: uppercase; letter-spacing: .06em; font-size: .8rem; color: #8a3b12; }
figure { margin: 1.75rem 0; }
figure img, .article-body img { display: block; max-width: 100%; height: auto; background: #eee; }
figcaption { margin-top: .55rem; font: .9rem/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #3f3c38; }
figcaption .credit { display: block; margin-top: .2rem; font-size: .78rem; letter-spacing: .03em;
                     text-transform: uppercase; color: #7a766f; }
.article-body h2, .article-body h3, .article-body h4 { line-height: 1.3; margin: 2rem 0 .5rem; }
.article-body a, footer a { color: #0b5cad; }
.article-body blockquote { margin: 1.5rem 0; padding-left: 1rem; border-left: 3px solid #d4d0c8; color: #46433e; }
footer { margin-top: 2.5rem; padding-top: 1rem; border-top: 1px solid #ddd8cf;
         font: .95rem/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{headline}</title>
<link rel="canonical" href="{url}">
<meta name="syndication-id" content="{id}">
<meta name="syndication-version" content="{version}">
<style>
{stylesheet}</style>
</head>
<body>
<article class="syndicated" data-source="{source_id}">
<header>
{section}<h1>{headline}</h1>
{byline}{dateline}</header>
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


def _alt(image: Image) -> str:
    """The alt attribute: the image's own alt text, unless it only repeats the caption (the figcaption
    then describes the image, and a reader would hear or see the caption twice); an image with neither
    gets an empty alt."""
    alt = (image.alt or "").strip()
    caption = (image.caption or "").strip()
    if alt and normalize_text(alt) != normalize_text(caption):
        return f' alt="{escape(alt, quote=True)}"'
    return "" if caption else ' alt=""'


def _figure(article: Article, images: ArticleImages | None) -> str:
    image = article.lead_image
    if image is None or image.url in body_image_urls(article):
        return ""
    stored = images.get(image.url) if images is not None else None
    src = stored.filename if stored is not None else image.url
    width, height = (stored.width, stored.height) if stored is not None else (image.width, image.height)
    size = "".join(f' {name}="{value}"' for name, value in (("width", width), ("height", height)) if value)
    parts = []
    if image.caption:
        parts.append(f'<span class="caption">{escape(image.caption)}</span>')
    if image.credit:
        parts.append(f'<span class="credit">{escape(image.credit)}</span>')
    caption = f"<figcaption>{' '.join(parts)}</figcaption>" if parts else ""
    return (f'<figure class="lead-image"><img src="{escape(src, quote=True)}"{_alt(image)}{size}>'
            f"{caption}</figure>\n")


def _body(article: Article, images: ArticleImages | None) -> str:
    if images is None:
        return html_body(article)
    return rewrite_body_images(article, {image.url: image.filename for image in images.available})


def render_article_html(article: Article, images: ArticleImages | None = None) -> str:
    names = ", ".join(a.name for a in article.authors)
    return _PAGE.format(
        lang=escape(article.language or "en", quote=True),
        headline=escape(article.headline),
        url=escape(article.url, quote=True),
        id=escape(article.id, quote=True),
        version=article.version,
        source_id=escape(article.source.id, quote=True),
        stylesheet=STYLESHEET,
        byline=f'<p class="byline">By {escape(names)}</p>\n' if names else "",
        dateline=_date(article),
        section=f'<p class="section">{escape(article.section)}</p>\n' if article.section else "",
        figure=_figure(article, images),
        body=_body(article, images),
        attribution=escape(article.attribution),
    )
