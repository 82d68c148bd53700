"""Finds input files and parses them as JSON or YAML, with file, line and column on every error.

Every failure is a ParseError naming the file (exit 2). Memory and time stay proportional to the file:
JSON arrays are decoded item by item (LazyItems); YAML goes through nodewarden.bounded_yaml (depth, alias
expansion, scalar and number limits) and is held to a sixteenth of the JSON size limit, because loaded
YAML takes ~6 times its size in memory and parses at ~3 MB/s (measured on a kubectl pod list).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import msgspec
import yaml

from nodewarden import bounded_yaml
from nodewarden.errors import InputError, ParseError
from nodewarden.model.inputs import Input

INPUT_SUFFIXES = (".json", ".yaml", ".yml")
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB: far above a 5,000-node export, far below what would exhaust memory
YAML_SHARE = 16  # YAML files may be 1/16 of the JSON limit (64 MiB by default): see the module docstring
_UTF8_CHUNK = 1 << 20


class LazyItems(Sequence[Any]):
    """A JSON array whose items are decoded one at a time, on access.

    A 5,000-node cluster's pod export is ~450 MB of JSON; decoded whole it takes ~1.5 GB of dicts.
    Kept as raw slices of the file's bytes, each item lives as a dict only while it is recognised and
    validated into the (much smaller) model.
    """

    def __init__(self, raws: list[msgspec.Raw], *, source: str, key: str | None) -> None:
        self._raws = raws
        self._source = source
        self._key = key  # the array's key (`items`, `value`) in messages; None for a top-level array

    def __len__(self) -> int:
        return len(self._raws)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._decode(i) for i in range(len(self._raws))[index]]
        return self._decode(index)

    def __iter__(self) -> Iterator[Any]:
        return (self._decode(index) for index in range(len(self._raws)))

    def _decode(self, index: int) -> Any:
        """One item; a number msgspec cannot hold (`1e999`, an integer of thousands of digits) names the item."""
        position = range(len(self._raws))[index]
        item = f"item {position}" if self._key is None else f"{self._key}[{position}]"
        try:
            return _shallow(self._raws[position], f"{self._source}: {item}")
        except msgspec.DecodeError as exc:
            message = _MSGSPEC_PATH.sub("", str(exc).removeprefix("JSON is malformed: "))
            raise ParseError(f"{self._source}: {item}: invalid JSON: {message}") from exc
        except RecursionError as exc:
            raise ParseError(f"{self._source}: {item}: invalid JSON: nested too deeply") from exc


def _shallow(raw: msgspec.Raw | bytes, where: str) -> Any:
    """A JSON value decoded, refused when nested deeper than YAML may be (bounded_yaml.MAX_DEPTH): the walks
    that follow (observe/fold.py, the validators) recurse. Counting brackets first spares the walk for most items."""
    value = _DECODER.decode(raw)
    text = bytes(raw)
    if text.count(b"[") + text.count(b"{") <= bounded_yaml.MAX_DEPTH:
        return value
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > bounded_yaml.MAX_DEPTH:
            raise ParseError(f"{where}: invalid JSON: nested more than {bounded_yaml.MAX_DEPTH} levels deep")
        if isinstance(current, dict | list):
            children = current.values() if isinstance(current, dict) else current
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


_DECODER = msgspec.json.Decoder()
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_RAW_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_LIST_KEYS = ("items", "value")  # kubectl `List.items`, ARM's `{"value": [...]}` pages
_BYTE_OFFSET = re.compile(r"\(byte (\d+)\)")
_MSGSPEC_PATH = re.compile(r" - at `\$[^`]*`$")  # elided to `$[...]` when decoding into Any: says nothing


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
    _check_utf8(path, body)
    stripped = body.lstrip()
    if not stripped:
        raise ParseError(f"{path}: empty file; expected the JSON or YAML output of az or kubectl")
    if stripped[:1] in (b"{", b"["):
        return [Document(str(path), _parse_json(path, body))]
    max_yaml = max_bytes // YAML_SHARE
    if len(body) > max_yaml:
        raise InputError(
            f"{path}: YAML file is {len(body):,} bytes, above the {max_yaml:,}-byte limit for YAML (1/{YAML_SHARE} of "
            "--max-input-bytes: YAML takes far more memory to load than JSON); give it as JSON (-o json)"
        )
    return [Document(_doc_source(path, index), data) for index, data in enumerate(_parse_yaml(path, body))]


def _doc_source(path: Path, index: int) -> str:
    return str(path) if index == 0 else f"{path}#{index + 1}"


def _check_utf8(path: Path, raw: bytes) -> None:
    """Refuse a file that is not UTF-8 anywhere, naming the byte; decoded a megabyte at a time and discarded."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    for start in range(0, len(raw), _UTF8_CHUNK):
        pending = len(decoder.getstate()[0])  # bytes of a character cut by the previous chunk
        try:
            decoder.decode(view[start : start + _UTF8_CHUNK], final=start + _UTF8_CHUNK >= len(raw))
        except UnicodeDecodeError as exc:
            offset = start - pending + exc.start
            raise ParseError(f"{path}: not UTF-8 text (bad byte at offset {offset}); expected JSON or YAML") from exc


def _parse_json(path: Path, raw: bytes) -> Any:
    """The top level decoded, with the big arrays (a list, `items`, `value`) left as LazyItems."""
    try:
        if raw.lstrip()[:1] == b"[":
            return LazyItems(_RAW_LIST.decode(raw), source=str(path), key=None)
        document: dict[str, Any] = {}
        for key, value in _RAW_OBJECT.decode(raw).items():
            document[key] = _lazy_list(path, key, value) if key in _LIST_KEYS else _value(path, key, value)
        return document
    except msgspec.DecodeError as exc:
        line, column = _position(raw, exc)
        message = str(exc).removeprefix("JSON is malformed: ")
        message = _BYTE_OFFSET.sub("", message).strip()
        raise ParseError(f"{path}:{line}:{column}: invalid JSON: {message}") from exc
    except RecursionError as exc:
        raise ParseError(f"{path}: invalid JSON: nested too deeply") from exc


def _lazy_list(path: Path, key: str, value: msgspec.Raw) -> Any:
    try:
        return LazyItems(_RAW_LIST.decode(value), source=str(path), key=key)
    except msgspec.ValidationError:  # not an array after all: an ordinary value
        return _value(path, key, value)


def _value(path: Path, key: str, value: msgspec.Raw) -> Any:
    """A top-level value decoded whole; a number msgspec cannot hold names its key (the raw slice has no offset)."""
    try:
        return _shallow(value, f"{path}: {key}")
    except msgspec.ValidationError as exc:
        message = _MSGSPEC_PATH.sub("", str(exc))
        raise ParseError(f"{path}: {key}: invalid JSON: {message}") from exc


def _position(raw: bytes, error: msgspec.DecodeError) -> tuple[int, int]:
    """Line and column (1-based) of a decode error; the end of the input when it was truncated."""
    match = _BYTE_OFFSET.search(str(error))
    offset = int(match.group(1)) if match else len(raw)
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def _parse_yaml(path: Path, body: bytes) -> list[Any]:
    try:
        return [doc for doc in bounded_yaml.load_all(body, max_chars=len(body)) if doc is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "malformed"
        raise ParseError(f"{where}: invalid YAML: {problem}") from exc
