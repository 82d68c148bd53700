"""The twin is an honest stranger: it imports nothing from the rest of nodewarden (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

TWIN = Path(__file__).parents[2] / "src" / "nodewarden" / "twin"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_twin_module_imports_the_rest_of_nodewarden() -> None:
    sources = sorted(TWIN.rglob("*.py"))
    assert len(sources) > 10
    offenders = {
        str(path.relative_to(TWIN)): sorted(
            name for name in _imports(path) if name.startswith("nodewarden") and not name.startswith("nodewarden.twin")
        )
        for path in sources
    }
    assert {path: names for path, names in offenders.items() if names} == {}
