"""Writing files nodewarden produces (reports, collected exports): whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

from nodewarden.errors import InputError


def write_atomically(path: Path, text: str, *, named: str | None = None) -> None:
    """Write beside the target, then rename: an interrupted run never leaves half a file.

    `named` is how the error message refers to the file (`--output report.html`); the path by default.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"{named or path}: cannot write: {exc.strerror or exc}") from exc
