"""`syndicate demo`, as a new user runs it: private Redis, a real worker, the sample partner polled."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.celery_worker import ROOT

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
