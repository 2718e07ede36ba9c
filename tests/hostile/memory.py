"""Peak memory of this process, measured by the kernel (C allocations of lxml/libxml2 included)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: how far peak RSS may grow over a test's start: generous for a 10 MB page (about 350 MB measured),
#: far below what a billion-laughs expansion or an unbounded feed would take
RSS_BOUND_BYTES = 1536 * 2**20


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@contextmanager
def peak_rss_growth() -> Iterator[Callable[[], int]]:
    """`with peak_rss_growth() as growth: ...; growth()` → bytes the peak RSS rose above the start."""
    reset_peak()
    start = _status("VmRSS")
    yield lambda: max(0, _status("VmHWM") - start)
