"""Kubernetes label-selector matching (matchLabels AND matchExpressions), as the API server does it.

The one definition for every layer: the audit's relations, the guards' PodDisruptionBudget check, the
drain's blocking budget (act/kube_actions.py), incidents and drills.
"""

from __future__ import annotations

from collections.abc import Mapping

from nodewarden.model.kube import LabelSelector, LabelSelectorRequirement


def matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """True when every matchLabels pair and every matchExpression holds.

    An empty selector matches everything (PDB and NetworkPolicy semantics in policy/v1); a missing
    selector (None) matches nothing.
    """
    if selector is None:
        return False
    for key, value in (selector.match_labels or {}).items():
        if labels.get(key) != value:
            return False
    return all(_holds(req, labels) for req in selector.match_expressions or ())


def _holds(requirement: LabelSelectorRequirement, labels: Mapping[str, str]) -> bool:
    operator = requirement.operator
    values = requirement.values or []
    present = requirement.key in labels
    if operator == "In":
        return present and labels[requirement.key] in values
    if operator == "NotIn":
        return not present or labels[requirement.key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    # An unknown operator selects nothing: the API server rejects such a selector, and where one slips
    # through, the eviction subresource skips a budget whose selector does not parse ("an invalid
    # selector does not match the pod", kubernetes pkg/registry/core/pod/storage/eviction.go).
    return False


def is_empty(selector: LabelSelector | None) -> bool:
    """A selector with no requirements at all (selects every pod in the namespace)."""
    return selector is not None and not selector.match_labels and not selector.match_expressions
