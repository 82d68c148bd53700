"""The config file (`--config`) and the waiver file (`--waivers`): YAML validated by a schema.

Every error names the file and the field, and an unknown field suggests the nearest known one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nodewarden import bounded_yaml
from nodewarden.audit.catalog import RULE_ID
from nodewarden.audit.params import AuditParams
from nodewarden.audit.waivers import WaiverFile
from nodewarden.errors import ConfigError
from nodewarden.schema import parse_yaml_model

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
    """A configuration file's text; a missing, unreadable or oversized file raises `error` naming it (the size is
    checked before reading: a config file is kilobytes, `bounded_yaml.MAX_CONFIG_CHARS` at most)."""
    try:
        with path.open("rb") as stream:
            data = stream.read(bounded_yaml.MAX_CONFIG_CHARS + 1)
        if len(data) > bounded_yaml.MAX_CONFIG_CHARS:
            raise error(f"{path}: larger than {bounded_yaml.MAX_CONFIG_CHARS >> 20} MiB: not a configuration file")
        return data.decode("utf-8")
    except FileNotFoundError as exc:
        raise error(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from exc


def _load(path: Path, model: type[M]) -> M:
    return parse_yaml_model(read_config_text(path), source=str(path), model=model, empty_ok=True)
