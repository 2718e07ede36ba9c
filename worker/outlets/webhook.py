"""The webhook outlet: POST each article version as JSON to a URL the partner newsroom runs, signed.

Request (publish):
    POST <url>
    Content-Type: application/json; charset=utf-8
    X-Syndication-Event: published
    Idempotency-Key: <article id>:<version>      the same on every retry of the same version
    signature headers, by the `signature` option (worker/outlets/signing.py):
      standard     Standard Webhooks: webhook-id (= the Idempotency-Key), webhook-timestamp,
                   webhook-signature: v1,<base64 HMAC-SHA256 of f"{id}.{t}." + raw body>; a receiver checks
                   it with a Standard Webhooks library in its own language
      syndication  X-Syndication-Timestamp: <t>, X-Syndication-Signature: sha256=<hex HMAC-SHA256 of
                   f"{t}." + raw body>: the scheme receivers built before Standard Webhooks check
      both         (the default) both sets, one timestamp: receivers built on X-Syndication-* keep working
                   while new ones use a library; set `standard` once no receiver needs the old headers
    X-Syndication-Article-Id, X-Syndication-Version, X-Syndication-Previous-Id (the receiver's id of
    the previous version, when there was one, so it can update that item instead of adding one)
    body: the IPTC ninjs 2.x document (`format: ninjs`, default) or the canonical Article JSON
          (`format: canonical`), UTF-8, compact, keys sorted

Images: the receiver gets URLs it can fetch, the partner's own (each one the worker stored was fetched
from it at ingest). In ninjs, the lead image's `featureimage` association and one `bodyimage-<n>`
association per stored in-body image (`type: picture`, `uri` the partner's URL) carry an `original`
rendition with the href and what the stored bytes are: contenttype (sniffed), width, height,
sizeinbytes. With `embed_images: true` the bytes travel too: a second rendition, `embedded`, whose
href is a `data:<type>;base64,...` URI (valid ninjs: href is a URI), so a receiver that cannot reach the
partner still has the pictures; in the canonical format they go in a top-level `images` list (url, role,
contenttype, width, height, sizeinbytes, sha256, data as base64) beside the article's fields. Off by
default: a body then grows by the images' size and a third. An image the store lacks adds nothing.

Request (withdraw): the same signing, `X-Syndication-Event: withdrawn`, `Idempotency-Key: <id>:withdrawn`,
body {"event": "withdrawn", "article_id", "remote_id", "reason"}.

Signing is in worker/outlets/signing.py; a receiver's verification examples are docs/webhook-receiver.md.
Why a timestamp inside the MAC: replays of a captured request go stale. Why Idempotency-Key: a timeout
does not tell us whether the receiver got the request, so we send again and the receiver dedupes.

Answers: 2xx is delivered (a JSON body {"id": ..., "url": ...} names the receiver's item; otherwise the
Idempotency-Key is the remote id). 408, 429, 5xx and network errors or timeouts are transient (retried,
honouring Retry-After), and so is an answer cut short (the receiver may have the item; the
Idempotency-Key makes sending again safe). Redirects and other 4xx are permanent, with the first 500 characters of the
response body in the reason the operator reads on the ledger. `timeout` is one total deadline per request
(worker/http/deadline.py): connecting, sending, the headers and the whole answer, so a receiver dripping
its reply holds publish() no longer than that (OutletDeadlineError, retried).

The secret comes only from the environment variable named by `secret_env`, never from YAML. For Standard
Webhooks it is best written as the spec gives it, `whsec_` + base64 of 24 to 64 random bytes; a plain
secret still works, as a raw key (see signing.py).
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
from typing import Any, Literal

import requests
from pydantic import Field
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from worker.errors import ConfigError, OutletDeadlineError, OutletRejectedError, OutletUnavailableError
from worker.http.deadline import Deadline, deadline_session
from worker.outlets.base import MAX_OUTLET_TIMEOUT, Outlet, OutletOptions, RemoteRef
from worker.outlets.images import ArticleImage, ArticleImages
from worker.outlets.signing import Scheme, signing_headers, standard_key
from worker.schema import Article, to_ninjs
from worker.http.retry_after import retry_after_seconds

#: how much of an answer's body we read and keep: enough for an error message, never a whole page
MAX_BODY_BYTES = 64 * 1024
REASON_BODY_CHARS = 500
TRANSIENT_STATUSES = frozenset({408, 429})
#: our Idempotency-Key form, "<article id>:<version>", as it comes back in a RemoteRef
_OWN_KEY = re.compile(r"([0-9a-f]{24}):(\d+)")


class WebhookOptions(OutletOptions):
    url: str
    #: NAME of the environment variable that holds the signing secret
    secret_env: str
    format: Literal["ninjs", "canonical"] = "ninjs"
    #: which signature headers to send (see the module docstring)
    signature: Scheme = "both"
    #: total seconds one request may take: connecting, sending, and the whole answer
    timeout: float = Field(default=10.0, gt=0, le=MAX_OUTLET_TIMEOUT, allow_inf_nan=False)
    #: extra headers the receiver wants (routing keys and the like); never secrets
    headers: dict[str, str] = Field(default_factory=dict)
    #: send the stored images' bytes too (base64), not only their URLs (see the module docstring)
    embed_images: bool = False


def json_body(document: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent: compact and key-sorted, so one version is one body."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


class WebhookOutlet(Outlet[WebhookOptions]):
    kind = "webhook"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # one session per outlet per worker process: keep-alive to the receiver across deliveries
        self._session = deadline_session()

    def secret(self) -> str:
        name = self.options.secret_env
        value = os.environ.get(name)
        if not value:
            raise ConfigError(
                f"webhook outlet {self.id!r}: environment variable {name} is not set; it must hold the "
                f"signing secret (secret_env: {name} in outlets.yaml)"
            )
        if self.options.signature != "syndication":
            try:
                standard_key(value)
            except ValueError as exc:
                raise ConfigError(
                    f"webhook outlet {self.id!r}: the secret in environment variable {name} is not a usable "
                    f"Standard Webhooks key (signature: {self.options.signature}): {exc}") from None
        return value

    def document(self, article: Article, images: ArticleImages | None = None) -> dict[str, Any]:
        stored = images.available if images is not None else []
        if self.options.format == "canonical":
            document = article.model_dump(mode="json")
            if self.options.embed_images and stored:
                document["images"] = [{**_facts(image), "url": image.url, "role": image.role, "sha256": image.sha256,
                                       "data": base64.b64encode(image.read()).decode("ascii")} for image in stored]
            return document
        document = to_ninjs(article)
        if stored:
            self._ninjs_images(document, article, stored)
        return document

    def _ninjs_images(self, document: dict[str, Any], article: Article, stored: list[ArticleImage]) -> None:
        """What the stored images are, on the lead's association and on one association per body image."""
        associations: list[dict[str, Any]] = document.setdefault("associations", [])
        lead_url = article.lead_image.url if article.lead_image else None
        feature = next((a for a in associations if a.get("name") == "featureimage"), None)
        count = 0
        for image in stored:
            if image.url == lead_url and feature is not None:
                feature["renditions"] = self._renditions(image)
                continue
            count += 1
            associations.append({"name": f"bodyimage-{count}", "type": "picture", "uri": image.url,
                                 "renditions": self._renditions(image)})

    def _renditions(self, image: ArticleImage) -> list[dict[str, Any]]:
        renditions = [{"name": "original", "href": image.url, **_facts(image)}]
        if self.options.embed_images:
            data = base64.b64encode(image.read()).decode("ascii")
            renditions.append({"name": "embedded", "href": f"data:{image.content_type};base64,{data}", **_facts(image)})
        return renditions

    def publish(self, article: Article, previous: RemoteRef | None, *,
                images: ArticleImages | None = None) -> RemoteRef:
        key = f"{article.id}:{article.version}"
        headers = {
            "X-Syndication-Event": "published",
            "X-Syndication-Article-Id": article.id,
            "X-Syndication-Version": str(article.version),
        }
        if previous is not None:
            headers["X-Syndication-Previous-Id"] = previous.id
        answer = self._post(json_body(self.document(article, images)), key, headers)
        remote_id, remote_url = _remote_from(answer)
        return RemoteRef(id=remote_id or key, url=remote_url)

    def withdraw(self, remote: RemoteRef, reason: str) -> None:
        """Tell the receiver to take the item down; 404/410 count as done (it is not there any more).

        The port hands us only the RemoteRef. When it is our own key the article id is in it; when the
        receiver named its own id, that id stands in for the article id in the key and the body.
        """
        own_key = _OWN_KEY.fullmatch(remote.id)
        article_id = own_key.group(1) if own_key else None
        body = json_body({"event": "withdrawn", "article_id": article_id, "remote_id": remote.id, "reason": reason})
        headers = {"X-Syndication-Event": "withdrawn", "X-Syndication-Remote-Id": remote.id}
        if article_id:
            headers["X-Syndication-Article-Id"] = article_id
        self._post(body, f"{article_id or remote.id}:withdrawn", headers, gone_is_done=True)

    def check(self) -> str:
        self.secret()
        try:
            with Deadline(self.options.timeout) as deadline:
                response = self._session.head(self.options.url, allow_redirects=False,
                                              timeout=deadline.timeouts(self.options.timeout, self.options.timeout))
        except requests.RequestException as exc:
            raise OutletUnavailableError(f"webhook {self.options.url} is not reachable: {exc}") from exc
        response.close()
        return f"{self.options.url} answered HTTP {response.status_code}; secret from {self.options.secret_env} is set"

    def _too_slow(self, url: str, key: str) -> OutletDeadlineError:
        return OutletDeadlineError(f"webhook {url} did not answer within {self.options.timeout:g}s ({key})")

    def _post(self, body: bytes, key: str, headers: dict[str, str], gone_is_done: bool = False) -> bytes:
        """Send one signed request; the answer's body on 2xx, a named error otherwise."""
        url = self.options.url
        sent = {
            **self.options.headers,
            **headers,
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": self.settings.user_agent,
            "Idempotency-Key": key,
            **signing_headers(self.options.signature, self.secret(), key, body),
        }
        deadline = Deadline(self.options.timeout)
        try:
            with deadline, self._session.post(url, data=body, headers=sent, allow_redirects=False, stream=True,
                                              timeout=deadline.timeouts(self.options.timeout, self.options.timeout)) as response:
                answer = response.raw.read(MAX_BODY_BYTES, decode_content=True) or b""
                status = response.status_code
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                location = response.headers.get("Location")
        except (requests.Timeout, Urllib3TimeoutError) as exc:
            raise self._too_slow(url, key) from exc
        except requests.RequestException as exc:
            if deadline.expired:
                raise self._too_slow(url, key) from exc
            raise OutletUnavailableError(f"webhook {url} unreachable ({key}): {exc}") from exc
        except (Urllib3Error, http.client.HTTPException, OSError) as exc:
            # raised by reading the answer (urllib3's ProtocolError for an IncompleteRead): whether the
            # receiver kept the item is unknown, so send again; its Idempotency-Key dedupes
            if deadline.expired:
                raise self._too_slow(url, key) from exc
            raise OutletUnavailableError(f"webhook {url} cut its answer short ({key}): {exc}") from exc
        if 200 <= status < 300 or (gone_is_done and status in (404, 410)):
            return answer
        text = answer.decode("utf-8", errors="replace")[:REASON_BODY_CHARS]
        if status in TRANSIENT_STATUSES or status >= 500:
            raise OutletUnavailableError(f"webhook {url} answered HTTP {status} ({key}): {text}", retry_after)
        if 300 <= status < 400:
            raise OutletRejectedError(
                f"webhook {url} redirected (HTTP {status}) to {location}; configure the final URL")
        raise OutletRejectedError(f"webhook {url} refused {key} with HTTP {status}: {text}")


def _facts(image: ArticleImage) -> dict[str, Any]:
    """What the stored bytes are, in ninjs rendition terms."""
    return {"contenttype": image.content_type, "width": image.width, "height": image.height,
            "sizeinbytes": image.byte_size}


def _remote_from(answer: bytes) -> tuple[str | None, str | None]:
    """The receiver's own id and URL for the item, when its answer is JSON that names them."""
    try:
        data = json.loads(answer) if answer.strip() else None
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    remote_id = data.get("id")
    remote_url = data.get("url")
    return (str(remote_id) if remote_id not in (None, "") else None,
            remote_url if isinstance(remote_url, str) and remote_url else None)
