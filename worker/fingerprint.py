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
from typing import Any

#: words per shingle: long enough that unrelated news stories share almost none, short enough that one
#: edited word changes only a handful of shingles
SHINGLE_WORDS = 5
NUM_PERM = 128
BANDS = 32
ROWS_PER_BAND = NUM_PERM // BANDS
#: the scheme of datasketch >= 2.0 whose values these are (see _permutations); named in SCHEME so a change
#: of any parameter never compares incompatible signatures
MINHASH_SCHEME = "affine32"
MINHASH_SEED = 1
#: stored next to every signature so a change of any parameter above never compares incompatible signatures
SCHEME = f"minhash-{MINHASH_SCHEME}-s{MINHASH_SEED}-p{NUM_PERM}-w{SHINGLE_WORDS}"

Signature = tuple[int, ...]
"""NUM_PERM unsigned 32-bit MinHash values."""

_WORD = re.compile(r"\w+", re.UNICODE)
_PACKING = f"<{NUM_PERM}I"


@functools.cache
def _permutations() -> tuple[Any, Any]:
    """datasketch 2.0's "affine32" permutations for MINHASH_SEED and NUM_PERM, drawn once per process.

    Why not datasketch itself: importing the package imports its LSH indexes and with them scipy, about
    50 MB of resident memory in every worker process (twice per worker: the main process preloads what
    its pool child will use) for the one class this module needs. The 20 lines below are that class's
    CPU path for this scheme, value for value: tests/test_fingerprint_compat.py checks them against
    datasketch itself (kept as a test dependency) on many texts, so stored signatures stay comparable.
    """
    import numpy as np  # imported here: processes that never fingerprint (the CLI) do not pay for it

    generator = np.random.RandomState(MINHASH_SEED)
    a = generator.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _fmix32(values: Any) -> Any:
    """MurmurHash3's 32-bit finalizer (a bijection), as datasketch pre-mixes each input hash."""
    import numpy as np

    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def preload() -> None:
    """Pay the import and the permutations now (a worker before it forks) rather than in the first ingest."""
    _permutations()


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
    import numpy as np

    a, b = _permutations()
    # datasketch's sha1_hash32: the first 4 bytes of SHA-1, little-endian
    hashes = np.array([int.from_bytes(hashlib.sha1(part.encode("utf-8")).digest()[:4], "little")
                       for part in parts], dtype=np.uint32).reshape(-1, 1)
    permuted = _fmix32(hashes) * a + b  # uint32 arithmetic: the wraparound is the modulo 2^32
    return tuple(int(value) for value in permuted.min(axis=0))


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
