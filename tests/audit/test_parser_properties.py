"""Property-based tests for the audit's small parsers: label selectors and VM size names."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nodewarden.audit.sizes import parse_vm_size
from nodewarden.model import selectors
from nodewarden.model.kube import LabelSelector, LabelSelectorRequirement

label_keys = st.sampled_from(["app", "tier", "team", "version", "zone"])
label_values = st.sampled_from(["web", "db", "a", "b", "1"])
labels = st.dictionaries(label_keys, label_values, max_size=5)


@given(wanted=labels, have=labels)
def test_match_labels_selects_exactly_the_supersets(wanted: dict[str, str], have: dict[str, str]) -> None:
    selector = LabelSelector(match_labels=wanted)
    assert selectors.matches(selector, have) == (wanted.items() <= have.items())


@given(key=label_keys, values=st.lists(label_values, max_size=3), have=labels)
def test_not_in_is_the_complement_of_in(key: str, values: list[str], have: dict[str, str]) -> None:
    inside = LabelSelector(match_expressions=[LabelSelectorRequirement(key=key, operator="In", values=values)])
    outside = LabelSelector(match_expressions=[LabelSelectorRequirement(key=key, operator="NotIn", values=values)])
    assert selectors.matches(inside, have) != selectors.matches(outside, have)


@given(key=label_keys, have=labels)
def test_does_not_exist_is_the_complement_of_exists(key: str, have: dict[str, str]) -> None:
    exists = LabelSelector(match_expressions=[LabelSelectorRequirement(key=key, operator="Exists")])
    absent = LabelSelector(match_expressions=[LabelSelectorRequirement(key=key, operator="DoesNotExist")])
    assert selectors.matches(exists, have) != selectors.matches(absent, have)


@given(have=labels)
def test_an_empty_selector_matches_everything_and_a_missing_one_nothing(have: dict[str, str]) -> None:
    assert selectors.matches(LabelSelector(), have)
    assert not selectors.matches(None, have)


@given(
    family=st.sampled_from(["D", "E", "F", "B", "NC", "L", "DC"]),
    vcpus=st.integers(min_value=1, max_value=416),
    features=st.sampled_from(["", "s", "ds", "as", "ads", "ms", "pds"]),
    version=st.sampled_from(["", "_v2", "_v3", "_v5", "_v6"]),
)
def test_vm_size_names_give_their_vcpus_and_series(family: str, vcpus: int, features: str, version: str) -> None:
    size = parse_vm_size(f"Standard_{family}{vcpus}{features}{version}")
    assert size is not None
    assert size.vcpus == vcpus
    assert size.series == family
    assert size.is_burstable == (family == "B")
    assert size.quota_family.startswith("standard")
    assert size.quota_family.endswith("Family")


def test_known_quota_families() -> None:
    expected = {
        "Standard_D4s_v3": "standardDSv3Family",
        "Standard_D8ds_v5": "standardDDSv5Family",
        "Standard_E4-2ds_v5": "standardEDSv5Family",
        "Standard_B2ms": "standardBSFamily",
        "Standard_F8s_v2": "standardFSv2Family",
        "Standard_NC6s_v3": "standardNCSv3Family",
    }
    for name, family in expected.items():
        size = parse_vm_size(name)
        assert size is not None
        assert size.quota_family == family, name
    assert parse_vm_size("Standard_E4-2ds_v5") is not None


@given(name=st.text(max_size=30))
def test_any_text_parses_or_gives_none(name: str) -> None:
    size = parse_vm_size(name)
    assert size is None or size.vcpus >= 0
