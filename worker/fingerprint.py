"""Body fingerprints for near-duplicate detection: MinHash signatures over word shingles, and their LSH bands.

A partner often serves the same story under several URLs (AMP page, print view, a tracking variant) or edits
a word or two after publication. Content hashes see those as different; a MinHash signature estimates the
Jaccard similarity of two bodies' word 5-shingles, so "the same text, lightly edited" scores high while
unrelated stories score near zero.

Pure functions, no I/O. The store keeps the signature and its LSH band hashes: two signatures that agree on
every row of at least one band become candidates, found through one indexed lookup, and are then checked
against the full signature. With 32 bands of 4 rows a pair at similarity 0.8 is a candidate with
probability > 0.9999, a pair at 0.3 with probability ~0.23 and unrelated texts (similarity ~0) almost never.
"""
from __future__ import annotations

import functools
import hashlib
import re
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasketch import MinHash

#: words per shingle: long enough that unrelated news stories share almost none, short enough that one
#: edited word changes only a handful of shingles
SHINGLE_WORDS = 5
NUM_PERM = 128
BANDS = 32
ROWS_PER_BAND = NUM_PERM // BANDS
#: datasketch >= 2.0 has several hashing schemes; pinned so an upgrade cannot silently change signatures
MINHASH_SCHEME = "affine32"
MINHASH_SEED = 1
#: stored next to every signature so a change of any parameter above never compares incompatible signatures
SCHEME = f"minhash-{MINHASH_SCHEME}-s{MINHASH_SEED}-p{NUM_PERM}-w{SHINGLE_WORDS}"

Signature = tuple[int, ...]
"""NUM_PERM unsigned 32-bit MinHash values."""

_WORD = re.compile(r"\w+", re.UNICODE)
_PACKING = f"<{NUM_PERM}I"


@functools.cache
def _template() -> MinHash:
    # Imported here: datasketch pulls in numpy and scipy (~0.6 s), which processes that never fingerprint
    # (the CLI, delivery workers) should not pay for. Drawing the permutations also costs more than hashing
    # a whole article, so it happens once per process.
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, scheme=MINHASH_SCHEME)


def preload() -> None:
    """Pay the import and the permutations now (a worker before it forks) rather than in the first ingest."""
    _template()


def shingles(text: str) -> set[str]:
    """The word 5-shingles of a text, case and punctuation ignored; a shorter text is one shingle."""
    words = _WORD.findall(text.lower())
    if len(words) <= SHINGLE_WORDS:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def fingerprint_text(text: str) -> Signature | None:
    """The MinHash signature of a body text; None when it has no words at all (nothing to compare)."""
    parts = shingles(text)
    if not parts:
        return None
    template = _template()
    minhash = type(template)(num_perm=NUM_PERM, seed=MINHASH_SEED, scheme=MINHASH_SCHEME,
                             permutations=template.permutations)
    minhash.update_batch([part.encode("utf-8") for part in sorted(parts)])
    return tuple(int(value) for value in minhash.hashvalues)


def similarity(first: Signature, second: Signature) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (standard error ~0.04 at 128 values)."""
    if len(first) != len(second):
        raise ValueError(f"signatures of different lengths: {len(first)} and {len(second)}")
    return sum(a == b for a, b in zip(first, second, strict=True)) / len(first)


def band_hashes(signature: Signature) -> list[int]:
    """One signed 64-bit hash per band; the band index is hashed in, so one indexed column serves all bands."""
    _check(signature)
    hashes = []
    for band in range(BANDS):
        rows = signature[band * ROWS_PER_BAND:(band + 1) * ROWS_PER_BAND]
        digest = hashlib.blake2b(struct.pack(f"<I{ROWS_PER_BAND}I", band, *rows), digest_size=8).digest()
        hashes.append(int.from_bytes(digest, "little", signed=True))
    return hashes


def signature_to_bytes(signature: Signature) -> bytes:
    _check(signature)
    return struct.pack(_PACKING, *signature)


def signature_from_bytes(data: bytes) -> Signature:
    return struct.unpack(_PACKING, data)


def _check(signature: Signature) -> None:
    if len(signature) != NUM_PERM:
        raise ValueError(f"a signature has {NUM_PERM} values, this one {len(signature)}")
