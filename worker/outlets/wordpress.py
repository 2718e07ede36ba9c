"""The WordPress outlet: each article becomes one post, created once and updated by every later version.

What goes into the post: title, content (the sanitized body plus an attribution line linking the
partner's canonical URL, from a per-outlet template), excerpt, date_gmt, status, a deterministic slug,
categories and tags by name (created when missing), the configured author, a featured image uploaded
once and the body's images uploaded too, their src in the content rewritten to the uploaded copies
(see wordpress_media.py; the bytes are the version's stored images when the deliver stage hands them
over, the partner's otherwise), and post meta syndication_id / _version / _canonical_url / _source,
which the mu-plugin contrib/wordpress/syndication-worker.php registers and uses for the canonical link.

Exactly one post per article, whatever crashes. The ledger (pipeline.deliver_article) and a Redis lock
already make one delivery per (article, version, outlet) the normal case; this module makes the remote
side safe on its own for the cases they cannot cover:
- a crash after WordPress created the post but before the ledger recorded it (or a response lost on the
  way back): the next attempt has no `previous`, so before creating it looks the post up by its
  deterministic slug (`<headline words>-<article id prefix>`, any status) and by the syndication_id meta
  (via the mu-plugin's query parameter; it finds posts an editor renamed, or a later version whose
  headline changed), and updates what it finds;
- two publishers at once (a lock that expired, two deployments): both may find nothing and both create.
  Each then lists the posts holding the slug and keeps the one with the lowest id; a publisher whose own
  post is not that one deletes it and returns the survivor (writing to it only if it holds an older
  version). WordPress stores the slug in the same INSERT
  that creates the post, so whichever publisher inserted second sees the first one's post when it looks.
  Residual windows, accepted: (1) MariaDB hands out ids at insert time, so two inserts committing in the
  opposite order of their ids within the same few microseconds, with the first publisher's check landing
  between them, could keep both; (2) a publisher killed between its create and its check leaves its post
  for the next attempt, which finds it by slug and updates it (so never a duplicate, but the loser's
  deletion is what a check would have done); (3) without the mu-plugin, a headline changed between
  versions and a crash before the ledger write makes a second post (the slug lookup cannot find it);
  (4) a published survivor written to while another racer's copy still holds the slug is renamed
  slug-2 by WordPress: still one post, found by its syndication_id meta from then on.

Status belongs to the editors after the first delivery: a new version updates the content of the post
and never changes its status, so a post an editor published (or trashed) stays so.

Every field is HTML to WordPress: it stores title, excerpt, content and term names as given and prints
them into its pages as they are; only users without `unfiltered_html` get them filtered, and the
outlet's user is an Editor, who has it. So partner text goes in HTML-escaped (title, excerpt, term
names, the featured image's title and caption), the body allowlisted by nh3 once more
(worker/outlets/encoding.py), and the square brackets of body, excerpt and attribution fields as
character references, so that `[video src=...]` or `[embed]` in a partner's article stays text instead
of becoming a shortcode WordPress runs when it renders the post (titles are never run as shortcodes).
The attribution template is the operator's and may use shortcodes; only the partner fields put into it
are neutralized.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from typing import Any, Literal

from pydantic import Field, field_validator

from worker.config import AllowEntryText
from worker.errors import ConfigError
from worker.outlets.base import MAX_OUTLET_TIMEOUT, Outlet, OutletOptions, RemoteRef
from worker.outlets.encoding import html_attribute, html_body, html_text
from worker.outlets.images import ArticleImages, body_image_urls, rewrite_body_images
from worker.outlets.wordpress_client import (
    Credentials,
    WordPressClient,
    WordPressRejectedError,
)
from worker.outlets.wordpress_media import (
    ImageDownloader,
    ImageSource,
    StoredImageSource,
    ensure_featured_media,
    ensure_media,
)
from worker.schema import Article, Image

log = logging.getLogger(__name__)

DEFAULT_ATTRIBUTION = '<p class="syndication-attribution"><a href="{url}">{attribution}</a></p>'
_TEMPLATE_FIELDS = {"url": "https://partner.example/a", "attribution": "From Partner", "source_name": "Partner",
                    "headline": "Headline"}
#: largest WordPress object id: PHP's integer (ids are BIGINT UNSIGNED columns, but PHP reads them as int)
MAX_WP_ID = 2**63 - 1
#: largest featured image the outlet downloads: it is held in memory and uploaded in one request
MAX_IMAGE_BYTES = 256 * 1024 * 1024
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
#: brackets as character references: the same text in HTML, but never a shortcode to WordPress
_SHORTCODE_BRACKETS = str.maketrans({"[": "&#91;", "]": "&#93;"})


def inert_html(html: str) -> str:
    """HTML that WordPress's shortcode parser finds nothing in (`[` and `]` are never markup in HTML)."""
    return html.translate(_SHORTCODE_BRACKETS)


class WordPressOptions(OutletOptions):
    #: the site's address (its home URL), e.g. https://news.example.org
    url: str
    #: the WordPress user the posts are written as; needs the Editor role (or Author with status draft)
    username: str
    #: NAME of the environment variable holding that user's Application Password (never the password)
    app_password_env: str
    #: status of a new post; later versions leave the status to the site's editors
    status: Literal["draft", "publish"] = "draft"
    #: WordPress user id credited as author; the authenticated user when unset
    author: int | None = Field(default=None, ge=1, le=MAX_WP_ID)
    #: section → category name; a section mapped to null gets no category, an unmapped one its own name
    category_map: dict[str, str | None] = Field(default_factory=dict)
    default_categories: list[str] = Field(default_factory=list)
    #: add the article's tags as WordPress tags
    tags: bool = True
    #: HTML appended to the body; fields {url} {attribution} {source_name} {headline}, all HTML-escaped
    attribution_template: str = DEFAULT_ATTRIBUTION
    #: what withdrawing does to the post: back to draft (kept for the record) or to the trash
    withdraw_action: Literal["draft", "trash"] = "draft"
    #: seconds for each request to WordPress, and for downloading an image from the partner
    timeout: float = Field(default=30, gt=0, le=MAX_OUTLET_TIMEOUT, allow_inf_nan=False)
    #: images larger than this are not uploaded (the post goes out without a featured image)
    max_image_bytes: int = Field(default=15 * 1024 * 1024, gt=0, le=MAX_IMAGE_BYTES)
    #: networks the partner's images may live on although they are private (SSRF guard, as for sources),
    #: each optionally on one port only (10.0.0.5:8080); checked at load like a source's entries
    image_allow_private_networks: list[AllowEntryText] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be the site's http(s) address, e.g. https://news.example.org")
        return value.rstrip("/")

    @field_validator("app_password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError("must be the NAME of an environment variable (the password itself never goes in YAML)")
        return value

    @field_validator("attribution_template")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            value.format(**_TEMPLATE_FIELDS)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"unknown or malformed placeholder {exc}; use {{url}} {{attribution}} "
                             "{{source_name}} {{headline}}") from None
        return value


def post_slug(article: Article) -> str:
    """Deterministic: the same article always asks for the same slug, on any worker, in any attempt."""
    words = unicodedata.normalize("NFKD", article.headline).encode("ascii", "ignore").decode().lower()
    readable = _NOT_SLUG.sub("-", words).strip("-")[:80].rstrip("-") or "article"
    return f"{readable}-{article.id[:12]}"


def _html_ready(image: Image) -> Image:
    """The lead image with the fields WordPress takes as HTML (the media's title and caption are made
    from caption and credit) escaped; alt stays text: WordPress strips tags from it and escapes it itself."""
    return image.model_copy(update={
        "caption": html_text(image.caption) if image.caption else None,
        "credit": html_text(image.credit) if image.credit else None,
        "alt": image.alt or image.caption,
    })


def _meta_version(post: dict[str, Any]) -> int:
    meta = post.get("meta")
    raw = meta.get("syndication_version", "") if isinstance(meta, dict) else ""
    return int(raw) if str(raw).isdigit() else 0


class WordPressOutlet(Outlet[WordPressOptions]):
    kind = "wordpress"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: WordPressClient | None = None
        self._downloader: ImageDownloader | None = None
        self._setup_lock = threading.Lock()

    @property
    def client(self) -> WordPressClient:
        with self._setup_lock:
            if self._client is None:
                password = os.environ.get(self.options.app_password_env, "").strip()
                if not password:
                    raise ConfigError(
                        f"outlet {self.id!r}: the environment variable {self.options.app_password_env} is not set; "
                        f"it must hold the Application Password of WordPress user {self.options.username!r}"
                    )
                credentials = Credentials(self.options.username, password, self.options.app_password_env)
                self._client = WordPressClient(self.options.url, credentials, timeout=self.options.timeout,
                                               user_agent=self.settings.user_agent)
            return self._client

    @property
    def downloader(self) -> ImageDownloader:
        with self._setup_lock:
            if self._downloader is None:
                self._downloader = ImageDownloader(
                    user_agent=self.settings.user_agent, timeout=self.options.timeout,
                    max_bytes=self.options.max_image_bytes, allow_private_networks=self.options.image_allow_private_networks)
            return self._downloader

    # --- the port -------------------------------------------------------------------------------

    def publish(self, article: Article, previous: RemoteRef | None, *,
                images: ArticleImages | None = None) -> RemoteRef:
        client = self.client
        fields = self._post_fields(article, images)
        existing = self._find_existing(article, previous)
        if existing is not None:
            return self._update(existing, article, fields)
        slug = post_slug(article)
        created = self._write("POST", "/wp/v2/posts", {**fields, "slug": slug, "status": self.options.status}, article)
        survivor = min(client.find_posts(slug=slug), key=lambda post: int(post["id"]), default=created)
        if int(survivor["id"]) != int(created["id"]):
            log.warning("article %s: post %s was created at the same time as post %s; keeping %s only",
                        article.id, created["id"], survivor["id"], survivor["id"])
            client.call("DELETE", f"/wp/v2/posts/{int(created['id'])}", params={"force": "true"})
            if _meta_version(survivor) >= article.version:
                # its publisher writes the same content; writing it too would make WordPress re-check the
                # slug while another racer's copy may still hold it, and rename the survivor to slug-2
                return RemoteRef(id=str(survivor["id"]), url=survivor.get("link"))
            return self._update(survivor, article, fields)
        return RemoteRef(id=str(created["id"]), url=created.get("link"))

    def withdraw(self, remote: RemoteRef, reason: str) -> None:
        client = self.client
        post = client.get_post(remote.id)
        if post is None:
            log.info("withdraw: post %s is gone from %s already", remote.id, self.options.url)
            return
        if self.options.withdraw_action == "trash":
            if post.get("status") != "trash":
                client.call("DELETE", f"/wp/v2/posts/{int(post['id'])}")
        elif post.get("status") not in ("draft", "trash"):
            client.call("POST", f"/wp/v2/posts/{int(post['id'])}", json={"status": "draft"})
        log.info("withdrew post %s from %s (%s): %s", remote.id, self.options.url, self.options.withdraw_action, reason)

    def check(self) -> str:
        client = self.client
        me = client.me()
        capabilities = me.get("capabilities") or {}
        needed = ["edit_posts", "upload_files", "manage_categories"]
        needed += ["publish_posts"] if self.options.status == "publish" else []
        needed += ["edit_others_posts"] if self.options.author not in (None, me.get("id")) else []
        missing = [cap for cap in needed if not capabilities.get(cap)]
        if missing:
            raise WordPressRejectedError(
                f"user {me.get('slug')!r} at {self.options.url} lacks {', '.join(missing)}; give it the Editor role", 403)
        plugin = "syndication mu-plugin present" if "syndication_id" in client.post_meta_keys() else (
            "WARNING: syndication mu-plugin missing (copy contrib/wordpress/syndication-worker.php to "
            "wp-content/mu-plugins/ for the canonical link and the meta)")
        return f"authenticated as {me.get('name')} ({me.get('slug')}) at {self.options.url}; REST API {client.describe_api()}; {plugin}"

    # --- helpers --------------------------------------------------------------------------------

    def _find_existing(self, article: Article, previous: RemoteRef | None) -> dict[str, Any] | None:
        client = self.client
        if previous is not None:
            post = client.get_post(previous.id)
            if post is not None:
                return post
            log.warning("article %s: post %s recorded in the ledger is gone from %s; looking for another",
                        article.id, previous.id, self.options.url)
        found = client.find_posts(slug=post_slug(article))
        if not found:
            # without the mu-plugin the parameter is ignored and every post comes back: hence the filter
            found = [p for p in client.find_posts(syndication_id=article.id)
                     if (p.get("meta") or {}).get("syndication_id") == article.id]
        return min(found, key=lambda post: int(post["id"])) if found else None

    def _update(self, post: dict[str, Any], article: Article, fields: dict[str, Any]) -> RemoteRef:
        if _meta_version(post) > article.version:
            log.info("article %s v%d: post %s already holds v%d; left as it is",
                     article.id, article.version, post["id"], _meta_version(post))
        else:
            post = self._write("POST", f"/wp/v2/posts/{int(post['id'])}", fields, article)
        return RemoteRef(id=str(post["id"]), url=post.get("link"))

    def _write(self, method: str, route: str, body: dict[str, Any], article: Article) -> dict[str, Any]:
        """Create or update a post. WordPress silently drops a category or tag id that no longer exists
        (an editor deleted the term after we cached it), so the answer is checked and, if terms went
        missing, the names are looked up afresh and the post written once more."""
        post = dict(self.client.call(method, route, json=body))
        dropped = [t for t in ("categories", "tags") if set(body.get(t, [])) - set(post.get(t) or [])]
        if not dropped:
            return post
        self.client.forget_terms()
        retry = {"categories": self._term_ids("categories", self._category_names(article)),
                 "tags": self._term_ids("tags", self._tag_names(article))}
        return dict(self.client.call("POST", f"/wp/v2/posts/{int(post['id'])}", json=retry))

    def _body(self, article: Article, images: ArticleImages | None) -> str:
        """The body, its stored in-body images uploaded (once each, by media slug) and linked where they
        now live; without stored images (or for one the store lacks) the partner's URL stays."""
        if images is None:
            return html_body(article)
        source = StoredImageSource(images)
        uploaded: dict[str, str] = {}
        for url in body_image_urls(article):  # the lead image too, when the body shows it: one upload
            if images.get(url) is None:
                continue
            media = ensure_media(self.client, source, Image(url=url), html_text(article.headline))
            if media is not None and isinstance(media.get("source_url"), str):
                uploaded[url] = media["source_url"]
        return rewrite_body_images(article, uploaded)

    def _post_fields(self, article: Article, images: ArticleImages | None = None) -> dict[str, Any]:
        opts = self.options
        fields: dict[str, Any] = {
            "title": html_text(article.headline),
            "content": inert_html(self._body(article, images).strip()) + "\n" + self._attribution(article),
            "excerpt": inert_html(html_text(article.description)),
            "meta": {
                "syndication_id": article.id,
                "syndication_version": str(article.version),
                "syndication_canonical_url": article.url,
                "syndication_source": article.source.id,
            },
        }
        if article.published is not None:
            fields["date_gmt"] = article.published.strftime("%Y-%m-%dT%H:%M:%S")
        if opts.author is not None:
            fields["author"] = opts.author
        categories = self._category_names(article)
        fields["categories"] = self._term_ids("categories", categories)
        fields["tags"] = self._term_ids("tags", self._tag_names(article))
        if article.lead_image is None:
            fields["featured_media"] = 0  # a version without an image takes the old one off
        else:
            source: ImageSource = StoredImageSource(images) if images is not None else self.downloader
            media_id = ensure_featured_media(self.client, source, _html_ready(article.lead_image),
                                             html_text(article.headline))
            if media_id is None:
                log.warning("article %s goes to %s without its featured image", article.id, opts.url)
            else:
                fields["featured_media"] = media_id
        return fields

    def _category_names(self, article: Article) -> list[str]:
        names = list(self.options.default_categories)
        if article.section:
            mapped = self.options.category_map.get(article.section, article.section)
            if mapped:
                names.append(mapped)
        return list(dict.fromkeys(n.strip() for n in names if n.strip()))

    def _tag_names(self, article: Article) -> list[str]:
        return list(dict.fromkeys(t.strip() for t in article.tags if t.strip())) if self.options.tags else []

    def _term_ids(self, taxonomy: str, names: list[str]) -> list[int]:
        # term names are HTML to WordPress too (it stores "A &amp; B" for "A & B" whatever it is sent);
        # sent unescaped, a name made of markup would be stripped to nothing and refused
        return list(dict.fromkeys(self.client.term_id(taxonomy, html_text(name)) for name in names))

    def _attribution(self, article: Article) -> str:
        return self.options.attribution_template.format(
            url=inert_html(html_attribute(article.url)), attribution=inert_html(html_text(article.attribution)),
            source_name=inert_html(html_text(article.source.name)), headline=inert_html(html_text(article.headline)),
        )
