"""Label and field selectors, in their query-string form and as `LabelSelector` objects.

Query form (`?labelSelector=`): `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, joined
by commas. Object form (PDBs, workloads, spread constraints): `matchLabels` + `matchExpressions`
with In, NotIn, Exists, DoesNotExist. Field selectors compare a dotted path's value as a string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nodewarden.twin.kube.errors import bad_request

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Labels) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!exists":
            return not present
        if self.operator in ("=", "in"):
            return present and labels[self.key] in self.values
        # "!=" and "notin" match objects without the label, as in Kubernetes.
        return not present or labels[self.key] not in self.values


Selector = tuple[Requirement, ...]

_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses: `a in (x,y),b` is two requirements."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def parse_label_selector(text: str | None) -> Selector:
    if not text:
        return ()
    requirements = []
    for part in _split_top_level(text):
        equality = _EQ.match(part)
        if equality:
            key, op, value = equality.groups()
            requirements.append(Requirement(key, "!=" if op == "!=" else "=", frozenset([value])))
            continue
        match = _SET.match(part)
        if not match:
            raise bad_request(f"unable to parse requirement: {part.strip()!r}")
        bang, key, op, values = match.groups()
        if op:
            if bang:
                raise bad_request(f"unable to parse requirement: {part.strip()!r}")
            members = frozenset(v.strip() for v in values.split(",") if v.strip())
            requirements.append(Requirement(key, op, members))
        else:
            requirements.append(Requirement(key, "!exists" if bang else "exists"))
    return tuple(requirements)


def from_label_selector(selector: Mapping[str, Any] | None) -> Selector | None:
    """A `LabelSelector` object as requirements; None (the field absent) selects nothing."""
    if selector is None:
        return None
    requirements = [Requirement(k, "=", frozenset([str(v)])) for k, v in (selector.get("matchLabels") or {}).items()]
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expression in selector.get("matchExpressions") or []:
        op = operators.get(expression.get("operator", ""))
        if op is None:
            raise bad_request(f"invalid label selector operator {expression.get('operator')!r}")
        requirements.append(Requirement(expression["key"], op, frozenset(expression.get("values") or [])))
    return tuple(requirements)


def matches(selector: Selector | None, labels: Labels | None) -> bool:
    """An empty selector selects everything; None selects nothing."""
    if selector is None:
        return False
    labels = labels or {}
    return all(requirement.matches(labels) for requirement in selector)


@dataclass(frozen=True)
class FieldRequirement:
    path: tuple[str, ...]
    negate: bool
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return (field_value(obj, self.path) == self.value) != self.negate


FieldSelector = tuple[FieldRequirement, ...]


def parse_field_selector(text: str | None) -> FieldSelector:
    if not text:
        return ()
    requirements = []
    for part in text.split(","):
        if not part.strip():
            continue
        match = re.match(r"^\s*([A-Za-z0-9._-]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        path, op, value = match.groups()
        requirements.append(FieldRequirement(tuple(path.split(".")), op == "!=", value))
    return tuple(requirements)


def field_value(obj: Mapping[str, Any], path: tuple[str, ...]) -> str:
    """The field as the apiserver's field sets show it: absent is "", booleans are "true"/"false"."""
    current: Any = obj
    for step in path:
        if not isinstance(current, Mapping) or step not in current:
            return ""
        current = current[step]
    if isinstance(current, bool):
        return "true" if current else "false"
    if current is None or isinstance(current, (dict, list)):
        return ""
    return str(current)


def object_filter(label_selector: str | None, field_selector: str | None) -> Callable[[Mapping[str, Any]], bool]:
    """One predicate for a list or watch call's two selectors."""
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(field_selector)
    if not labels and not fields:
        return lambda obj: True

    def accept(obj: Mapping[str, Any]) -> bool:
        if labels and not matches(labels, obj.get("metadata", {}).get("labels")):
            return False
        return all(requirement.matches(obj) for requirement in fields)

    return accept


LabelIndex = dict[tuple[str, str], list[Mapping[str, Any]]]


def label_index(objs: Iterable[Mapping[str, Any]]) -> LabelIndex:
    """Objects by each (label, value) they carry: selecting from thousands of pods without a scan each time."""
    index: LabelIndex = {}
    for obj in objs:
        for pair in (obj.get("metadata", {}).get("labels") or {}).items():
            index.setdefault(pair, []).append(obj)
    return index


def select(selector: Selector | None, objs: list[Any], index: LabelIndex) -> list[Any]:
    """The objects `selector` matches, narrowed first through an equality requirement when it has one."""
    if selector is None:
        return []
    equality = next((r for r in selector if r.operator in ("=", "in") and len(r.values) == 1), None)
    pool = index.get((equality.key, next(iter(equality.values))), []) if equality else objs
    return [obj for obj in pool if matches(selector, obj.get("metadata", {}).get("labels"))]
