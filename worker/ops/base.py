"""What every operator job shares: the context it runs in, the broker check, and its two refusals.

Why one context for the cli and the web: both need the same four things (settings, the store, the config as
it is now, a broker to queue on) and must get them the same way, or the same job behaves differently by
where it was asked. The cli builds one per command; the web one per app (tests build several apps, each
with its own database, broker and token, in one process: nothing here reads the environment).
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

import redis
from celery import Celery

from worker.app import broker_url_for, create_app
from worker.config import Config, load_config
from worker.embedded_redis import running_embedded_url
from worker.errors import SyndicationError
from worker.settings import Settings, load_settings
from worker.store import Store


class NotFoundError(SyndicationError):
    """What the operator named (a delivery, a source, an import) is not there."""

    code = "not_found"


class NotNowError(SyndicationError):
    """The thing exists, but the job cannot be done to it in the state it is in."""

    code = "conflict"


class NothingToPollError(NotNowError):
    code = "nothing_to_poll"


class NotReplayableError(NotNowError):
    code = "not_replayable"


def require_broker(settings: Settings) -> None:
    """Refuse early, with what to do, when there is no Redis to queue on."""
    if not settings.redis_url and not running_embedded_url(settings.var_dir):
        raise SyndicationError(
            "no Redis to queue on: start `syndicate worker` in another terminal (it starts a private "
            "Redis when REDIS_URL is unset), or set REDIS_URL"
        )


def say(message: str) -> None:
    """A progress line of a cli command, on stderr (stdout carries what a script reads: ids, URLs)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class OpsContext:
    settings: Settings
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _celery: dict[str, Celery] = field(default_factory=dict, init=False, repr=False)
    _redis: dict[str, redis.Redis] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_environment(cls) -> OpsContext:
        """The cli's context: the deployment the environment names (REDIS_URL, DATABASE_URL, CONFIG_DIR)."""
        return cls(load_settings())

    @cached_property
    def store(self) -> Store:
        store = Store(self.settings.database_url)
        store.migrate()  # a command or a page may come before any worker has created the store
        return store

    def config(self) -> Config:
        """Re-read on each use, like the workers' beat tick, so edits to the YAML show without a restart."""
        return load_config(self.settings.config_dir)

    def broker_url(self) -> str:
        """The broker to queue on; refuses (with what to do) when there is none."""
        require_broker(self.settings)
        return broker_url_for(self.settings)

    def celery(self) -> Celery:
        """A Celery app for the current broker (what worker/tasks.py's enqueue_* send through); rebuilt if
        a private Redis came up after this context was made."""
        url = self.broker_url()
        with self._lock:
            if url not in self._celery:
                self._celery[url] = create_app(self.settings)
            return self._celery[url]

    def redis(self) -> redis.Redis:
        """One client (one connection pool) per broker URL, shared by the request threads."""
        url = self.broker_url()
        with self._lock:
            if url not in self._redis:
                self._redis[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            return self._redis[url]

    def key(self, name: str) -> str:
        """A Redis key under the deployment's prefix (several deployments may share one Redis)."""
        return f"{self.settings.redis_key_prefix}{name}"

