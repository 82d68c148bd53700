"""ARM wire basics shared by the state and the HTTP handler: timestamps and error bodies.

ARM errors travel as `{"error": {"code", "message", ...}}` (ARM docs, "Common error response"); the
state raises `ArmError` for a request ARM would refuse synchronously, and the handler turns it into
that body.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Any


def iso(moment: datetime) -> str:
    """ARM's timestamp form: ISO 8601 in UTC with microseconds and a `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc1123(moment: datetime) -> str:
    """Scheduled Events' `NotBefore` form: `Mon, 19 Sep 2016 18:29:47 GMT`."""
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


class ArmError(Exception):
    """A request ARM refuses outright: HTTP status plus the ARM error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message)


def not_found(resource_type: str, name: str, resource_group: str) -> ArmError:
    """ARM's 404 for a resource that does not exist (wording of the real `ResourceNotFound`)."""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )
