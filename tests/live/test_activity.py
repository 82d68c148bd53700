"""The Activity Log since a time, through azure-mgmt-monitor against the twin."""

from __future__ import annotations

from datetime import timedelta

from nodewarden.act import azure_actions, kube_actions
from nodewarden.act.results import NodeAction
from nodewarden.connection import Connection
from nodewarden.model.inputs import Input
from nodewarden.observe.activity import activity_since
from nodewarden.observe.files import Document
from nodewarden.observe.load import load_documents
from nodewarden.twin.service import Twin


def test_an_instance_action_shows_in_the_activity_log_with_who_and_when(twin: Twin, connection: Connection) -> None:
    assert connection.kube is not None
    assert connection.azure is not None
    node = next(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"])
    start = twin.clock.now()
    ref = azure_actions.instance_of(kube_actions.read_node(connection.kube, node))
    result = azure_actions.run_instance_action(connection.azure, ref, NodeAction.RESTART, timeout=600)
    entries = activity_since(
        connection.azure,
        start - timedelta(minutes=1),
        twin.clock.now() + timedelta(minutes=1),
        resource_group=ref.resource_group,
    )
    ours = [e for e in entries if e.get("correlationId") == result.correlation_id]
    assert [e["status"]["value"] for e in ours] == ["Started", "Succeeded"]
    assert all("restart" in e["operationName"]["value"].lower() for e in ours)
    assert all(e["resourceId"].lower().endswith(f"/virtualmachines/{ref.instance_id}") for e in ours)
    assert [e["eventTimestamp"] for e in entries] == sorted(e["eventTimestamp"] for e in entries)
    loaded = load_documents([Document("activity-log.json", entries)])
    assert Input.ACTIVITY_LOG in loaded.snapshot.inputs
    assert len(loaded.snapshot.activity_log) == len(entries)


def test_a_window_before_the_action_is_empty(twin: Twin, connection: Connection) -> None:
    assert connection.azure is not None
    before = twin.clock.now() - timedelta(hours=2)
    entries = activity_since(
        connection.azure, before, before + timedelta(minutes=30), resource_group=connection.azure.target.resource_group
    )
    assert entries == []
