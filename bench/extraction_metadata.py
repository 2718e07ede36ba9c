#!/usr/bin/env python3
"""Metadata pass for bench/extraction.py: per-field accuracy against the hand-annotated truth.

    python bench/extraction_metadata.py

Prints one JSON line. The truth and the comparison rules are the test suite's own
(tests/test_metadata_truth.py: load_truth() when it exists, else its TRUTH dict, and compare()), so the
bench and the test can never disagree about what "correct" means. A field counts for a page only when
compare() scores it and the page's truth annotates it (the key is present; None means "the page shows
none"), so a field added to part of the set, such as tags, is scored on the pages that have it only.
A page whose extraction raises counts as wrong in every annotated field and is listed.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tests.test_metadata_truth as truth_module

FIELDS = ("headline", "authors", "published", "lead_image", "tags")


def host(url: str) -> str:
    name = (urlsplit(url).hostname or "").lower()
    return name[4:] if name.startswith("www.") else name


def run() -> dict:
    load_truth = getattr(truth_module, "load_truth", None)
    truth = load_truth() if load_truth is not None else truth_module.TRUTH
    counts = {field: [0, 0] for field in FIELDS}  # field: [correct, annotated]
    errors = []
    for page_id, expected in truth.items():
        try:
            results = truth_module.compare(page_id, expected)
        except Exception as exc:  # noqa: BLE001 - a crash is a miss in every field, and is listed
            errors.append({"page": page_id, "type": type(exc).__name__, "message": str(exc)[:160]})
            results = {}
        for field in results or FIELDS:
            if field in expected:
                tally = counts.setdefault(field, [0, 0])
                tally[0] += bool(results.get(field, (False,))[0])
                tally[1] += 1
    return {"source": "load_truth()" if load_truth is not None else "TRUTH", "pages": len(truth),
            "hosts": len({host(t["url"]) for t in truth.values()}),
            "fields": {f: c for f, c in counts.items() if c[1]}, "errors": errors}


if __name__ == "__main__":
    print(json.dumps(run()))
