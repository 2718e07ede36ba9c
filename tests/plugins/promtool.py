"""promtool (Prometheus' own linter, Debian's `prometheus` package) for checking what /metrics serves.

Installed with apt-get once per session when missing and the tests run as root (as chromium is); the
tests that use it skip, saying why, only when that cannot be done.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

import pytest


def _install() -> str | None:
    """Install Debian's prometheus package (which ships promtool); returns why it could not be done."""
    if os.geteuid() != 0:
        return "promtool is not installed and installing it needs root (apt-get install prometheus)"
    if not shutil.which("apt-get"):
        return "promtool is not installed and there is no apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "--no-install-recommends", "prometheus"],):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=900, check=False)
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed: {done.stderr.strip().splitlines()[-1:]}"
    return None


@pytest.fixture(scope="session")
def promtool() -> Callable[[str], list[str]]:
    """`check(text)`: the problems `promtool check metrics` finds in an exposition (empty: none)."""
    if not shutil.which("promtool"):
        problem = _install()
        if problem or not shutil.which("promtool"):
            pytest.skip(problem or "apt-get installed prometheus but promtool is not on PATH")

    def check(text: str) -> list[str]:
        done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                              timeout=60, check=False)
        return [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]

    return check
