"""A live cluster as the documents `az` and `kubectl` would export, written to a folder or loaded in memory.

`collect` writes the files the README's export commands write (`aks.json`, `nodepools.json`, `vmss.json`,
`vmss-instances-<vmss>.json`, `k8s-<kind>.json`); `load_live` feeds the very same documents, under the
same names, to `load.load_documents`. So `nodewarden audit DIR` after `nodewarden collect --out DIR`
and `nodewarden audit --live` are one code path, and their reports agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodewarden import output
from nodewarden.connection import Connection
from nodewarden.errors import InputError
from nodewarden.observe import live_azure, live_kube, load
from nodewarden.observe.files import Document


@dataclass(frozen=True, slots=True)
class Gathered:
    """Documents by file name (in name order), and what was skipped and why."""

    documents: tuple[Document, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CollectSummary:
    """What `collect` wrote: object count per file, and notes (kinds the cluster does not serve)."""

    out_dir: Path
    counts: dict[str, int]
    notes: tuple[str, ...]


def gather(connection: Connection) -> Gathered:
    """Read everything the audit uses from whichever sides `connection` has (Kubernetes, Azure or both)."""
    documents: list[Document] = []
    notes: list[str] = []
    if connection.azure is not None:
        for export in live_azure.list_exports(connection.azure):
            documents.append(Document(source=export.file_name, data=export.document))
    if connection.kube is not None:
        for listed in live_kube.list_exports(connection.kube):
            if listed.document is None:
                notes.append(f"{listed.skipped}; {listed.export.file_name} not written")
                continue
            documents.append(Document(source=listed.export.file_name, data=listed.document))
    documents.sort(key=lambda document: document.source)  # the order load_paths reads a folder in
    return Gathered(tuple(documents), tuple(notes))


def load_live(connection: Connection) -> load.LoadResult:
    """The Snapshot `load_paths` would build from a `collect`ed folder, built without touching the disk."""
    gathered = gather(connection)
    loaded = load.load_documents(gathered.documents)
    return load.LoadResult(loaded.snapshot, gathered.notes + loaded.notes)


def collect(connection: Connection, out_dir: Path) -> CollectSummary:
    """Write the exports into `out_dir` (created if needed), each file atomically."""
    gathered = gather(connection)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out_dir}: cannot create the folder: {exc.strerror or exc}") from exc
    counts: dict[str, int] = {}
    for document in gathered.documents:
        output.write_atomically(out_dir / document.source, _render(document))
        counts[document.source] = _count(document.data)
    return CollectSummary(out_dir, counts, gathered.notes)


def _render(document: Document) -> str:
    """kubectl prints Go's sorted map keys with 4-space indents; az sorted keys with 2 (knack's format_json)."""
    indent = 4 if document.source.startswith("k8s-") else 2
    return json.dumps(document.data, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"


def _count(data: Any) -> int:
    if isinstance(data, list):
        return len(data)
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return len(data["items"])
    return 1
