"""Alerts taken in on the controller's listener: Alertmanager webhooks and Azure Monitor common-schema alerts.

Other monitoring often sees a node's trouble first; an alert that names a node is evidence for the incident
it belongs to. The listener (`runtime/metrics.py`) reads a body with the pure parsers here and puts the
records in an `AlertInbox`; the controller drains the inbox each cycle. A parser never raises, whatever
JSON it is given: a payload of the wrong shape is a `PayloadError` whose one line names the field. Alerts
that name no node (a cluster-wide rule, a probe of a URL) are counted, not kept.

Alert times are the sender's, so they are bounded by the controller's clock (`now`): a time more than
`MAX_CLOCK_SKEW` ahead of it refuses the payload (a sender whose clock is that wrong, or a made-up
`9999-12-31`, would keep an incident open for ever), and an alert that started more than `MAX_ALERT_AGE`
before it is counted as ignored, not kept (too old to be evidence of a current incident, and it would
stretch the incident's time to detect by its age). Neither is clamped: a moved time would be a new fact
at every resend (the signal log keeps one row per start, `state/evidence.py`).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from nodewarden.model import aks
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import SignalRecord
from nodewarden.model.timestamps import parse_time
from nodewarden.runtime import logs

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # 1 MiB: a webhook of hundreds of alerts is far smaller; anything bigger is not an alert
INBOX_LIMIT = 10_000  # records kept between two cycles; beyond it the oldest go (a cycle is seconds long)
MAX_TEXT = 300  # characters kept of a summary or description: evidence is one line a human reads
MAX_CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of the controller's clock a sender's time may be
MAX_ALERT_AGE = timedelta(hours=24)  # alerts that started longer ago are ignored: incidents group within minutes

ALERTMANAGER_VERSION = "4"  # the webhook payload version every Alertmanager since 0.x sends
AZURE_SCHEMA = "azureMonitorCommonAlertSchema"
# Labels that name a node, most specific first; `instance` is "host:port" from a scrape target.
NODE_LABELS = ("node", "kubernetes_node", "nodename", "instance")
NODE_DIMENSIONS = frozenset({"node", "computer"})  # alertContext dimension names, compared lower-case
UNSET_TIME_YEAR = 1  # Alertmanager writes "0001-01-01T00:00:00Z" for an unset endsAt

_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_NODE_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")  # a Kubernetes name (RFC 1123 subdomain)


class AlertSource(StrEnum):
    """Where an alert came from; the value is the listener's path segment and the record's `source`."""

    ALERTMANAGER = "alertmanager"
    AZURE_MONITOR = "azure-monitor"


@dataclass(frozen=True)
class Intake:
    """What one payload yields: a record per (alert, node it names) and how many alerts named no node."""

    records: tuple[SignalRecord, ...] = ()
    ignored: int = 0


@dataclass(frozen=True)
class PayloadError:
    """Why a payload cannot be read: one line naming the field, what was expected and what was found."""

    message: str


class _ShapeError(Exception):
    """A field of the wrong shape, raised inside a parser and returned as a PayloadError."""


def parse_payload(source: AlertSource, body: bytes, *, now: datetime) -> Intake | PayloadError:
    """Decode a request body as JSON and read it as `source`'s payload, received at `now`."""
    try:
        document: object = json.loads(body)
    except RecursionError:
        return PayloadError("body: JSON nested too deeply")
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits
        return PayloadError(f"body: not JSON ({_first_line(str(exc))})")
    if source is AlertSource.ALERTMANAGER:
        return parse_alertmanager(document, now=now)
    return parse_azure_monitor(document, now=now)


def parse_alertmanager(document: object, *, now: datetime) -> Intake | PayloadError:
    """An Alertmanager webhook (version 4): one record per alert whose labels name a node."""
    try:
        return _alertmanager(document, now=now)
    except _ShapeError as exc:
        return PayloadError(str(exc))


def parse_azure_monitor(document: object, *, now: datetime) -> Intake | PayloadError:
    """An Azure Monitor common-schema alert: one record per node its targets or dimensions name."""
    try:
        return _azure_monitor(document, now=now)
    except _ShapeError as exc:
        return PayloadError(str(exc))


class AlertInbox:
    """Records the listener took in, waiting for the controller's next cycle; thread-safe and bounded.

    The same alert sent again (Alertmanager repeats a firing group; a resolve follows a fire) replaces
    the record still waiting, so a cycle sees one record per (source, node, alert, start).
    """

    def __init__(self, *, now: Callable[[], datetime] | None = None, limit: int = INBOX_LIMIT) -> None:
        self._now = now or _utc_now
        self._limit = limit
        self._lock = threading.Lock()
        self._waiting: dict[tuple[str, str, str | None, datetime], SignalRecord] = {}
        self._dropped = 0

    def now(self) -> datetime:
        """The receive time stamped on records: the controller's clock when one was given."""
        return self._now()

    def follow(self, now: Callable[[], datetime]) -> None:
        """Stamp records with `now` from here on: the controller's clock, once it has one (on a twin, twin time)."""
        self._now = now

    def put(self, records: Iterable[SignalRecord]) -> None:
        dropped = 0
        with self._lock:
            for record in records:
                key = (record.source, record.subject, record.condition, record.since)
                self._waiting.pop(key, None)
                self._waiting[key] = record
                if len(self._waiting) > self._limit:
                    del self._waiting[next(iter(self._waiting))]
                    dropped += 1
            self._dropped += dropped
        if dropped:
            log.warning("alerts.inbox_full", extra={"dropped": dropped, "limit": self._limit})

    def drain(self) -> tuple[SignalRecord, ...]:
        """Every waiting record, oldest first; the inbox is empty afterwards."""
        with self._lock:
            records = tuple(self._waiting.values())
            self._waiting.clear()
        return records

    @property
    def dropped(self) -> int:
        """Records dropped because the inbox was full."""
        with self._lock:
            return self._dropped

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiting)


def _utc_now() -> datetime:
    return datetime.now(UTC)


# --- Alertmanager ---------------------------------------------------------------------------------


def _alertmanager(document: object, *, now: datetime) -> Intake:
    body = _object(document, "body")
    version = body.get("version")
    if version != ALERTMANAGER_VERSION:
        raise _ShapeError(f'version: expected "{ALERTMANAGER_VERSION}" (Alertmanager webhook), found {_show(version)}')
    records: list[SignalRecord] = []
    ignored = 0
    for index, item in enumerate(_list(body.get("alerts"), "alerts")):
        where = f"alerts[{index}]"
        alert = _object(item, where)
        labels = _strings(alert.get("labels"), f"{where}.labels")
        annotations = _strings(alert.get("annotations", {}), f"{where}.annotations")
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise _ShapeError(f'{where}.status: expected "firing" or "resolved", found {_show(status)}')
        since = _time(alert.get("startsAt"), f"{where}.startsAt", now=now)
        ended = _optional_time(alert.get("endsAt"), f"{where}.endsAt", now=now) if status == "resolved" else None
        node = _node_from_labels(labels)
        if node is None or _is_too_old(since, now=now):
            ignored += 1
            continue
        name = labels.get("alertname") or "unnamed"
        severity = labels.get("severity")
        summary = annotations.get("summary")
        description = annotations.get("description") or annotations.get("message")
        fields = {
            "alertname": name,
            "severity": severity,
            "summary": summary,
            "description": description,
            "status": status,
            "startsAt": alert.get("startsAt"),
            "endsAt": alert.get("endsAt") if ended else None,
            "fingerprint": alert.get("fingerprint") if isinstance(alert.get("fingerprint"), str) else None,
        }
        records.append(
            _record(AlertSource.ALERTMANAGER, node=node, condition=name, since=since, ended=ended, now=now,
                    severity=severity, summary=summary or description, fields=fields)
        )  # fmt: skip
    return Intake(tuple(records), ignored)


def _node_from_labels(labels: Mapping[str, str]) -> str | None:
    for key in NODE_LABELS:
        value = labels.get(key)
        name = _node_name(_strip_port(value) if key == "instance" and value else value)
        if name is not None:
            return name
    return None


def _strip_port(address: str) -> str:
    """ "host:9100" → "host", "[::1]:9100" → "::1"; an address without a port is returned as it is."""
    host, sep, port = address.rpartition(":")
    if sep and port.isdigit() and host:
        address = host
    return address[1:-1] if address.startswith("[") and address.endswith("]") else address


# --- Azure Monitor --------------------------------------------------------------------------------


def _azure_monitor(document: object, *, now: datetime) -> Intake:
    body = _object(document, "body")
    schema = body.get("schemaId")
    if schema != AZURE_SCHEMA:
        raise _ShapeError(
            f'schemaId: expected "{AZURE_SCHEMA}" (Azure Monitor common alert schema), found {_show(schema)}'
        )
    data = _object(body.get("data"), "data")
    essentials = _object(data.get("essentials"), "data.essentials")
    where = "data.essentials"
    rule = _text(essentials.get("alertRule"), f"{where}.alertRule")
    condition = essentials.get("monitorCondition")
    if condition not in ("Fired", "Resolved"):
        raise _ShapeError(f'{where}.monitorCondition: expected "Fired" or "Resolved", found {_show(condition)}')
    since = _time(essentials.get("firedDateTime"), f"{where}.firedDateTime", now=now)
    resolved = condition == "Resolved"
    ended = (
        _optional_time(essentials.get("resolvedDateTime"), f"{where}.resolvedDateTime", now=now) if resolved else None
    )
    targets = _string_list(essentials.get("alertTargetIDs"), f"{where}.alertTargetIDs")
    items = _string_list(essentials.get("configurationItems"), f"{where}.configurationItems")
    nodes = _azure_nodes(targets, items, _dimensions(data.get("alertContext")))
    if not nodes or _is_too_old(since, now=now):
        return Intake(ignored=1)
    severity = _optional_text(essentials.get("severity"))
    description = _optional_text(essentials.get("description"))
    fields = {
        "alertRule": rule,
        "severity": severity,
        "signalType": _optional_text(essentials.get("signalType")),
        "description": description,
        "monitorCondition": condition,
        "firedDateTime": essentials.get("firedDateTime"),
        "resolvedDateTime": essentials.get("resolvedDateTime") if ended else None,
    }
    records = tuple(
        _record(AlertSource.AZURE_MONITOR, node=node, instance=instance, condition=rule, since=since, ended=ended,
                now=now, severity=severity, summary=description, fields=fields)
        for node, instance in nodes.items()
    )  # fmt: skip
    return Intake(records)


def _azure_nodes(targets: list[str], items: list[str], dimensions: list[str]) -> dict[str, str | None]:
    """Node → instance key, from VMSS-instance targets, then node/Computer dimensions, then configuration items.

    A configuration item that is the name of a target resource *is* that resource (a cluster, a scale
    set, a workspace), not a node, so only items that are no target's name count; log alerts put their
    dimension values there.
    """
    nodes: dict[str, str | None] = {}
    for target in targets:
        key = aks.key_from_resource_id(target)
        if key is not None:
            _add_instance(nodes, key)
    for value in dimensions:
        _add_name(nodes, value)
    target_names = {target.rstrip("/").rpartition("/")[2].lower() for target in targets}
    for item in items:
        if item.lower() not in target_names:
            _add_name(nodes, item)
    return nodes


def _add_instance(nodes: dict[str, str | None], key: str) -> None:
    """The node AKS names after the instance (`aks.node_name_of`), remembered with the instance's key."""
    node = _node_name(aks.node_name_of(key))
    if node is not None:
        nodes.setdefault(node, key)


def _add_name(nodes: dict[str, str | None], value: str) -> None:
    key = aks.key_from_vm_name(value)
    if key is not None:
        _add_instance(nodes, key)
        return
    node = _node_name(value)
    if node is not None:
        nodes.setdefault(node, None)


def _dimensions(context: object) -> list[str]:
    """Values of node/Computer dimensions in `alertContext.condition.allOf[]` (metric and log search alerts).

    The context's shape varies by alert type, so anything unexpected here means "no dimensions", not an error.
    """
    condition = context.get("condition") if isinstance(context, dict) else None
    criteria = condition.get("allOf") if isinstance(condition, dict) else None
    values: list[str] = []
    for criterion in criteria if isinstance(criteria, list) else ():
        dimensions = criterion.get("dimensions") if isinstance(criterion, dict) else None
        for dimension in dimensions if isinstance(dimensions, list) else ():
            if not isinstance(dimension, dict):
                continue
            name, value = dimension.get("name"), dimension.get("value")
            if isinstance(name, str) and name.lower() in NODE_DIMENSIONS and isinstance(value, str):
                values.append(value)
    return values


# --- shared ---------------------------------------------------------------------------------------


def _record(
    source: AlertSource,
    *,
    node: str,
    condition: str,
    since: datetime,
    ended: datetime | None,
    now: datetime,
    severity: str | None,
    summary: str | None,
    fields: Mapping[str, object],
    instance: str | None = None,
) -> SignalRecord:
    """A NODE_PROBLEM record; a resolved alert's end is its `last_seen` (never before `first_seen`)."""
    last_seen = ended or now
    state = f"resolved at {ended.isoformat()}" if ended else "firing"
    message = f"{source.value} alert {condition}" + (f" ({severity})" if severity else "") + f" on {node}, {state}"
    if summary:
        message += f": {summary}"
    evidence = tuple(
        f"{source.value}: {key}={_clean(str(value))}" for key, value in fields.items() if value not in (None, "")
    )
    return SignalRecord(
        kind=SignalKind.NODE_PROBLEM,
        subject=node,
        since=since,
        first_seen=min(now, last_seen),
        last_seen=last_seen,
        message=_clean(message),
        evidence=evidence,
        node=node,
        instance=instance,
        condition=condition,
        source=source.value,
    )


def _node_name(value: str | None) -> str | None:
    """`value` as a node name (lower case), or None when it cannot be one (empty, an IP address, a URL)."""
    if not value:
        return None
    name = value.strip().lower()
    if not _NODE_NAME.match(name) or _is_ip(name):
        return None
    return name


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _object(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _ShapeError(f"{where}: expected an object, found {_kind(value)}")
    return value


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise _ShapeError(f"{where}: expected a list, found {_kind(value)}")
    return value


def _strings(value: object, where: str) -> dict[str, str]:
    """An object of string values (labels, annotations)."""
    mapping = _object(value, where)
    for key, item in mapping.items():
        if not isinstance(item, str):
            raise _ShapeError(f"{where}.{_clean(key, limit=40)}: expected a string, found {_kind(item)}")
    return {key: str(item) for key, item in mapping.items()}


def _string_list(value: object, where: str) -> list[str]:
    """A list of strings; absent or null reads as empty."""
    if value is None:
        return []
    items = _list(value, where)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise _ShapeError(f"{where}[{index}]: expected a string, found {_kind(item)}")
    return [str(item) for item in items]


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _ShapeError(f"{where}: expected a non-empty string, found {_show(value)}")
    return value


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: object, where: str, *, now: datetime) -> datetime:
    """A required RFC 3339 time."""
    parsed = _optional_time(value, where, now=now)
    if parsed is None:
        raise _ShapeError(f"{where}: expected an RFC 3339 time, found {_show(value)}")
    return parsed


def _optional_time(value: object, where: str, *, now: datetime) -> datetime | None:
    """An RFC 3339 time no more than MAX_CLOCK_SKEW after `now`, or None when absent, null or Alertmanager's
    "unset" (year 1)."""
    if value is None:
        return None
    try:
        parsed = parse_time(value) if isinstance(value, str) else None
    except (OverflowError, ValueError):  # an offset that moves year 1 or 9999 out of range
        parsed = None
    if parsed is None:
        raise _ShapeError(f"{where}: expected an RFC 3339 time, found {_show(value)}")
    if parsed.year == UNSET_TIME_YEAR:
        return None
    if parsed - now > MAX_CLOCK_SKEW:
        raise _ShapeError(
            f"{where}: {_show(value)} is {_duration(parsed - now)} after the controller's clock ({now.isoformat()});"
            f" at most {_duration(MAX_CLOCK_SKEW)} ahead is taken"
        )
    return parsed


def _is_too_old(since: datetime, *, now: datetime) -> bool:
    """Whether an alert started more than MAX_ALERT_AGE before `now` (ignored: see the module's docstring)."""
    return now - since > MAX_ALERT_AGE


def _duration(span: timedelta) -> str:
    """A span in the largest whole unit that fits: "5 minutes", "2914641 days"."""
    seconds = int(span.total_seconds())
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit if count != 1 else unit[:-1]}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _kind(value: object) -> str:
    """The JSON type of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _show(value: object) -> str:
    """A short rendering of a found value: strings quoted and cut, anything else by its type."""
    if isinstance(value, str):
        return json.dumps(_clean(value, limit=40))
    return "nothing" if value is None else _kind(value)


def _clean(text: str, *, limit: int = MAX_TEXT) -> str:
    """One line, secrets masked, at most `limit` characters."""
    line = logs.redact(" ".join(text.split()))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _first_line(text: str) -> str:
    return _clean(text.splitlines()[0] if text else "", limit=120)
