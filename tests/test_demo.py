"""`syndicate demo`, as a new user runs it: private Redis, a real worker, the sample partner polled."""
from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.celery_worker import ROOT
from worker.config import load_sources
from worker.local.demo import SOURCE_ID, _write_demo_config
from worker.http.ssrf import parse_networks, refusal_reason

pytestmark = pytest.mark.integration


def run_demo(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "CONFIG_DIR")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "worker.cli", "demo"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)


def test_demo_delivers_the_sample_article_once_across_two_runs(tmp_path: Path) -> None:
    first = run_demo(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "(private, stops with the demo)" in first.stdout
    assert "1 queued for ingest" in first.stdout
    row = next(line for line in first.stdout.splitlines() if "Coalition Begins" in line and "delivered" in line)
    article_id = row.split()[0]
    folder = tmp_path / "var" / "outlets" / "demo-files" / article_id
    page = (folder / "index.html").read_text()
    assert "From The Epoch Times</a>" in page and "Army photo by Sgt. Christopher Bigelow" in page
    assert json.loads((folder / "article.ninjs.json").read_text())["version"] == "1"

    second = run_demo(tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "unchanged    already delivered" in second.stdout
    log = (tmp_path / "var" / "outlets" / "demo-files" / "publish.log").read_text().splitlines()
    assert len(log) == 1
    assert not (tmp_path / "var" / "redis" / "redis.url").exists()  # the private Redis was stopped


def test_the_demo_partner_may_reach_loopback_on_its_own_port_only(tmp_path: Path) -> None:
    config_dir, _ = _write_demo_config(tmp_path, "http://127.0.0.1:8765/feed.xml")
    source = load_sources(config_dir / "sources.yaml")[SOURCE_ID]
    allowed = parse_networks(source.allow_private_networks)
    loopback = ipaddress.ip_address("127.0.0.1")
    assert refusal_reason(loopback, allowed, port=8765) is None
    # a redirect or feed link to another service on this machine (Redis, the console) is refused
    for other in (6379, 8000, 80):
        assert "on port 8765 only" in (refusal_reason(loopback, allowed, port=other) or ""), other
