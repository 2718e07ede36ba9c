"""Environment settings in one object. Everything has an embedded default so a laptop needs no set-up.

Secrets (outlet passwords, webhook keys) never live here or in YAML: outlets read them from the
environment variables their config names.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int_env(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"environment variable {name}={raw!r}: expected a whole number of seconds") from None


def _bounded_env(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    """A whole number from the environment that must lie in [low, high]: a cap that is 0 or absurdly large
    is a typo to report at start-up, not a limit to discover while fetching."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"environment variable {name}={raw!r}: expected a whole number") from None
    if not low <= value <= high:
        raise SystemExit(f"environment variable {name}={raw!r}: must be between {low} and {high}")
    return value


#: image limits: defaults and the bounds SYNDICATION_MAX_IMAGE_BYTES / _PIXELS / _IMAGES_PER_ARTICLE must keep
DEFAULT_MAX_IMAGE_BYTES = 15 * 1024 * 1024
MAX_IMAGE_BYTES_BOUND = 256 * 1024 * 1024
DEFAULT_MAX_IMAGE_PIXELS = 50_000_000
#: below Pillow's own refusal (twice its MAX_IMAGE_PIXELS, ~179 million), so the setting is the limit that speaks
MAX_IMAGE_PIXELS_BOUND = 150_000_000
DEFAULT_MAX_IMAGES_PER_ARTICLE = 30
MAX_IMAGES_PER_ARTICLE_BOUND = 200


@dataclass(frozen=True)
class Settings:
    #: broker URL; None means "start a private Redis server under var_dir" (the embedded default)
    redis_url: str | None
    #: SQLAlchemy URL of the store
    database_url: str
    #: folder holding sources.yaml and outlets.yaml
    config_dir: Path
    #: working folder for the SQLite file, the private Redis, outlet output
    var_dir: Path
    user_agent: str
    #: how long Redis waits before handing an unacknowledged task to another worker (see README: Recovery)
    visibility_timeout: int = 3600
    #: how often beat asks which sources are due (each source still polls once per its own interval)
    scheduler_tick: int = 15
    #: how often a worker looks for tasks abandoned by a dead worker (after visibility_timeout)
    restore_interval: int = 60
    #: how often beat sends the sweeper (worker/flow/sweep.py) to re-queue work the store shows stuck; 0: never
    sweep_interval: int = 60
    #: how long a delivery may sit unfinished, or a planned link unchecked, before the sweeper re-queues it;
    #: 0 means max(visibility_timeout, 300): never before Redis itself would hand a lost task out again
    sweep_stuck_after: int = 0
    #: prefix for every Redis key we and Celery use, so several deployments (or test runs) share a server
    redis_key_prefix: str = ""
    fetch_timeout: int = 20
    max_page_bytes: int = 10 * 1024 * 1024
    max_retries: int = 10
    retry_backoff_max: int = 600
    #: polite fetching (worker/http/client.py): connect timeout, whole-download deadline, how long a fetch may
    #: wait in-task for its host's rate limit or back-off before handing back a retry instead
    fetch_connect_timeout: int = 10
    fetch_total_timeout: int = 120
    fetch_max_wait: int = 15
    #: back-off for a 429/503 without Retry-After, and the ceiling on a partner's Retry-After
    fetch_backoff_default: int = 5
    fetch_backoff_max: int = 3600
    #: robots.txt is cached per host this long (RFC 9309 asks for no more than 24 hours)
    robots_ttl: int = 6 * 3600
    max_robots_bytes: int = 512 * 1024
    #: feeds and sitemaps (a sitemap may be 50 MB uncompressed by the protocol)
    max_resource_bytes: int = 50 * 1024 * 1024
    #: partner images (worker/flow/images.py): the largest file fetched, the most pixels its header may
    #: declare (a decompression bomb is refused unread), how many of one article's images are collected
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_images_per_article: int = DEFAULT_MAX_IMAGES_PER_ARTICLE
    #: Celery soft time limit of every task that talks to peers; 0 derives one per task from the fetch
    #: deadline (worker/flow/time_limits.py)
    task_soft_time_limit: int = 0
    #: a worker's own /metrics (worker/task_metrics.py: task latencies, delivery latency): its port (0: off)
    #: and address (loopback unless said otherwise: the separate port is the credential)
    worker_metrics_port: int = 0
    worker_metrics_host: str = "127.0.0.1"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def stuck_after(self) -> int:
        """Seconds after which the sweeper treats unfinished work as lost (see sweep_stuck_after)."""
        return self.sweep_stuck_after or max(self.visibility_timeout, 300)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    var_dir = Path(env.get("SYNDICATION_VAR_DIR") or "var").resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'syndication.db'}"
    contact = env.get("SYNDICATION_CONTACT_URL", "https://github.com/syndication-worker/syndication-worker")
    from worker import __version__

    return Settings(
        redis_url=env.get("REDIS_URL") or None,
        database_url=database_url,
        config_dir=Path(env.get("CONFIG_DIR") or "config").resolve(),
        var_dir=var_dir,
        user_agent=env.get("SYNDICATION_USER_AGENT") or f"syndication-worker/{__version__} (+{contact})",
        visibility_timeout=_int_env(env, "SYNDICATION_VISIBILITY_TIMEOUT", 3600),
        restore_interval=_int_env(env, "SYNDICATION_RESTORE_INTERVAL", 60),
        sweep_interval=max(0, _int_env(env, "SYNDICATION_SWEEP_INTERVAL", 60)),
        sweep_stuck_after=max(0, _int_env(env, "SYNDICATION_SWEEP_STUCK_AFTER", 0)),
        scheduler_tick=max(1, _int_env(env, "SYNDICATION_SCHEDULER_TICK", 15)),
        redis_key_prefix=env.get("SYNDICATION_REDIS_KEY_PREFIX", ""),
        fetch_timeout=_int_env(env, "SYNDICATION_FETCH_TIMEOUT", 20),
        max_page_bytes=_int_env(env, "SYNDICATION_MAX_PAGE_BYTES", 10 * 1024 * 1024),
        max_retries=_int_env(env, "SYNDICATION_MAX_RETRIES", 10),
        retry_backoff_max=_int_env(env, "SYNDICATION_RETRY_BACKOFF_MAX", 600),
        fetch_connect_timeout=_int_env(env, "SYNDICATION_FETCH_CONNECT_TIMEOUT", 10),
        fetch_total_timeout=_int_env(env, "SYNDICATION_FETCH_TOTAL_TIMEOUT", 120),
        fetch_max_wait=_int_env(env, "SYNDICATION_FETCH_MAX_WAIT", 15),
        fetch_backoff_default=_int_env(env, "SYNDICATION_FETCH_BACKOFF_DEFAULT", 5),
        fetch_backoff_max=_int_env(env, "SYNDICATION_FETCH_BACKOFF_MAX", 3600),
        robots_ttl=_int_env(env, "SYNDICATION_ROBOTS_TTL", 6 * 3600),
        max_robots_bytes=_int_env(env, "SYNDICATION_MAX_ROBOTS_BYTES", 512 * 1024),
        max_resource_bytes=_int_env(env, "SYNDICATION_MAX_RESOURCE_BYTES", 50 * 1024 * 1024),
        task_soft_time_limit=max(0, _int_env(env, "SYNDICATION_TASK_SOFT_TIME_LIMIT", 0)),
        max_image_bytes=_bounded_env(env, "SYNDICATION_MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES, 1024,
                                     MAX_IMAGE_BYTES_BOUND),
        max_image_pixels=_bounded_env(env, "SYNDICATION_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS, 1,
                                      MAX_IMAGE_PIXELS_BOUND),
        max_images_per_article=_bounded_env(env, "SYNDICATION_MAX_IMAGES_PER_ARTICLE",
                                            DEFAULT_MAX_IMAGES_PER_ARTICLE, 0, MAX_IMAGES_PER_ARTICLE_BOUND),
        worker_metrics_port=_bounded_env(env, "SYNDICATION_WORKER_METRICS_PORT", 0, 0, 65535),
        worker_metrics_host=(env.get("SYNDICATION_WORKER_METRICS_HOST") or "127.0.0.1").strip(),
    )
