"""sources.yaml, sources.d/*.yaml and outlets.yaml → validated models.

A bad config file is the most common operator mistake, so every error names the file, the line, the
entry (by its id when it has one) and the field. pydantic gives the field path; the YAML node tree gives
the line (yamlfile.py walks it along pydantic's `loc`, composing it only when there is an error to
report: 10,000 sources load in about a second, 100,000 in about ten).

Sources come from sources.yaml and, for operators with many partners, from the files of sources.d/
(each with the same `sources:` list, merged after sources.yaml in file-name order); a source id is unique
across all of them.

The package holds this module (the models and loaders), yamlfile.py (a YAML file read fast, its errors
located), patterns.py (operator patterns on RE2), allow_entries.py (the allow_private_networks syntax),
kinds.py (plug-in kinds by name) and watch.py (whether the config's files changed). May import:
worker.errors, worker.css, worker.schema; never the layers it configures (outlets, discover, http) nor
Celery, flow, ops, web or cli.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from worker.css import css_to_xpath
from worker.errors import ConfigError, UnknownOutletError, UnknownSourceError
from worker.config.patterns import pattern_problem
from worker.schema import DEFAULT_ATTRIBUTION_TEMPLATE, Rights
from worker.config.allow_entries import parse_allow_entry
from worker.config.kinds import DISCOVERY_KINDS, OUTLET_KINDS, options_problems
from worker.config.yamlfile import YamlFile, gc_paused, position, read_yaml

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
#: longest poll interval: 30 days (a partner polled less often than that is imported by hand)
MAX_INTERVAL_SECONDS = 30 * 24 * 3600
#: longest updates window, re-check period or idle alert: about a year (366 days)
MAX_HOURS = 366 * 24


@lru_cache(maxsize=4096)
def _css_problem(selector: str) -> str | None:
    """Why `selector` is not valid CSS, or None. Cached: the same selectors recur across many sources,
    and translating each copy was half the cost of validating a source."""
    try:
        css_to_xpath(selector)
    except ValueError as exc:
        return str(exc)
    return None


def _refuse_invalid_css(selector: str) -> None:
    problem = _css_problem(selector)
    if problem is not None:
        raise ValueError(problem)


class Selectors(BaseModel):
    """Per-source CSS selectors. When given they win over every generic rule."""

    model_config = ConfigDict(extra="forbid")
    body: str | None = None
    headline: str | None = None
    byline: str | None = None
    date: str | None = None
    section: str | None = None
    lead_image: str | None = None
    caption: str | None = None
    credit: str | None = None
    drop: list[str] = Field(default_factory=list, description="Elements removed before anything is extracted.")

    @field_validator("body", "headline", "byline", "date", "section", "lead_image", "caption", "credit")
    @classmethod
    def _valid_css(cls, value: str | None) -> str | None:
        if value is not None:
            _refuse_invalid_css(value)  # a typo in a selector is a config error, caught at load, not per page
        return value

    @field_validator("drop")
    @classmethod
    def _valid_css_list(cls, value: list[str]) -> list[str]:
        for selector in value:
            _refuse_invalid_css(selector)
        return value


class DiscoverEntry(BaseModel):
    """Where a source's new articles are found: a kind (a built-in name, feed | sitemap | listing, or
    `package.module:Class`, resolved by worker/config/kinds.py) and the kind's own options (`url:` and,
    for a listing, `link_selector:` ...), which load_sources validates against the kind's options model."""

    model_config = ConfigDict(extra="allow")
    kind: str

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def label(self) -> str:
        """The entry as the poll reports it: its kind and, when it has one, its URL."""
        url = (self.model_extra or {}).get("url")
        return f"{self.kind} {url}" if url else self.kind


def _runnable_pattern(expression: str) -> str:
    """An include/exclude pattern RE2 can run (worker/config/patterns.py says why RE2): refused here, at load,
    with the file and the line of the very list item, not on a live poll."""
    problem = pattern_problem(expression)
    if problem is not None:
        raise ValueError(f"pattern '{expression}': {problem}")
    return expression


#: a regular expression matched against discovered links in linear time (RE2)
Pattern = Annotated[str, AfterValidator(_runnable_pattern)]


def _valid_allow_entry(entry: str) -> str:
    parse_allow_entry(entry)  # a ValueError naming the entry and what is wrong with it
    return entry


#: an allow_private_networks entry: address or CIDR network, optionally `:port` (worker/config/allow_entries.py)
AllowEntryText = Annotated[str, AfterValidator(_valid_allow_entry)]

class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    attribution: str = DEFAULT_ATTRIBUTION_TEMPLATE
    allowed_domains: list[str] = Field(min_length=1)
    selectors: Selectors | None = None
    language: str | None = None
    rights: Rights | None = None
    #: where new articles are found; a source with none is imported by hand only
    discover: list[DiscoverEntry] = Field(default_factory=list)
    # Every number has an upper bound too: each ends up in a Redis expiry, a timedelta or a wait, where
    # `interval: 100000000000000000000000` passed the check and then failed every beat tick.
    #: seconds between polls
    interval: int = Field(default=900, ge=10, le=MAX_INTERVAL_SECONDS)
    #: regular expressions (RE2 syntax: no lookaround, no backreferences) a discovered URL must match
    #: (any) / must not match (none); searched, not anchored
    include: list[Pattern] = Field(default_factory=list)
    exclude: list[Pattern] = Field(default_factory=list)
    #: hours after publication during which a known article is re-fetched to catch partner edits
    updates_window_hours: float = Field(default=48, ge=0, le=MAX_HOURS, allow_inf_nan=False)
    #: hours between re-checks of a known article inside the updates window
    recheck_every_hours: float = Field(default=6, gt=0, le=MAX_HOURS, allow_inf_nan=False)
    #: hours without a new article after which the source is flagged idle
    idle_alert_after_hours: float = Field(default=72, gt=0, le=MAX_HOURS, allow_inf_nan=False)
    #: requests per second to each of this source's hosts, shared by all workers (0.001: one per ~17 minutes)
    rate_limit_per_second: float = Field(default=1.0, ge=0.001, le=1000, allow_inf_nan=False)
    rate_limit_burst: int = Field(default=2, ge=1, le=1000)
    #: robots.txt is honoured unless this is set together with a reason (kept for the audit trail)
    ignore_robots: bool = False
    ignore_robots_reason: str | None = None
    #: addresses or networks (CIDR) this source may resolve to even though they are private/loopback,
    #: each optionally on one port only (10.0.0.5:8080, 10.0.0.0/24:8080, [fd00::1]:443; see worker/http/ssrf.py);
    #: the SSRF guard refuses such addresses otherwise
    allow_private_networks: list[AllowEntryText] = Field(default_factory=list)

    @model_validator(mode="after")
    def _robots_reason(self) -> Source:
        if self.ignore_robots and not (self.ignore_robots_reason or "").strip():
            raise ValueError("ignore_robots: true needs ignore_robots_reason (say why, e.g. the partner's written permission)")
        return self

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("use lowercase letters, digits, '-', '_' or '.', starting with a letter or digit")
        return value

    @field_validator("allowed_domains")
    @classmethod
    def _lowercase_domains(cls, value: list[str]) -> list[str]:
        return [d.strip().lower().lstrip(".") for d in value]

    @field_validator("attribution")
    @classmethod
    def _template_renders(cls, value: str) -> str:
        try:
            value.format(source_name="X")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"template must only use {{source_name}} (got {exc!s})") from None
        return value

    def allows_host(self, host: str) -> bool:
        """True when `host` is one of the allowed domains or a subdomain of one."""
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)


class Routing(BaseModel):
    """Which articles an outlet takes. An empty list means "any"; exclusions win over inclusions.
    Sections and languages compare without case; a language matches its regional forms (en ~ en-US)."""

    model_config = ConfigDict(extra="forbid")
    sources: list[str] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    exclude_sources: list[str] = Field(default_factory=list)
    exclude_sections: list[str] = Field(default_factory=list)


class OutletConfig(BaseModel):
    """An outlet: an id, a kind (a built-in name or `package.module:Class`), and the kind's own options."""

    model_config = ConfigDict(extra="allow")
    id: str
    kind: str
    enabled: bool = True
    routing: Routing = Field(default_factory=Routing)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[Source] = Field(default_factory=list)


class OutletsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outlets: list[OutletConfig] = Field(default_factory=list)


class Config(BaseModel):
    sources: dict[str, Source]
    outlets: dict[str, OutletConfig]
    #: source id -> the file it is configured in (sources.yaml or one of sources.d/)
    source_files: dict[str, Path] = Field(default_factory=dict)

    def source(self, source_id: str) -> Source:
        try:
            return self.sources[source_id]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none configured"
            raise UnknownSourceError(f"no source {source_id!r} in sources.yaml or sources.d/ (known: {known})") from None

    def outlet(self, outlet_id: str) -> OutletConfig:
        try:
            return self.outlets[outlet_id]
        except KeyError:
            known = ", ".join(sorted(self.outlets)) or "none configured"
            raise UnknownOutletError(f"no outlet {outlet_id!r} in outlets.yaml (known: {known})") from None


#: the files and the folder load_config reads, in a config folder
SOURCES_FILE = "sources.yaml"
OUTLETS_FILE = "outlets.yaml"
SOURCES_DIR = "sources.d"

#: (loc named in the message, loc of the node whose line is given, message)
Problem = tuple[tuple[Any, ...], tuple[Any, ...], str]


def _load_entries(path: Path, model: type[BaseModel], kind: str, entries_of: Callable[[Any], list[Any]],
                  problems_of: Callable[[int, Any], list[Problem]]) -> list[Any]:
    """A file's entries, validated as `model`, ids unique, and each entry's plug-in options checked by
    `problems_of(index, entry)`; every problem of the file reported at once, each with its line. The
    file is read once; its lines are looked up (the node tree composed) only when there is a problem."""
    with gc_paused():
        document = read_yaml(path)
        try:
            parsed = model.model_validate(document.data)
        except ValidationError as exc:
            raise ConfigError("\n".join(document.describe(tuple(e["loc"]), e["msg"])
                                         for e in exc.errors())) from None
        entries = entries_of(parsed)
        _check_unique(document, kind, [e.id for e in entries])
        problems = [document.describe(named, message, node_loc=at)
                    for index, entry in enumerate(entries) for named, at, message in problems_of(index, entry)]
    if problems:
        raise ConfigError("\n".join(problems))
    return entries


def _check_unique(document: YamlFile, kind: str, ids: list[str]) -> None:
    """Refuse an id given to two entries of one file, naming the lines of both."""
    first: dict[str, int] = {}
    messages = []
    for index, item_id in enumerate(ids):
        if item_id not in first:
            first[item_id] = index
            continue
        where = (f"{kind}s", index, "id")
        earlier, later = document.mark_of((f"{kind}s", first[item_id], "id")), document.mark_of(where)
        assert earlier is not None and later is not None  # both entries are in the file
        messages.append(document.describe(where, f"{kind} id {item_id!r} is used twice, on "
                                          f"{position(earlier, later)} and {position(later, earlier)}; "
                                          "ids must be unique"))
    if messages:
        raise ConfigError("\n".join(messages))


def _discovery_problems(index: int, source: Source) -> list[Problem]:
    found = []
    for number, entry in enumerate(source.discover):
        at = ("sources", index, "discover", number)
        for loc, message in options_problems(entry.kind, entry.options, DISCOVERY_KINDS, "discovery",
                                             needs="discover"):
            # named with the kind (discover.listing.max_pages, as before kinds were plug-ins); the line
            # is the option's own
            named = (*at, *loc) if loc == ("kind",) else (*at, entry.kind, *loc)
            found.append((named, (*at, *loc), message))
    return found


def _outlet_problems(index: int, outlet: OutletConfig) -> list[Problem]:
    return [(("outlets", index, *loc), ("outlets", index, *loc), message)
            for loc, message in options_problems(outlet.kind, outlet.options, OUTLET_KINDS, "outlet",
                                                       needs="publish")]


def load_sources(path: Path) -> dict[str, Source]:
    """Load sources and validate each discover entry's options against its kind's own options model."""
    sources = _load_entries(path, SourcesFile, "source", lambda f: f.sources, _discovery_problems)
    return {s.id: s for s in sources}


def load_outlets(path: Path) -> dict[str, OutletConfig]:
    """Load outlets and validate each one's options against its kind's own options model."""
    outlets = _load_entries(path, OutletsFile, "outlet", lambda f: f.outlets, _outlet_problems)
    return {o.id: o for o in outlets}


def sources_dir_files(config_dir: Path) -> list[Path]:
    """config/sources.d/*.yaml, sorted by file name; hidden files (an editor's .#x.yaml) are left out."""
    directory = config_dir / SOURCES_DIR
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [directory / e.name for e in sorted(entries, key=lambda e: e.name)
            if e.name.endswith(".yaml") and not e.name.startswith(".") and e.is_file()]


def source_files(config_dir: Path) -> list[Path]:
    """The files sources come from, in the order they are merged: sources.yaml (when there is one, or
    when nothing else holds sources: then its absence is the error), then sources.d/*.yaml by name."""
    directory_files = sources_dir_files(config_dir)
    main = config_dir / SOURCES_FILE
    return ([main] if main.exists() or not directory_files else []) + directory_files


def config_files(config_dir: Path) -> list[Path]:
    """Every file load_config reads (or would, once it exists): what a change of the config is a change
    of (Services re-reads the config when one of them changes, appears or goes)."""
    return [config_dir / SOURCES_FILE, *sources_dir_files(config_dir), config_dir / OUTLETS_FILE]


def describe_source_files(config_dir: Path, config: Config | None = None, listed: int = 10) -> list[str]:
    """Where the sources come from, for `syndicate check` and `syndicate sources`: a line per file (with
    its count of sources when `config` is given), the files of sources.d/ summarised past `listed` of
    them. Empty when sources.yaml is the only file (the usual case says nothing new)."""
    directory_files = sources_dir_files(config_dir)
    if not directory_files:
        return []
    counts = Counter(config.source_files.values()) if config is not None else None

    def line(path: Path) -> str:
        return f"  {counts[path]} sources from {path}" if counts is not None else f"  {path}"

    main = config_dir / SOURCES_FILE
    lines = [line(main)] if main.exists() else []
    if len(directory_files) <= listed:
        return lines + [line(path) for path in directory_files]
    total = f"{sum(counts[p] for p in directory_files)} sources from " if counts is not None else ""
    return lines + [f"  {total}{len(directory_files)} files in {config_dir / SOURCES_DIR}/ "
                    f"({directory_files[0].name} ... {directory_files[-1].name})"]


def load_all_sources(config_dir: Path) -> tuple[dict[str, Source], dict[str, Path]]:
    """Every source of the folder (sources.yaml, then sources.d/*.yaml by name) and the file each came
    from. Every file is validated alone and all their errors are reported together; an id given in two
    files is refused naming both files and lines."""
    sources: dict[str, Source] = {}
    origin: dict[str, tuple[Path, int]] = {}
    errors: list[str] = []
    for path in source_files(config_dir):
        try:
            loaded = load_sources(path)
        except ConfigError as exc:
            errors.append(exc.reason)
            continue
        for index, (source_id, source) in enumerate(loaded.items()):
            if source_id in origin:
                errors.append(_id_in_two_files(source_id, origin[source_id], (path, index)))
                continue
            sources[source_id] = source
            origin[source_id] = (path, index)
    if errors:
        raise ConfigError("\n".join(errors))
    return sources, {source_id: path for source_id, (path, _) in origin.items()}


def _id_in_two_files(source_id: str, first: tuple[Path, int], second: tuple[Path, int]) -> str:
    """The refusal of one source id in two files. The files are read again for the lines: this is the
    error path, and keeping every file's node tree for it would cost the common path."""
    def where(path: Path, index: int) -> str:
        line = read_yaml(path).line_of(("sources", index, "id"))
        return f"{path}, line {line}" if line is not None else str(path)

    return (f"{where(*second)}, source {source_id!r}, field 'id': source id {source_id!r} is used twice, in "
            f"{where(*first)} and in {where(*second)}; ids must be unique across sources.yaml and sources.d/")


def load_config(config_dir: Path) -> Config:
    """sources.yaml, sources.d/*.yaml and outlets.yaml (optional) of the folder, validated."""
    with gc_paused():
        sources, files = load_all_sources(config_dir)
        outlets_path = config_dir / OUTLETS_FILE
        outlets = load_outlets(outlets_path) if outlets_path.exists() else {}
        return Config(sources=sources, outlets=outlets, source_files=files)
