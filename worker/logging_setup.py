"""Structured JSON logs: one JSON object per line, each carrying the article id and source it concerns.

Why contextvars: the code that logs (fetch, pipeline, outlets, HTTP handlers) rarely has the article id
at hand, but whatever runs a unit of work (a Celery task, an HTTP request) does. It binds the ids once
with `log_context(...)`; a filter stamps them on every record logged inside, in any module, whatever
thread or task the work runs in. Fields are always present (null when unknown) so log queries can rely
on them.

Wiring: `configure_logging()` for a plain process (the web server); `install_celery_logging()` in the
worker (Celery sets up its own handlers, so the formatter is applied from its `after_setup_logger`
signals, and every task binds its ids from its arguments in `task_prerun`).
"""
from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

#: the ids every line carries; values bound by log_context, None when unknown
CONTEXT_FIELDS = ("article_id", "source_id", "outlet_id", "task_id", "task_name", "import_id")
_context: ContextVar[Mapping[str, Any]] = ContextVar("syndication_log_context", default=MappingProxyType({}))

# attributes every LogRecord has; anything else on a record came in through `extra=` and is kept
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName", "color_message"}


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Bind ids (article_id=..., source_id=...) to every record logged inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**ids: Any) -> None:
    """Add ids to the current context without a block (e.g. once the ingest knows the article id)."""
    _context.set({**_context.get(), **{k: v for k, v in ids.items() if v is not None}})


def clear_context() -> None:
    _context.set(MappingProxyType({}))


class ContextFilter(logging.Filter):
    """Stamps the bound ids on the record (a filter, so it works with any formatter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _context.get()
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, bound.get(name))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context ids, any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        bound = _context.get()
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            entry[name] = value if value is not None else bound.get(name)
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def json_handler(stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(level: str | int | None = None, json_format: bool | None = None) -> None:
    """Root logging for a process: JSON lines on stderr (SYNDICATION_LOG_FORMAT=text for plain lines).

    Replaces the root handlers so uvicorn's and our loggers (which propagate to root) all write JSON.
    """
    level = level or os.environ.get("SYNDICATION_LOG_LEVEL", "INFO")
    if json_format is None:
        json_format = os.environ.get("SYNDICATION_LOG_FORMAT", "json").lower() != "text"
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if json_format:
        root.addHandler(json_handler())
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def apply_json_format(logger: logging.Logger) -> None:
    """Give every handler of `logger` the JSON formatter and the context filter (Celery's handlers)."""
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())


def task_context(task_name: str | None, args: Any, kwargs: Any) -> dict[str, Any]:
    """The ids a task's arguments reveal (the task signatures of worker/tasks.py)."""
    args = list(args or [])
    kwargs = dict(kwargs or {})
    name = (task_name or "").rsplit(".", 1)[-1]
    ids: dict[str, Any] = {}
    if name in ("ingest", "poll_source") and args:
        ids["source_id"] = args[0]
    elif name in ("deliver", "withdraw") and args:
        ids["article_id"] = args[0]
        if len(args) > 1:
            ids["outlet_id"] = args[1]
    for key in ("article_id", "source_id", "outlet_id"):
        if kwargs.get(key) is not None:
            ids[key] = kwargs[key]
    return ids


def install_celery_logging() -> None:
    """JSON logs in a Celery worker: format Celery's own handlers and bind each task's ids.

    Call once where the Celery app is created (worker/app.py), before the worker starts. Honours
    SYNDICATION_LOG_FORMAT=text (then only the ids are bound, the format stays Celery's).
    """
    from celery import signals

    json_format = os.environ.get("SYNDICATION_LOG_FORMAT", "json").lower() != "text"

    def on_setup(logger: logging.Logger, *args: Any, **kwargs: Any) -> None:
        if json_format:
            apply_json_format(logger)

    def on_prerun(task_id: str | None = None, task: Any = None, args: Any = None, kwargs: Any = None,
                  **extra: Any) -> None:
        clear_context()
        bind(task_id=task_id, task_name=getattr(task, "name", None),
             **task_context(getattr(task, "name", None), args, kwargs))

    def on_postrun(*args: Any, **kwargs: Any) -> None:
        clear_context()

    signals.after_setup_logger.connect(on_setup, weak=False)
    signals.after_setup_task_logger.connect(on_setup, weak=False)
    signals.task_prerun.connect(on_prerun, weak=False)
    signals.task_postrun.connect(on_postrun, weak=False)
