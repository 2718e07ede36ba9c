"""The generic outlet base: a kind names its options once (`Outlet[Options]`), and everything follows.

What follows from that one line: the options model config validates an entry with (at load, naming file,
line and field), the typed `self.options` a kind's methods read, and a refusal when an outlet is handed
another kind's options. A plug-in kind from outside the package (`package.module:Class`) gets the same.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from worker.config import load_outlets
from worker.config.kinds import OUTLET_KINDS
from worker.errors import ConfigError
from worker.outlets import Outlet, RemoteRef, build_outlet, outlet_class
from worker.outlets.files import FilesOptions, FilesOutlet
from worker.outlets.webhook import WebhookOptions
from worker.settings import load_settings

#: a plug-in outlet kind, as an operator would write one in a package of their own
PLUGIN = '''
from pydantic import Field

from worker.outlets import Outlet, OutletOptions, RemoteRef


class EchoOptions(OutletOptions):
    prefix: str
    repeat: int = Field(default=1, ge=1, le=3)


class EchoOutlet(Outlet[EchoOptions]):
    kind = "echo"

    def publish(self, article, previous):
        return RemoteRef(id=self.options.prefix * self.options.repeat + article.id)
'''


@pytest.fixture
def plugin_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    package = tmp_path / "site" / "newsroom_outlets"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "echo.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield "newsroom_outlets.echo:EchoOutlet"
    for name in [m for m in sys.modules if m.startswith("newsroom_outlets")]:
        del sys.modules[name]


def test_each_builtin_kind_takes_the_options_model_its_type_parameter_names() -> None:
    for kind in OUTLET_KINDS:
        cls = outlet_class(kind)
        [base] = [b for b in cls.__orig_bases__ if getattr(b, "__origin__", None) is Outlet]
        assert cls.options_model is base.__args__[0], kind


def test_a_plugin_kind_declared_over_its_options_loads_validates_and_publishes(
        plugin_package: str, tmp_path: Path) -> None:
    path = tmp_path / "outlets.yaml"
    path.write_text(f"outlets:\n  - id: echo\n    kind: {plugin_package}\n    prefix: 'e-'\n    repeat: 2\n")
    [config] = load_outlets(path).values()
    outlet = build_outlet(config, load_settings({}))
    assert outlet.options_model.__name__ == "EchoOptions" and outlet.options.repeat == 2

    class Article:  # publish reads nothing else
        id = "abc"

    assert outlet.publish(Article(), None) == RemoteRef(id="e-e-abc")  # type: ignore[arg-type]

    path.write_text(f"outlets:\n  - id: echo\n    kind: {plugin_package}\n    prefix: 'e-'\n    repeat: 9\n")
    with pytest.raises(ConfigError) as caught:
        load_outlets(path)
    assert f"{path}, line 5, outlet 'echo', field 'repeat'" in caught.value.reason


def test_an_outlet_handed_another_kinds_options_is_refused_when_built() -> None:
    webhook_options = WebhookOptions(url="https://example.org/hook", secret_env="SECRET")
    with pytest.raises(TypeError, match=r"outlet 'files' of kind 'files' takes FilesOptions, not WebhookOptions"):
        FilesOutlet("files", webhook_options, load_settings({}))  # type: ignore[arg-type]


def test_a_subclass_of_a_kind_keeps_its_parents_options_or_extends_them() -> None:
    class Counting(FilesOutlet):
        pass

    class Extended(FilesOptions):
        hold_dir: str

    class Holding(FilesOutlet):
        options_model = Extended

    assert Counting.options_model is FilesOptions and Holding.options_model is Extended
    with pytest.raises(TypeError, match="options_model must extend FilesOptions"):
        class Broken(FilesOutlet):
            options_model = WebhookOptions
