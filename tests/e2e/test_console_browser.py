"""The operator's console in a real browser (headless Debian Chromium) against the real server, a real
Celery worker on real Redis, SQLite, a loopback partner site and the files outlet.

One story, as an operator lives it: log in, import the partner page from the form, watch it arrive,
read it as the outlet shows it, find the delivery that failed while the outlet was down, bring the
outlet back, press Retry, and see it delivered once. Then a hostile partner page and a hostile URL:
shown as text on every page, and not one script dialog fires.
"""
from __future__ import annotations

import json
import re
import time

import pytest
from pytest_httpserver import HTTPServer

from tests.e2e.hostile_page import HEADLINE, hostile_html
from tests.plugins.browser import screenshot
from tests.plugins.celery_worker import ROOT, Deployment
from worker.store import DeliveryState, Store

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

FIXTURE = ROOT / "tests/fixtures/partners/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
PAGE_PATH = "/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
HEADLINE_ETT = "Coalition Begins Clearing Out Last ISIS Pockets in Iraq"
CREDIT = "Army photo by Sgt. Christopher Bigelow"


def publish_log(deployment: Deployment) -> list[dict]:
    log = deployment.outlet_dir / "publish.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []


def wait_for(condition, timeout: float = 60, message: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(message or "condition not met in time")


def import_from_form(page, base: str, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/console/import")
    page.fill("#url", url)
    page.select_option("#source_id", "theepochtimes")
    page.click("#import-button")
    expect(page).to_have_url(re.compile(r"/console/imports/[0-9a-f-]+$"))


def test_operator_imports_reads_and_replays_a_failed_delivery(
    deployment: Deployment, httpserver: HTTPServer, live_server, browser_page,  # type: ignore[no-untyped-def]
) -> None:
    page = browser_page
    httpserver.expect_request(PAGE_PATH).respond_with_data(
        FIXTURE.read_text(encoding="utf-8"), content_type="text/html; charset=utf-8")
    httpserver.expect_request("/hostile.html").respond_with_data(hostile_html(), content_type="text/html")
    httpserver.expect_request(re.compile(".*")).respond_with_data("no such page", status=404, content_type="text/html")
    # the outlet is down from the start: its folder is a file, so every write fails (a transient error)
    deployment.outlet_dir.parent.mkdir(parents=True, exist_ok=True)
    deployment.outlet_dir.write_text("not a folder")
    deployment.start_worker()
    server = live_server(deployment)
    store = Store(deployment.database_url)

    # log in: the console sends an anonymous visitor to the login form, and back after it
    page.goto(f"{server.url}/console/deliveries")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    screenshot(page, "01-login")
    page.fill("#token", "not the token")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("not the API token")
    page.fill("#token", server.token)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/console/deliveries")
    cookie = next(c for c in page.context.cookies() if c["name"] == "syndication_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # import from the form and watch it arrive (the page refreshes itself until it is stored)
    import_from_form(page, server.url, httpserver.url_for(PAGE_PATH))
    expect(page.locator("#import-state")).to_have_attribute("data-state", "stored", timeout=60_000)
    expect(page.locator("#import-article")).to_contain_text(HEADLINE_ETT)
    screenshot(page, "02-import-stored")

    # the article as the outlet shows it, beside the extracted fields and the link to the original
    page.click("#import-article a")
    expect(page.locator("#field-headline")).to_have_text(HEADLINE_ETT)
    expect(page.locator("#field-byline")).to_contain_text("Henry Bevington")
    expect(page.locator("#field-credit")).to_contain_text(CREDIT)
    expect(page.locator("#field-attribution")).to_have_text("From The Epoch Times")
    expect(page.locator("#original-link")).to_have_attribute("href", "http://partner.test" + PAGE_PATH)
    outlet = page.frame_locator("iframe.outlet-frame")
    expect(outlet.locator("h1")).to_have_text(HEADLINE_ETT)
    expect(outlet.locator(".byline")).to_contain_text("Henry Bevington")
    expect(outlet.locator("figure.lead-image img")).to_have_attribute("src", re.compile(r"mosul-artillery"))
    expect(outlet.locator("figure.lead-image figcaption")).to_contain_text("Paratroopers engage ISIS terrorists")
    expect(outlet.locator("figure.lead-image .credit")).to_contain_text(CREDIT)
    expect(outlet.locator(".article-body")).to_contain_text("Iraqi forces cleared 11 villages")
    expect(outlet.locator(".attribution")).to_have_text("From The Epoch Times")
    screenshot(page, "03-article")

    # the outlet stays down: after the worker's retries the delivery ends dead (or failed), with the reason
    article_id = store.list_articles()[0].id
    given_up = (DeliveryState.FAILED, DeliveryState.DEAD)
    wait_for(lambda: [d.state in given_up for d in store.deliveries(article_id=article_id)] == [True],
             message=f"delivery did not end failed or dead:\n{deployment.worker_log(-1)}")
    delivery = store.deliveries(article_id=article_id)[0]
    page.goto(f"{server.url}/console/")
    expect(page.locator(f"#delivery-{delivery.id}")).to_contain_text("cannot write to")
    screenshot(page, "04-dashboard-failing")
    page.goto(f"{server.url}/console/deliveries?state={delivery.state.value}")
    row = page.locator(f"#delivery-{delivery.id}")
    expect(row).to_contain_text(delivery.state.value)
    screenshot(page, "05-deliveries-failed")
    assert publish_log(deployment) == []

    # bring the outlet back and press Retry: delivered, and written exactly once
    deployment.outlet_dir.unlink()
    row.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_contain_text(f"Delivery {delivery.id} was queued again")
    wait_for(lambda: store.delivery_by_id(delivery.id).state == DeliveryState.DELIVERED,  # type: ignore[union-attr]
             message=f"the retried delivery was not delivered:\n{deployment.worker_log(-1)}")
    page.goto(f"{server.url}/console/deliveries")
    expect(page.locator(f"#delivery-{delivery.id}")).to_contain_text("delivered")
    expect(page.locator(f"#delivery-{delivery.id} button")).to_have_count(0)
    screenshot(page, "06-deliveries-delivered")
    time.sleep(1)  # a duplicate delivery, were there one, would show up by now
    assert [(e["article_id"], e["version"]) for e in publish_log(deployment)] == [(article_id, 1)]
    assert (deployment.outlet_dir / article_id / "v1.html").is_file()

    # hostile content: a partner page full of payloads, and a URL that is one
    import_from_form(page, server.url, httpserver.url_for("/hostile.html"))
    expect(page.locator("#import-state")).to_have_attribute("data-state", "stored", timeout=60_000)
    expect(page.locator("#import-article a")).to_have_text(HEADLINE)
    page.click("#import-article a")
    expect(page.locator("h1.article-title")).to_have_text(HEADLINE)
    expect(page.frame_locator("iframe.outlet-frame").locator("h1")).to_have_text(HEADLINE)
    screenshot(page, "07-hostile-article")
    hostile_url = httpserver.url_for("/x") + '"><img src=x onerror=alert(7)><script>alert(8)</script>'
    import_from_form(page, server.url, hostile_url)
    expect(page.locator(".url").first).to_have_text(hostile_url)
    expect(page.locator("#import-state")).to_have_attribute("data-state", "failed", timeout=60_000)
    for path in ("/console/", "/console/articles", "/console/deliveries"):
        page.goto(f"{server.url}{path}")
        expect(page.locator("h1")).to_be_visible()
    page.goto(f"{server.url}/console/")
    expect(page.locator("#ingest-failures")).to_contain_text("onerror=alert(7)")
    screenshot(page, "08-dashboard-hostile")
    assert page.dialogs == [], f"a script ran in the console: {page.dialogs}"
    assert page.locator("img[src=x]").count() == 0
