"""Folds an Azure document so one spelling serves az CLI and ARM alike.

Keys become lower case without `_` or `-` (`enableRBAC`, `enableRbac` → `enablerbac`;
`scale-down-delay-after-add`, `scaleDownDelayAfterAdd` → `scaledowndelayafteradd`), and ARM's
`properties` envelopes are merged into their parent, as the az CLI does. ARM's `properties.type`
(an agent pool's VirtualMachineScaleSets) becomes `typepropertiestype`, the az CLI's name for it.
"""

from __future__ import annotations

from typing import Any

from nodewarden.model.azure import fold_key
from nodewarden.observe.files import LazyItems


def fold(value: Any) -> Any:
    if isinstance(value, dict):
        folded: dict[str, Any] = {}
        nested = None
        for key, item in value.items():
            name = fold_key(str(key))
            if name == "properties" and isinstance(item, dict):
                nested = item
            else:
                folded[name] = fold(item)
        if nested is not None:
            for key, item in fold(nested).items():
                if key == "type" and "type" in folded:
                    folded.setdefault("typepropertiestype", item)
                else:
                    folded.setdefault(key, item)
        return folded
    if isinstance(value, (list, LazyItems)):
        return [fold(item) for item in value]
    return value


def original_path(document: Any, loc: tuple[int | str, ...]) -> str:
    """Turn a location in the folded document back into the user's own spelling (`a.b[0].c`)."""
    parts: list[str] = []
    current = document
    for step in loc:
        if isinstance(step, int):
            parts.append(f"[{step}]")
            current = current[step] if isinstance(current, list) and step < len(current) else None
            continue
        name, current = _find_key(current, step)
        parts.append(("." if parts else "") + name)
    return "".join(parts)


def _find_key(container: Any, folded: str) -> tuple[str, Any]:
    if isinstance(container, dict):
        for key, item in container.items():
            if fold_key(str(key)) == folded:
                return str(key), item
        properties = container.get("properties")
        if isinstance(properties, dict):
            name, item = _find_key(properties, folded)
            return f"properties.{name}", item
    return folded, None
