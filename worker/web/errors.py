"""Errors as the web shows them: an HTTP status, a short code, and a message a person can act on.

Why one mapping: the worker's named failures (worker/errors.py) and the operator jobs' refusals
(worker/ops/base.py) already carry readable reasons; the API and the console only have to choose a status
for each, the same way in both.
"""
from __future__ import annotations

from kombu.exceptions import OperationalError as BrokerOperationalError
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from worker.errors import (
    ArticleNotFoundError,
    ConfigError,
    FetchFailedError,
    PermanentError,
    StoreUnavailableError,
    SyndicationError,
    TransientError,
)
from worker.ops.base import NotFoundError, NotNowError


class ErrorBody(BaseModel):
    """Every error the API answers has this shape."""

    error: str = Field(description="Short machine-readable code, e.g. not_found, unauthorized, domain_not_allowed.")
    message: str = Field(description="What went wrong and, where possible, what to do about it.")


class ApiError(Exception):
    """An error to answer as it is (status, code, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(what: str, hint: str = "") -> ApiError:
    return ApiError(404, "not_found", f"no {what}" + (f" ({hint})" if hint else ""))


def from_exception(exc: Exception) -> ApiError | None:
    """The ApiError for a known failure; None for a bug (answered 500 and logged)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, (BrokerOperationalError, RedisError, ConnectionError)):
        return ApiError(503, "broker_unavailable",
                        f"cannot reach the Redis broker ({exc}); is Redis (or `syndicate worker`) running?")
    if not isinstance(exc, SyndicationError):
        return None
    reason = exc.reason
    if isinstance(exc, NotFoundError):  # what the request names (a delivery, a source, an import) is not there
        return ApiError(404, exc.code, reason)
    if isinstance(exc, NotNowError):  # it is there, but not in a state the job can act on
        return ApiError(409, exc.code, reason)
    if isinstance(exc, ArticleNotFoundError):
        return ApiError(404, exc.code, reason)
    if isinstance(exc, ConfigError):
        return ApiError(500, exc.code, f"the configuration is broken: {reason}")
    if isinstance(exc, StoreUnavailableError):
        return ApiError(503, exc.code, reason)
    if isinstance(exc, FetchFailedError):
        return ApiError(502, exc.code, reason)
    if isinstance(exc, TransientError):
        return ApiError(503, exc.code, reason)
    if isinstance(exc, PermanentError):
        return ApiError(422, exc.code, reason)
    # the base class: require_broker's "no Redis to queue on" and the like
    return ApiError(503, exc.code, reason)
