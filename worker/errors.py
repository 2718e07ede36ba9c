"""Every failure has a name. Tasks map TransientError to a retry and PermanentError to give-up-and-record.

The reason string of a PermanentError is what an operator reads in `syndicate articles` or the ledger, so
it says what was wrong and, where it can, what to do about it.
"""
from __future__ import annotations


class SyndicationError(Exception):
    """Base of every named failure of the worker."""

    #: short machine-readable name, stored with the failure
    code = "error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class PermanentError(SyndicationError):
    """Retrying will not help: bad input, bad config, a refusal. Recorded and given up on."""

    code = "permanent"


class TransientError(SyndicationError):
    """Worth retrying with backoff: timeouts, connection errors, 5xx, 429, a database that is restarting."""

    code = "transient"

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class ConfigError(PermanentError):
    """A config file is missing or wrong. The message names the file, the line, the entry and the field."""

    code = "config"


class UnknownSourceError(PermanentError):
    code = "unknown_source"


class UnknownOutletError(PermanentError):
    code = "unknown_outlet"


class DomainNotAllowedError(PermanentError):
    code = "domain_not_allowed"


class NotHtmlError(PermanentError):
    code = "not_html"


class EmptyPageError(PermanentError):
    code = "empty_page"


class TooLargeError(PermanentError):
    code = "too_large"


class NotAnImageError(PermanentError):
    """A partner image whose bytes are not a JPEG, PNG, GIF or WebP (HTML, SVG, a damaged header), whatever
    its Content-Type said (worker/http/images.py)."""

    code = "not_an_image"


class ImageBombError(PermanentError):
    """A partner image whose header declares more pixels than SYNDICATION_MAX_IMAGE_PIXELS: a decompression
    bomb, refused without decoding it (worker/http/images.py)."""

    code = "image_bomb"


class HttpStatusError(PermanentError):
    code = "http_status"

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        #: the partner's HTTP status, when the error is one (a structured source's kind reads it)
        self.status = status


class GoneError(HttpStatusError):
    """404 or 410: the page is not there. For a known article on re-check, the partner withdrew it."""

    code = "gone"


class FetchFailedError(TransientError):
    code = "fetch_failed"


class ExtractionError(PermanentError):
    """The page is HTML but holds no article we can use (no headline, no body)."""

    code = "extraction_failed"


class ArticleNotFoundError(PermanentError):
    code = "article_not_found"


class OutletUnavailableError(TransientError):
    code = "outlet_unavailable"


class OutletRejectedError(PermanentError):
    code = "outlet_rejected"


class StoreUnavailableError(TransientError):
    code = "store_unavailable"


class RobotsDisallowedError(PermanentError):
    """The partner's robots.txt forbids this URL to our user agent (and the source does not waive it)."""

    code = "robots_disallowed"


class PrivateAddressError(PermanentError):
    """SSRF guard: the host resolves to a private, loopback, link-local, metadata or otherwise
    non-public address that the source does not list in allow_private_networks."""

    code = "private_address"


class TooManyRedirectsError(PermanentError):
    code = "too_many_redirects"


class HostBackedOffError(TransientError):
    """The host's shared rate limit or its Retry-After back-off would make us wait too long in-task;
    the task is retried after `retry_after` seconds instead of holding a worker."""

    code = "host_backed_off"


class DeadlineExceededError(TransientError):
    """A peer did not finish its answer within the total deadline of the request (worker/http/deadline.py):
    slow or dripping, it is worth another try later, never worth holding a worker for."""

    code = "deadline_exceeded"


class FetchDeadlineError(DeadlineExceededError, FetchFailedError):
    """A partner page, feed, robots.txt or image took longer than SYNDICATION_FETCH_TOTAL_TIMEOUT in all."""

    code = "fetch_deadline"


class OutletDeadlineError(DeadlineExceededError, OutletUnavailableError):
    """An outlet (webhook receiver, WordPress) took longer than the outlet's `timeout` for one request."""

    code = "outlet_deadline"


class TaskTimeLimitError(TransientError):
    """A task ran past its soft time limit (worker/flow/time_limits.py): stopped and retried, not lost."""

    code = "time_limit"
