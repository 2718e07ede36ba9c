#!/usr/bin/env python3
"""The long chaos run: many SIGKILLs, several Redis restarts and database outages, an outlet outage,
in one run of the whole pipeline on real Redis and PostgreSQL; prints the figures.

    python bench/chaos_long.py [--articles 100] [--kills 100] [--redis-restarts 3] [--db-outages 2]
                               [--db-outage-seconds 30] [--outlet-outage-seconds 120] [--seed N]

The same harness as the CI-sized suite (tests/chaos/harness.py): a generated partner site, `syndicate
worker` processes and a beat, a private Redis restarted empty on the same port, PostgreSQL
(TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test) behind a proxy that takes
it away, two webhook outlets that dedupe on Idempotency-Key. Faults are spread over the kills: the Redis
restarts and database outages fall between kills, the outlet `hook-b` is down from the start for its
outage. At the end everything must be stored once and delivered once per outlet per version; the exit
status is 1 when anything was lost or duplicated.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from tests.chaos.harness import KILL_POINTS, ChaosOptions, ChaosRun

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--redis-restarts", type=int, default=3)
    parser.add_argument("--db-outages", type=int, default=2)
    parser.add_argument("--db-outage-seconds", type=float, default=30)
    parser.add_argument("--outlet-outage-seconds", type=float, default=120)
    parser.add_argument("--seed", type=int, default=20240607)
    parser.add_argument("--settle-timeout", type=float, default=600)
    args = parser.parse_args()

    admin_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    schema = f"chaos_long_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database_url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
    base = Path(tempfile.mkdtemp(prefix="chaos-long-"))
    rng = random.Random(args.seed)
    points = [KILL_POINTS[i % len(KILL_POINTS)] for i in range(args.kills)]
    rng.shuffle(points)
    # which kills are followed by a Redis restart or a database outage
    slots = rng.sample(range(1, max(2, args.kills)), min(args.kills - 1, args.redis_restarts + args.db_outages))
    redis_after = set(slots[:args.redis_restarts])
    db_after = set(slots[args.redis_restarts:])

    run = ChaosRun(base, database_url.render_as_string(hide_password=False),
                   ChaosOptions(articles=args.articles, seed=args.seed))
    print(f"chaos run in {base}", flush=True)
    try:
        run.start()
        run.poll_now()
        run.outlet_down("hook-b")
        outage_started = time.monotonic()
        outlet_back = args.outlet_outage_seconds <= 0
        for number, point in enumerate(points, start=1):
            run.make_work(edits=2)
            run.kill_worker(point)
            if number in redis_after:
                run.make_work(edits=3)
                time.sleep(1.0)
                run.restart_redis()
            if number in db_after:
                run.make_work(edits=3)
                run.database_down()
                time.sleep(args.db_outage_seconds)
                run.database_up()
            if not outlet_back and time.monotonic() - outage_started >= args.outlet_outage_seconds:
                run.outlet_up("hook-b")
                outlet_back = True
            if number % 10 == 0:
                print(f"{run.elapsed:6.0f}s: {number} kills", flush=True)
        if not outlet_back:
            time.sleep(max(0.0, outage_started + args.outlet_outage_seconds - time.monotonic()))
            run.outlet_up("hook-b")
        audit = run.settle(args.settle_timeout)
        print(run.report(audit))
        print("\n".join(run.events))
        failed = bool(audit.lost or audit.duplicated or audit.stale or audit.unfinished_rows)
        if failed:
            print(run.diagnostics())
        return 1 if failed else 0
    finally:
        run.stop()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
