"""One YAML config file read fast, and its errors located (file, line, entry, field) only when there are any.

Why this shape: a config of 10,000 sources took 45 s to read with PyYAML's pure-Python parser, run four
times per file (a node tree for line numbers, then the data, twice over). The common case, a file without
mistakes, needs neither the node tree nor a Python parser: it is parsed once by libyaml (`CSafeLoader`),
and duplicate keys are noticed while the mappings are constructed (libyaml still hands each mapping to
the Python constructor below). The node tree, which only serves to put a line on an error, is composed
(by libyaml too) when an error is to be reported; a file libyaml refuses is read again by the
pure-Python parser, whose messages are the ones operators know (it names an undefined alias, say).
Without libyaml the pure-Python loader does the same work, only slower.

May import: worker.errors only.
"""
from __future__ import annotations

import gc
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from worker.errors import ConfigError

__all__ = ["FAST_LOADER", "YamlFile", "describe_error", "gc_paused", "position", "read_yaml"]

_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a config is built, back as it was after.

    Why: building a config allocates millions of objects that all stay alive (the nodes libyaml builds,
    their marks, the data, the models), and each allocation burst triggers a collection that walks the
    ever larger young heap again: measured on 10,000 sources, composing took 2.9 s with the collector on
    and 0.4 s with it off, the whole load 5.2 s and 1.7 s. Nothing built here is cyclic garbage worth
    collecting early. Re-entrant and thread-safe: the collector is switched back on by the last of any
    overlapping loads, and only if it was on before the first.
    """
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()

#: libyaml's parser with PyYAML's safe constructors, or the pure-Python one when libyaml is missing
_FastBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_STR_TAG = "tag:yaml.org,2002:str"


class _StrictLoader(_FastBase):  # type: ignore[misc, valid-type]
    """The safe loader that also notices a key given twice in one mapping.

    Only *noticing* is done here (a set lookup per key, on the nodes libyaml built): naming the keys and
    their lines is left to `_duplicate_keys`, which walks a node tree composed for that purpose, so the
    messages are exactly those of the walk. The check looks at a mapping's keys before `<<` merges are
    flattened into it (a merged key overridden by the mapping's own is not a duplicate), once per node
    (an alias shares its node; a node flattened twice would show its merged keys twice).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_key_seen = False
        self._checked: set[int] = set()

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        if not self.duplicate_key_seen and id(node) not in self._checked:
            self._checked.add(id(node))
            keys = [(key.tag, key.value) for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
            if len(set(keys)) != len(keys):
                self.duplicate_key_seen = True
        super().flatten_mapping(node)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # Most nodes of a config are plain strings, which SafeConstructor turns into themselves through
        # four calls and two dictionaries (the alias memo, the recursion guard): a string cannot be
        # recursive and is immutable, so its value is returned at once. Measured: a third of the load.
        if node.tag == _STR_TAG and node.__class__ is yaml.ScalarNode:
            return node.value
        return super().construct_object(node, deep=deep)


#: the loader of the common path (named for the bench and the tests)
FAST_LOADER: type[yaml.SafeLoader] = _StrictLoader


@dataclass
class YamlFile:
    """A config file as loaded: its path, its text and its data; `root`, the node tree that gives the
    lines, is composed on first use, which only an error report makes."""

    path: Path
    text: str
    data: Any
    _root: yaml.Node | None = field(default=None, repr=False)
    _composed: bool = field(default=False, repr=False)

    @property
    def root(self) -> yaml.Node | None:
        if not self._composed:
            self._root = yaml.compose(self.text, Loader=_FastBase)
            self._composed = True
        return self._root

    def mark_of(self, loc: tuple[Any, ...]) -> yaml.Mark | None:
        """Where the deepest node along `loc` starts (None for an empty file)."""
        node = _node_at(self.root, loc)
        return node.start_mark if node is not None else None

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """The 1-based line of the deepest node along `loc` (None for an empty file)."""
        mark = self.mark_of(loc)
        return mark.line + 1 if mark is not None else None

    def describe(self, loc: tuple[Any, ...], message: str, node_loc: tuple[Any, ...] | None = None) -> str:
        return describe_error(self.path, self.root, self.data, loc, message, node_loc=node_loc)


def read_yaml(path: Path) -> YamlFile:
    """The file's data (an empty file is {}), or a ConfigError naming the file and, when YAML itself is
    broken or a key is given twice, the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (copy the example from the project's config/ folder)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start} of the file: {exc.reason}); "
                          "save it as UTF-8") from None
    loader = _StrictLoader(text)
    try:
        data = loader.get_single_data()
    except (yaml.YAMLError, RecursionError) as exc:
        raise _syntax_error(path, text, exc) from None
    finally:
        loader.dispose()
    document = YamlFile(path, text, data if data is not None else {})
    if loader.duplicate_key_seen:
        duplicates = _duplicate_keys(path, document.root)
        if duplicates:
            raise ConfigError("\n".join(duplicates))
    return document


def _syntax_error(path: Path, text: str, fast: BaseException) -> ConfigError:
    """The error for a file the fast loader refused: the pure-Python parser's, as before (its messages
    say more: the undefined alias by name, 'expected <block end>'), or the fast one's when the pure
    parser takes the file (a libyaml limit, such as its nesting depth)."""
    try:
        yaml.compose(text, Loader=yaml.SafeLoader)
        yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - the safe loader
    except (yaml.YAMLError, RecursionError) as exc:
        return _describe_yaml_error(path, text, exc)
    return _describe_yaml_error(path, text, fast)


def _describe_yaml_error(path: Path, text: str, exc: BaseException) -> ConfigError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return ConfigError(f"{path}{where}: not valid YAML: {exc.problem}")
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow (control characters, NUL)
        line = text.count("\n", 0, exc.position) + 1
        return ConfigError(f"{path}, line {line}: not valid YAML: character #x{exc.character:04x} is not "
                           "allowed in YAML")
    if isinstance(exc, RecursionError):  # PyYAML's parser recurses once per nesting level
        return ConfigError(f"{path}: not valid YAML: nested too deeply")
    return ConfigError(f"{path}: not valid YAML: {exc}")


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


def position(mark: yaml.Mark, other: yaml.Mark) -> str:
    """'line N', with the column when `other` is on the same line (two keys of one flow mapping)."""
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
                                  f"{position(earlier, mark)} and {position(mark, earlier)}; YAML would "
                                  "silently keep only the last one, so remove or merge one of them"))
                else:
                    first[identity] = key.start_mark
                pending.append((value, (*loc, key.value), entry))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                named = _entry_of(loc[0], index, item) if entry is None and len(loc) == 1 else None
                pending.append((item, () if named else (*loc, index), named or entry))
    return [message for _, message in sorted(found, key=lambda pair: pair[0])]
