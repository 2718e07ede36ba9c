"""Where a benchmark's worker CPU went, by pipeline stage: py-spy's samples → milliseconds per article.

Why py-spy: a deterministic profiler (cProfile) slows Python code (SQLAlchemy, Celery) several times more
than C code (lxml), so its shares are not the real ones, and an in-process SIGPROF sampler loses the
samples that land in long C calls. py-spy reads the workers' stacks from outside, at a fixed rate, and
counts only busy samples (a thread waiting on a socket or a lock is idle), which is CPU time in all but
name. A sample goes to the stage of the innermost frame of its stack that belongs to one, by the file its
code is in; the first rule that matches wins.
So lxml's C code called from worker/extract counts as extraction, a socket read under redis-py as broker,
SQLAlchemy's work for worker/store as store. Stages: extraction (worker.extract and the parsers it
drives), fingerprint (the near-duplicate MinHash of each body), images, serialization (json, pydantic, the schema), store
(SQLAlchemy, sqlite3/psycopg, worker.store), fetch (worker.http, requests, urllib3), outlet
(worker.outlets, signing), broker (Celery, kombu, redis-py, billiard, the task wrappers), config, the
flow's own code, and other (a stack with no frame of ours or of the libraries named).
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

#: (stage, pattern on a frame's file path); first match wins
#: py-spy names a library's file from its package ("kombu/utils/eventio.py") and the project's by path, so
#: every pattern matches a path segment: at the start or after a slash
def _segments(pattern: str) -> re.Pattern[str]:
    return re.compile("|".join("(?:^|/)" + alt[1:] if alt.startswith("/") else alt for alt in pattern.split("|")))


RULES: list[tuple[str, re.Pattern[str]]] = [(stage, _segments(pattern)) for stage, pattern in [
    ("images", r"worker/flow/images\.py|worker/http/images\.py|worker/store/images\.py|/PIL/"),
    # the near-duplicate signature of each stored body (MinHash): the ingest's, not extraction's
    ("fingerprint", r"worker/fingerprint\.py|/datasketch/|/numpy/|/scipy/"),
    ("extraction", r"worker/extract/|/trafilatura/|/justext/|/htmldate/|/courlan/|/lxml/"
                   r"|/charset_normalizer/|/dateutil/|/re2|/bs4/"),
    ("serialization", r"/json/|/pydantic|worker/schema/"),
    ("store", r"/sqlalchemy/|/sqlite3/|/psycopg|worker/store/|/alembic/"),
    ("fetch", r"worker/http/|/requests/|/urllib3/|/ssl\.py|/socket\.py|/http/client\.py|/idna/|/certifi/|/protego"),
    ("outlet", r"worker/outlets/|/standardwebhooks/|/hmac\.py|/nh3"),
    ("broker", r"/celery/|/kombu/|/redis/|/billiard/|/vine/|/amqp/|worker/tasks\.py|worker/task_metrics\.py"
               r"|/prometheus_client/"),
    ("config", r"worker/config/|/yaml/"),
    ("flow", r"worker/flow/"),
]]
STAGES = [stage for stage, _ in RULES] + ["other"]


def stage_of_file(filename: str) -> str | None:
    for stage, pattern in RULES:
        if pattern.search(filename):
            return stage
    return None


def classify(frames: list[str]) -> tuple[str, str]:
    """(stage, place) of a stack, outermost frame first: its innermost frame that belongs to a stage.
    A frame is py-spy's `function (path/to/file.py:line)`."""
    for frame in reversed(frames):
        name, _, where = frame.rpartition(" (")
        filename = where.rsplit(":", 1)[0]
        stage = stage_of_file(filename)
        if stage is not None:
            return stage, f"{filename.rsplit('/', 1)[-1]}:{name}"
    return "other", frames[-1] if frames else "?"


def load(path: Path, rate: int) -> tuple[dict[str, float], Counter[str]]:
    """(CPU seconds per stage, seconds per place) from py-spy's raw output: one collapsed stack a line,
    `frame;frame;...;frame count`, active (non-idle) samples only, `rate` samples a second."""
    totals: Counter[str] = Counter()
    places: Counter[str] = Counter()
    if not path.exists():
        return {}, places
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        stage, place = classify(frames)
        seconds = int(count) / rate
        totals[stage] += seconds
        places[f"{stage} {place}"] += seconds
    return dict(totals), places


def report(path: Path, articles: int, rate: int) -> str:
    """Lines: CPU ms per article by stage, and the heaviest places of the stages outside extraction."""
    totals, places = load(path, rate)
    per = 1000 / max(articles, 1)
    whole = sum(totals.values())
    if not whole:
        return f"    profile: no samples in {path} (is py-spy allowed to attach? it needs ptrace)"
    lines = [f"    profile (py-spy, {rate} samples/s of every worker process, busy samples only): "
             f"{whole * per:.1f} ms per article"]
    lines.append("      " + "  ".join(f"{stage} {totals.get(stage, 0.0) * per:.1f}" for stage in STAGES))
    outside = whole - totals.get("extraction", 0.0)
    lines.append(f"      outside extraction: {outside * per:.1f} ms per article ({outside / whole:.0%})")
    for stage in ("store", "broker", "fetch", "serialization", "outlet", "other"):
        heaviest = [(seconds, place.split(" ", 1)[1]) for place, seconds in places.most_common()
                    if place.startswith(stage + " ")][:4]
        if heaviest:
            lines.append(f"      {stage}: " + "; ".join(f"{place} {seconds * per:.1f}" for seconds, place in heaviest))
    return "\n".join(lines)
