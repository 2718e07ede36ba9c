"""The outlet port: every downstream system (files, WordPress, webhook, feeds) sits behind this.

An outlet formats the canonical Article its own way and hands it over. It never re-parses HTML. It is
told about the previous delivery of the same article (`previous`) so a new version updates the same
remote item instead of making a second one.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from worker.errors import OutletRejectedError
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


class Outlet(ABC):
    kind: ClassVar[str]
    options_model: ClassVar[type[OutletOptions]] = OutletOptions

    def __init__(self, outlet_id: str, options: OutletOptions, settings: Settings) -> None:
        self.id = outlet_id
        self.options = options
        self.settings = settings

    @abstractmethod
    def publish(self, article: Article, previous: RemoteRef | None) -> RemoteRef:
        """Create or update the article at the outlet. Must be idempotent for the same article version.

        Raise TransientError subclasses for what a retry may fix, PermanentError for what it won't.
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
