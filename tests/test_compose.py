"""docker-compose.yml is not run here (no Docker engine), so check that what it runs exists."""
from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from worker.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_services_of_a_deployment() -> None:
    assert set(load_compose()["services"]) == {"redis", "postgres", "worker", "beat", "web", "flower"}


def test_every_command_names_a_real_entry_point_or_module() -> None:
    services = load_compose()["services"]
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for name, service in services.items():
        command = service.get("command")
        if name in ("redis", "postgres"):
            continue
        assert command, f"{name} has no command"
        program = command[0]
        if program == "syndicate":
            assert command[1] in subcommands, f"{name}: syndicate has no {command[1]!r} command"
            if command[1] == "worker":
                build_parser().parse_args(command[1:])  # every option it passes exists
        elif program == "celery":
            app_module = command[command.index("--app") + 1]
            assert hasattr(importlib.import_module(app_module), "app"), f"{name}: {app_module} has no Celery app"
        else:
            raise AssertionError(f"{name}: unexpected program {program!r}")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'syndicate = "worker.cli:main"' in pyproject


def test_worker_services_get_the_broker_and_database() -> None:
    services = load_compose()["services"]
    for name in ("worker", "beat", "web", "flower"):
        environment = services[name]["environment"]
        assert environment["REDIS_URL"].startswith("redis://redis:")
        assert environment["DATABASE_URL"].startswith("postgresql+psycopg://")
