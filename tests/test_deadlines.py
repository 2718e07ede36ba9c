"""One total deadline per outbound request, on real loopback peers that drip their answers (issue 13, item 1).

Each peer sends one byte a second, well inside the per-read timeout, so only a total deadline stops it;
it hangs up by itself after 30 s, so code without one ends too, and fails. The assertions are "stopped
within the deadline plus a generous margin" and the failure's name, never a tight time.
"""
from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.plugins.celery_worker import ROOT
from tests.support.slow_peer import Answer, SlowPeer, head, slow_body, slow_headers
from worker.config import Source
from worker.errors import FetchDeadlineError, OutletDeadlineError, TransientError
from worker.http.client import Client
from worker.http.deadline import Deadline, deadline_session
from worker.outlets.wordpress_client import Credentials, WordPressClient
from worker.outlets.wordpress_media import ImageDownloader
from worker.settings import Settings, load_settings

DEADLINE = 2.0
#: room for a loaded machine; still far below the 30 s the peer would hold a client without a deadline
MARGIN = 10.0
NO_ROBOTS = Answer(head(404, {"Content-Type": "text/plain"}, 9), b"not found")
PAGE = Answer(head(200, {"Content-Type": "text/html"}, 13), b"<p>a page</p>")


def partner(page: Answer, robots: Answer = NO_ROBOTS) -> Callable[[str, str], Answer]:
    return lambda method, path: robots if path == "/robots.txt" else page


def make_source() -> Source:
    return Source(id="partner", name="Partner", allowed_domains=["127.0.0.1"],
                  allow_private_networks=["127.0.0.1/8"], rate_limit_per_second=50, rate_limit_burst=50)


@pytest.fixture
def settings() -> Settings:
    # a per-read timeout (5 s) longer than the drip interval (1 s): only the total deadline can stop it
    return load_settings({"SYNDICATION_FETCH_TOTAL_TIMEOUT": str(int(DEADLINE)), "SYNDICATION_FETCH_TIMEOUT": "5"})


def timed(call: Callable[[], object]) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - handed back to the test to name
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


# --- partner fetches ---------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [slow_headers(), slow_body()], ids=["headers", "body"])
def test_a_dripping_page_is_cut_at_the_fetch_deadline(settings: Settings, answer: Answer) -> None:
    with SlowPeer(partner(answer)) as peer:
        took, error = timed(lambda: Client.local(settings).for_source(make_source()).page(peer.url("/a.html")))
        assert isinstance(error, FetchDeadlineError), error
        assert isinstance(error, TransientError)  # retried later, not given up on
        assert "total deadline" in error.reason and "SYNDICATION_FETCH_TOTAL_TIMEOUT" in error.reason
        assert took < DEADLINE + MARGIN
        assert (peer.wait_gone("/a.html").held_for or 0) < DEADLINE + MARGIN  # the connection let go too


def test_a_dripping_feed_is_cut_at_the_fetch_deadline(settings: Settings) -> None:
    with SlowPeer(partner(slow_body("application/rss+xml"))) as peer:
        took, error = timed(lambda: Client.local(settings).for_source(make_source()).resource(peer.url("/feed.xml")))
        assert isinstance(error, FetchDeadlineError), error
        assert took < DEADLINE + MARGIN


def test_a_dripping_robots_txt_spends_the_pages_deadline(settings: Settings) -> None:
    with SlowPeer(partner(PAGE, robots=slow_body("text/plain"))) as peer:
        took, error = timed(lambda: Client.local(settings).for_source(make_source()).page(peer.url("/a.html")))
        assert isinstance(error, FetchDeadlineError), error
        assert "/robots.txt" in error.reason
        assert took < DEADLINE + MARGIN
        assert [e.path for e in peer.exchanges] == ["/robots.txt"]  # the page was not asked for after it


def test_a_fast_partner_is_not_affected(settings: Settings) -> None:
    with SlowPeer(partner(PAGE)) as peer:
        page = Client.local(settings).for_source(make_source()).page(peer.url("/a.html"))
    assert page.body == b"<p>a page</p>"


def test_syndicate_extract_stops_at_the_fetch_deadline(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n  - id: partner\n    name: Partner\n    allowed_domains: [127.0.0.1]\n"
        "    allow_private_networks: [127.0.0.1/8]\n", encoding="utf-8")
    (config / "outlets.yaml").write_text("outlets: []\n", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"),
           "SYNDICATION_FETCH_TOTAL_TIMEOUT": str(int(DEADLINE)), "SYNDICATION_FETCH_TIMEOUT": "5"}
    with SlowPeer(partner(slow_body(give_up_after=40))) as peer:
        done = subprocess.run([sys.executable, "-m", "worker.cli", "extract", peer.url("/a.html"), "--source", "partner"],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        held = peer.wait_gone("/a.html").held_for
    assert done.returncode == 2, done.stderr
    assert "error: " in done.stderr and "total deadline" in done.stderr and "Traceback" not in done.stderr
    assert held is not None and held < DEADLINE + MARGIN  # measured by the peer: start-up time left out


# --- outlets and images ------------------------------------------------------------------------------

def test_a_dripping_wordpress_is_cut_at_the_outlets_timeout() -> None:
    def wordpress(method: str, path: str) -> Answer:
        if method == "HEAD":  # the site announces its REST API at once; the API itself drips
            return Answer(head(200, {"Link": f'<{peer.url("/wp-json/")}>; rel="https://api.w.org/"'}, 0))
        return slow_body("application/json")

    with SlowPeer(wordpress) as peer:
        client = WordPressClient(peer.url(""), Credentials("editor", "app password", "WP_PASSWORD"),
                                 timeout=DEADLINE, user_agent="test")
        took, error = timed(client.me)
        assert isinstance(error, OutletDeadlineError), error
        assert "GET /wp/v2/users/me" in error.reason and f"within {DEADLINE:g}s" in error.reason
        assert took < DEADLINE + MARGIN


def test_a_wordpress_dripping_its_headers_is_cut_too() -> None:
    with SlowPeer(lambda method, path: slow_headers()) as peer:
        client = WordPressClient(peer.url(""), Credentials("editor", "app password", "WP_PASSWORD"),
                                 timeout=DEADLINE, user_agent="test")
        took, error = timed(client.me)  # the first request is the HEAD that finds the REST API
        assert isinstance(error, OutletDeadlineError), error
        assert took < DEADLINE + MARGIN


def test_a_dripping_image_is_given_up_at_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    downloader = ImageDownloader(user_agent="test", timeout=DEADLINE, max_bytes=1_000_000,
                                 allow_private_networks=["127.0.0.1/8"])
    with SlowPeer(lambda method, path: slow_body("image/jpeg")) as peer, caplog.at_level(logging.WARNING):
        took, error = timed(lambda: downloader.fetch(peer.url("/lead.jpg")))
    assert error is None and took < DEADLINE + MARGIN
    assert "total deadline" in caplog.text  # the post goes out without the image, and the log says why


# --- the mechanism ----------------------------------------------------------------------------------

def test_an_inner_deadline_never_outlives_the_outer_one() -> None:
    with Deadline(1) as outer, Deadline(60) as inner:
        assert inner.expires_at == outer.expires_at


def test_without_a_deadline_the_session_behaves_as_plain_requests() -> None:
    with SlowPeer(lambda method, path: PAGE) as peer:
        assert deadline_session().get(peer.url("/"), timeout=5).content == b"<p>a page</p>"
