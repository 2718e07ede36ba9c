"""Real Celery workers in subprocesses, started the way an operator starts them (`syndicate worker`).

A subprocess (not an in-process thread worker) so a test can SIGKILL it like a crashed machine.
Never eager mode: every task goes through Redis.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from celery import Celery

from tests.support.processes import kill_group, stop_group
from worker.app import create_app
from worker.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]

SOURCES_YAML = """\
sources:
  - id: theepochtimes
    name: The Epoch Times
    allowed_domains: [127.0.0.1, localhost, partner.test]
    allow_private_networks: [127.0.0.1/8, "::1"]
    ignore_robots: true
    ignore_robots_reason: a test partner on loopback; robots.txt is tested in tests/test_fetch_robots.py
"""


@dataclass
class Deployment:
    """One test's installation: config folder, SQLite store, outlet folder, env for every process."""

    base: Path
    redis_url: str
    key_prefix: str
    visibility_timeout: int = 3600
    #: retry policy of the workers; small so failure tests take seconds (raise it for longer scripts)
    max_retries: int = 2
    retry_backoff_max: int = 2
    #: more environment for every process, e.g. an outlet's secret named by its secret_env
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def outlet_dir(self) -> Path:
        return self.base / "outlets" / "files"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.base / 'var' / 'syndication.db'}"

    def write_config(self, outlets_yaml: str | None = None, sources_yaml: str | None = None) -> None:
        config = self.base / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "sources.yaml").write_text(sources_yaml or SOURCES_YAML, encoding="utf-8")
        (config / "outlets.yaml").write_text(
            outlets_yaml or f"outlets:\n  - id: files\n    kind: files\n    directory: {self.outlet_dir}\n",
            encoding="utf-8",
        )

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "DATABASE_URL": self.database_url,
            "CONFIG_DIR": str(self.base / "config"),
            "SYNDICATION_VAR_DIR": str(self.base / "var"),
            "SYNDICATION_REDIS_KEY_PREFIX": self.key_prefix,
            "SYNDICATION_VISIBILITY_TIMEOUT": str(self.visibility_timeout),
            "SYNDICATION_RESTORE_INTERVAL": "1",
            "SYNDICATION_MAX_RETRIES": str(self.max_retries),
            "SYNDICATION_RETRY_BACKOFF_MAX": str(self.retry_backoff_max),
            "PYTHONPATH": str(ROOT),
            **self.extra_env,
        }

    def app(self) -> Celery:
        return create_app(load_settings(self.env()))

    def start_worker(self, timeout: float = 60, *, beat: bool = False, concurrency: int = 1) -> subprocess.Popen[bytes]:
        """`syndicate worker` (with `--beat`: the embedded polling schedule too); returns once it answers a ping."""
        name = f"test-{uuid.uuid4().hex[:8]}@%h"
        log = open(self.base / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        command = [sys.executable, "-m", "worker.cli", "worker", "--concurrency", str(concurrency),
                   "--loglevel", "INFO", "--hostname", name]
        process = subprocess.Popen(
            command + (["--beat"] if beat else []),
            env=self.env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.workers.append(process)
        app = self.app()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, f"worker exited early:\n{self.worker_log(-1)}"
            if any(name.split("@")[0] in host for reply in app.control.ping(timeout=0.5) for host in reply):
                return process
        raise AssertionError(f"worker did not answer a ping within {timeout}s:\n{self.worker_log(-1)}")

    def start_beat(self, schedule: Path | None = None) -> subprocess.Popen[bytes]:
        """A separate `celery -A worker.app beat` process (as docker-compose runs it), stopped with the workers."""
        log = open(self.base / f"beat-{len(self.workers)}.log", "wb")  # noqa: SIM115
        schedule = schedule or self.base / f"celerybeat-schedule-{len(self.workers)}"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.app", "beat", "--loglevel", "INFO", "--schedule", str(schedule)],
            env=self.env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.workers.append(process)
        return process

    def worker_log(self, index: int) -> str:
        logs = sorted(self.base.glob("worker-*.log"))
        return logs[index].read_text(errors="replace") if logs else ""

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and its pool children: no shutdown, no acks, like a machine lost."""
        kill_group(process)

    def stop_all(self) -> None:
        for process in self.workers:
            stop_group(process, grace=20)


@pytest.fixture
def deployment(tmp_path: Path, redis_url: str, redis_key_prefix: str) -> Iterator[Deployment]:
    deployment = Deployment(base=tmp_path, redis_url=redis_url, key_prefix=redis_key_prefix)
    deployment.write_config()
    try:
        yield deployment
    finally:
        deployment.stop_all()
