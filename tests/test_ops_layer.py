"""The operator layer as the house plan has it: one module sends task messages, one Delivery type end to end,
each operator job written once (so the cli and the web see the same thing), on a real Redis and SQLite.
"""
from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from fastapi.testclient import TestClient

from tests.plugins.browser import API_TOKEN
from tests.plugins.celery_worker import ROOT, Deployment
from worker.settings import load_settings
from worker.store import Delivery, DeliveryState
from worker.web.app import create_app
from worker.web.models import DeliveryOut

WORKER = ROOT / "worker"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def calls_named(path: Path, names: set[str]) -> list[int]:
    """Lines of `path` that call an attribute of these names (x.apply_async(...), app.send_task(...))."""
    tree = ast.parse(path.read_text("utf8"))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names]


def test_only_worker_tasks_sends_task_messages() -> None:
    senders = {str(path.relative_to(ROOT)): lines for path in sorted(WORKER.rglob("*.py"))
               if (lines := calls_named(path, {"apply_async", "send_task", "delay"}))}
    assert list(senders) == ["worker/tasks.py"], senders


def test_the_adhoc_source_is_built_in_one_place() -> None:
    builders = [str(path.relative_to(ROOT)) for path in sorted(WORKER.rglob("*.py"))
                if 'id="adhoc"' in path.read_text("utf8")]
    assert builders == ["worker/ops/preview.py"]


def test_a_delivery_is_one_type_the_api_and_the_task_derive_from() -> None:
    names = [f.name for f in dataclasses.fields(Delivery)]
    assert list(DeliveryOut.model_fields) == names
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    row = Delivery(id=7, article_id="a1", version=2, outlet_id="files", state=DeliveryState.DEAD, attempts=3,
                   remote_id=None, remote_url=None, last_error="gave up", created_at=now, updated_at=now,
                   delivered_at=None, withdrawal_started_at=None, withdrawn_at=now)
    as_json = row.as_dict()  # what the deliver task returns
    assert list(as_json) == names and as_json["state"] == "dead" and as_json["withdrawn_at"] == now.isoformat()
    shown = DeliveryOut.model_validate(row)  # what the API answers
    pydantic_time = "2026-01-02T03:04:05Z"  # the same moment, as pydantic writes UTC
    assert shown.model_dump(mode="json") == {**as_json, "created_at": pydantic_time, "updated_at": pydantic_time,
                                             "withdrawn_at": pydantic_time}


def test_an_import_queued_by_the_cli_is_followed_by_the_api(deployment: Deployment) -> None:
    """One queue_import for both: the cli's import is recorded where GET /imports/{id} finds it."""
    queued = subprocess.run([sys.executable, "-m", "worker.cli", "import", "http://127.0.0.1/a.html",
                             "--source", "theepochtimes"], env=deployment.env(), cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert queued.returncode == 0, queued.stderr
    import_id = queued.stdout.strip()
    with TestClient(create_app(load_settings(deployment.env()), API_TOKEN)) as client:
        status = client.get(f"/imports/{import_id}", headers=AUTH)
    assert status.status_code == 200, status.text
    assert status.json()["state"] == "queued" and status.json()["url"] == "http://127.0.0.1/a.html"
    assert status.json()["message"] == "waiting for a worker to take it"
