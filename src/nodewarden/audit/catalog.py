"""Rule metadata, the `rule` decorator and the catalog that holds them.

A rule is one pure function plus frozen metadata. Modules under `audit.rules` build their rules with
`@rule(...)` and list them in a module-level `RULES` tuple; `default_catalog()` gathers those tuples.
Nothing registers itself on import, so a test can build any catalog it likes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from nodewarden.audit.params import AuditParams
from nodewarden.model.findings import Category, Profile, Severity, Target
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot

RULE_ID = re.compile(r"^(HA|UP|AS|RG|WL|SEC|MON|DR|VM)\d{3}$")


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a rule may read besides the snapshot: thresholds and the moment of the audit."""

    params: AuditParams
    now: datetime


@dataclass(frozen=True, slots=True)
class Violation:
    """One target that fails a rule; `severity` overrides the rule's where the catalog grades it."""

    target: Target
    message: str
    severity: Severity | None = None


class NotEvaluated(Exception):  # noqa: N818 - it is an outcome, not an error
    """Raised by a rule when its input is present but not enough to decide (says what is missing)."""


RuleFunction = Callable[[Snapshot, RuleContext], Iterable[Violation]]


def decide(violations: list[Violation], *, undecided: list[str], what: str) -> Iterator[Violation]:
    """The violations found; with none, undecided targets make the rule not evaluated (`what` + their names).

    A target whose field is absent cannot pass. When other targets already fail, the outcome is FAIL
    either way, so the undecided ones are not listed.
    """
    if not violations and undecided:
        raise NotEvaluated(f"{what} {', '.join(undecided)}")
    yield from violations


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """Everything about a rule except its logic; docs, SARIF and listings are generated from it."""

    id: str
    title: str
    category: Category
    severity: Severity
    rationale: str
    fix: str
    needs: tuple[Input, ...]
    references: tuple[str, ...] = ()
    profile: Profile = Profile.CORE
    params: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        """A human-readable handle derived from the title."""
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


@dataclass(frozen=True, slots=True)
class Rule:
    meta: RuleMeta
    check: RuleFunction

    def __call__(self, snapshot: Snapshot, context: RuleContext) -> Iterable[Violation]:
        return self.check(snapshot, context)


def rule(
    *,
    id: str,
    title: str,
    category: Category,
    severity: Severity,
    rationale: str,
    fix: str,
    needs: Sequence[Input],
    references: Sequence[str] = (),
    profile: Profile = Profile.CORE,
    params: Sequence[str] = (),
) -> Callable[[RuleFunction], Rule]:
    """Turn a check function into a `Rule` carrying its metadata."""
    if not RULE_ID.match(id) or not id.startswith(category.value):
        raise ValueError(f"rule id {id!r} does not match its category {category.value}")
    unknown = [name for name in params if name not in AuditParams.model_fields]
    if unknown:
        raise ValueError(f"rule {id} names unknown params {unknown}")
    meta = RuleMeta(
        id=id,
        title=title,
        category=category,
        severity=severity,
        rationale=rationale,
        fix=fix,
        needs=tuple(needs),
        references=tuple(references),
        profile=profile,
        params=tuple(params),
    )

    def wrap(check: RuleFunction) -> Rule:
        return Rule(meta=meta, check=check)

    return wrap


class Catalog:
    """An ordered, duplicate-free collection of rules."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules: dict[str, Rule] = {}
        for item in rules:
            self.add(item)

    def add(self, item: Rule) -> None:
        if item.meta.id in self._rules:
            raise ValueError(f"rule {item.meta.id} is defined twice")
        self._rules[item.meta.id] = item

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self._rules.values(), key=_order))

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def get(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    def ids(self) -> list[str]:
        return [r.meta.id for r in self]


_CATEGORY_ORDER = {category: index for index, category in enumerate(Category)}


def _order(item: Rule) -> tuple[int, str]:
    return (_CATEGORY_ORDER[item.meta.category], item.meta.id)


def default_catalog() -> Catalog:
    """Every rule nodewarden ships."""
    from nodewarden.audit.rules import ALL_RULES

    return Catalog(ALL_RULES)
