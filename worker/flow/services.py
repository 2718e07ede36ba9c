"""The collaborators every stage of the flow shares, built once per worker process: `Services`.

Why one object: a stage needs the config (re-read when its files change), the store, the outlets built
from that config, and the one HTTP client every fetch of the process shares (worker/http/client.py: the
per-host rate limiter and the robots.txt cache, both in Redis when workers share one, and the pooled
sessions). Passing them one
by one made every stage's signature a list of plumbing; tasks.py builds one Services after the fork.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

import redis

from worker.config import Config, config_files, load_config
from worker.config.watch import Snapshot
from worker.errors import ConfigError
from worker.http.client import Client
from worker.outlets import Outlet, build_outlet
from worker.settings import Settings
from worker.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    #: shared state of all workers (rate limits, robots cache); None: this process keeps its own
    redis_client: redis.Redis | None = None
    _outlets: dict[str, Outlet] = field(default_factory=dict)

    _config: Config | None = None
    _config_snapshot: Snapshot | None = None

    @property
    def config(self) -> Config:
        """sources.yaml, sources.d/*.yaml and outlets.yaml, re-read when one of them changes (or one
        appears or goes), so a new source or outlet reaches running workers without a restart. A change is
        a file's mtime_ns or size, or its content for a file edited within the timestamp resolution
        (worker/config/watch.py). A broken edit keeps the last good config (and logs why) rather than
        failing every task; it is not read again until a file changes again."""
        snapshot = Snapshot.take(config_files(self.settings.config_dir), self._config_snapshot)
        if self._config is None or snapshot.changed_since(self._config_snapshot):
            try:
                self._config = load_config(self.settings.config_dir)
            except ConfigError as exc:
                if self._config is None:
                    raise
                log.error("config change ignored, keeping the last good config: %s", exc)
            self._outlets.clear()
        self._config_snapshot = snapshot  # unchanged too: a racy file that has aged is no longer hashed
        return self._config

    @cached_property
    def store(self) -> Store:
        store = Store(self.settings.database_url)
        store.migrate()
        return store

    @cached_property
    def http(self) -> Client:
        """The process's one HTTP client for partners (rate limits and robots cache in Redis when workers
        share one). Built on first use, so after the prefork fork: no child inherits its parent's sockets."""
        if self.redis_client is None:
            return Client.local(self.settings)
        return Client.shared(self.settings, self.redis_client)

    def close(self) -> None:
        """Release what this process holds open to partners (its pooled HTTP connections)."""
        http = self.__dict__.pop("http", None)
        if http is not None:
            http.close()

    def outlet(self, outlet_id: str) -> Outlet:
        if outlet_id not in self._outlets:
            self._outlets[outlet_id] = build_outlet(self.config.outlet(outlet_id), self.settings)
        return self._outlets[outlet_id]
