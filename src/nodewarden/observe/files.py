"""Finds input files and parses them as JSON or YAML, with file, line and column on every error."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nodewarden.errors import InputError, ParseError

INPUT_SUFFIXES = (".json", ".yaml", ".yml")
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB: far above a 5,000-node export, far below what would exhaust memory

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed JSON value or YAML document, and where it came from."""

    source: str
    data: Any


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
    text = _decode(path, raw)
    stripped = text.lstrip()
    if not stripped:
        raise ParseError(f"{path}: empty file; expected the JSON or YAML output of az or kubectl")
    if stripped[0] in "{[":
        return [Document(str(path), _parse_json(path, text))]
    return [Document(_doc_source(path, index), data) for index, data in enumerate(_parse_yaml(path, text))]


def _doc_source(path: Path, index: int) -> str:
    return str(path) if index == 0 else f"{path}#{index + 1}"


def _decode(path: Path, raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise ParseError(f"{path}: binary data, not JSON or YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{path}: not UTF-8 text (bad byte at offset {exc.start}); expected JSON or YAML") from exc


def _parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise ParseError(f"{path}: invalid JSON: nested too deeply") from exc


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
