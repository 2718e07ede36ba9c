#!/usr/bin/env python3
"""Robustness pass for bench/extraction.py: our extractor on every page of the benchmark corpora.

    python bench/extraction_robustness.py --bench-dir DIR [--corpus NAME ...] [--limit N]

Prints one JSON line: per corpus the pages, refusals (ExtractionError, the extractor's documented way of
saying "no article here"; listed with the reason), every other exception (a bug: the acceptance says
there are none) and the per-page times. All pages run in this one interpreter, one after another, as a
worker process sees them; one throwaway page is extracted first, so one-time costs (lazy imports,
compiled patterns) are not charged to whichever page comes first. Pages are decoded exactly as each
corpus's scorer decodes them, so a page that fails here fails there too.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from worker.errors import ExtractionError
from worker.extract import extract_article
from worker.extract.document import parse

sys.path.insert(0, str(REPO / "bench"))
from extraction import page_url  # noqa: E402 - the same URL the quality runs give ours
WARM_UP = "<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>" + (
    "<p>One paragraph of text that exists only to load what extraction loads lazily.</p>" * 5
) + "</article></body></html>"


def article_extraction_pages(data: Path) -> Iterator[tuple[str, str, str | None]]:
    """(page id, html, url) in eval_extraction.py's order and decoding."""
    truth = json.loads((data / "ground-truth.json").read_text("utf8"))
    for item_id in sorted(truth):
        with gzip.open(data / "html" / f"{item_id}.html.gz", "rt", encoding="utf8") as f:
            yield item_id, f.read(), truth[item_id].get("url")


def trafilatura_eval_pages(data: Path) -> Iterator[tuple[str, str, str | None]]:
    """(page url, html, url) in eval_snippets.py's order and decoding."""
    items = json.loads((data / "snippets.json").read_text("utf8"))
    for url, item in sorted(items.items()):
        html = gzip.decompress((data / "html" / (item["file"] + ".gz")).read_bytes()).decode("utf8", "replace")
        yield url, html, url


_WORD = re.compile(r"\w+")
# scripts written without spaces between words: every run of them is one "word" to \w+
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")


def _words(text: str) -> set[str]:
    text = unicodedata.normalize("NFC", text.replace("\xad", "").replace("\u200b", ""))
    return {w for w in _WORD.findall(text) if not _UNSPACED.search(w)}


def fused_words(html: str, body_text: str) -> int:
    """Words of body_text that the page's text never has, split at element edges nor joined across
    them: two words run together by extraction ("HBO Goand")."""
    texts = list(parse(html).itertext())
    page = _words(" ".join(texts)) | _words("".join(texts))
    return sum(1 for w in _WORD.findall(unicodedata.normalize("NFC", body_text)) if w not in page
               and not _UNSPACED.search(w))


CORPORA = {"article-extraction": article_extraction_pages, "trafilatura-eval": trafilatura_eval_pages}


def run(bench_dir: Path, corpora: list[str], limit: int | None) -> dict:
    try:
        extract_article(WARM_UP, page_url(None))
    except ExtractionError:
        pass
    report: dict = {}
    for corpus in corpora:
        pages = 0
        refusals, crashes, times = [], [], []
        fused = {"words": 0, "pages": 0}
        for n, (page_id, html, url) in enumerate(CORPORA[corpus](bench_dir / corpus)):
            if limit is not None and n >= limit:
                break
            pages += 1
            start = time.perf_counter()
            body_text = None
            try:
                body_text = extract_article(html, page_url(url)).body_text
            except ExtractionError as exc:
                refusals.append({"page": page_id, "message": str(exc)[:160]})
            except Exception as exc:  # noqa: BLE001 - counting these is the point of the pass
                crashes.append({"page": page_id, "type": type(exc).__name__, "message": str(exc)[:160]})
            times.append([time.perf_counter() - start, page_id])
            if body_text:
                words = fused_words(html, body_text)
                fused["words"] += words
                fused["pages"] += bool(words)
        report[corpus] = {"pages": pages, "refusals": refusals, "crashes": crashes, "times": times,
                          "fused": fused}
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench-dir", type=Path, required=True)
    parser.add_argument("--corpus", action="append", choices=sorted(CORPORA), help="repeatable; default all")
    parser.add_argument("--limit", type=int, help="only the first N pages of each corpus")
    args = parser.parse_args()
    print(json.dumps(run(args.bench_dir, args.corpus or list(CORPORA), args.limit)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
