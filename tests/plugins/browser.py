"""Headless Chromium (Debian's package, never a downloaded browser) and the web server on a free port.

The browser is driven with Playwright's Python package over CDP (`executable_path=/usr/bin/chromium`):
no `playwright install`, no network. When chromium is missing, the fixture installs it with apt-get
once per session and skips, saying why, only when that cannot be done (no root, no apt, no mirror).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.celery_worker import ROOT, Deployment

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "console"
API_TOKEN = "test-token-0123456789abcdef"


def _install_chromium() -> str | None:
    """Install Debian's chromium; returns why it could not be done, or None."""
    if os.geteuid() != 0:
        return "chromium is not installed and installing it needs root (apt-get install chromium chromium-driver)"
    if not shutil.which("apt-get"):
        return "chromium is not installed and there is no apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium", "chromium-driver"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900,
                              check=False)
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed: {done.stderr.strip().splitlines()[-1:]}"
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        problem = _install_chromium()
        if problem or not Path(CHROMIUM).exists():
            pytest.skip(problem or "apt-get installed chromium but /usr/bin/chromium is missing")
    return CHROMIUM


@pytest.fixture
def browser_page(chromium: str, tmp_path: Path) -> Iterator[Any]:
    """A page in a fresh headless Chromium with a new, empty profile; records every JS dialog in
    `page.dialogs` (and dismisses it), so a test can assert that no injected script ever ran."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        dialogs: list[str] = []

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.dialogs = dialogs
        try:
            yield page
        finally:
            context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class LiveServer:
    url: str
    token: str


def _run_server(app: Any) -> tuple[Any, threading.Thread, int]:
    import uvicorn

    from worker.embedded_redis import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.05)
    return server, thread, port


@contextmanager
def uvicorn_threads() -> Iterator[Callable[[Any], int]]:
    """`with uvicorn_threads() as serve:` then `port = serve(app)`, as often as needed; every server is
    asked to exit, and waited for, when the block ends."""
    running: list[tuple[Any, threading.Thread]] = []

    def serve(app: Any) -> int:
        server, thread, port = _run_server(app)
        running.append((server, thread))
        return port

    try:
        yield serve
    finally:
        for server, thread in running:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture
def live_server() -> Iterator[Callable[[Deployment], LiveServer]]:
    """Start `syndicate serve`'s app for a Deployment (same env as its workers) in a uvicorn thread."""
    from worker.settings import load_settings
    from worker.web.app import create_app

    with uvicorn_threads() as serve:
        def start(deployment: Deployment) -> LiveServer:
            port = serve(create_app(load_settings(deployment.env()), API_TOKEN))
            return LiveServer(url=f"http://127.0.0.1:{port}", token=API_TOKEN)

        yield start
