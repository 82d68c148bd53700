"""Property-based tests for the parsers: whatever the bytes, the loader answers or raises InputError."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodewarden.errors import InputError
from nodewarden.observe.files import Document, read_documents
from nodewarden.observe.fold import fold, original_path
from nodewarden.observe.load import load_documents

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
interesting_keys = st.sampled_from(
    [
        "kind",
        "apiVersion",
        "items",
        "type",
        "properties",
        "name",
        "metadata",
        "spec",
        "agentPoolProfiles",
        "value",
        "count",
        "replicas",
        "availabilityZones",
        "enableRBAC",
        "logs",
        "metrics",
        "vmSize",
        "mode",
    ]
)
shaped_values = st.recursive(
    json_scalars | st.sampled_from(["List", "Deployment", "Microsoft.ContainerService/ManagedClusters", "v1"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(interesting_keys, children, max_size=6),
    max_leaves=30,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(raw=st.binary(max_size=300))
def test_any_bytes_parse_or_raise_an_input_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.json"
        path.write_bytes(raw)
        try:
            documents = read_documents(path)
        except InputError as exc:
            assert str(path) in str(exc)  # noqa: PT017 - either outcome is fine; only the kind matters
        else:
            assert all(isinstance(d, Document) for d in documents)


@settings(max_examples=300)
@given(data=json_values | shaped_values)
def test_any_json_value_loads_or_raises_an_input_error(data: Any) -> None:
    try:
        load_documents([Document("doc.json", json.loads(json.dumps(data)))])
    except InputError as exc:
        assert "doc.json" in str(exc) or "nothing recognisable" in str(exc) or "more than one cluster" in str(exc)  # noqa: PT017


@given(data=json_values | shaped_values)
def test_folding_is_idempotent(data: Any) -> None:
    once = fold(data)
    assert fold(once) == once


camel_keys = st.from_regex(r"[a-z][a-zA-Z]{0,8}", fullmatch=True).filter(lambda k: k.lower() != "properties")


@given(keys=st.lists(camel_keys, min_size=1, max_size=5), wrap=st.lists(st.booleans(), min_size=5, max_size=5))
def test_original_path_recovers_the_users_spelling(keys: list[str], wrap: list[bool]) -> None:
    leaf: Any = "x"
    for key, nested in zip(reversed(keys), wrap, strict=False):
        leaf = {"properties": {key: leaf}} if nested else {key: leaf}
    folded_loc = tuple(k.lower() for k in keys)
    path = original_path(leaf, folded_loc)
    assert path.replace("properties.", "").split(".") == keys
