"""A small WordPress REST API client: one site, one user, Application Password auth, named failures.

Every HTTP outcome maps to the worker's failure names, so the task knows whether to retry:
- connection errors, timeouts, an answer cut short, 408, 429 and 5xx → OutletUnavailableError (transient;
  Retry-After kept); a request not answered in full within `timeout` → OutletDeadlineError (transient);
- 401 and 403 → OutletRejectedError naming the user and the environment variable of the password;
- any other 4xx → WordPressRejectedError (permanent) carrying WordPress's error code and message, and
  the fields it names (rest_invalid_param and rest_missing_callback_param list them in data.params);
- a 5xx carrying an error code that says the request itself is wrong (NEVER_SUCCEEDS) → WordPressRejectedError
  too, naming the code and the field. WordPress answers every WP_Error that has no status of its own as
  HTTP 500, so wp_insert_term refusing a tag whose name sanitize_text_field strips to nothing ("%41")
  looks like a server failure, and the delivery was retried forever. term_exists (HTTP 400, with the
  existing term's id) is not a failure at all: term_id() takes that id.

Routes: WordPress announces where its REST API lives in a `Link: <...>; rel="https://api.w.org/"` header
on every page. With pretty permalinks that is /wp-json/; without them (plain permalinks, or a server
with no rewrite rules) only the `?rest_route=/wp/v2/...` form works, so the client asks once and uses
whichever form the site announced, falling back to `?rest_route=` (which every WordPress accepts).

`timeout` is one total deadline per request (worker/http/deadline.py): connecting, the headers and the
whole body, so a site that drips its answer holds a delivery no longer than that. Answers are read under
a size cap too (MAX_ANSWER_BYTES, counted on the wire and after gzip; worker/http/sizecap.py), so a site or a
proxy in front of it answering endlessly cannot fill the worker's memory: WordPressAnswerTooLargeError.

The announced REST API address is resolved against the site's URL (WordPress behind some proxies and
plugins announces a relative `/wp-json/`), and must stay on the site: same host and port, http(s), https
never downgraded to http. The Application Password goes with every request to that address, so a Link to
another host (a compromised or misconfigured site, a hostile proxy) would hand it over; such a Link is a
permanent failure (OutletRejectedError) naming both addresses.
"""
from __future__ import annotations

import html
import json as jsonlib
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urljoin, urlsplit, urlunsplit

import requests

from worker.errors import (
    FetchDeadlineError,
    FetchFailedError,
    OutletDeadlineError,
    OutletRejectedError,
    OutletUnavailableError,
    TooLargeError,
)
from worker.http.deadline import Deadline, deadline_session
from worker.http.retry_after import retry_after_seconds
from worker.http.sizecap import ACCEPT_ENCODING, read_capped

API_REL = "https://api.w.org/"
#: a server answering with no Retry-After gets this long before the task tries again
DEFAULT_RETRY_AFTER = 30.0
#: WordPress error codes meaning "this request will never succeed", whatever HTTP status carries them,
#: each with the request field it is about. All come from wp_insert_term (wp-includes/taxonomy.php),
#: whose errors the REST terms controller passes on without a status, hence as HTTP 500. db_insert_error
#: is not here: a database that failed an insert may well take it the next time.
NEVER_SUCCEEDS: dict[str, str] = {
    "empty_term_name": "name",  # the name is empty once WordPress strips tags and %-escapes from it
    "invalid_taxonomy": "taxonomy",
    "invalid_term_id": "parent",
    "missing_parent": "parent",
    "duplicate_term_slug": "slug",
}


#: the largest answer read from WordPress: a page of 100 posts in edit context (raw and rendered content)
#: is a few MiB; anything much larger is not a REST answer
MAX_ANSWER_BYTES = 16 * 1024 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WordPressAnswerTooLargeError(OutletRejectedError):
    """WordPress (or whatever answers for it) sent more than MAX_ANSWER_BYTES; reading was stopped there."""


class WordPressRejectedError(OutletRejectedError):
    """WordPress refused a request for good (4xx): `status` and `wp_code` tell callers which refusal."""

    def __init__(self, reason: str, status: int, wp_code: str = "", data: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.wp_code = wp_code
        self.data = data or {}


def same_name(a: str, b: str) -> bool:
    """Term names compare as WordPress shows them: HTML entities undone (it stores & as &amp;), any case."""
    return html.unescape(a).strip().casefold() == html.unescape(b).strip().casefold()


def _fields_named(wp_code: str, data: dict[str, Any], sent: Any) -> str:
    """"field 'name' ('%41')": the request fields a refusal is about, with what we sent in each, so the
    operator reading the ledger sees which partner text WordPress could not take."""
    params = data.get("params")
    names: list[str] = []
    if isinstance(params, dict):  # rest_invalid_param: {field: why}
        names = [str(name) for name in params]
    elif isinstance(params, list):  # rest_missing_callback_param: [field, ...]
        names = [str(name) for name in params]
    elif wp_code in NEVER_SUCCEEDS:
        names = [NEVER_SUCCEEDS[wp_code]]
    described = []
    for name in names[:5]:
        value = sent.get(name) if isinstance(sent, dict) else None
        why = params.get(name) if isinstance(params, dict) else None
        described.append(f"field {name!r}" + (f" ({str(value)[:200]!r})" if value is not None else "")
                         + (f": {html.unescape(str(why))[:200]}" if why else ""))
    return "; ".join(described)


@dataclass(frozen=True)
class Credentials:
    username: str
    app_password: str
    #: the environment variable the password came from, named in every credentials error
    env_name: str


class WordPressClient:
    def __init__(self, base_url: str, credentials: Credentials, *, timeout: float, user_agent: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        self.user_agent = user_agent
        self._local = threading.local()  # requests.Session is not thread-safe: one per thread
        self._api: tuple[str, str | None] | None = None  # (endpoint, rest_route prefix or None)
        self._terms: dict[tuple[str, str], int] = {}
        self._terms_lock = threading.Lock()

    # --- transport ------------------------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = deadline_session()
            session.auth = (self.credentials.username, self.credentials.app_password)
            session.headers["User-Agent"] = self.user_agent
            session.headers["Accept-Encoding"] = ACCEPT_ENCODING  # the codings read_capped can undo
            self._local.session = session
        return session

    def api_location(self) -> tuple[str, str | None]:
        """(URL to send requests to, `rest_route` prefix when the site only takes the query form)."""
        if self._api is None:
            self._api = self._discover()
        return self._api

    def describe_api(self) -> str:
        endpoint, route_prefix = self.api_location()
        return f"{endpoint}?rest_route=" if route_prefix is not None else endpoint

    def _discover(self) -> tuple[str, str | None]:
        fallback = (self.base_url + "/", "")
        try:
            with Deadline(self.timeout) as deadline:
                response = self.session.head(self.base_url + "/", timeout=deadline.timeouts(self.timeout, self.timeout),
                                             allow_redirects=True)
        except requests.RequestException as exc:
            if deadline.expired:
                raise self._too_slow("HEAD", "/") from exc
            raise OutletUnavailableError(f"WordPress at {self.base_url} cannot be reached: {exc}") from exc
        if response.status_code in (401, 403):
            self._raise_for_status(response, "HEAD", "/")
        link = response.links.get(API_REL, {}).get("url")
        if not link:
            return fallback
        link = urljoin(self.base_url + "/", link.strip())
        parts = urlsplit(link)
        self._check_on_site(parts)
        query = dict(parse_qsl(parts.query))
        if "rest_route" in query:
            return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), query["rest_route"].rstrip("/")
        return link.rstrip("/"), None

    def _check_on_site(self, api: SplitResult) -> None:
        """Refuse an announced API address off the site: the credentials would go wherever it points."""
        site = urlsplit(self.base_url + "/")

        def port(parts: SplitResult) -> int | None:
            try:
                return parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
            except ValueError:
                return None
        scheme = api.scheme.lower()
        same_host = (api.hostname or "") == (site.hostname or "")
        # http -> https on the same host is an upgrade WordPress sites behind TLS proxies announce; the
        # port changes with the scheme then
        upgrade = site.scheme == "http" and scheme == "https" and port(site) == 80 and port(api) == 443
        if scheme not in ("http", "https") or not same_host or (port(api) != port(site) and not upgrade) or (
                site.scheme == "https" and scheme == "http"):
            raise OutletRejectedError(
                f"WordPress at {self.base_url} announces its REST API at {urlunsplit(api)!r}, which is not on "
                f"the site (another host, port or scheme); the Application Password is not sent there. Set the "
                "outlet's url to the site's own address, or fix the site's home/siteurl options")

    def call(self, method: str, route: str, *, params: dict[str, Any] | None = None, json: Any = None,
             data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        """One REST request; the decoded JSON body, or a named failure."""
        endpoint, route_prefix = self.api_location()
        query = dict(params or {})
        if route_prefix is None:
            url = endpoint + route
        else:
            url = endpoint
            query = {"rest_route": route_prefix + route, **query}
        try:
            with Deadline(self.timeout) as deadline, self.session.request(
                    method, url, params=query, json=json, data=data, headers=headers, stream=True,
                    timeout=deadline.timeouts(self.timeout, self.timeout)) as response:
                body = read_capped(response, f"{method} {route}", MAX_ANSWER_BYTES, deadline=deadline)
        except requests.RequestException as exc:
            if deadline.expired or isinstance(exc, requests.Timeout):
                raise self._too_slow(method, route) from exc
            raise OutletUnavailableError(f"WordPress at {self.base_url}: {method} {route} failed: {exc}") from exc
        except FetchDeadlineError as exc:
            raise self._too_slow(method, route) from exc
        except TooLargeError as exc:
            raise WordPressAnswerTooLargeError(
                f"WordPress at {self.base_url} answered {method} {route} with more than {MAX_ANSWER_BYTES} bytes "
                f"({exc.reason}); not a REST API answer") from None
        except FetchFailedError as exc:
            # an answer cut mid-body (IncompleteRead) is a network failure too: worth a retry
            raise OutletUnavailableError(f"WordPress at {self.base_url}: {method} {route} failed: {exc.reason}") from exc
        self._raise_for_status(response, method, route, json, body)
        try:
            return jsonlib.loads(body)
        except ValueError:
            raise OutletRejectedError(
                f"WordPress at {self.base_url} answered {method} {route} with something that is not JSON "
                f"(HTTP {response.status_code}, {response.headers.get('Content-Type', 'no type')}); is the REST API on?"
            ) from None

    def _too_slow(self, method: str, route: str) -> OutletDeadlineError:
        return OutletDeadlineError(
            f"WordPress at {self.base_url} did not answer {method} {route} within {self.timeout:g}s")

    def _raise_for_status(self, response: requests.Response, method: str, route: str, sent: Any = None,
                          answer: bytes = b"") -> None:
        status = response.status_code
        if status < 400:
            return
        try:
            body = jsonlib.loads(answer) if answer else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        wp_code = str(body.get("code") or "")
        message = html.unescape(str(body.get("message") or response.reason or "")).strip()
        what = f"{method} {route}: HTTP {status}" + (f" {wp_code}" if wp_code else "") + (f": {message}" if message else "")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        fields = _fields_named(wp_code, data, sent)
        if fields:
            what += f" ({fields})"
        if (status in (408, 429) or status >= 500) and wp_code not in NEVER_SUCCEEDS:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise OutletUnavailableError(f"WordPress at {self.base_url} is unavailable ({what})",
                                         retry_after=wait if wait is not None else DEFAULT_RETRY_AFTER)
        if status in (401, 403):
            raise OutletRejectedError(
                f"WordPress at {self.base_url} refused user {self.credentials.username!r} ({what}); check the "
                f"user's role and the Application Password in the environment variable {self.credentials.env_name}"
            )
        raise WordPressRejectedError(f"WordPress at {self.base_url} rejected {what}", status, wp_code, data)

    # --- posts ----------------------------------------------------------------------------------

    def get_post(self, post_id: int | str) -> dict[str, Any] | None:
        """The post in edit context (raw fields, meta, any status including trash), or None when deleted."""
        try:
            return dict(self.call("GET", f"/wp/v2/posts/{int(post_id)}", params={"context": "edit"}))
        except WordPressRejectedError as exc:
            if exc.status in (404, 410):
                return None
            raise
        except ValueError:
            return None  # not a WordPress post id (a ledger row from another outlet kind)

    def find_posts(self, **filters: str) -> list[dict[str, Any]]:
        """Posts of any status but trash matching `filters` (slug=..., or syndication_id=... with the mu-plugin)."""
        params = {"status": "any", "context": "edit", "per_page": 100, "orderby": "id", "order": "asc", **filters}
        return list(self.call("GET", "/wp/v2/posts", params=params))

    # --- categories and tags --------------------------------------------------------------------

    def term_id(self, taxonomy: str, name: str) -> int:
        """The id of the category or tag called `name`, created when missing; cached per process."""
        key = (taxonomy, html.unescape(name).strip().casefold())
        with self._terms_lock:
            cached = self._terms.get(key)
        if cached is not None:
            return cached
        term_id = self._find_term(taxonomy, name)
        if term_id is None:
            try:
                term_id = int(self.call("POST", f"/wp/v2/{taxonomy}", json={"name": name})["id"])
            except WordPressRejectedError as exc:
                # another worker created it between our look-up and our create: WordPress says which one
                if exc.wp_code != "term_exists" or "term_id" not in exc.data:
                    raise
                term_id = int(exc.data["term_id"])
        with self._terms_lock:
            self._terms[key] = term_id
        return term_id

    def forget_terms(self) -> None:
        with self._terms_lock:
            self._terms.clear()

    def _find_term(self, taxonomy: str, name: str) -> int | None:
        found = self.call("GET", f"/wp/v2/{taxonomy}", params={"search": name, "per_page": 100, "hide_empty": "false"})
        for term in found:
            if same_name(str(term.get("name", "")), name):
                return int(term["id"])
        return None

    # --- media ----------------------------------------------------------------------------------

    def find_media(self, slug: str) -> dict[str, Any] | None:
        found = self.call("GET", "/wp/v2/media", params={"slug": slug, "context": "edit", "orderby": "id", "order": "asc"})
        return dict(found[0]) if found else None

    def upload_media(self, content: bytes, filename: str, content_type: str, fields: dict[str, str]) -> dict[str, Any]:
        """Upload a file with its fields (slug, caption, alt_text, meta[...]) in the same request, so a crash
        can never leave a captionless upload behind that a later run would then reuse."""
        return dict(self.call(
            "POST", "/wp/v2/media", params=fields, data=content,
            headers={"Content-Type": content_type, "Content-Disposition": f'attachment; filename="{filename}"'},
        ))

    def delete_media(self, media_id: int) -> None:
        self.call("DELETE", f"/wp/v2/media/{media_id}", params={"force": "true"})

    # --- the user -------------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        return dict(self.call("GET", "/wp/v2/users/me", params={"context": "edit"}))

    def post_meta_keys(self) -> set[str]:
        """The post meta keys the site exposes over REST (the mu-plugin's keys when it is installed)."""
        schema = self.call("OPTIONS", "/wp/v2/posts").get("schema", {})
        return set(schema.get("properties", {}).get("meta", {}).get("properties", {}))
