"""The featured image of a WordPress post: uploaded once per source image, whoever asks and however often.

Deduplication key: the media slug `syndication-image-<sha256 of the partner's image URL, 24 hex>`, which
WordPress indexes (wp_posts.post_name) and keeps unique across all posts. Before uploading, the outlet
looks the slug up; after uploading, it looks again and keeps the lowest id holding the slug: when
another worker uploaded the same image at the same moment, the later upload is deleted again.

In-body images are uploaded the same way (ensure_media gives the item, whose source_url the post's
content then links). Where the image comes from is an ImageSource: the version's stored copy (fetched
once by the ingest, worker/flow/images.py), or, for a version with no stored images, the partner.

The image is downloaded from the partner with the worker's SSRF guard (a partner page could name an
address on our own network as its image), a size cap and one total deadline (the outlet's `timeout`,
worker/http/deadline.py) for the whole download. An image that cannot be had is not a reason
to hold the article back: the post goes out without a featured image and a log line says why.
"""
from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
from dataclasses import dataclass
from posixpath import basename
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import requests

from worker.errors import SyndicationError
from worker.http.deadline import Deadline, enforce_deadlines
from worker.outlets.images import ArticleImages
from worker.outlets.wordpress_client import WordPressClient, WordPressRejectedError
from worker.schema import Image
from worker.http.sizecap import read_capped, too_slow
from worker.http.ssrf import guarded_adapter, parse_networks

log = logging.getLogger(__name__)

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def media_slug(image_url: str) -> str:
    return "syndication-image-" + hashlib.sha256(image_url.encode("utf-8")).hexdigest()[:24]


def caption_with_credit(image: Image) -> str:
    """'Caption (Credit)', or whichever of the two there is."""
    caption = (image.caption or "").strip()
    credit = (image.credit or "").strip()
    if caption and credit:
        return f"{caption} ({credit})"
    return caption or credit


@dataclass(frozen=True)
class Download:
    content: bytes
    content_type: str
    filename: str


class ImageSource(Protocol):
    """Where an image's bytes come from: the partner (ImageDownloader) or the store (the version's images)."""

    def fetch(self, url: str) -> Download | None: ...


class ImageDownloader:
    def __init__(self, *, user_agent: str, timeout: float, max_bytes: int, allow_private_networks: list[str]) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.session = requests.Session()
        self.session.trust_env = False  # the SSRF guard must see the partner, not a proxy
        adapter = enforce_deadlines(guarded_adapter(parse_networks(allow_private_networks), pool_maxsize=4))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": user_agent, "Accept": "image/*", "Accept-Encoding": "gzip, deflate"})

    def fetch(self, url: str) -> Download | None:
        """The image, or None (and a log line saying why) when it cannot be had."""
        if urlsplit(url).scheme not in ("http", "https"):
            log.warning("featured image %s skipped: only http(s) images are downloaded", url)
            return None
        deadline = Deadline(self.timeout)
        try:
            with deadline, self.session.get(url, stream=True,
                                            timeout=deadline.timeouts(self.timeout, self.timeout)) as response:
                if response.status_code != 200:
                    log.warning("featured image %s skipped: the partner answered HTTP %d", url, response.status_code)
                    return None
                content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if not content_type.startswith("image/"):
                    log.warning("featured image %s skipped: it is %s, not an image", url, content_type or "untyped")
                    return None
                content = read_capped(response, url, self.max_bytes, deadline=deadline)
        except requests.RequestException as exc:
            reason = too_slow(url, deadline) if deadline.expired else exc
            log.warning("featured image %s skipped: %s", url, reason)
            return None
        except SyndicationError as exc:
            log.warning("featured image %s skipped: %s", url, exc)
            return None
        if not content:
            log.warning("featured image %s skipped: the partner sent an empty file", url)
            return None
        return Download(content, content_type, self._filename(url, content_type))

    @staticmethod
    def _filename(url: str, content_type: str) -> str:
        name = _UNSAFE_FILENAME.sub("-", unquote(basename(urlsplit(url).path))).strip(".-") or "image"
        extension = mimetypes.guess_extension(content_type) or ""
        known = {ext for ext in mimetypes.guess_all_extensions(content_type)} | ({".jpeg", ".jpg"} if "jpeg" in content_type else set())
        if not any(name.lower().endswith(ext) for ext in known):
            name += extension  # WordPress decides what a file is by its extension
        return name[-100:]


class StoredImageSource:
    """The version's stored images as an ImageSource: the bytes the ingest fetched (type sniffed, size and
    pixels capped), never a second download from the partner. An image the store does not have is None."""

    def __init__(self, images: ArticleImages) -> None:
        self.images = images

    def fetch(self, url: str) -> Download | None:
        image = self.images.get(url)
        if image is None or image.content_type is None:
            reason = next((i.missing_reason for i in self.images.items if i.url == url), "not collected")
            log.warning("image %s not uploaded: the store does not have it (%s)", url, reason)
            return None
        return Download(image.read(), image.content_type, ImageDownloader._filename(url, image.content_type))


def ensure_featured_media(client: WordPressClient, downloader: ImageSource, image: Image,
                          fallback_title: str) -> int | None:
    """The media id of `image` on the site, uploading it the first time; None when it cannot be had."""
    media = ensure_media(client, downloader, image, fallback_title)
    return int(media["id"]) if media is not None else None


def ensure_media(client: WordPressClient, downloader: ImageSource, image: Image,
                 fallback_title: str) -> dict[str, Any] | None:
    """The media item of `image` on the site (its id, its source_url...), uploading it the first time;
    None when it cannot be had."""
    slug = media_slug(image.url)
    existing = client.find_media(slug)
    if existing is not None:
        return existing
    download = downloader.fetch(image.url)
    if download is None:
        return None
    fields = {
        "slug": slug,
        "title": (image.caption or fallback_title)[:200],
        "caption": caption_with_credit(image),
        "alt_text": image.alt or image.caption or fallback_title,
        "meta[syndication_image_source]": image.url,
        "meta[syndication_credit]": image.credit or "",
    }
    try:
        uploaded = client.upload_media(download.content, download.filename, download.content_type, fields)
    except WordPressRejectedError as exc:
        # a file type the site does not allow, or one too large for it: the post goes out without it
        log.warning("image %s not uploaded: %s", image.url, exc.reason)
        return None
    # Concurrent uploads of one image may all get the slug (WordPress checks it is free, then inserts) or
    # some get "-2": either way the lowest id holding the slug is the one every uploader keeps.
    winner = client.find_media(slug)
    if winner is not None and int(winner["id"]) != int(uploaded["id"]):
        log.info("image %s was uploaded at the same time by another worker; keeping media %s",
                 image.url, winner["id"])
        client.delete_media(int(uploaded["id"]))
        return winner
    return uploaded
