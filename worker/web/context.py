"""What every web request needs: settings, the store, the config, and a way to queue tasks.

Why a context object instead of module globals: tests build several apps (one per Deployment) in one
process, each with its own database, broker and token; nothing here reads the environment after
create_app, and the Celery app is built from these settings, not the worker's process-wide one.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

import redis
from celery import Celery

from worker.app import broker_url_for, create_app
from worker.config import Config, load_config
from worker.ops.imports import require_broker
from worker.settings import Settings
from worker.store import Store


@dataclass
class WebContext:
    settings: Settings
    #: the bearer token of the API and the console login; never empty (server.py makes one if unset)
    token: str
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _celery: dict[str, Celery] = field(default_factory=dict)
    _redis: dict[str, redis.Redis] = field(default_factory=dict)

    @cached_property
    def store(self) -> Store:
        store = Store(self.settings.database_url)
        store.migrate()
        return store

    def config(self) -> Config:
        """Re-read on each use, like the workers' beat tick, so edits to the YAML show without a restart."""
        return load_config(self.settings.config_dir)

    def broker_url(self) -> str:
        """The broker to queue on; refuses (with what to do) when there is none, like `syndicate import`."""
        require_broker(self.settings)
        return broker_url_for(self.settings)

    def celery(self) -> Celery:
        """A Celery app for the current broker; rebuilt if a private Redis came up after this server."""
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
