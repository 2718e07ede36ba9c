"""The feeds outlet: RSS 2.0, Atom 1.0 and JSON Feed 1.1 files of the outlet's latest N articles.

Files in `directory`: <base_name>.xml (RSS), <base_name>.atom (Atom), <base_name>.json (JSON Feed), and
the outlet's article set in <base_name>.state.json (the latest version of each article it holds, and the
stored images each one carries).

Images (feed_render.py says how each format carries them): with `public_url` set, the outlet serves its
own copies of the version's stored images: written to <directory>/<base_name>-images/<content hash>.<ext>
and linked as public_url + that path, so a reader fetches them from the outlet, not from the partner;
files no item of the feeds names any more are removed when the feeds are written. Without public_url
the feeds cannot say where the directory is served, so they link the partner's URLs, with the real
length, type and size of the stored copy. An image the store could not have is left out of the media
elements; the lead image's enclosure then falls back to the partner's URL.

Why a state file and a lock: a feed is one file built from many deliveries, and several worker processes
(on one machine: same directory) may publish to it at once. Each publish takes an exclusive flock on
.<base_name>.lock, reads the state, puts its article in (a version never replaces a newer one), keeps
the newest `max_items` by publication date, writes the state and re-renders all three feeds, then
releases the lock, so no delivery's update is lost to another's. Every file is written to a temp file
and renamed over the old one, so a reader (a web server, a feed fetcher) never sees half a file.
flock is per host: all workers of one feeds outlet must share the directory on one machine (a network
file system's flock is not to be trusted).
"""
from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import Field

from worker.errors import OutletUnavailableError
from worker.outlets.base import Outlet, OutletOptions, RemoteRef
from worker.outlets.feed_render import (
    FeedImage,
    item_date,
    render_atom,
    render_json_feed,
    render_rss,
)
from worker.outlets.images import ArticleImages
from worker.outlets.atomic_write import check_writable, write_atomically
from worker.schema import Article

STATE_FORMAT = 1
#: most items a feed may hold (feed readers take the newest few dozen anyway)
MAX_FEED_ITEMS = 10_000


class FeedsOptions(OutletOptions):
    directory: str
    title: str
    #: the outlet's own site: the feeds' home page link
    link: str
    description: str = ""
    #: newest articles the feeds hold; every publish re-renders them all, hence the bound
    max_items: int = Field(default=50, ge=1, le=MAX_FEED_ITEMS)
    #: feed.xml, feed.atom, feed.json
    base_name: str = Field(default="feed", pattern=r"^[A-Za-z0-9_.-]+$")
    #: where `directory` is served on the web, if it is; gives the feeds their self links
    public_url: str | None = None


class FeedsOutlet(Outlet[FeedsOptions]):
    kind = "feeds"

    @property
    def directory(self) -> Path:
        return Path(self.options.directory).resolve()

    def path(self, suffix: str) -> Path:
        return self.directory / f"{self.options.base_name}{suffix}"

    @property
    def feed_paths(self) -> dict[str, Path]:
        return {"rss": self.path(".xml"), "atom": self.path(".atom"), "json": self.path(".json")}

    @property
    def images_directory(self) -> Path:
        return self.directory / f"{self.options.base_name}-images"

    def publish(self, article: Article, previous: RemoteRef | None, *,
                images: ArticleImages | None = None) -> RemoteRef:
        def put(items: dict[str, Article], media: dict[str, list[FeedImage]]) -> None:
            held = items.get(article.id)
            if held is None or held.version <= article.version:
                items[article.id] = article
                # written under the lock: the clean-up after rendering must not see a file no state names yet
                media[article.id] = self._serve(images)

        self._update(put)
        return RemoteRef(id=article.id, url=article.url)

    def withdraw(self, remote: RemoteRef, reason: str) -> None:
        def drop(items: dict[str, Article], media: dict[str, list[FeedImage]]) -> None:
            items.pop(remote.id, None)
            media.pop(remote.id, None)

        self._update(drop)

    def check(self) -> str:
        return check_writable(self.directory, f".{self.options.base_name}.write-check")

    def articles(self) -> list[Article]:
        """The articles in the feeds now, newest first (read without the lock: the state file is atomic)."""
        return self._newest(self._read_state()[0])

    def _serve(self, images: ArticleImages | None) -> list[FeedImage]:
        """The stored images as the feeds link them; with public_url, copies written where it serves them."""
        served = []
        public = self.options.public_url.rstrip("/") + "/" if self.options.public_url else None
        for image in images.available if images is not None else []:
            assert image.content_type and image.byte_size and image.width and image.height  # stored: all known
            href = image.url
            if public is not None:
                target = self.images_directory / image.filename
                if not target.exists():
                    write_atomically(target, image.read())
                href = f"{public}{self.images_directory.name}/{image.filename}"
            served.append(FeedImage(url=image.url, href=href, content_type=image.content_type,
                                    byte_size=image.byte_size, width=image.width, height=image.height,
                                    role=image.role))
        return served

    def _update(self, change: Callable[[dict[str, Article], dict[str, list[FeedImage]]], object]) -> None:
        try:
            with self._locked():
                items, media = self._read_state()
                change(items, media)
                kept = self._newest(items)[: self.options.max_items]
                kept_media = {a.id: media[a.id] for a in kept if media.get(a.id)}
                self._write_state(kept, kept_media)
                self._render(kept, kept_media)
                self._remove_unused_images(kept_media)
        except OSError as exc:
            # a full disk or a missing mount may be fixed by the operator: retry rather than give up
            raise OutletUnavailableError(f"cannot write feeds in {self.directory}: {exc}") from exc

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        # a separate lock file, never replaced, because the files we rename would lose a lock held on them
        with open(self.directory / f".{self.options.base_name}.lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _read_state(self) -> tuple[dict[str, Article], dict[str, list[FeedImage]]]:
        """The articles held and their images (a state file written before images travelled has none)."""
        path = self.path(".state.json")
        if not path.exists():
            return {}, {}
        data = json.loads(path.read_text(encoding="utf-8"))
        items = {raw["id"]: Article.model_validate(raw) for raw in data.get("articles", [])}
        media = {article_id: [FeedImage(**raw) for raw in images]
                 for article_id, images in (data.get("images") or {}).items() if article_id in items}
        return items, media

    def _write_state(self, articles: list[Article], media: dict[str, list[FeedImage]]) -> None:
        data: dict[str, Any] = {"format": STATE_FORMAT, "outlet": self.id,
                                "articles": [a.model_dump(mode="json") for a in articles],
                                "images": {article_id: [image.as_dict() for image in images]
                                           for article_id, images in media.items()}}
        write_atomically(self.path(".state.json"), json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))

    def _remove_unused_images(self, media: dict[str, list[FeedImage]]) -> None:
        """Delete the served copies no item names any more (an article that left the feeds, or changed)."""
        folder = self.images_directory
        if not folder.is_dir():
            return
        named = {image.href.rsplit("/", 1)[-1] for images in media.values() for image in images}
        for path in folder.iterdir():
            if path.is_file() and path.name not in named and not path.name.startswith("."):
                path.unlink(missing_ok=True)

    @staticmethod
    def _newest(items: dict[str, Article]) -> list[Article]:
        return sorted(items.values(), key=lambda a: (item_date(a), a.id), reverse=True)

    def _render(self, articles: list[Article], media: dict[str, list[FeedImage]]) -> None:
        o = self.options
        paths = self.feed_paths
        public = o.public_url.rstrip("/") + "/" if o.public_url else None

        def self_url(kind: str) -> str | None:
            return public + paths[kind].name if public else None

        # a URN, not the public URL: the feed keeps its identity if it moves
        feed_id = f"urn:syndication-worker:feed:{self.id}:{o.base_name}"
        write_atomically(paths["rss"], render_rss(articles, o.title, o.link, o.description, self_url("rss"), media))
        write_atomically(paths["atom"], render_atom(articles, o.title, o.link, o.description, feed_id,
                                                    self_url("atom"), media))
        write_atomically(paths["json"], render_json_feed(articles, o.title, o.link, o.description,
                                                         self_url("json"), media))

