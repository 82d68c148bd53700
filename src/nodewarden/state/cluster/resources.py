"""The custom resources nodewarden keeps its record in (deploy/crds/), and the calls every store makes on them.

Objects are cluster-scoped and named from the record's id (`object_name`): ids hold `@`, `/` and capitals, which
Kubernetes names may not, so the name is the id spelled as a DNS label plus a hash of the whole id, and the id
itself is kept in the object. Errors leave here as nodewarden's own (`translate`): a missing CRD says to install
deploy/crds/, a 403 names the verb and resource to grant.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx2
from lightkube import ApiError, Client
from lightkube.generic_resource import GenericGlobalResource, create_global_resource

from nodewarden.errors import InputError, NotFoundError
from nodewarden.observe import live_kube

GROUP = "nodewarden.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
NODE_LABEL = "nodewarden.io/node"  # on a NodeRemediation: the node (or pool) it repairs
MANAGED_BY = {"app.kubernetes.io/managed-by": "nodewarden"}
NAME_PREFIX_LENGTH = 40
_T = TypeVar("_T")

log = logging.getLogger(__name__)


# lightkube's generic classes; each has a `.Status` subresource class for PUT …/status.
NodeRemediation = create_global_resource(GROUP, VERSION, "NodeRemediation", "noderemediations")
IncidentResource = create_global_resource(GROUP, VERSION, "Incident", "incidents")


class ConflictError(Exception):
    """The object changed since it was read (409): re-read it and decide again."""


class StoreMissingError(InputError):
    """The cluster does not serve nodewarden's CRDs."""


def object_name(record_id: str) -> str:
    """A Kubernetes name for a record id: its readable part (lowercase, [a-z0-9-]) and 10 hex of its SHA-256."""
    readable = re.sub(r"[^a-z0-9]+", "-", record_id.lower()).strip("-")[:NAME_PREFIX_LENGTH].strip("-")
    digest = hashlib.sha256(record_id.encode()).hexdigest()[:10]
    return f"{readable}-{digest}" if readable else digest


def call(action: Callable[[], _T], *, verb: str, resource: str, name: str = "") -> _T:
    """Run one API call; its failure as a nodewarden error, or ConflictError on 409."""
    try:
        return action()
    except ApiError as exc:
        code = exc.status.code
        if code == 409:
            raise ConflictError(f"{resource} {name}: {exc.status.message}") from exc
        if code == 404 and not name:
            raise StoreMissingError(
                f"the cluster does not serve {resource}.{GROUP}: install nodewarden's CRDs "
                "(kubectl apply -k deploy/crds) or keep the state in a directory (--state dir)"
            ) from exc
        if code == 404:
            raise NotFoundError(f"{resource}.{GROUP} {name}: not found in the cluster") from exc
        raise live_kube.translate_api_error(exc, verb=verb, resource=resource, group=GROUP) from exc
    except httpx2.TransportError as exc:
        raise live_kube.translate_transport_error(exc) from exc


class Objects:
    """One kind's objects as plain dicts: list, get, create, replace (the object or its status), delete."""

    def __init__(self, kube: Client, resource: type[GenericGlobalResource], plural: str) -> None:
        self._kube = kube
        self._resource = resource
        self.plural = plural

    def list(self, *, limit: int = 500) -> list[dict[str, Any]]:
        return call(
            lambda: [dict(o) for o in self._kube.list(self._resource, chunk_size=limit)],
            verb="list",
            resource=self.plural,
        )

    def get(self, name: str) -> dict[str, Any]:
        """The object; NotFoundError when there is none."""
        return call(lambda: dict(self._kube.get(self._resource, name)), verb="get", resource=self.plural, name=name)

    def find(self, name: str) -> dict[str, Any] | None:
        """The object, or None when there is none."""
        try:
            return self.get(name)
        except NotFoundError:
            return None

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create; ConflictError when the name is taken."""
        obj = self._resource.from_dict(body)
        return call(
            lambda: dict(self._kube.create(obj)), verb="create", resource=self.plural, name=body["metadata"]["name"]
        )

    def replace(self, body: dict[str, Any]) -> dict[str, Any]:
        """Replace the object as read at body's resourceVersion; ConflictError when it changed since."""
        obj = self._resource.from_dict(body)
        return call(
            lambda: dict(self._kube.replace(obj)), verb="update", resource=self.plural, name=body["metadata"]["name"]
        )

    def replace_status(self, body: dict[str, Any]) -> dict[str, Any]:
        """Replace the status subresource as read at body's resourceVersion; ConflictError when it changed."""
        name = body["metadata"]["name"]
        obj = self._resource.Status.from_dict(body)
        return call(
            lambda: dict(self._kube.replace(obj, name=name)), verb="update", resource=f"{self.plural}/status", name=name
        )

    def delete(self, name: str) -> None:
        """Delete; one already gone is fine."""
        with contextlib.suppress(NotFoundError):
            call(lambda: self._kube.delete(self._resource, name), verb="delete", resource=self.plural, name=name)


class UnreadableReport:
    """Warns once per object version that an object cannot be read (a hand edit), naming it and the field."""

    def __init__(self, warn: Callable[[str], None] | None = None) -> None:
        self._warn = warn or (lambda message: log.warning("record.unreadable", extra={"detail": message}))
        self._seen: set[tuple[str, str]] = set()

    def __call__(self, obj: Mapping[str, Any], message: str) -> None:
        metadata = obj.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        version = (str(metadata.get("name", "?")), str(metadata.get("resourceVersion", "")))
        if version not in self._seen:
            self._seen.add(version)
            self._warn(message)


def serves(kube: Client) -> bool:
    """Whether the cluster serves nodewarden's CRDs (a list of NodeRemediations answers, not 404)."""
    try:
        Objects(kube, NodeRemediation, "noderemediations").list(limit=1)
    except StoreMissingError:
        return False
    return True
