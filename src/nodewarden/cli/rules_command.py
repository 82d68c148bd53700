"""`nodewarden rules`: print the catalog."""

from __future__ import annotations

import typer

from nodewarden.audit.catalog import default_catalog
from nodewarden.cli.exit_codes import ExitCode
from nodewarden.errors import InputError
from nodewarden.render import catalog as catalog_render

RENDERERS = {
    "table": catalog_render.render_catalog_table,
    "json": catalog_render.render_catalog_json,
    "markdown": catalog_render.render_catalog_markdown,
}


def rules_command(output_format: str) -> ExitCode:
    renderer = RENDERERS.get(output_format)
    if renderer is None:
        raise InputError(f"--format: expected one of {', '.join(RENDERERS)}, found {output_format!r}")
    typer.echo(renderer(default_catalog()), nl=False)
    return ExitCode.OK
