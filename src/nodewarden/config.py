"""The config file (`--config`) and the waiver file (`--waivers`): YAML validated by a schema.

Every error names the file and the field, and an unknown field suggests the nearest known one.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nodewarden.audit.catalog import RULE_ID
from nodewarden.audit.params import AuditParams
from nodewarden.audit.waivers import WaiverFile
from nodewarden.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class AuditConfig(BaseModel):
    """The `audit:` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    params: AuditParams = Field(default_factory=AuditParams)
    disable: list[str] = Field(default_factory=list, description="Rule IDs not to run.")
    profile: str = Field("all", pattern="^(core|all)$", description="core: the 64 core rules; all: core and extended.")

    @field_validator("disable")
    @classmethod
    def _known_ids(cls, value: list[str]) -> list[str]:
        bad = [rule_id for rule_id in value if not RULE_ID.match(rule_id)]
        if bad:
            raise ValueError(f"not rule IDs: {', '.join(bad)} (expected e.g. HA001)")
        return value


class NodewardenConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    audit: AuditConfig = Field(default_factory=AuditConfig)


def load_config(path: Path | None) -> NodewardenConfig:
    if path is None:
        return NodewardenConfig()
    return _load(path, NodewardenConfig)


def load_waivers(path: Path | None) -> WaiverFile:
    if path is None:
        return WaiverFile()
    return _load(path, WaiverFile)


def read_config_text(path: Path, error: type[ConfigError] = ConfigError) -> str:
    """A configuration file's text; a missing or unreadable file raises `error` naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from exc


def _load(path: Path, model: type[M]) -> M:
    text = read_config_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, found {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_message(path, model, exc.errors(include_url=False)[0])) from exc


def _message(path: Path, model: type[BaseModel], error: Any) -> str:
    loc = error["loc"]
    field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    if error["type"] == "extra_forbidden":
        known = _known_fields(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(known))})"
        return f"{path}: {field}: unknown field{hint}"
    if error["type"] == "missing":
        return f"{path}: {field}: required field is missing"
    found = error.get("input")
    return f"{path}: {field}: {error['msg'].rstrip('.')} (found {found!r})"


def _known_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for step in loc:
        if isinstance(step, int):
            continue
        info = current.model_fields.get(step) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if info is None:
            return []
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []
