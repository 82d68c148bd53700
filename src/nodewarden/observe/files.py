"""Finds input files and parses them as JSON or YAML, with file, line and column on every error."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import msgspec
import yaml

from nodewarden.errors import InputError, ParseError
from nodewarden.model.inputs import Input

INPUT_SUFFIXES = (".json", ".yaml", ".yml")
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB: far above a 5,000-node export, far below what would exhaust memory

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LazyItems(Sequence[Any]):
    """A JSON array whose items are decoded one at a time, on access.

    A 5,000-node cluster's pod export is ~450 MB of JSON; decoded whole it takes ~1.5 GB of dicts.
    Kept as raw slices of the file's bytes, each item lives as a dict only while it is recognised and
    validated into the (much smaller) model.
    """

    def __init__(self, raws: list[msgspec.Raw]) -> None:
        self._raws = raws

    def __len__(self) -> int:
        return len(self._raws)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [_DECODER.decode(raw) for raw in self._raws[index]]
        return _DECODER.decode(self._raws[index])

    def __iter__(self) -> Iterator[Any]:
        return (_DECODER.decode(raw) for raw in self._raws)


_DECODER = msgspec.json.Decoder()
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_RAW_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_LIST_KEYS = ("items", "value")  # kubectl `List.items`, ARM's `{"value": [...]}` pages
_BYTE_OFFSET = re.compile(r"\(byte (\d+)\)")


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed JSON value or YAML document, and where it came from.

    `source` names the origin in messages (a file, or "the cluster's nodes"). `kind` is the input every
    item is, when the reader knows it (a live cache, an ARM read); None for files, recognised by content.
    """

    source: str
    data: Any
    kind: Input | None = None


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given; folders walked recursively for *.json, *.yaml and *.yml, in name order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES)
        elif path.is_file():
            yield path
        elif path.exists():
            raise InputError(f"{path}: not a regular file or folder")
        else:
            raise InputError(f"{path}: no such file or folder")


def read_documents(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Document]:
    """Every document in a file; JSON when it starts with `{` or `[`, YAML (maybe multi-document) otherwise."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{path}: file is {size:,} bytes, above the {max_bytes:,}-byte limit "
                "(raise it with --max-input-bytes if the file is really this large)"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if b"\x00" in raw[:8192]:
        raise ParseError(f"{path}: binary data, not JSON or YAML text")
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    stripped = body.lstrip()
    if not stripped:
        raise ParseError(f"{path}: empty file; expected the JSON or YAML output of az or kubectl")
    if stripped[:1] in (b"{", b"["):
        return [Document(str(path), _parse_json(path, body))]
    text = _decode(path, body)
    return [Document(_doc_source(path, index), data) for index, data in enumerate(_parse_yaml(path, text))]


def _doc_source(path: Path, index: int) -> str:
    return str(path) if index == 0 else f"{path}#{index + 1}"


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{path}: not UTF-8 text (bad byte at offset {exc.start}); expected JSON or YAML") from exc


def _parse_json(path: Path, raw: bytes) -> Any:
    """The top level decoded, with the big arrays (a list, `items`, `value`) left as LazyItems."""
    try:
        if raw.lstrip()[:1] == b"[":
            return LazyItems(_RAW_LIST.decode(raw))
        document: dict[str, Any] = {}
        for key, value in _RAW_OBJECT.decode(raw).items():
            document[key] = _lazy_list(value) if key in _LIST_KEYS else _DECODER.decode(value)
        return document
    except msgspec.DecodeError as exc:
        line, column = _position(raw, exc)
        message = str(exc).removeprefix("JSON is malformed: ")
        message = _BYTE_OFFSET.sub("", message).strip()
        raise ParseError(f"{path}:{line}:{column}: invalid JSON: {message}") from exc
    except UnicodeDecodeError as exc:
        raise ParseError(f"{path}: not UTF-8 text (bad byte in a string); expected JSON or YAML") from exc
    except RecursionError as exc:
        raise ParseError(f"{path}: invalid JSON: nested too deeply") from exc


def _lazy_list(value: msgspec.Raw) -> Any:
    try:
        return LazyItems(_RAW_LIST.decode(value))
    except msgspec.ValidationError:  # not an array after all: an ordinary value
        return _DECODER.decode(value)


def _position(raw: bytes, error: msgspec.DecodeError) -> tuple[int, int]:
    """Line and column (1-based) of a decode error; the end of the input when it was truncated."""
    match = _BYTE_OFFSET.search(str(error))
    offset = int(match.group(1)) if match else len(raw)
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def _parse_yaml(path: Path, text: str) -> list[Any]:
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "malformed"
        raise ParseError(f"{where}: invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ParseError(f"{path}: invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise ParseError(f"{path}: invalid YAML: nested too deeply") from exc
