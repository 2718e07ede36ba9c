"""Routing rules: which outlets take an article."""
from __future__ import annotations

from worker.config import OutletConfig
from worker.flow.routing import outlets_for
from worker.schema import SourceRef, make_article


def article(source: str = "et", section: str | None = "World News", language: str | None = "en-US"):
    return make_article(source=SourceRef(id=source, name=source), attribution="From X", url=f"http://{source}.example/a",
                        headline="H", section=section, language=language, body_html="<p>x</p>", body_text="x")


def outlet(outlet_id: str, **routing: object) -> OutletConfig:
    return OutletConfig.model_validate({"id": outlet_id, "kind": "files", "directory": "/tmp", "routing": routing})


def test_no_rules_take_everything_and_disabled_outlets_take_nothing() -> None:
    disabled = OutletConfig.model_validate({"id": "off", "kind": "files", "directory": "/tmp", "enabled": False})
    assert outlets_for(article(), [outlet("all"), disabled]) == ["all"]


def test_sources_sections_and_languages() -> None:
    outlets = [
        outlet("et-only", sources=["et"]),
        outlet("world", sections=["world news"]),
        outlet("english", languages=["en"]),
        outlet("french", languages=["fr"]),
        outlet("sports", sections=["Sports"]),
    ]
    assert outlets_for(article(), outlets) == ["et-only", "world", "english"]
    assert outlets_for(article(source="ntd", section="Sports", language="fr"), outlets) == ["french", "sports"]
    assert outlets_for(article(language=None), [outlet("english", languages=["en"])]) == []


def test_exclusions_win() -> None:
    outlets = [outlet("no-opinion", exclude_sections=["Opinion"]), outlet("no-et", sources=["et"], exclude_sources=["et"])]
    assert outlets_for(article(section="opinion"), outlets) == []
    assert outlets_for(article(section="World"), outlets) == ["no-opinion"]
