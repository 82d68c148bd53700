"""Bad input gets one clear line on stderr and exit code 2 — never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Invoke

GOOD_CLUSTER = {
    "name": "aks1",
    "type": "Microsoft.ContainerService/ManagedClusters",
    "location": "eastus",
    "agentPoolProfiles": [{"name": "sys", "mode": "System", "availabilityZones": ["1", "2", "3"]}],
}


def _assert_one_clean_line(err: str, *fragments: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("nodewarden: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_truncated_json_names_file_line_and_column(tmp_path: Path, invoke: Invoke) -> None:
    path = tmp_path / "aks.json"
    path.write_text(json.dumps(GOOD_CLUSTER, indent=2)[:-20])
    result = invoke("audit", str(path))
    assert result.code == 2
    _assert_one_clean_line(result.err, f"{path}:", "invalid JSON")
    line, column = result.err.split(f"{path}:", 1)[1].split(":")[:2]
    assert line.isdigit()
    assert column.isdigit()


def test_malformed_yaml_names_file_line_and_column(tmp_path: Path, invoke: Invoke) -> None:
    path = tmp_path / "pdb.yaml"
    path.write_text("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: [unclosed\n")
    result = invoke("audit", str(path))
    assert result.code == 2
    _assert_one_clean_line(result.err, f"{path}:", "invalid YAML")


def test_an_empty_file_is_an_input_error(tmp_path: Path, invoke: Invoke) -> None:
    path = tmp_path / "empty.json"
    path.write_text("  \n")
    result = invoke("audit", str(path))
    assert result.code == 2
    _assert_one_clean_line(result.err, str(path), "empty file")


def test_binary_garbage_is_an_input_error(tmp_path: Path, invoke: Invoke) -> None:
    path = tmp_path / "garbage.json"
    path.write_bytes(bytes(range(256)) * 8)
    result = invoke("audit", str(path))
    assert result.code == 2
    _assert_one_clean_line(result.err, str(path), "binary data")


def test_text_in_another_encoding_is_an_input_error(tmp_path: Path, invoke: Invoke) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    result = invoke("audit", str(path))
    assert result.code == 2
    _assert_one_clean_line(result.err, str(path), "not UTF-8")


def test_a_wrong_type_is_an_input_error_naming_the_field(tmp_path: Path, invoke: Invoke) -> None:
    cluster = {**GOOD_CLUSTER, "agentPoolProfiles": [{"name": "sys", "count": {"nodes": 3}}]}
    path = tmp_path / "aks.json"
    path.write_text(json.dumps(cluster))
    result = invoke("audit", str(path))
    assert result.code == 2
    _assert_one_clean_line(result.err, str(path), "agentPoolProfiles[0].count")


def test_a_top_level_scalar_is_not_recognised(tmp_path: Path, invoke: Invoke) -> None:
    path = tmp_path / "number.json"
    path.write_text("[1, 2, 3]")
    result = invoke("audit", str(path))
    assert result.code == 2
    _assert_one_clean_line(result.err, "nothing recognisable", str(path))


def test_a_file_above_the_size_limit_is_refused_before_it_is_read(tmp_path: Path, invoke: Invoke) -> None:
    path = tmp_path / "huge.json"
    path.write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": [GOOD_CLUSTER] * 2000}))
    result = invoke("audit", str(path), "--max-input-bytes", "4096")
    assert result.code == 2
    _assert_one_clean_line(result.err, str(path), "above the 4,096-byte limit", "--max-input-bytes")


def test_a_deeply_nested_document_is_an_input_error(tmp_path: Path, invoke: Invoke) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    result = invoke("audit", str(path))
    assert result.code == 2
    _assert_one_clean_line(result.err, str(path), "nested too deeply")


def test_a_missing_path_is_an_input_error(tmp_path: Path, invoke: Invoke) -> None:
    result = invoke("audit", str(tmp_path / "nope"))
    assert result.code == 2
    _assert_one_clean_line(result.err, "no such file or folder")


@pytest.mark.parametrize(
    ("flag", "value", "fragment"),
    [
        ("--fail-on", "severe", "--fail-on: expected one of critical|high|medium|low|info"),
        ("--now", "yesterday", "--now: expected an ISO-8601 time"),
    ],
)
def test_bad_flag_values_are_usage_errors(tmp_path: Path, invoke: Invoke, flag: str, value: str, fragment: str) -> None:
    path = tmp_path / "aks.json"
    path.write_text(json.dumps(GOOD_CLUSTER))
    result = invoke("audit", str(path), flag, value)
    assert result.code == 2
    _assert_one_clean_line(result.err, fragment)


def test_an_unknown_format_is_a_usage_error(tmp_path: Path, invoke: Invoke) -> None:
    path = tmp_path / "aks.json"
    path.write_text(json.dumps(GOOD_CLUSTER))
    result = invoke("audit", str(path), "-o", "pdf")
    assert result.code == 2
    assert "pdf" in result.err
    assert "Traceback" not in result.err
