"""Outlet registry: a config entry's `kind:` names a built-in outlet or a `package.module:Class` plug-in.

The package holds the base class (base.py), one module per kind and their shared rendering and encoding.
May import: worker.schema, worker.config, worker.errors, worker.settings, worker.http (the WordPress
image fetch); never Celery, flow, ops, web or cli.
"""
from __future__ import annotations

import importlib
from typing import Any

from pydantic import ValidationError

from worker.config import OutletConfig
from worker.errors import ConfigError
from worker.outlets.base import Outlet, OutletOptions, RemoteRef
from worker.settings import Settings

BUILTIN_KINDS: dict[str, str] = {
    "files": "worker.outlets.files:FilesOutlet",
    "wordpress": "worker.outlets.wordpress:WordPressOutlet",
    "webhook": "worker.outlets.webhook:WebhookOutlet",
    "feeds": "worker.outlets.feeds:FeedsOutlet",
}

__all__ = ["Outlet", "OutletOptions", "RemoteRef", "build_outlet", "outlet_class", "options_error"]


def outlet_class(kind: str) -> type[Outlet]:
    target = BUILTIN_KINDS.get(kind, kind)
    module_name, _, class_name = target.partition(":")
    if not class_name:
        known = ", ".join(sorted(BUILTIN_KINDS))
        raise ConfigError(f"unknown outlet kind {kind!r}: use one of {known} or 'package.module:Class'")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"outlet kind {kind!r} cannot be loaded: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Outlet)):
        raise ConfigError(f"outlet kind {kind!r} is not an Outlet subclass")
    return cls


def options_error(config: OutletConfig) -> list[tuple[tuple[Any, ...], str]]:
    """Problems with an outlet entry as (location, message) pairs, for config.py to put a line on."""
    try:
        cls = outlet_class(config.kind)
    except ConfigError as exc:
        return [(("kind",), exc.reason)]
    try:
        cls.options_model.model_validate(config.options)
    except ValidationError as exc:
        return [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
    return []


def build_outlet(config: OutletConfig, settings: Settings) -> Outlet:
    cls = outlet_class(config.kind)
    return cls(config.id, cls.options_model.model_validate(config.options), settings)
