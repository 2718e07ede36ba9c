"""The whole path on real parts: a loopback partner site, a real Celery worker on real Redis, SQLite,
and the files outlet. `syndicate import --wait` is run as an operator runs it."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from pytest_httpserver import HTTPServer

from tests.plugins.celery_worker import ROOT, Deployment
from worker.store import DeliveryState, Store

pytestmark = pytest.mark.integration

FIXTURE = ROOT / "tests/fixtures/partners/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
PAGE_PATH = "/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
CANONICAL = "http://partner.test" + PAGE_PATH


def serve(httpserver: HTTPServer, html: str) -> str:
    httpserver.clear()
    httpserver.expect_request(PAGE_PATH).respond_with_data(html, content_type="text/html; charset=utf-8")
    return httpserver.url_for(PAGE_PATH)


def syndicate(deployment: Deployment, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", *args], env=deployment.env(), cwd=ROOT,
        capture_output=True, text=True, timeout=timeout,
    )


def publish_log(deployment: Deployment) -> list[dict]:
    log = deployment.outlet_dir / "publish.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_import_wait_delivers_once_per_version(deployment: Deployment, httpserver: HTTPServer) -> None:
    html = FIXTURE.read_text(encoding="utf-8")
    url = serve(httpserver, html)
    deployment.start_worker()

    first = syndicate(deployment, "import", url, "--source", "theepochtimes", "--wait")
    assert first.returncode == 0, first.stderr
    assert "delivered to files" in first.stderr
    article_id = first.stdout.strip().splitlines()[-1]

    store = Store(deployment.database_url)
    article = store.get_article(article_id)
    assert article is not None and article.version == 1
    assert article.url == CANONICAL
    folder = deployment.outlet_dir / article_id
    ninjs = json.loads((folder / "v1.ninjs.json").read_text())
    assert ninjs["headlines"][0]["value"] == "Coalition Begins Clearing Out Last ISIS Pockets in Iraq"
    page = (folder / "v1.html").read_text()
    assert f'<a href="{CANONICAL}" rel="nofollow">From The Epoch Times</a>' in page
    assert "Army photo by Sgt. Christopher Bigelow" in page
    assert len(publish_log(deployment)) == 1

    again = syndicate(deployment, "import", url, "--source", "theepochtimes", "--wait")
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stderr and "nothing to deliver" in again.stderr
    assert [a.version for a in store.versions(article_id)] == [1]
    assert len(publish_log(deployment)) == 1
    assert len(store.deliveries(article_id=article_id)) == 1

    serve(httpserver, html.replace("cleared 11 villages", "cleared 12 villages"))
    changed = syndicate(deployment, "import", url, "--source", "theepochtimes", "--wait")
    assert changed.returncode == 0, changed.stderr
    assert [a.version for a in store.versions(article_id)] == [1, 2]
    assert "cleared 12 villages" in (folder / "v2.html").read_text()
    assert "cleared 12 villages" in (folder / "index.html").read_text()
    assert [(e["article_id"], e["version"]) for e in publish_log(deployment)] == [(article_id, 1), (article_id, 2)]
    rows = store.deliveries(article_id=article_id)
    assert sorted((r.version, r.state) for r in rows) == [(1, DeliveryState.DELIVERED), (2, DeliveryState.DELIVERED)]


def test_worker_killed_mid_delivery_is_delivered_once_by_the_next(deployment: Deployment, httpserver: HTTPServer) -> None:
    hold = deployment.base / "hold"
    hold.mkdir()
    (hold / "hold").touch()
    deployment.write_config(
        "outlets:\n"
        "  - id: files\n"
        "    kind: tests.support.slow_outlet:SlowFilesOutlet\n"
        f"    directory: {deployment.outlet_dir}\n"
        f"    hold_dir: {hold}\n"
    )
    # Redis hands an unacknowledged task to another worker after the visibility timeout; shortened
    # here from the production hour so the test takes seconds (README: Recovery after a crash)
    deployment.visibility_timeout = 4
    url = serve(httpserver, FIXTURE.read_text(encoding="utf-8"))
    first_worker = deployment.start_worker()
    deployment.app().send_task("syndication.ingest", ("theepochtimes", url), queue="ingest")

    started = hold / "started.log"
    deadline = time.monotonic() + 60
    while not (started.exists() and started.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started.exists(), deployment.worker_log(0)
    deployment.kill(first_worker)
    assert publish_log(deployment) == []  # killed before the outlet wrote anything

    (hold / "hold").unlink()
    deployment.start_worker()
    store = Store(deployment.database_url)
    deadline = time.monotonic() + 90
    rows = []
    while time.monotonic() < deadline:
        rows = store.deliveries()
        if rows and rows[0].state == DeliveryState.DELIVERED:
            break
        time.sleep(0.3)
    assert len(rows) == 1 and rows[0].state == DeliveryState.DELIVERED, deployment.worker_log(-1)
    assert rows[0].attempts == 2  # the killed attempt and the one that finished
    assert len(started.read_text().splitlines()) == 2
    time.sleep(3)  # give a duplicate, if there were one, time to show up
    assert len(publish_log(deployment)) == 1
    articles = store.list_articles()
    assert len(articles) == 1 and [a.version for a in store.versions(articles[0].id)] == [1]


def test_an_import_is_recorded_in_the_store_before_it_is_queued(deployment: Deployment, httpserver: HTTPServer) -> None:
    """No worker runs: the message waits in Redis, and the store already holds the planned link the
    sweeper would re-queue if Redis lost the message."""
    url = serve(httpserver, FIXTURE.read_text(encoding="utf-8"))
    result = syndicate(deployment, "import", url, "--source", "theepochtimes")
    assert result.returncode == 0, result.stderr
    link = Store(deployment.database_url).known_link("theepochtimes", url)
    assert link is not None and link.last_planned_at is not None and link.last_checked_at is None


def test_non_html_response_fails_with_reason_and_is_recorded(deployment: Deployment, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/report.pdf").respond_with_data(b"%PDF-1.4 ...", content_type="application/pdf")
    deployment.start_worker()
    result = syndicate(deployment, "import", httpserver.url_for("/report.pdf"), "--source", "theepochtimes", "--wait")
    assert result.returncode == 1
    assert "not an HTML page" in result.stderr
    failures = Store(deployment.database_url).ingest_failures()
    assert [(f.code, f.url) for f in failures] == [("not_html", httpserver.url_for("/report.pdf"))]


def test_transient_errors_retry_with_backoff_then_succeed(deployment: Deployment, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request(PAGE_PATH).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(PAGE_PATH).respond_with_data(
        FIXTURE.read_text(encoding="utf-8"), content_type="text/html; charset=utf-8")
    deployment.start_worker()
    result = syndicate(deployment, "import", httpserver.url_for(PAGE_PATH), "--source", "theepochtimes", "--wait")
    assert result.returncode == 0, result.stderr
    assert "will retry" in result.stderr and "delivered to files" in result.stderr
    assert len(httpserver.log) == 2
    assert Store(deployment.database_url).ingest_failures() == []


def test_transient_errors_give_up_after_max_retries_and_record_it(deployment: Deployment, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/down.html").respond_with_data("down", status=502)
    deployment.start_worker()
    result = syndicate(deployment, "import", httpserver.url_for("/down.html"), "--source", "theepochtimes", "--wait")
    assert result.returncode == 1
    assert len(httpserver.log) == 3  # the first try and SYNDICATION_MAX_RETRIES=2 retries
    failures = Store(deployment.database_url).ingest_failures()
    assert len(failures) == 1 and failures[0].code == "fetch_failed"
    assert "gave up after 2 retries" in failures[0].last_error and "HTTP 502" in failures[0].last_error


def test_waiting_out_a_backed_off_host_leaves_the_whole_retry_budget(
        deployment: Deployment, httpserver: HTTPServer) -> None:
    """Waits are not failures: after waiting out a partner's back-off (which Celery counts as retries too),
    the task still retries two failures (SYNDICATION_MAX_RETRIES=2) and succeeds on the third try."""
    import redis

    from worker.http.ratelimit import RedisRateLimiter

    httpserver.expect_ordered_request(PAGE_PATH).respond_with_data("busy", status=502)
    httpserver.expect_ordered_request(PAGE_PATH).respond_with_data("busy", status=502)
    httpserver.expect_ordered_request(PAGE_PATH).respond_with_data(
        FIXTURE.read_text(encoding="utf-8"), content_type="text/html; charset=utf-8")
    url = httpserver.url_for(PAGE_PATH)
    deployment.extra_env["SYNDICATION_FETCH_MAX_WAIT"] = "0"  # any back-off is waited out by a retry
    deployment.start_worker()
    limiter = RedisRateLimiter(redis.Redis.from_url(deployment.redis_url), deployment.key_prefix)
    limiter.back_off(httpserver.host, 5)  # as a partner's Retry-After would: about 3 waits of up to 2 s
    result = syndicate(deployment, "import", url, "--source", "theepochtimes", "--wait")
    assert result.returncode == 0, result.stderr
    assert "backing off" in deployment.worker_log(0)
    assert len(httpserver.log) == 3
    assert Store(deployment.database_url).ingest_failures() == []


def test_permanent_errors_are_not_retried(deployment: Deployment, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/missing.html").respond_with_data("no", status=404, content_type="text/html")
    deployment.start_worker()
    result = syndicate(deployment, "import", httpserver.url_for("/missing.html"), "--source", "theepochtimes", "--wait")
    assert result.returncode == 1 and "HTTP 404" in result.stderr
    time.sleep(2)  # a retry, if one were scheduled, would have come by now (backoff max is 2 s)
    assert len(httpserver.log) == 1
