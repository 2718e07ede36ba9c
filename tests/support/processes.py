"""Stopping the processes the fixtures start (Celery workers, beat, php -S, MariaDB): the whole group.

Each is started with `start_new_session=True`, so it leads a process group that holds its children too
(a Celery worker's pool, php's workers). Signalling the group stops them all; signalling the leader alone
would leave the children running after the test, holding ports and files.
"""
from __future__ import annotations

import os
import signal
import subprocess


def kill_group(process: subprocess.Popen[bytes], wait: float = 10) -> None:
    """SIGKILL the group: no shutdown, no acks, like a machine lost."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=wait)


def stop_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the group and give it `grace` seconds to shut down cleanly, then SIGKILL it."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
