"""Outlet registry: a config entry's `kind:` names a built-in outlet or a `package.module:Class` plug-in.

The package holds the base class (base.py), one module per kind and their shared rendering and encoding.
May import: worker.schema, worker.config, worker.errors, worker.settings, worker.http (the WordPress
image fetch); never Celery, flow, ops, web or cli.
"""
from __future__ import annotations

from worker.config import OutletConfig
from worker.config.kinds import OUTLET_KINDS, resolve_kind
from worker.errors import ConfigError
from worker.outlets.base import Outlet, OutletOptions, RemoteRef
from worker.settings import Settings

__all__ = ["Outlet", "OutletOptions", "RemoteRef", "build_outlet", "outlet_class"]


def outlet_class(kind: str) -> type[Outlet]:
    cls = resolve_kind(kind, OUTLET_KINDS, "outlet")
    if not (isinstance(cls, type) and issubclass(cls, Outlet)):
        raise ConfigError(f"outlet kind {kind!r} is not an Outlet subclass")
    return cls


def build_outlet(config: OutletConfig, settings: Settings) -> Outlet:
    cls = outlet_class(config.kind)
    return cls(config.id, cls.options_model.model_validate(config.options), settings)
