"""The report-format flag of every command that prints one: `--format`/`-o`, the spelling most commands used and
kubectl's short form. `--output-format`, which watch, plan and drill run used to take, still works as a hidden
alias (`--output` is taken: it names the file audit and incidents report write to)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, get_args

import typer

R = TypeVar("R")

NAMES = ("--format", "-o")  # what help shows
ALIAS = "--output-format"  # accepted, never shown
_PARAMETER = "output_format"
_ALIAS_PARAMETER = "output_format_alias"


def option(help_text: str) -> Any:
    """The `typer.Option` of a command's `output_format` parameter."""
    return typer.Option(*NAMES, help=help_text)


def with_alias(command: Callable[..., R]) -> Callable[..., R]:
    """Give a typer command whose `output_format` is declared with `option()` the hidden `--output-format` too.

    As `live_flags.with_connection_flags` does, the wrapper shows typer the command's parameters plus one
    keyword-only option of the same type (None when not given) and, when it was given, passes its value on
    as `output_format`.
    """
    signature = inspect.signature(command, eval_str=True)
    value_type = get_args(signature.parameters[_PARAMETER].annotation)[0]
    alias = inspect.Parameter(
        _ALIAS_PARAMETER,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[value_type | None, typer.Option(ALIAS, hidden=True)],
    )
    parameters = [*signature.parameters.values(), alias]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        given = kwargs.pop(_ALIAS_PARAMETER)
        if given is not None:
            kwargs[_PARAMETER] = given
        return command(*args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": signature.return_annotation}
    return wrapper
