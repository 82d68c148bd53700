"""YAML documents validated by a pydantic model, with errors that name the file and the field.

Shared by the config and waiver files, the remediation policy and drills: invalid YAML names the line
and column, an unknown key suggests the nearest known one, a bad value says what was expected and
what was found.
"""

from __future__ import annotations

import difflib
from types import NoneType, UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from nodewarden import bounded_yaml
from nodewarden.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def parse_yaml_model(
    text: str, *, source: str, model: type[M], error: type[ConfigError] = ConfigError, what: str = "a mapping",
    empty_ok: bool = False,
) -> M:  # fmt: skip
    """`text` parsed as YAML and validated as `model`; any problem raises `error` naming `source` and the field.

    Parsed by nodewarden.bounded_yaml, so depth, aliases, sizes and numbers are bounded and every YAML problem
    is a MarkedYAMLError."""
    try:
        data = bounded_yaml.load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise error(f"{where}: invalid YAML: {exc.problem}") from exc
    if data is None and empty_ok:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{source}: expected {what} at the top level, found {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(field_message(source, model, exc.errors(include_url=False)[0])) from exc


def field_message(source: str, model: type[BaseModel], error: Any) -> str:
    """One pydantic error as `source: field.path: what is wrong (found …)`."""
    loc = tuple(error["loc"])
    field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    if error["type"] == "extra_forbidden":
        known = fields_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(known))})"
        return f"{source}: {field}: unknown field{hint}"
    if error["type"] == "missing":
        return f"{source}: {field}: required field is missing"
    message = str(error["msg"]).removeprefix("Value error, ").rstrip(".")
    if "found" in message:
        return f"{source}: {field}: {message}"
    return f"{source}: {field}: {message} (found {error.get('input')!r})"


def fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys a user may write at `loc` (as spelled in the file), for suggestions."""
    current: Any = model
    skip_key = False
    for step in loc:
        if isinstance(step, int):
            continue
        if skip_key:  # the user's own key in a mapping (a pool name)
            skip_key = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = next((f for n, f in current.model_fields.items() if (f.alias or n) == step), None)
        if info is None:
            return []
        current, skip_key = _element(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _element(annotation: Any) -> tuple[Any, bool]:
    """The model inside `X | None`, `tuple[X, ...]` or `dict[str, X]` (and whether a mapping key comes first)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is dict:
        return _element(args[1])[0], True
    if origin in (tuple, list):
        return _element(args[0])
    if origin in (Union, UnionType):
        inner = [a for a in args if a is not NoneType]
        return _element(inner[0]) if len(inner) == 1 else (annotation, False)
    return annotation, False
