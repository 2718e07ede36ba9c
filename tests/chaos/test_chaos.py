"""Chaos: the pipeline on real Redis and PostgreSQL keeps its promise — every partner article stored once,
every stored version delivered once to every outlet — while workers are SIGKILLed, Redis restarts empty,
the database goes away for 30 s and an outlet for 2 minutes.

Counted twice: in the store (articles per partner URL, versions, ledger rows) and at the outlets (each
webhook receiver's accepted Idempotency-Keys and the item id it gave, which the ledger must name).
The harness is tests/chaos/harness.py; bench/chaos_long.py is the longer run.

To see a test fail when the code is wrong: CHAOS_BREAK=sweeper runs without the sweeper (the Redis
restart test then loses the work Redis held); see also tests/chaos/test_sweeper.py.
"""
from __future__ import annotations

import os
import random
import time

import pytest

from tests.chaos.harness import KILL_POINTS, ChaosOptions, ChaosRun
from tests.support.webhook_receiver import Reply

pytestmark = [pytest.mark.chaos, pytest.mark.postgres, pytest.mark.integration]

SEED = 20240607
OUTLET_OUTAGE = 120.0
DATABASE_OUTAGE = 30.0
KILLS = 20


def options(**overrides: object) -> ChaosOptions:
    base = ChaosOptions(seed=SEED, sweeper=os.environ.get("CHAOS_BREAK") != "sweeper")
    for name, value in overrides.items():
        setattr(base, name, value)
    return base


def assert_exactly_once(run: ChaosRun, timeout: float) -> None:
    audit = run.settle(timeout)
    report = run.report(audit)
    print(report)  # the figures, with -s
    assert audit.articles == audit.partner_urls, f"{audit.articles} articles for {audit.partner_urls} partner URLs\n{report}"
    assert audit.duplicated == [], f"duplicated\n{report}\n{run.diagnostics()}"
    assert audit.lost == [] and audit.stale == [] and audit.unfinished_rows == 0, f"lost\n{report}\n{run.diagnostics()}"
    assert audit.delivered == audit.expected_deliveries


def wait_until(check, what: str, run: ChaosRun, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{run.diagnostics()}")
        time.sleep(0.05)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("chaos_run", [options(articles=30)], indirect=True)
def test_twenty_sigkills_with_an_outlet_down_for_two_minutes(chaos_run: ChaosRun) -> None:
    run = chaos_run
    run.poll_now()
    run.outlet_down("hook-b")
    outage_started = time.monotonic()
    outage: dict[str, int] = {}

    def outlet_back() -> None:
        outage["knocks"] = run.outlet_proxies["hook-b"].knocks
        outage["waiting"] = sum(1 for d in run.store.deliveries(limit=100_000)
                                if d.outlet_id == "hook-b" and not d.state.is_final)
        run.outlet_up("hook-b")

    # every kill point several times, in an order fixed by the seed
    points = [KILL_POINTS[i % len(KILL_POINTS)] for i in range(KILLS)]
    random.Random(SEED).shuffle(points)
    for point in points:
        run.make_work(edits=2)
        run.kill_worker(point)
        if not outage and time.monotonic() - outage_started >= OUTLET_OUTAGE:
            outlet_back()
    if not outage:
        time.sleep(max(0.0, outage_started + OUTLET_OUTAGE - time.monotonic()))
        outlet_back()

    assert_exactly_once(run, timeout=300)
    reached = {point for point in run.kills if "not reached" not in point}
    assert sum(run.kills.values()) >= KILLS
    assert {"fetch", "store", "queueing", "accepted"} <= reached, run.kills
    # backed off: a delivery knocked at most once a second on average over the outage, not in a tight loop
    assert outage["waiting"] > 0 and 0 < outage["knocks"] <= outage["waiting"] * OUTLET_OUTAGE, outage
    assert run.receivers["hook-b"].accepted, "hook-b got nothing after it came back"


# slow outlets so the restart finds deliveries queued, running and waiting on a retry countdown
SLOW_OUTLETS = {
    "hook-a": [Reply(200, delay=0.3, accept=True)] * 200,
    "hook-b": [Reply(503, b"busy", {"Retry-After": "4"})] * 6 + [Reply(200, delay=0.3, accept=True)] * 200,
}


@pytest.mark.timeout(400)
@pytest.mark.parametrize("chaos_run", [options(articles=30, scripts=SLOW_OUTLETS)], indirect=True)
def test_redis_restart_mid_flight_loses_nothing(chaos_run: ChaosRun) -> None:
    run = chaos_run
    run.poll_now()
    wait_until(lambda: len(run.receivers["hook-a"].accepted) >= 8, "the first deliveries", run)
    run.restart_redis()

    assert_exactly_once(run, timeout=180)
    assert run.sweeps() > 0, "the sweeper re-queued nothing: was anything in flight when Redis restarted?"


@pytest.mark.timeout(400)
@pytest.mark.parametrize("chaos_run", [options(articles=30)], indirect=True)
def test_database_down_for_thirty_seconds(chaos_run: ChaosRun) -> None:
    run = chaos_run
    run.poll_now()
    hook_a = run.receivers["hook-a"]
    wait_until(lambda: len(hook_a.accepted) >= 10, "the first deliveries", run)
    # the next delivery is accepted at the outlet, and its answer held 2 s: the database goes away in
    # between, so the ledger write after the outlet accepted fails. An edit makes sure there is a next
    # delivery, however fast the first ones went through.
    hook_a.script(Reply(200, delay=2, accept=True))
    run.make_work(edits=1)
    wait_until(lambda: hook_a.scripted_left() == 0, "a delivery whose answer is held", run)
    run.database_down()
    edited = run.make_work(edits=3)  # the partner edits meanwhile; polls fail and retry until it returns
    time.sleep(DATABASE_OUTAGE)
    run.database_up()

    assert_exactly_once(run, timeout=180)
    assert edited, "no story was edited during the outage"
    audit = run.audit()
    assert audit.resends_absorbed >= 1, "the delivery accepted during the outage was not re-sent with its key"
    # retried until the database came back, not failed (and left to the sweeper)
    assert run.failed_tasks("StoreUnavailableError") == []
