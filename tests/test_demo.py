"""`syndicate demo`, as a new user runs it: private Redis, a real worker, the sample partner polled.

The demo is a deployment of its own under var/demo: after it, the operator's commands run with the
defaults (./config, ./var/syndication.db) see nothing of it.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.plugins.celery_worker import ROOT
from worker.config import load_sources
from worker.extract import extract_article
from worker.http.ssrf import parse_networks, refusal_reason
from worker.local.demo import FEED_PATH, SITE_ROOT, SOURCE_ID, DemoPaths, _write_demo_config, demo_environment
from worker.local.sample_site import SampleSite
from worker.settings import load_settings
from worker.store import Store

ARTICLE_PATH = "/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
IMAGE_PATH = "/theepochtimes/assets/2017/09/iraq-huwayjah-anbar-map-600x400.png"
CAPTION = ("Western Anbar and Huwayjah, the last two areas of Iraq where ISIS still held power when "
           "coalition-backed Iraqi forces began their attacks in September 2017.")
CREDIT = "Map: syndication-worker demo"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# what would point a `syndicate` command somewhere other than its defaults
DEPLOYMENT_VARIABLES = ("REDIS_URL", "DATABASE_URL", "CONFIG_DIR", "SYNDICATION_VAR_DIR",
                        "SYNDICATION_REDIS_KEY_PREFIX")


def syndicate(cwd: Path, *args: str, timeout: float = 240,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A `syndicate` command run as a user runs it in `cwd`: every setting at its default unless `env` names it."""
    env = {**{k: v for k, v in os.environ.items() if k not in DEPLOYMENT_VARIABLES}, **(env or {})}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "worker.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass
class DemoRuns:
    cwd: Path
    config_before: dict[str, str]
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]

    @property
    def demo(self) -> DemoPaths:
        return DemoPaths.under(self.cwd / "var")


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRuns]:
    """Two demo runs in a checkout-like folder holding the shipped config/, as after `make demo` twice."""
    cwd = tmp_path_factory.mktemp("checkout")
    shutil.copytree(ROOT / "config", cwd / "config")
    before = digest(cwd / "config")
    first = syndicate(cwd, "demo")
    assert first.returncode == 0, first.stdout + first.stderr
    second = syndicate(cwd, "demo")
    assert second.returncode == 0, second.stdout + second.stderr
    yield DemoRuns(cwd, before, first, second)


@pytest.mark.integration
def test_demo_delivers_the_sample_article_once_across_two_runs(demo_runs: DemoRuns) -> None:
    first, second = demo_runs.first, demo_runs.second
    assert "(private, stops with the demo)" in first.stdout
    assert "1 queued for ingest" in first.stdout
    row = next(line for line in first.stdout.splitlines() if "Coalition Begins" in line and "delivered" in line)
    article_id = row.split()[0]
    assert "Output: var/demo/outlets/demo-files/<article id>/index.html" in first.stdout
    folder = demo_runs.demo.outlet_dir / article_id
    page = (folder / "index.html").read_text()
    assert "From The Epoch Times</a>" in page and CREDIT in page
    assert json.loads((folder / "article.ninjs.json").read_text())["version"] == "1"

    assert "unchanged    already delivered" in second.stdout
    log = (demo_runs.demo.outlet_dir / "publish.log").read_text().splitlines()
    assert len(log) == 1
    assert not (demo_runs.demo.redis_dir / "redis.url").exists()  # the private Redis was stopped


@pytest.mark.integration
def test_after_the_demo_the_default_commands_see_only_config_and_the_default_store(demo_runs: DemoRuns) -> None:
    cwd = demo_runs.cwd
    # the demo wrote nothing where the defaults look: no default store, no outlet output, no Redis of its own
    assert sorted(p.name for p in (cwd / "var").iterdir()) == ["demo"]
    assert digest(cwd / "config") == demo_runs.config_before

    sources = syndicate(cwd, "sources", timeout=60)
    assert sources.returncode == 0, sources.stdout + sources.stderr
    rows = [line.split() for line in sources.stdout.splitlines()[1:]]
    assert [r[0] for r in rows] == list(load_sources(cwd / "config" / "sources.yaml"))
    # config/'s theepochtimes shares the demo source's id, and still shows no poll and no article of the demo
    for row in rows:
        assert row[1:] == ["manual", "only", "900s", "-", "-", "0", "0"], sources.stdout

    deliveries = syndicate(cwd, "deliveries", timeout=60)
    assert deliveries.returncode == 0, deliveries.stdout + deliveries.stderr
    assert "(no deliveries)" in deliveries.stdout, deliveries.stdout

    # the demo's own deployment, as its summary says to look at it, holds what it did
    demo = demo_runs.demo
    hint = (f"`SYNDICATION_VAR_DIR=var/demo CONFIG_DIR=var/demo/config DATABASE_URL={demo.database_url} "
            "syndicate sources`")
    assert hint in demo_runs.first.stdout
    own = {"SYNDICATION_VAR_DIR": "var/demo", "CONFIG_DIR": "var/demo/config", "DATABASE_URL": demo.database_url}
    demo_sources = syndicate(cwd, "sources", timeout=60, env=own)
    [demo_row] = [line.split() for line in demo_sources.stdout.splitlines()[1:]]
    assert demo_row[:2] == [SOURCE_ID, "ok"] and demo_row[-1] == "1", demo_sources.stdout
    assert "delivered   demo-files" in syndicate(cwd, "deliveries", timeout=60, env=own).stdout


@pytest.mark.integration
def test_the_demos_stored_article_has_its_lead_image_with_caption_and_credit_apart(demo_runs: DemoRuns) -> None:
    store = Store(demo_runs.demo.database_url)
    [article] = store.list_articles(source_id=SOURCE_ID)
    image = article.lead_image
    assert image is not None
    assert (image.caption, image.credit) == (CAPTION, CREDIT)
    # the picture the sample site ships, at the address the demo served it from (not a partner hotlink)
    assert urlsplit(image.url).hostname == "127.0.0.1" and urlsplit(image.url).path == IMAGE_PATH
    assert image.alt and image.alt != image.caption
    assert (image.width, image.height) == (600, 400)


def test_the_sample_site_serves_the_lead_image_as_an_image() -> None:
    site = SampleSite(SITE_ROOT)
    origin = site.start()
    try:
        with urllib.request.urlopen(f"{origin}{IMAGE_PATH}", timeout=10) as response:  # noqa: S310 - loopback
            content_type, body = response.headers["Content-Type"], response.read()
        with urllib.request.urlopen(f"{origin}{ARTICLE_PATH}", timeout=10) as response:  # noqa: S310
            page = response.read()
    finally:
        site.stop()
    assert content_type == "image/png"
    assert body.startswith(PNG_SIGNATURE) and body == (SITE_ROOT / IMAGE_PATH.lstrip("/")).read_bytes()
    assert 1_000 < len(body) < 20_000  # a few KB, shipped in the package
    # the page it serves names that picture as its lead image, caption and credit in separate elements
    article = extract_article(page, f"{origin}{ARTICLE_PATH}")
    assert article.lead_image is not None
    assert (article.lead_image.url, article.lead_image.caption, article.lead_image.credit) == (
        f"{origin}{IMAGE_PATH}", CAPTION, CREDIT)


def test_the_demo_keeps_its_config_store_and_output_under_var_demo(tmp_path: Path) -> None:
    paths = DemoPaths.under(tmp_path / "var")
    _write_demo_config(paths, f"http://127.0.0.1:8765{FEED_PATH}")
    demo = tmp_path / "var" / "demo"
    assert paths.database_url == f"sqlite:///{demo / 'syndication.db'}"
    assert sorted(p.name for p in paths.config_dir.iterdir()) == ["outlets.yaml", "sources.yaml"]
    assert f"directory: {demo / 'outlets' / 'demo-files'}" in (paths.config_dir / "outlets.yaml").read_text()
    assert paths.redis_dir.parent == demo


def test_the_demo_is_its_own_deployment_whatever_the_environment_names(tmp_path: Path) -> None:
    """An operator's DATABASE_URL and CONFIG_DIR are not the demo's; on their shared Redis it keeps apart."""
    operator = load_settings({"DATABASE_URL": "postgresql+psycopg://ops@db.internal/syndication",
                              "REDIS_URL": "redis://redis.internal:6379/0", "SYNDICATION_REDIS_KEY_PREFIX": "prod:",
                              "CONFIG_DIR": "/etc/syndication", "SYNDICATION_VAR_DIR": str(tmp_path / "var")})
    paths = DemoPaths.under(operator.var_dir)
    demo = load_settings(demo_environment(operator, paths, "redis://redis.internal:6379/0"))
    assert demo.database_url == f"sqlite:///{tmp_path / 'var' / 'demo' / 'syndication.db'}"
    assert (demo.config_dir, demo.var_dir) == (paths.config_dir, paths.root)
    assert demo.redis_key_prefix == "prod:demo:"
    # its private Redis is its own: no prefix needed
    private = load_settings({"SYNDICATION_VAR_DIR": str(tmp_path / "var")})
    assert load_settings(demo_environment(private, paths, "redis://127.0.0.1:1/0")).redis_key_prefix == ""


def test_the_demo_partner_may_reach_loopback_on_its_own_port_only(tmp_path: Path) -> None:
    paths = DemoPaths.under(tmp_path)
    _write_demo_config(paths, "http://127.0.0.1:8765/feed.xml")
    source = load_sources(paths.config_dir / "sources.yaml")[SOURCE_ID]
    allowed = parse_networks(source.allow_private_networks)
    loopback = ipaddress.ip_address("127.0.0.1")
    assert refusal_reason(loopback, allowed, port=8765) is None
    # a redirect or feed link to another service on this machine (Redis, the console) is refused
    for other in (6379, 8000, 80):
        assert "on port 8765 only" in (refusal_reason(loopback, allowed, port=other) or ""), other
