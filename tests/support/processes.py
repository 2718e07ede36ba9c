"""Stopping the processes the fixtures start (Celery workers, beat, php -S, MariaDB): the whole group;
and the multiprocessing children a test starts itself (join_or_kill).

Each is started with `start_new_session=True`, so it leads a process group that holds its children too
(a Celery worker's pool, php's workers). Signalling the group stops them all; signalling the leader alone
would leave the children running after the test, holding ports and files.
"""
from __future__ import annotations

import multiprocessing.process
import os
import signal
import subprocess
from collections.abc import Iterable


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


def join_or_kill(processes: Iterable[multiprocessing.process.BaseProcess], grace: float = 10) -> None:
    """Give each multiprocessing child `grace` seconds to end, then SIGKILL it and reap it: a child stuck
    in a hung call must not outlive the test that started it."""
    for process in processes:
        process.join(timeout=grace)
        if process.is_alive():
            process.kill()
            process.join(timeout=grace)
