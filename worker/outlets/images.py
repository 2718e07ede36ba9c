"""The images of an article version as the deliver stage hands them to outlets, and the body's image links.

An article names its images by the partner's URLs: the lead image's `url` and each `<img src>` of
body_html. The ingest collects them once per version (worker/flow/images.py) into the store; the deliver
stage hands an outlet that asks for them (`publish(..., images=...)`, see base.py) an `ArticleImages`:
for every URL, the stored file (type and size sniffed from the bytes, the bytes read on demand) or why it
is missing. An outlet serves what it can (files written beside the page, uploads, enclosures) and falls
back to the partner's URL for what is missing, as every outlet did before images travelled.

The body's `<img src>` values are found and rewritten by the article contract's own sanitizer
(worker/schema/sanitize.py, its img_src hook), so the URLs collected at ingest are spelled exactly as the rewrite
meets them at delivery, and the rewritten body is allowlisted on its way out like every other body.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from worker.schema import Article
from worker.schema.sanitize import sanitize_body_html

Role = Literal["lead", "body"]
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}


@dataclass(frozen=True)
class ArticleImage:
    """One image of an article version: the stored file, or the reason it could not be had."""

    #: the partner's URL, as the article names it (lead_image.url or an img src)
    url: str
    role: Role
    #: sniffed from the bytes; None when missing
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    byte_size: int | None = None
    #: hex SHA-256 of the bytes (images are stored once per content)
    sha256: str | None = None
    #: why it is missing (too large, not an image, a private address, HTTP 404...), for the operator
    missing_reason: str | None = None
    _read: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def available(self) -> bool:
        return self.sha256 is not None and self._read is not None

    def read(self) -> bytes:
        """The image's bytes, loaded from the store now (so a delivery holds one image at a time)."""
        if self._read is None or self.sha256 is None:
            raise LookupError(f"image {self.url} is missing: {self.missing_reason}")
        return self._read()

    @property
    def filename(self) -> str:
        """A name derived from the content alone: the same picture is one file, whatever its URL."""
        if self.sha256 is None or self.content_type is None:
            raise LookupError(f"image {self.url} is missing: {self.missing_reason}")
        return f"image-{self.sha256[:24]}{EXTENSIONS.get(self.content_type, '')}"


@dataclass(frozen=True)
class ArticleImages:
    """Every image of one article version, lead first, then the body's in order."""

    items: tuple[ArticleImage, ...] = ()

    def get(self, url: str) -> ArticleImage | None:
        """The stored image for `url`, or None when it is missing (or not one of the article's)."""
        for image in self.items:
            if image.url == url and image.available:
                return image
        return None

    @property
    def available(self) -> list[ArticleImage]:
        """The stored ones, one per URL, in article order."""
        return [image for image in self.items if image.available]

    @property
    def missing(self) -> list[ArticleImage]:
        return [image for image in self.items if not image.available]

    def lead(self, article: Article) -> ArticleImage | None:
        return self.get(article.lead_image.url) if article.lead_image else None

    def __len__(self) -> int:
        return len(self.items)


def _clean(html: str, base: str | None, src: Callable[[str], str | None]) -> str:
    """The contract's own sanitizer (worker.schema.sanitize), every img src (resolved against `base`)
    passed to `src`."""
    return sanitize_body_html(html, base, img_src=src)


def body_image_urls(article: Article) -> list[str]:
    """The `<img src>` URLs of the body, in order, each once."""
    found: dict[str, None] = {}

    def keep(url: str) -> str:
        found.setdefault(url, None)
        return url

    _clean(article.body_html, article.url, keep)
    return list(found)


def article_image_urls(article: Article) -> list[tuple[str, Role]]:
    """Every image URL of the article with its role: the lead image first, then the body's not already named."""
    urls: list[tuple[str, Role]] = [(article.lead_image.url, "lead")] if article.lead_image else []
    seen = {url for url, _ in urls}
    for url in body_image_urls(article):
        if url not in seen:
            seen.add(url)
            urls.append((url, "body"))
    return urls


def rewrite_body_images(article: Article, sources: Mapping[str, str]) -> str:
    """The article's body, allowlisted, each `<img src>` found in `sources` replaced by what it maps to (a
    relative file name, an uploaded copy's URL); the others keep the partner's URL."""
    return _clean(article.body_html, article.url, lambda url: sources.get(url, url))


def images_in(items: Iterable[ArticleImage]) -> ArticleImages:
    return ArticleImages(tuple(items))
