"""Impossible waiver dates and out-of-range config values end in exit 2 and one line naming the file and where.

Issue 17: `expires: 2026-13-45` or `0000-01-01` in a waiver file made `audit` exit 3 (an internal error).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nodewarden import bounded_yaml
from nodewarden.config import load_config, load_waivers, read_config_text
from nodewarden.errors import ConfigError
from tests.conftest import Invoke

CLUSTER = Path(__file__).parents[2] / "examples" / "cluster"


def waivers(tmp_path: Path, expires: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(f"waivers:\n  - rule: WL001\n    reason: singleton\n    expires: {expires}\n", encoding="utf-8")
    return path


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "internal error" not in err
    return lines[0]


@pytest.mark.parametrize("expires", ["2026-13-45", "0000-01-01", "2026-02-30", "2026-00-10"])
def test_an_impossible_date_written_plainly_is_exit_2_naming_the_file_and_where(
    invoke: Invoke, tmp_path: Path, expires: str
) -> None:
    """YAML reads an unquoted date as a timestamp: the loader refuses it at its line and column, or the schema at
    its field; either way one line that leads to it."""
    path = waivers(tmp_path, expires)
    ran = invoke("audit", str(CLUSTER), "--waivers", str(path), "-o", "json")
    assert ran.code == 2, ran.err
    line = one_line(ran.err)
    assert line.startswith(f"nodewarden: {path}"), line
    assert "waivers[0].expires" in line or re.match(rf"nodewarden: {re.escape(str(path))}:4:\d+: ", line), line


@pytest.mark.parametrize(
    ("expires", "found"),
    [("'2026-13-45'", "month"), ("'0000-01-01'", "year"), ("'tomorrow'", "date"), ("2027-03-31T10:00:00Z", "zero")],
)
def test_an_impossible_date_in_quotes_names_the_field(tmp_path: Path, expires: str, found: str) -> None:
    path = waivers(tmp_path, expires)
    with pytest.raises(ConfigError) as raised:
        load_waivers(path)
    assert str(raised.value).startswith(f"{path}: waivers[0].expires: "), str(raised.value)
    assert found in str(raised.value)


def test_a_real_date_is_kept(tmp_path: Path) -> None:
    (entry,) = load_waivers(waivers(tmp_path, "2027-03-31")).waivers
    assert entry.expires is not None
    assert entry.expires.isoformat() == "2027-03-31"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ("min_zones: 4", "audit.params.min_zones"),
        ("min_replicas: 99999999999999999999", "audit.params.min_replicas"),
        ("node_image_max_age_days: 1000000", "audit.params.node_image_max_age_days"),
        ("maintenance_min_hours: 25", "audit.params.maintenance_min_hours"),
        ("min_max_pods: 251", "audit.params.min_max_pods"),
        ("min_surge_percent: 101", "audit.params.min_surge_percent"),
        ("system_pool_min_vcpus: 0", "audit.params.system_pool_min_vcpus"),
    ],
)
def test_config_counts_out_of_range_name_the_field(invoke: Invoke, tmp_path: Path, params: str, field: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"audit:\n  params:\n    {params}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: {re.escape(field)}: "):
        load_config(path)
    ran = invoke("audit", str(CLUSTER), "--config", str(path), "-o", "json")
    assert ran.code == 2
    assert one_line(ran.err).startswith(f"nodewarden: {path}: {field}: ")


def test_a_config_file_too_large_to_be_one_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "config.yaml"
    with huge.open("wb") as stream:
        stream.truncate(bounded_yaml.MAX_CONFIG_CHARS + 1)  # sparse: no 16 MiB written
    with pytest.raises(ConfigError, match=r"config.yaml: larger than 16 MiB"):
        read_config_text(huge)
