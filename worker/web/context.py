"""What every web request needs: the operator context (settings, the store, the config, a way to queue
tasks: worker/ops/base.py) and the token that guards the API and the console.

Why a context object instead of module globals: tests build several apps (one per Deployment) in one
process, each with its own database, broker and token; nothing here reads the environment after
create_app, and the Celery app is built from these settings, not the worker's process-wide one.
"""
from __future__ import annotations

from dataclasses import dataclass

from worker.ops.base import OpsContext


@dataclass
class WebContext(OpsContext):
    #: the bearer token of the API and the console login; never empty (server.py makes one if unset)
    token: str = ""
