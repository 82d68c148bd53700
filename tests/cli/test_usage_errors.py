"""Usage errors are one line on stderr naming the command, plus where to read more, and exit 2 (issue 17):
not typer's five-line boxed usage."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke


@pytest.mark.parametrize(
    ("desc", "args", "line"),
    [
        ("unknown flag", ("audit", "--bogus"),
         "nodewarden audit: No such option: --bogus (see nodewarden audit --help)"),
        ("unknown flag of a subcommand", ("incidents", "list", "--bogus"),
         "nodewarden incidents list: No such option: --bogus (see nodewarden incidents list --help)"),
        ("bad choice", ("audit", "-o", "pdf", "x"),
         "nodewarden audit: Invalid value for '--format' / '-o': Value error, 'pdf' is not one of 'table', 'json',"
         " 'sarif', 'junit', 'markdown', 'html'. (see nodewarden audit --help)"),
        ("out of range", ("run", "--interval", "0"),
         "nodewarden run: Invalid value for '--interval': Input should be greater than or equal to 1"
         " (see nodewarden run --help)"),
        ("missing argument", ("policy", "check"),
         "nodewarden policy check: Missing argument 'path'. (see nodewarden policy check --help)"),
        ("unknown command", ("audti",),
         "nodewarden: No such command 'audti'. Did you mean 'audit'? (see nodewarden --help)"),
    ],
)  # fmt: skip
def test_a_usage_error_is_one_line_and_exit_2(invoke: Invoke, desc: str, args: tuple[str, ...], line: str) -> None:
    result = invoke(*args)
    assert (result.code, result.err, result.out) == (2, line + "\n", "")


def test_an_unreadable_path_is_one_line_and_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    for args in (("audit", str(tmp_path / "missing")), ("policy", "check", str(tmp_path / "missing.yaml"))):
        result = invoke(*args)
        assert result.code == 2
        assert result.err.count("\n") == 1
        assert result.err.startswith("nodewarden: ")
        assert "Traceback" not in result.err


def test_control_characters_in_a_bad_argument_do_not_reach_the_terminal(invoke: Invoke) -> None:
    result = invoke("audit", "-o", "\x1b]0;pwned\x07")
    assert result.code == 2
    assert "\x1b" not in result.err
    assert "\x07" not in result.err
    assert result.err.count("\n") == 1


def test_no_arguments_still_shows_the_help(invoke: Invoke) -> None:
    result = invoke()
    assert result.code == 2
    assert "Usage: nodewarden" in result.out + result.err


def test_help_and_version_exit_0(invoke: Invoke) -> None:
    assert invoke("--version").code == 0
    assert invoke("audit", "--help").code == 0
