"""Run the real console entry point in-process and capture what a user would see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from nodewarden.cli.main import run


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


Invoke = Callable[..., Outcome]


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Invoke:
    def call(*args: str) -> Outcome:
        with pytest.raises(SystemExit) as exited:
            run(list(args))
        captured = capsys.readouterr()
        code = exited.value.code
        return Outcome(code=code if isinstance(code, int) else 0, out=captured.out, err=captured.err)

    return call
