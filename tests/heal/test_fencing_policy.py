"""`spec.fencing` in the remediation policy: off by default, ranges checked, overridable per pool."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nodewarden.heal.policy import Policy, PolicyError, default_policy, parse_policy


def test_fencing_is_off_by_default_and_the_packaged_policy_says_so() -> None:
    fencing = default_policy().spec.fencing
    assert fencing == Policy().spec.fencing
    assert not fencing.enabled
    assert not fencing.confirm_off.power_off
    assert fencing.after == timedelta(seconds=60)
    assert fencing.confirm_off.zone_unavailable_for == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("desc", "fencing", "says"),
    [
        ("after of zero", "after: 0s", "spec.fencing.after"),
        ("after past a week", "after: 169h", "expected a duration from 1s to 168h"),
        ("zone wait not a duration", "confirmOff: {zoneUnavailableFor: soon}", "zoneUnavailableFor"),
        ("a typo", "enable: true", "enable"),
        ("powerOff not a boolean", "confirmOff: {powerOff: maybe}", "powerOff"),
    ],
)
def test_bad_fencing_values_are_refused_naming_the_field(desc: str, fencing: str, says: str) -> None:
    text = f"apiVersion: nodewarden.io/v1\nkind: RemediationPolicy\nspec:\n  fencing: {{{fencing}}}\n"
    with pytest.raises(PolicyError, match=None) as raised:
        parse_policy(text, source="p.yaml")
    assert says in str(raised.value), desc


def test_a_pool_override_replaces_only_the_fencing_keys_it_writes() -> None:
    text = (
        "apiVersion: nodewarden.io/v1\nkind: RemediationPolicy\nspec:\n"
        "  fencing: {enabled: true, after: 2m}\n"
        "  pools:\n    db: {fencing: {confirmOff: {powerOff: true}}}\n"
    )
    policy = parse_policy(text, source="p.yaml")
    db = policy.for_pool("DB").fencing
    assert db.enabled
    assert db.after == timedelta(minutes=2)
    assert db.confirm_off.power_off
    assert db.confirm_off.zone_unavailable_for == timedelta(minutes=5)
    assert not policy.for_pool("web").fencing.confirm_off.power_off
