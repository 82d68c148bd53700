"""YAML loading whose time and memory stay proportional to the input, for every file nodewarden reads.

`yaml.safe_load` builds a node graph for the whole document (~40 bytes of memory per byte of YAML),
expands nothing but lets aliases share objects that every later walk expands (a 622-byte alias bomb
ran past 120 s and 3 GB), builds cycles from recursive aliases, and its composer recurses: the C
composer dies of SIGSEGV on ~30,000 nested brackets. So this module reads the parser's event stream
and builds the Python values itself, without recursion, and refuses before a limit is passed:

- nesting deeper than `MAX_DEPTH`;
- more nodes, counting each alias as the nodes it expands to, than `max(NODE_FLOOR, 2 × input length)`;
- an alias to the collection it sits in (a recursive alias), an undefined or a duplicate anchor;
- a scalar longer than `MAX_SCALAR_CHARS`, an input longer than `max_chars`;
- values Python or the rest of nodewarden cannot hold: integers of more than 4,300 digits (Python's
  int-to-str limit), numbers that are not finite (`1e999`, `.inf`, `.nan`: JSON cannot say them either),
  impossible dates (`2026-13-45`, `0000-01-01`), tags other than YAML's core scalars, mappings and sequences.

Semantics are otherwise `yaml.safe_load`'s: the same implicit types, merge keys (`<<`), a later duplicate
key replacing an earlier one. Every problem is a `yaml.MarkedYAMLError` (line and column where there is
one), which is what the callers already translate into their own one-line errors (schema.py,
observe/files.py, notify/config.py, connection.py).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeAlias

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

MAX_DEPTH = 100  # a Kubernetes object nests ~20 deep (managedFields); far below Python's recursion limit of 1,000
MAX_SCALAR_CHARS = 1 << 20  # Kubernetes caps an object's annotations at 256 KiB, ConfigMap data at 1 MiB
MAX_CONFIG_CHARS = 16 << 20  # config, waiver, policy, drill, notification and kubeconfig files are kilobytes
NODE_FLOOR = 100_000  # a small file may expand aliases this far; a large one to twice its length
INT_MAX_DIGITS = 4_300  # sys.get_int_max_str_digits(): a longer int cannot be printed in a message

_LIMIT_INT = 10**INT_MAX_DIGITS
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
_SCALAR_TAGS = {_STR, _INT, _FLOAT, "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp"}
_SEQUENCE_TAGS = {None, "!", "tag:yaml.org,2002:seq"}
_MAPPING_TAGS = {None, "!", "tag:yaml.org,2002:map"}
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

if TYPE_CHECKING:
    from yaml._yaml import Mark as CMark

_Mark: TypeAlias = "yaml.Mark | CMark | None"  # the C parser has a Mark class of its own, with the same fields


class BoundedYAMLError(yaml.MarkedYAMLError):
    """A YAML input refused by this module: over a limit, or a value nodewarden cannot hold."""

    def __init__(self, problem: str, mark: _Mark) -> None:
        super().__init__(problem=problem, problem_mark=mark)  # type: ignore[arg-type]  # either Mark class


def load(stream: str | bytes, *, max_chars: int = MAX_CONFIG_CHARS) -> Any:
    """The one document in `stream` (None when empty), like `yaml.safe_load`, within the limits above."""
    documents = _Builder(stream, max_chars=max_chars).documents(single=True)
    return documents[0] if documents else None


def load_all(stream: str | bytes, *, max_chars: int = MAX_CONFIG_CHARS) -> list[Any]:
    """Every document in `stream`, like `list(yaml.safe_load_all(...))`, within the limits above."""
    return _Builder(stream, max_chars=max_chars).documents(single=False)


class _Open:
    """A mapping or sequence whose end event has not come yet."""

    __slots__ = ("anchor", "key", "mark", "merges", "nodes", "value")

    def __init__(self, value: dict[Any, Any] | list[Any], anchor: str | None, mark: _Mark) -> None:
        self.value = value
        self.anchor = anchor
        self.mark = mark
        self.nodes = 1  # this collection and everything in it, aliases expanded
        self.key: Any = _NO_KEY
        self.merges: list[tuple[Any, _Mark]] = []


_NO_KEY = object()
_MERGE_KEY = object()


class _Builder:
    """Builds Python values from the parser's events, counting as it goes."""

    def __init__(self, stream: str | bytes, *, max_chars: int) -> None:
        if len(stream) > max_chars:
            raise BoundedYAMLError(
                f"the YAML text is {len(stream):,} characters long, above the limit of {max_chars:,}", None
            )
        self._text = stream
        self._budget = max(NODE_FLOOR, 2 * len(stream))
        self._nodes = 0
        self._stack: list[_Open] = []
        self._anchors: dict[str, tuple[Any, int]] = {}  # value and its node count, aliases expanded
        self._loader = _Loader(stream)

    def documents(self, *, single: bool) -> list[Any]:
        loader = self._loader
        documents: list[Any] = []
        root: list[Any] = []
        try:
            while loader.check_event():
                event = loader.get_event()  # type: ignore[no-untyped-call]
                if isinstance(event, DocumentEndEvent):
                    documents.extend(root)
                    root.clear()
                    self._anchors.clear()
                elif isinstance(event, ScalarEvent | AliasEvent | SequenceStartEvent | MappingStartEvent):
                    if single and documents:
                        raise BoundedYAMLError("expected a single document, but found another one", event.start_mark)
                    self._take(event, root)
                elif isinstance(event, SequenceEndEvent | MappingEndEvent):
                    self._close(root)
        except yaml.MarkedYAMLError:
            raise
        except yaml.reader.ReaderError as exc:
            character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
            raise BoundedYAMLError(f"{exc.reason}: {character}", self._mark_at(exc.position)) from None
        except yaml.YAMLError as exc:
            raise BoundedYAMLError(str(exc).splitlines()[0], None) from None
        finally:
            loader.dispose()
        return documents

    def _take(self, event: Event, root: list[Any]) -> None:
        if isinstance(event, ScalarEvent):
            self._add(self._scalar(event), 1, event.anchor, event.start_mark, root)
        elif isinstance(event, AliasEvent):
            self._add(*self._alias(event), None, event.start_mark, root)
        else:
            self._open(event)

    def _open(self, event: Event) -> None:
        if len(self._stack) >= MAX_DEPTH:
            raise BoundedYAMLError(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        mapping = isinstance(event, MappingStartEvent)
        tag = getattr(event, "tag", None)
        if tag not in (_MAPPING_TAGS if mapping else _SEQUENCE_TAGS):
            raise BoundedYAMLError(f"unsupported tag {tag}", event.start_mark)
        self._anchor_is_new(getattr(event, "anchor", None), event.start_mark)
        self._charge(1, event.start_mark)
        self._stack.append(_Open({} if mapping else [], getattr(event, "anchor", None), event.start_mark))

    def _close(self, root: list[Any]) -> None:
        done = self._stack.pop()
        value = done.value
        if done.merges:
            value = _merged(done)
        self._add(value, done.nodes, done.anchor, done.mark, root, counted=True)

    def _alias(self, event: AliasEvent) -> tuple[Any, int]:
        name = event.anchor
        if name is None or name not in self._anchors:
            if any(o.anchor == name for o in self._stack):
                raise BoundedYAMLError(f"recursive alias *{name}: it refers to a collection that holds it",
                                       event.start_mark)  # fmt: skip
            raise BoundedYAMLError(f"found undefined alias *{name}", event.start_mark)
        return self._anchors[name]

    def _anchor_is_new(self, anchor: str | None, mark: _Mark) -> None:
        if anchor is not None and (anchor in self._anchors or any(o.anchor == anchor for o in self._stack)):
            raise BoundedYAMLError(f"found duplicate anchor &{anchor}", mark)

    def _add(
        self, value: Any, nodes: int, anchor: str | None, mark: _Mark, root: list[Any], *, counted: bool = False
    ) -> None:
        """Put a finished value into its parent (or the document), charging its nodes to the budget."""
        if not counted:
            self._charge(nodes, mark)
            self._anchor_is_new(anchor, mark)
        if anchor is not None:
            self._anchors[anchor] = (value, nodes)
        if not self._stack:
            root.append(value)
            return
        parent = self._stack[-1]
        parent.nodes += nodes
        if isinstance(parent.value, list):
            parent.value.append(value)
        elif parent.key is _NO_KEY:
            if isinstance(value, dict | list):
                raise BoundedYAMLError("a mapping key must be a scalar, not a collection", mark)
            parent.key = value
        elif parent.key is _MERGE_KEY:
            parent.merges.append((value, mark))
            parent.key = _NO_KEY
        else:
            parent.value[parent.key] = value
            parent.key = _NO_KEY

    def _charge(self, nodes: int, mark: _Mark) -> None:
        self._nodes += nodes
        if self._nodes > self._budget:
            raise BoundedYAMLError(
                f"more than {self._budget:,} values once aliases are expanded (an alias bomb?)", mark
            )

    def _scalar(self, event: ScalarEvent) -> Any:
        value = event.value
        if len(value) > MAX_SCALAR_CHARS:
            raise BoundedYAMLError(
                f"a scalar of {len(value):,} characters, above {MAX_SCALAR_CHARS:,}", event.start_mark
            )
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._loader.resolve(yaml.ScalarNode, value, event.implicit)  # type: ignore[no-untyped-call]
        if tag in (_STR, _VALUE):
            return value
        if tag == _MERGE:
            parent = self._stack[-1] if self._stack else None
            if parent is not None and isinstance(parent.value, dict) and parent.key is _NO_KEY:
                return _MERGE_KEY
            return value
        if tag not in _SCALAR_TAGS:
            raise BoundedYAMLError(f"unsupported tag {tag}", event.start_mark)
        if tag == _INT and len(value) > INT_MAX_DIGITS:
            raise BoundedYAMLError(f"an integer of {len(value):,} digits, above {INT_MAX_DIGITS:,}", event.start_mark)
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style)  # type: ignore[arg-type]
        try:
            built = self._loader.yaml_constructors[tag](self._loader, node)
        except (ValueError, OverflowError) as exc:
            shown = value if len(value) <= 40 else value[:37] + "..."
            raise BoundedYAMLError(
                f"{shown!r} is not a valid {tag.rsplit(':', 1)[-1]}: {exc}", event.start_mark
            ) from None
        if isinstance(built, float) and not math.isfinite(built):
            raise BoundedYAMLError(f"{value} is not a finite number", event.start_mark)
        if isinstance(built, int) and not isinstance(built, bool) and abs(built) >= _LIMIT_INT:
            raise BoundedYAMLError(f"an integer of more than {INT_MAX_DIGITS:,} digits", event.start_mark)
        return built

    def _mark_at(self, position: int) -> _Mark:
        """Line and column of an offset, for reader errors that carry only the offset (libyaml's counts UTF-8 bytes)."""
        text = self._text
        if isinstance(text, str) and _Loader is not yaml.SafeLoader:
            text = text.encode("utf-8", "surrogatepass")
        newline: Any = b"\n" if isinstance(text, bytes) else "\n"
        line = text.count(newline, 0, position)
        column = position - (text.rfind(newline, 0, position) + 1)
        return yaml.Mark("<input>", position, line, column, None, 0)  # no buffer to show


def _merged(done: _Open) -> dict[Any, Any]:
    """A mapping with its `<<` merge keys applied as `yaml.SafeLoader` does: its own keys win, then earlier merges."""
    result: dict[Any, Any] = {}
    for source, mark in done.merges:
        group = list(reversed(source)) if isinstance(source, list) else [source]
        for mapping in group:
            if not isinstance(mapping, dict):
                raise BoundedYAMLError("expected a mapping or list of mappings for merging", mark)
            result.update(mapping)
    result.update(done.value)
    return result
