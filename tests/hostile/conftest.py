"""Hostile-input tests: property-based (hypothesis) and fixed cases of partner content an attacker wrote.

Every test here is marked `hostile` (`pytest -m hostile` runs just these; `-m "not hostile"` skips them).
The CI profile keeps the property tests to a modest number of examples with a per-input deadline, so the
folder runs in about a minute; tests/hostile/fuzz_long.py runs the same targets for as long as it is told.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings

HERE = os.path.dirname(__file__)

# one input may take a while on a loaded CI machine (the largest seed page is ~1.5 MB), never minutes
settings.register_profile(
    "hostile-ci", max_examples=150, deadline=timedelta(seconds=20), derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    database=None,
)
settings.register_profile(
    "hostile-dev", max_examples=300, deadline=timedelta(seconds=20), print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hostile: hostile partner input, fuzzing and secrets (tests/hostile/)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if str(item.fspath).startswith(HERE):
            item.add_marker(pytest.mark.hostile)
