"""The discovery port: a `discover:` entry's `kind:` names a class implementing DiscoveryKind.

A kind is a built-in name (worker/config/kinds.py DISCOVERY_KINDS: feed, sitemap, listing) or
`package.module:Class`, exactly as outlet kinds are. It brings an options model (pydantic, validated when
sources.yaml loads, so a bad entry is refused naming file, line and field) and one method the poll stage
calls, `discover`, which reads the partner's resources through the `fetch` it is handed and returns
candidate links. The kind never fetches by itself: `fetch` is the poll stage's, with everything a partner
request must have (robots.txt, rate limit, deadlines, size caps, SSRF guard) and the conditional-GET
bookkeeping (a resource unchanged since the last poll comes back as None, and costs no parse).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from worker.config import DiscoverEntry, Source
from worker.config.kinds import DISCOVERY_KINDS, resolve_kind
from worker.discover.candidates import Candidate
from worker.errors import ConfigError
from worker.schema.declared import DeclaredArticle

if TYPE_CHECKING:
    from worker.http.page import Page

#: richness of a kind whose candidates carry title, dates and summary (a feed): the most a kind says
RICHEST = 3


class DiscoveryOptions(BaseModel):
    """Base of each kind's options; unknown keys are errors so typos are caught at load time."""

    model_config = ConfigDict(extra="forbid")


class Fetch(Protocol):
    def __call__(self, url: str, *, html: bool = False, accept: str | None = None) -> Page | None:
        """The partner resource at `url` (`html`: a page read like an article page, charset and all;
        `accept`: the Accept header of a resource, when not a feed's, such as a JSON API's);
        None when it has not changed since the last poll. Raises the fetch's named errors."""


@dataclass(frozen=True)
class PollState:
    """What the poll knows of earlier polls of the source."""

    #: when the source's last successful poll finished; None on the first poll (or after a failed one)
    since: datetime | None = None


OptionsT = TypeVar("OptionsT", bound=DiscoveryOptions)


class DiscoveryKind(ABC, Generic[OptionsT]):
    """One kind of discovery resource. Subclass as `class MyKind(DiscoveryKind[MyOptions])` and set
    `options_model = MyOptions`; instances are made per poll, with no arguments."""

    options_model: ClassVar[type[DiscoveryOptions]] = DiscoveryOptions
    #: how much a candidate of this kind says about its article, from 1 (a listing page: the link text)
    #: through 2 (a sitemap: a date) to RICHEST (a feed: title, dates, summary). Fingerprints of
    #: different kinds never agree; the poll keeps the richer kind's, so a poorer kind answering while the
    #: richer one is unchanged does not look like an edit of every link (flow/poll.py says more).
    richness: ClassVar[int] = 1
    #: what `read_item` reads: the Accept header of the ingest's request for a candidate's `item_url`
    item_accept: ClassVar[str] = "application/json"
    #: statuses of an `item_url` that mean the partner took the article away: the ingest withdraws it as
    #: it does a page's 410. Only where the status can only mean the article: an API's 404 or 401 may be
    #: the API's own (switched off, closed to anonymous readers), so kind: wordpress names none
    item_gone_statuses: ClassVar[frozenset[int]] = frozenset({404, 410})

    @abstractmethod
    def discover(self, fetch: Fetch, options: OptionsT, source: Source, state: PollState) -> list[Candidate]:
        """Candidate links found by reading the entry's resources with `fetch` (never fetch otherwise).

        Follow only links on the source's allowed domains (`source.allows_host`), and bound how much one
        poll reads. Raise a SyndicationError subclass (TransientError: retried; PermanentError: reported)
        for what goes wrong; the poll reports it for this entry and runs the source's other entries.
        """

    def read_item(self, page: Page, source: Source) -> DeclaredArticle:
        """The declared article at a candidate's `item_url` (kinds whose candidates carry one).

        Called by the ingest, which fetched `page` with the source's rules; raise ExtractionError (or
        another PermanentError) for a document that is not one. Kinds without `item_url` never get here.
        """
        raise ConfigError(f"discovery kind {type(self).__name__} hands out item_url but cannot read_item")


def discovery_kind(kind: str) -> type[DiscoveryKind[Any]]:
    """The class a `kind:` names; a ConfigError naming the kind when it names nothing usable."""
    cls = resolve_kind(kind, DISCOVERY_KINDS, "discovery")
    if not (isinstance(cls, type) and issubclass(cls, DiscoveryKind)):
        raise ConfigError(f"discovery kind {kind!r} is not a DiscoveryKind subclass (worker/discover/kind.py)")
    return cls


def entry_options(cls: type[DiscoveryKind[Any]], entry: DiscoverEntry) -> DiscoveryOptions:
    """The entry's options as its kind's model. sources.yaml has checked them at load; a Source built in
    code has not, so a bad one is a ConfigError here, naming the kind and the field, not a traceback."""
    try:
        return cls.options_model.model_validate(entry.options)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"discovery entry {entry.label}: {problems}") from None
