#!/usr/bin/env python3
"""Article-body extraction: our extractor against trafilatura on the shared benchmark, in one run.

    python bench/extraction.py [--bench-dir DIR] [--rounds N] [--limit N]

Runs the benchmark's own scorer (eval_extraction.py, in --bench-dir, default ../shared/bench from the
repository root) once per extractor and round, each in a fresh interpreter, alternating ours and
trafilatura's, so both see the same machine load; the speed reported is each one's best round (the
least disturbed). Quality figures do not vary between rounds. It prints figures only: judging them is
for the reader (the targets are in the issue), so a slow or noisy machine never fails a build.

The two extractors are defined here, so the comparison does not depend on adapters living elsewhere:
ours is worker.extract.extract_article(html, url).body_text; trafilatura runs with favor_precision
and comments off, its best setting on this benchmark.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
THIS = Path(__file__).resolve()
EXTRACTORS = {"ours": f"{THIS}:ours_body_text", "trafilatura": f"{THIS}:trafilatura_body_text"}


def ours_body_text(html: str, url: str | None) -> str:
    from worker.extract import extract_article

    return extract_article(html, url or "http://example.invalid/").body_text


def trafilatura_body_text(html: str, url: str | None) -> str:
    import trafilatura

    return trafilatura.extract(html, url=url, favor_precision=True, include_comments=False) or ""


def run_scorer(scorer: Path, extractor: str, limit: int | None) -> dict:
    """One scorer run in a fresh interpreter; its summary line (--json) as a dict."""
    command = [sys.executable, str(scorer), "--extractor", extractor, "--json", "--bootstrap", "0"]
    if limit:
        command += ["--limit", str(limit)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the scorer failed for {extractor}:\n{done.stderr.strip()}")
    summary = next((line for line in done.stdout.splitlines() if line.startswith("{")), None)
    if summary is None:
        raise SystemExit(f"the scorer printed no JSON summary for {extractor}:\n{done.stdout.strip()}")
    return json.loads(summary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench-dir", type=Path, default=REPO.parent / "shared" / "bench",
                        help="directory holding eval_extraction.py and article-extraction/ (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="runs per extractor; the best speed counts")
    parser.add_argument("--limit", type=int, help="score only the first N pages")
    args = parser.parse_args(argv)

    scorer = args.bench_dir / "eval_extraction.py"
    if not scorer.is_file():
        print(f"benchmark not found: {scorer} does not exist (point --bench-dir at the directory "
              "holding eval_extraction.py and article-extraction/)", file=sys.stderr)
        return 2

    best: dict[str, dict] = {}
    for _ in range(max(args.rounds, 1)):
        for name, extractor in EXTRACTORS.items():
            result = run_scorer(scorer, extractor, args.limit)
            if name not in best or result["pages_per_s"] > best[name]["pages_per_s"]:
                best[name] = result

    print(f"{'extractor':<12} {'F1':>6} {'prec':>6} {'recall':>6} {'pages/s':>8} {'errors':>6}")
    for name, result in best.items():
        print(f"{name:<12} {result['f1']:6.3f} {result['precision']:6.3f} {result['recall']:6.3f} "
              f"{result['pages_per_s']:8.1f} {result['errors']:6d}")
    ratio = best["ours"]["pages_per_s"] / best["trafilatura"]["pages_per_s"]
    print(f"speed ratio (ours / trafilatura): {ratio:.2f}  [{best['ours']['pages']} pages, "
          f"best of {max(args.rounds, 1)} rounds each]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
