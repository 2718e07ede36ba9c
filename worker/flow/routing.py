"""Which outlets an article goes to, from each outlet's `routing:` in outlets.yaml. Pure functions."""
from __future__ import annotations

from collections.abc import Iterable

from worker.config import OutletConfig, Routing
from worker.schema import Article


def _casefolded(values: Iterable[str]) -> set[str]:
    return {v.strip().casefold() for v in values}


def _language_matches(language: str | None, wanted: list[str]) -> bool:
    if not language:
        return False
    primary = language.casefold().replace("_", "-")
    return any(primary == w or primary.split("-")[0] == w.split("-")[0] for w in _casefolded(wanted))


def takes(routing: Routing, article: Article) -> bool:
    """Whether an outlet with these rules wants this article."""
    section = (article.section or "").strip().casefold()
    if article.source.id in routing.exclude_sources or (section and section in _casefolded(routing.exclude_sections)):
        return False
    if routing.sources and article.source.id not in routing.sources:
        return False
    if routing.sections and section not in _casefolded(routing.sections):
        return False
    if routing.languages and not _language_matches(article.language, routing.languages):
        return False
    return True


def outlets_for(article: Article, outlets: Iterable[OutletConfig]) -> list[str]:
    """Every enabled outlet whose rules take the article, in config order."""
    return [o.id for o in outlets if o.enabled and takes(o.routing, article)]
