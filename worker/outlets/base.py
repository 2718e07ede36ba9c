"""The outlet port: every downstream system (files, WordPress, webhook, feeds) sits behind this.

An outlet formats the canonical Article its own way and hands it over. It never re-parses HTML. It is
told about the previous delivery of the same article (`previous`) so a new version updates the same
remote item instead of making a second one.

Outlet is generic over its options model: a kind declares `class WebhookOutlet(Outlet[WebhookOptions])`
and gets `options_model` (what config validates an entry with, at load, with its line) and a typed
`self.options` from that one line, with no cast or isinstance check in its methods. A subclass of a kind
(a plug-in extending FilesOutlet, say) may set `options_model` to a model extending its parent's.

Images: the deliver stage hands an outlet the version's stored images (worker/outlets/images.py) only
when its `publish` asks for them, by taking an `images` keyword (`publish(self, article, previous, *,
images=None)`); `publish_article` below looks at the signature. A plug-in written against the two-argument
`publish(article, previous)` goes on being called exactly so, and keeps the partner's image URLs.
"""
from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from worker.errors import OutletRejectedError
from worker.outlets.images import ArticleImages
from worker.schema import Article
from worker.settings import Settings


@dataclass(frozen=True)
class RemoteRef:
    """Where a delivered article lives at the outlet: its id there and, when it has one, a URL."""

    id: str
    url: str | None = None


#: the longest `timeout` any outlet takes, in seconds (ten minutes). Every outlet number has an upper
#: bound and no inf/nan, as the source fields do (worker/config.py): each ends up in a socket timeout, a
#: deadline or a list length, where `.inf` or 1e300 passed the check and then failed or hung at delivery.
MAX_OUTLET_TIMEOUT = 600.0


class OutletOptions(BaseModel):
    """Base of each outlet kind's options; unknown keys are errors so typos are caught at load time."""

    model_config = ConfigDict(extra="forbid")


OptionsT = TypeVar("OptionsT", bound=OutletOptions)


def _declared_options(cls: type) -> type[OutletOptions] | None:
    """The options model a class names in its own bases (`Outlet[FilesOptions]`), if it names one."""
    for base in cls.__dict__.get("__orig_bases__", ()):
        origin = get_origin(base)
        if isinstance(origin, type) and issubclass(origin, Outlet):
            for arg in get_args(base):
                if isinstance(arg, type) and issubclass(arg, OutletOptions):
                    return arg
    return None


class Outlet(ABC, Generic[OptionsT]):
    kind: ClassVar[str]
    #: set from the type parameter (`Outlet[FilesOptions]`); a ClassVar cannot itself hold the TypeVar
    options_model: ClassVar[type[OutletOptions]] = OutletOptions
    options: OptionsT

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        parent_model = next(base.__dict__["options_model"] for base in cls.__mro__[1:] if "options_model" in base.__dict__)
        declared = _declared_options(cls)
        if declared is not None and "options_model" not in cls.__dict__:
            cls.options_model = declared
        model = cls.options_model
        for required in (parent_model, declared or parent_model):
            # the parent's methods read the parent's fields, so a subclass's options must extend them
            if not (isinstance(model, type) and issubclass(model, required)):
                raise TypeError(f"{cls.__qualname__}.options_model must extend {required.__name__}, not {model!r}")

    def __init__(self, outlet_id: str, options: OptionsT, settings: Settings) -> None:
        if not isinstance(options, self.options_model):
            raise TypeError(f"outlet {outlet_id!r} of kind {self.kind!r} takes {self.options_model.__name__}, "
                            f"not {type(options).__name__} (build it with worker.outlets.build_outlet)")
        self.id = outlet_id
        self.options = options
        self.settings = settings

    @abstractmethod
    def publish(self, article: Article, previous: RemoteRef | None) -> RemoteRef:
        """Create or update the article at the outlet. Must be idempotent for the same article version.

        Raise TransientError subclasses for what a retry may fix, PermanentError for what it won't.
        An outlet that serves images declares `*, images: ArticleImages | None = None` as well (see the
        module docstring); None means the caller has none to give (the partner's URLs are all there is).
        """

    def check(self) -> str:
        """Credentials and reachability, for `syndicate outlets check`: a short description of what was
        verified; raise a SyndicationError saying what is wrong. The default has nothing remote to check."""
        return "nothing to check"

    def withdraw(self, remote: RemoteRef, reason: str) -> None:
        """Take a delivered article down (the partner withdrew it). Must be idempotent.

        The default refuses by name, so an outlet kind that cannot withdraw shows up on the ledger as
        a permanent failure an operator can see, never as a silent no-op.
        """
        raise OutletRejectedError(f"outlet kind {self.kind!r} cannot withdraw articles; remove {remote.id} by hand")


@cache
def takes_images(outlet_class: type[Outlet[Any]]) -> bool:
    """Whether the class's publish accepts the `images` keyword (or any keyword, **kwargs)."""
    parameters = inspect.signature(outlet_class.publish).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_KEYWORD or
               (p.name == "images" and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD))
               for p in parameters)


def publish_article(outlet: Outlet[Any], article: Article, previous: RemoteRef | None,
                    images: ArticleImages | None) -> RemoteRef:
    """outlet.publish, with the stored images when the outlet's publish takes them (see the module docstring)."""
    if images is not None and takes_images(type(outlet)):
        return outlet.publish(article, previous, images=images)  # type: ignore[call-arg]
    return outlet.publish(article, previous)
