"""sources.yaml and outlets.yaml → validated models.

A bad config file is the most common operator mistake, so every error names the file, the line, the
entry (by its id when it has one) and the field. pydantic gives the field path; PyYAML's node tree gives
the line: we walk the composed nodes along pydantic's `loc` to find it.

The package holds this module (the models and loaders), patterns.py (operator patterns on RE2),
allow_entries.py (the allow_private_networks syntax) and kinds.py (plug-in kinds by name). May import:
worker.errors, worker.css, worker.schema; never the layers it configures (outlets, discover, http) nor
Celery, flow, ops, web or cli.
"""
from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from worker.css import css_to_xpath
from worker.errors import ConfigError, UnknownOutletError, UnknownSourceError
from worker.config.patterns import pattern_problem
from worker.schema import DEFAULT_ATTRIBUTION_TEMPLATE, Rights
from worker.config.allow_entries import parse_allow_entry
from worker.config.kinds import DISCOVERY_KINDS, OUTLET_KINDS, options_problems

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
#: longest poll interval: 30 days (a partner polled less often than that is imported by hand)
MAX_INTERVAL_SECONDS = 30 * 24 * 3600
#: longest updates window, re-check period or idle alert: about a year (366 days)
MAX_HOURS = 366 * 24


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
            css_to_xpath(value)  # a typo in a selector is a config error, caught at load, not per page
        return value

    @field_validator("drop")
    @classmethod
    def _valid_css_list(cls, value: list[str]) -> list[str]:
        for selector in value:
            css_to_xpath(selector)
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

    def source(self, source_id: str) -> Source:
        try:
            return self.sources[source_id]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none configured"
            raise UnknownSourceError(f"no source {source_id!r} in sources.yaml (known: {known})") from None

    def outlet(self, outlet_id: str) -> OutletConfig:
        try:
            return self.outlets[outlet_id]
        except KeyError:
            known = ", ".join(sorted(self.outlets)) or "none configured"
            raise UnknownOutletError(f"no outlet {outlet_id!r} in outlets.yaml (known: {known})") from None


# --- locating errors --------------------------------------------------------------------------------

def _node_at(node: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """The deepest YAML node along a pydantic error location (so the line is as precise as it can be)."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if match is None:
                return node
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return node
    return node


def _entry_name(data: Any, loc: tuple[Any, ...]) -> str | None:
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data, dict):
        items = data.get(loc[0])
        if isinstance(items, list) and loc[1] < len(items):
            item = items[loc[1]]
            if isinstance(item, dict) and item.get("id"):
                return f"{loc[0][:-1]} {item['id']!r}"
            return f"{loc[0][:-1]} #{loc[1] + 1}"
    return None


def describe_error(path: Path, root: yaml.Node | None, data: Any, loc: tuple[Any, ...], message: str,
                   node_loc: tuple[Any, ...] | None = None) -> str:
    """'file, line N, source 'id', field 'a.b': message'; the line is that of `node_loc` when given (a
    field named differently from where it sits in the file), else of `loc`."""
    node = _node_at(root, loc if node_loc is None else node_loc)
    line = f", line {node.start_mark.line + 1}" if node is not None else ""
    entry = _entry_name(data, loc)
    field_path = ".".join(str(p) for p in loc[2:] if not isinstance(p, int)) if entry else ".".join(map(str, loc))
    parts = [f"{path}{line}"]
    if entry:
        parts.append(entry)
    if field_path:
        parts.append(f"field {field_path!r}")
    return ", ".join(parts) + f": {message}"


def _entry_of(list_key: Any, index: int, item: yaml.Node) -> str | None:
    """'source 'id'' / 'outlet #2' for an item of the top-level sources/outlets list, read off the node
    tree (the loaded data has already lost whatever a duplicate key replaced)."""
    if list_key not in ("sources", "outlets"):
        return None
    if isinstance(item, yaml.MappingNode):
        for key, value in item.value:
            if getattr(key, "value", None) == "id" and isinstance(value, yaml.ScalarNode) and value.value:
                return f"{list_key[:-1]} {value.value!r}"
    return f"{list_key[:-1]} #{index + 1}"


def _position(mark: yaml.Mark, other: yaml.Mark) -> str:
    return f"line {mark.line + 1}" + (f" column {mark.column + 1}" if mark.line == other.line else "")


def _duplicate_keys(path: Path, root: yaml.Node | None) -> list[str]:
    """Every key written twice in one mapping, named with both lines.

    Why: YAML (and PyYAML) silently keeps the last of two equal keys, so a second
    `allow_private_networks:` further down a source replaces the first, and a second `sources:` at the
    end of the file (an empty one) drops every source while the file still "loads". PyYAML has no
    strict mode, so the composed node tree is walked here (iteratively, each node once: aliases share
    nodes, and a recursive alias must not loop).
    """
    found: list[tuple[int, str]] = []
    # (node, field path below the entry, entry name)
    pending: deque[tuple[yaml.Node, tuple[Any, ...], str | None]] = deque([(root, (), None)] if root is not None else [])
    visited: set[int] = set()
    while pending:
        node, loc, entry = pending.popleft()  # breadth first: an anchored node is named where it is defined
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], yaml.Mark] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    pending.append((value, loc, entry))
                    continue
                identity = (key.tag, key.value)
                if identity in first:
                    earlier, mark = first[identity], key.start_mark
                    parts = [f"{path}, line {mark.line + 1}", *([entry] if entry else []),
                             "field " + repr(".".join(str(p) for p in (*loc, key.value)))]
                    found.append((mark.line, ", ".join(parts) + f": key {key.value!r} is given twice, on "
                                  f"{_position(earlier, mark)} and {_position(mark, earlier)}; YAML would "
                                  "silently keep only the last one, so remove or merge one of them"))
                else:
                    first[identity] = key.start_mark
                pending.append((value, (*loc, key.value), entry))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                named = _entry_of(loc[0], index, item) if entry is None and len(loc) == 1 else None
                pending.append((item, () if named else (*loc, index), named or entry))
    return [message for _, message in sorted(found, key=lambda pair: pair[0])]


def _load_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (copy the example from the project's config/ folder)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start} of the file: {exc.reason}); "
                          "save it as UTF-8") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {exc.problem}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (control characters, NUL)
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(f"{path}, line {line}: not valid YAML: character #x{exc.character:04x} is not "
                          "allowed in YAML") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except RecursionError:  # PyYAML's parser recurses once per nesting level
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    data = data if data is not None else {}
    duplicates = _duplicate_keys(path, root)
    if duplicates:
        raise ConfigError("\n".join(duplicates))
    return data, root


def _validate(model: type[BaseModel], path: Path) -> BaseModel:
    data, root = _load_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        messages = [describe_error(path, root, data, tuple(e["loc"]), e["msg"]) for e in exc.errors()]
        raise ConfigError("\n".join(messages)) from None


def _check_unique(path: Path, kind: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise ConfigError(f"{path}: {kind} id {item_id!r} is used twice; ids must be unique")
        seen.add(item_id)


def _load_entries(path: Path, model: type[BaseModel], kind: str, entries_of: Callable[[Any], list[Any]],
                  problems_of: Callable[[int, Any], list[tuple[tuple[Any, ...], tuple[Any, ...], str]]],
                  ) -> list[Any]:
    """A file's entries, validated as `model`, ids unique, and each entry's plug-in options checked by
    `problems_of(index, entry)` -> (loc named in the message, loc of the node whose line is given,
    message); every problem of the file reported at once, each with its line."""
    parsed = _validate(model, path)
    entries = entries_of(parsed)
    _check_unique(path, kind, [e.id for e in entries])
    data, root = _load_yaml(path)
    problems = [describe_error(path, root, data, named, message, node_loc=at)
                for index, entry in enumerate(entries) for named, at, message in problems_of(index, entry)]
    if problems:
        raise ConfigError("\n".join(problems))
    return entries


def _discovery_problems(index: int, source: Source) -> list[tuple[tuple[Any, ...], tuple[Any, ...], str]]:
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


def _outlet_problems(index: int, outlet: OutletConfig) -> list[tuple[tuple[Any, ...], tuple[Any, ...], str]]:
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


def load_config(config_dir: Path) -> Config:
    sources_path = config_dir / "sources.yaml"
    outlets_path = config_dir / "outlets.yaml"
    sources = load_sources(sources_path)
    outlets = load_outlets(outlets_path) if outlets_path.exists() else {}
    return Config(sources=sources, outlets=outlets)

