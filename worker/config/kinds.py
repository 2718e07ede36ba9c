"""Plug-in kinds: a config entry's `kind:` is a built-in name or `package.module:Class`, resolved here.

Built-in kinds are a table of dotted names, not imports, so that config (which every layer imports)
never imports the layers it configures: the class is loaded when an entry names it, the way Scrapy's
settings name their components. The caller says what the class must be (an Outlet subclass, a
DiscoveryKind subclass): config only needs the kind's `options_model` to validate an entry at load.

May import: worker.errors only.
"""
from __future__ import annotations

import importlib
from typing import Any

from worker.errors import ConfigError

#: outlet kind name -> the class implementing it (worker/outlets/)
OUTLET_KINDS: dict[str, str] = {
    "files": "worker.outlets.files:FilesOutlet",
    "wordpress": "worker.outlets.wordpress:WordPressOutlet",
    "webhook": "worker.outlets.webhook:WebhookOutlet",
    "feeds": "worker.outlets.feeds:FeedsOutlet",
}

#: discovery kind name -> the class implementing it (worker/discover/: a DiscoveryKind subclass)
DISCOVERY_KINDS: dict[str, str] = {
    "feed": "worker.discover.feeds:FeedKind",
    "sitemap": "worker.discover.sitemaps:SitemapKind",
    "listing": "worker.discover.listing:ListingKind",
    "wordpress": "worker.discover.wordpress:WordPressKind",
    "ninjs": "worker.discover.ninjs:NinjsKind",
}


def resolve_kind(kind: str, builtin: dict[str, str], what: str) -> Any:
    """The class a kind names: a built-in name from `builtin`, or `package.module:Class`. A ConfigError
    naming the kind and the choices when it names nothing loadable."""
    target = builtin.get(kind, kind)
    module_name, _, class_name = target.partition(":")
    if not module_name or not class_name:
        known = ", ".join(sorted(builtin))
        raise ConfigError(f"unknown {what} kind {kind!r}: use one of {known} or 'package.module:Class'")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{what} kind {kind!r} cannot be loaded: {exc}") from None


def options_problems(kind: str, options: dict[str, Any], builtin: dict[str, str], what: str,
                     needs: str | None = None) -> list[tuple[tuple[Any, ...], str]]:
    """Problems with an entry's options as (location, message) pairs, for config to put a line on.
    `needs`: the method a class of this kind must have (config cannot name the base class it must
    extend without importing the layer it configures; the layer checks that when it builds the kind)."""
    from pydantic import BaseModel, ValidationError

    try:
        cls = resolve_kind(kind, builtin, what)
    except ConfigError as exc:
        return [(("kind",), exc.reason)]
    if needs is not None and not callable(getattr(cls, needs, None)):
        return [(("kind",), f"{what} kind {kind!r} is not a {what} kind: it has no {needs}() method")]
    model = getattr(cls, "options_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return [(("kind",), f"{what} kind {kind!r} has no options_model (a pydantic model of its options)")]
    try:
        model.model_validate(options)
    except ValidationError as exc:
        return [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
    return []
