"""The `nodewarden` command line: audit, rules, collect, watch, plan, run, policy, notify, incidents, drill, demo,
twin."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import typer.main
from typer import _click as click  # typer 0.29 vendors click; pinned in pyproject.toml
from typer import rich_utils
from typer._click import exceptions as click_errors
from typer.core import TyperOption

from nodewarden import __version__
from nodewarden.cli import format_flag, live_flags, terminal
from nodewarden.cli.audit_command import audit_command
from nodewarden.cli.collect_command import collect_command
from nodewarden.cli.demo_command import demo_command
from nodewarden.cli.drill_command import app as drill_app
from nodewarden.cli.exit_codes import ExitCode
from nodewarden.cli.incidents_command import app as incidents_app
from nodewarden.cli.node_command import app as node_app
from nodewarden.cli.notify_command import app as notify_app
from nodewarden.cli.plan_command import plan_command
from nodewarden.cli.policy_command import policy_check, policy_schema, policy_show
from nodewarden.cli.rules_command import rules_command
from nodewarden.cli.run_command import run_command
from nodewarden.cli.twin_command import app as twin_app
from nodewarden.cli.watch_command import watch_command
from nodewarden.errors import InputError
from nodewarden.observe.files import DEFAULT_MAX_BYTES
from nodewarden.render import Format, terminal_text

app = typer.Typer(
    name="nodewarden",
    help="Keeps AKS clusters healthy when the scale-set instances under their nodes fail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion and --show-completion [bash|zsh|fish|powershell]
)
policy_app = typer.Typer(help="The remediation policy: show the built-in one, check yours.", no_args_is_help=True)
app.add_typer(twin_app, name="twin")
app.add_typer(node_app, name="node")
app.add_typer(policy_app, name="policy")
app.add_typer(notify_app, name="notify")
app.add_typer(incidents_app, name="incidents")
app.add_typer(drill_app, name="drill")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nodewarden {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """nodewarden: prevent, detect, recover, resolve and rehearse VMSS node failures on AKS."""


@app.command("audit")
@format_flag.with_alias
@live_flags.with_connection_flags
def audit(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders of az/kubectl JSON or YAML output (or --live).")
    ] = None,
    output_format: Annotated[Format, format_flag.option("Report format.")] = Format.TABLE,
    output: Annotated[Path | None, typer.Option("--output", help="Write the report to this file.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="YAML config: thresholds, disabled rules.")] = None,
    waivers: Annotated[Path | None, typer.Option("--waivers", help="YAML waiver file.")] = None,
    no_annotation_waivers: Annotated[
        bool, typer.Option("--no-annotation-waivers", help="Ignore nodewarden.io/waive annotations.")
    ] = False,
    fail_on: Annotated[
        str,
        typer.Option("--fail-on", help="Exit 1 on unwaived findings at or above: critical|high|medium|low|info."),
    ] = "high",
    now: Annotated[
        str | None,
        typer.Option("--now", help="Audit as of this ISO-8601 time (default: now); for reproducible runs."),
    ] = None,
    max_input_bytes: Annotated[
        int, typer.Option("--max-input-bytes", min=1, help="Refuse input files larger than this.")
    ] = DEFAULT_MAX_BYTES,
    only: Annotated[
        list[str] | None,
        typer.Option("--rule", "-r", help="Run only these rules (ID or glob such as 'WL*'); repeatable."),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Read the cluster itself instead of files.", rich_help_panel="Live cluster")
    ] = False,
    *,
    flags: live_flags.ConnectionFlags,
) -> None:
    """Audit a cluster's exported configuration and workloads (or the live cluster) against HA and safety practice."""
    if not live and flags != live_flags.ConnectionFlags():
        raise InputError(
            "--twin, --kubeconfig, --azure-config, --subscription, --resource-group and --cluster need --live"
        )
    code = audit_command(
        paths=paths or [],
        output_format=output_format,
        output=output,
        config_path=config,
        waivers_path=waivers,
        use_annotation_waivers=not no_annotation_waivers,
        fail_on=fail_on,
        now=live_flags.parse_now(now),
        max_input_bytes=max_input_bytes,
        only=only or [],
        live=flags if live else None,
    )
    raise typer.Exit(code)


app.command("collect")(collect_command)
app.command("watch")(watch_command)
app.command("plan")(plan_command)
app.command("run")(run_command)
app.command("demo")(demo_command)


@policy_app.command("show")
def policy_show_command(
    policy: Annotated[Path | None, typer.Option("--policy", help="Show this file as read (default: built-in).")] = None,
) -> None:
    """Print the built-in remediation policy (or a file, as nodewarden reads it)."""
    typer.echo(policy_show(policy), nl=False)


@policy_app.command("check")
def policy_check_command(
    path: Annotated[Path, typer.Argument(help="The RemediationPolicy YAML file to validate.")],
) -> None:
    """Validate a policy file; exit 2 with the field named when it is wrong."""
    typer.echo(policy_check(path), nl=False)


@policy_app.command("schema")
def policy_schema_command() -> None:
    """Print the policy's reference as Markdown: every key, its type, range, default and meaning (docs/policy.md)."""
    typer.echo(policy_schema(), nl=False)


@app.command("rules")
@format_flag.with_alias
def rules(
    output_format: Annotated[str, format_flag.option("table, json or markdown.")] = "table",
) -> None:
    """List the audit rule catalog."""
    raise typer.Exit(rules_command(output_format))


def run(argv: list[str] | None = None) -> None:
    """Console-script entry point: map errors to exit codes, one line on stderr, never a traceback or a box."""
    try:
        code = click_command().main(args=argv, prog_name="nodewarden", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:  # `nodewarden` or `nodewarden policy` alone: the help
        exc.show()
        sys.exit(ExitCode.USAGE)
    except typer.TyperException as exc:  # a bad flag or argument, an unreadable path click itself opened
        command, message = usage_line(exc)
        _fail(message, ExitCode.USAGE, who=command)
    except typer.Abort:
        _fail("aborted", 1)
    except InputError as exc:
        _fail(str(exc), ExitCode.USAGE)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:
        _fail(f"internal error: {type(exc).__name__}: {exc} (please report it with the command you ran)",
              ExitCode.INTERNAL)  # fmt: skip
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


def click_command() -> click.Command:
    """The click command typer builds from `app`, its help drawn for where it goes: wide when not on a terminal
    (`cli/terminal.py`), and no type beside a flag, which takes no value."""
    rich_utils.MAX_WIDTH = terminal.help_width()  # typer's own knob (TERMINAL_WIDTH), read as help is drawn
    built = typer.main.get_command(app)
    _hide_flag_types(built)
    return built


def _hide_flag_types(built: click.Command) -> None:
    """Typer shows `<bool>` beside flags such as `--apply` and `--help`; a flag's metavar of "" shows nothing."""
    for param in built.get_params(click.Context(built)):
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""
    for sub in getattr(built, "commands", {}).values():
        _hide_flag_types(sub)


def usage_line(exc: typer.TyperException) -> tuple[str, str]:
    """(command, click's error and where to read more): one line instead of typer's boxed usage."""
    context = exc.ctx if isinstance(exc, click_errors.UsageError) else None
    command = context.command_path if context is not None else "nodewarden"
    return command, f"{exc.format_message()} (see {command} --help)"


def _fail(message: str, code: int, *, who: str = "nodewarden") -> NoReturn:
    """`nodewarden: <message>` as one line on stderr, control characters replaced; exit with `code`."""
    print(terminal_text.printable(f"{who}: {' '.join(message.split())}"), file=sys.stderr)
    sys.exit(code)
