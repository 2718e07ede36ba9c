"""worker/fingerprint.py computes datasketch 2.0's "affine32" MinHash itself (to keep scipy out of every
worker process); its signatures must be datasketch's, value for value, or stored fingerprints would stop
matching new ones. Checked against datasketch itself on many texts."""
from __future__ import annotations

import random

import pytest

from tests.support.partner_pages import paragraphs
from worker import fingerprint

datasketch = pytest.importorskip("datasketch")


def _datasketch_signature(text: str) -> tuple[int, ...]:
    minhash = datasketch.MinHash(num_perm=fingerprint.NUM_PERM, seed=fingerprint.MINHASH_SEED,
                                 scheme=fingerprint.MINHASH_SCHEME)
    minhash.update_batch([part.encode("utf-8") for part in sorted(fingerprint.shingles(text))])
    return tuple(int(value) for value in minhash.hashvalues)


@pytest.mark.parametrize("seed", range(40))
def test_signatures_are_datasketchs(seed: int) -> None:
    rng = random.Random(seed)
    text = "\n\n".join(paragraphs(rng, rng.randint(1, 12)))
    if seed % 5 == 0:
        text = "Ünïcödé wörds — «quoted» 新闻 报道 " + text  # non-ASCII shingles hash as UTF-8
    assert fingerprint.fingerprint_text(text) == _datasketch_signature(text)


def test_a_one_shingle_text_and_an_empty_one() -> None:
    assert fingerprint.fingerprint_text("Short text") == _datasketch_signature("Short text")
    assert fingerprint.fingerprint_text("  ...  ") is None


def test_workers_no_longer_import_scipy() -> None:
    import subprocess
    import sys

    probe = ("import sys; from worker import fingerprint; fingerprint.fingerprint_text('a b c d e f g'); "
             "print('scipy' in sys.modules, 'datasketch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.split() == ["False", "False"]
