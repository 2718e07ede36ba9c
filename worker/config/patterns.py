"""Operator-supplied regular expressions (a source's `include` / `exclude`), run in linear time.

Why not Python's `re`: it backtracks, so a harmless-looking pattern such as `/([a-z0-9]+-?)+\\.html$`
takes exponential time on a link that almost matches, and the links are the partner's to choose. One
poll took 29 s on a 29-character link and would take half an hour on 36. RE2 (google-re2, a kept library)
matches in time linear in the link, whatever the pattern. What RE2 cannot run in linear time
(backreferences, lookahead, lookbehind) it refuses to compile, and so do we: at config load, with the
file, line and field named, never on a live poll.

Everything else reads as Python's `re` does (`(?P<name>...)`, `(?i)`, classes, anchors), except that
`\\d`, `\\w`, `\\s` and `\\b` are ASCII-only in RE2: spell out other characters when a link holds them.
"""
from __future__ import annotations

from functools import lru_cache

import re2

__all__ = ["OperatorPattern", "compile_pattern", "pattern_problem"]

#: RE2's own answer to a pattern it refuses, turned into a hint an operator can act on
_HINTS = {
    "invalid perl operator: (?=": "lookahead (?=...) is not supported; match the part itself or use exclude",
    "invalid perl operator: (?!": "negative lookahead (?!...) is not supported; put that pattern in exclude",
    "invalid perl operator: (?<": "lookbehind (?<=...) / (?<!...) is not supported; match the part itself or use exclude",
    "invalid escape sequence: \\": "backreferences (\\1) are not supported",
}


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the refusal is reported as a config error; no C++ log line on stderr
    return options


OperatorPattern = re2._Regexp  # noqa: SLF001 - google-re2 exposes no public name for a compiled pattern


@lru_cache(maxsize=4096)
def pattern_problem(expression: str) -> str | None:
    """Why RE2 cannot run `expression` (for the config error), or None when it can. Cached: operators
    copy the same few patterns to thousands of sources, and compiling each copy was a quarter of
    validating a source."""
    try:
        re2.compile(expression, options=_options())
    except re2.error as exc:
        raw = exc.args[0] if exc.args else exc
        reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        for prefix, hint in _HINTS.items():
            if reason.startswith(prefix) and (prefix[-1] != "\\" or reason[len(prefix):][:1].isdigit()):
                return f"{hint}: patterns run on RE2, which matches in linear time (RE2 says: {reason})"
        return f"not a pattern RE2 can run: {reason}"
    return None


@lru_cache(maxsize=256)
def compile_pattern(expression: str) -> OperatorPattern:
    """The compiled pattern; config load has already refused what RE2 cannot compile (see pattern_problem)."""
    return re2.compile(expression, options=_options())
