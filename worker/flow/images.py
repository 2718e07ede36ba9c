"""Collect an article version's images: fetched once per version through the partner fetcher, kept in the
store, each one that cannot be had recorded as missing with the reason. No Celery here: the ingest stage
calls `collect_images` after it stored the version and before it queues the deliveries, so every outlet
is handed the same stored images (worker/flow/deliver.py).

What is collected: the lead image, then each `<img src>` of the body not already named, at most
SYNDICATION_MAX_IMAGES_PER_ARTICLE of them (0 collects none). Each goes through `SourceClient.image`
(worker/http/client.py): the source's allowed domains, robots.txt, its rate limit, the SSRF guard on every
hop, SYNDICATION_MAX_IMAGE_BYTES counted while streaming, the type sniffed from the bytes (JPEG, PNG,
GIF, WebP; SVG and everything else refused) and the decompression-bomb guard (worker/http/images.py).

Why an image never fails the ingest: the article stands without its pictures. Whatever the fetch raises
that has a name (too large, not an image, a bomb, a private address, 404, a timeout, a host backing off)
is recorded as the image's reason, and the next version tries it again. The store failing is not the
image's fault: that error goes up, the ingest task retries, and the re-run finds the rows recorded so
far and fetches only the rest (a version's images are fetched once, whoever runs the ingest again).

An image a previous version of the article stored under the same URL is reused, not fetched again: a
version made by an edit of the text keeps its pictures without another request to the partner.

Time: all the images of one version share one budget, SYNDICATION_FETCH_TOTAL_TIMEOUT (each fetch's own
deadline never reaches past it); images not reached within it are recorded missing, for the next version.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from worker.config import Source
from worker.errors import StoreUnavailableError, SyndicationError
from worker.flow.services import Services
from worker.http.deadline import Deadline
from worker.outlets.images import article_image_urls
from worker.schema import Article
from worker.store.images import ImageFile

log = logging.getLogger(__name__)

OVER_LIMIT = "too_many_images"
OUT_OF_TIME = "image_budget_spent"


@dataclass
class ImagesReport:
    """What one call did, for the log and the tests."""

    fetched: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    #: url → reason
    missing: dict[str, str] = field(default_factory=dict)
    #: recorded by an earlier run for this version; left as they were
    already_recorded: int = 0


def collect_images(services: Services, source: Source, article: Article) -> ImagesReport:
    """Fetch and record the images of `article` (a stored version) that this version has not recorded yet."""
    store = services.store
    settings = services.settings
    report = ImagesReport()
    wanted = article_image_urls(article)
    if not wanted:
        return report
    recorded = {record.url for record in store.image_records(article.id, article.version)}
    report.already_recorded = len(recorded)
    limit = settings.max_images_per_article
    fetcher = services.http.for_source(source)
    # refusals known without a fetch (over the limit, a host the source may not reach) are written
    # together at the end; an image fetched or reused is recorded at once, so a re-run skips it
    refused: list[tuple[str, str, int, str, str]] = []

    def missing(url: str, role: str, position: int, code: str, reason: str, *, now: bool = True) -> None:
        if now:
            store.record_missing_image(article.id, article.version, url, role, position, code, reason)
        else:
            refused.append((url, role, position, code, reason))
        report.missing[url] = reason
        log.warning("article %s v%d: image %s missing: %s", article.id, article.version, url, reason)

    with Deadline(settings.fetch_total_timeout) as budget:
        for position, (url, role) in enumerate(wanted):
            if url in recorded:
                continue
            if position >= limit:
                missing(url, role, position, OVER_LIMIT,
                        f"{url}: the article names more than {limit} images "
                        "(SYNDICATION_MAX_IMAGES_PER_ARTICLE); not fetched", now=False)
                continue
            if not source.allows_host(urlsplit(url).hostname or ""):
                # the fetcher refuses it before any request; asked here so that no earlier copy is looked
                # up for it, and its refusal waits for the others (a page's images are often on a CDN)
                try:
                    fetcher.image(url)
                except SyndicationError as exc:
                    missing(url, role, position, exc.code, exc.reason, now=False)
                    continue
            earlier = store.earlier_stored_image(article.id, url)
            if earlier is not None and earlier.sha256 is not None:
                store.record_reused_image(article.id, article.version, url, role, position, earlier.sha256)
                report.reused.append(url)
                continue
            if budget.expired:
                missing(url, role, position, OUT_OF_TIME,
                        f"{url}: not fetched, the {budget.seconds:g} s this version's images may "
                        "take in all (SYNDICATION_FETCH_TOTAL_TIMEOUT) were spent")
                continue
            try:
                fetched = fetcher.image(url)
            except StoreUnavailableError:
                raise
            except SyndicationError as exc:
                missing(url, role, position, exc.code, exc.reason)
                continue
            facts = fetched.facts
            store.record_stored_image(article.id, article.version, url, role, position, ImageFile(
                sha256=facts.sha256, content_type=facts.content_type, width=facts.width, height=facts.height,
                data=fetched.data))
            report.fetched.append(url)
    store.record_missing_images(article.id, article.version, refused)
    if report.fetched or report.reused or report.missing:
        log.info("article %s v%d: images fetched %d, reused %d, missing %d", article.id, article.version,
                 len(report.fetched), len(report.reused), len(report.missing))
    return report
