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
    assert set(load_compose()["services"]) == {"redis", "postgres", "worker", "scheduler", "beat", "web", "flower"}


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
    for name in ("worker", "scheduler", "beat", "web", "flower"):
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://redis:")
    for name in ("worker", "web"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")


# --- issue 17.4: compose that runs as written ----------------------------------------------------------

import json
import re

from jsonschema import Draft201909Validator

INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?+][^}]*)?\}")


def test_the_compose_file_is_valid_under_the_compose_specification_schema() -> None:
    schema = json.loads((ROOT / "tests/fixtures/compose/compose-spec.json").read_text())
    errors = sorted(Draft201909Validator(schema).iter_errors(load_compose()), key=lambda e: list(e.path))
    assert [f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors] == []


def test_secrets_come_only_from_the_ignored_env_file_and_an_example_names_each() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    wanted = set(INTERPOLATION.findall(text))
    assert {"POSTGRES_PASSWORD", "SYNDICATION_API_TOKEN", "FLOWER_BASIC_AUTH"} <= wanted
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert set(example) == wanted
    # every secret is required (":?"), so compose refuses to start without it instead of running with ""
    for name in wanted:
        assert re.search(r"\$\{" + name + r":\?", text), f"{name} has a default or may be empty"
    services = load_compose()["services"]
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or "TOKEN" in key or "AUTH" in key:
                assert INTERPOLATION.search(str(value)), f"{name}.{key} is written in the file"
        for value in (service.get("environment") or {}).values():
            assert not re.search(r"://[^:/@]+:(?!\$\{)[^@]+@", str(value)), f"{name}: a password in a URL"
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".env" in ignored


def test_redis_and_postgres_restart_and_every_service_has_a_policy() -> None:
    for name, service in load_compose()["services"].items():
        assert service.get("restart") in ("always", "unless-stopped"), f"{name} has no restart policy"


def test_each_service_gets_only_the_store_and_volumes_it_uses() -> None:
    services = load_compose()["services"]
    for name in ("scheduler", "beat", "flower"):
        service = services[name]
        assert "DATABASE_URL" not in service["environment"], f"{name} does not use the store"
        assert "postgres" not in service["depends_on"], f"{name} does not need PostgreSQL"
        assert not any(str(v).startswith("outlets:") for v in service.get("volumes", [])), f"{name} writes no outlet"
    for name in ("worker", "web"):
        assert "postgres" in services[name]["depends_on"]
        assert any(str(v).startswith("outlets:") for v in services[name]["volumes"])


def test_a_scheduler_process_consumes_the_schedule_queue_alone() -> None:
    command = load_compose()["services"]["scheduler"]["command"]
    args = build_parser().parse_args(command[1:])
    assert args.queues == "schedule" and args.concurrency == 1


def test_flower_asks_for_a_login() -> None:
    flower = load_compose()["services"]["flower"]
    assert INTERPOLATION.fullmatch(str(flower["environment"]["FLOWER_BASIC_AUTH"]))


def _dockerfile() -> list[tuple[str, str]]:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]  # type: ignore[misc]


def test_every_mounted_named_volume_is_created_in_the_image_and_owned_by_its_user() -> None:
    """A named volume on a path the image lacks is created root-owned, and the image's user cannot write
    to it: the path must exist in the image, owned (chown) by the USER the processes run as."""
    instructions = _dockerfile()
    users = [arg for op, arg in instructions if op == "USER"]
    assert users, "the image runs as root"
    user = users[-1]
    runs = " && ".join(arg for op, arg in instructions if op == "RUN")
    created = set(re.findall(r"mkdir -p ((?:\S+ ?)+?)(?:&&|$)", runs + " &&"))
    created_paths = {path for group in created for path in group.split()}
    owned = re.findall(r"chown -R (\S+?)(?::\S+)? (\S+)", runs)
    for service in load_compose()["services"].values():
        for volume in service.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            if source.startswith((".", "/")):
                continue  # a bind mount: the host path's owner applies
            if service.get("image"):
                continue  # redis / postgres images own their data paths
            assert any(target == p or target.startswith(p.rstrip("/") + "/") for p in created_paths), \
                f"{target} is not created in the image"
            assert any(owner == user and (target == path or target.startswith(path.rstrip("/") + "/"))
                       for owner, path in owned), f"{target} is not owned by {user}"
