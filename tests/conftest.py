"""Run the real console entry point in-process and capture what a user would see; Hypothesis settings for a
loaded machine; a twin without sockets."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings

from nodewarden.cli.main import run
from nodewarden.twin.service import Twin
from tests.support import twin_transport

# `make test` runs four workers on two cores, often beside other work; wall-clock limits then fail tests whose
# code is correct. So no per-example deadline, and no "input generation is slow" health check (it times data
# generation). Example counts stay as each test sets them, and the checks that catch a broken strategy
# (filter_too_much, data_too_large, large_base_example) stay on: they do not depend on the machine's load.
settings.register_profile("loaded", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "loaded"))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup`, every test marked xdist_group must carry its group in its id (xdist adds
    "@group"), or its module's fixture runs on every worker: pytest 9 ignores how xdist 3.8 adds it."""
    if not getattr(config.option, "loadgroup", False):
        return
    lost = [item.nodeid for item in items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        raise pytest.UsageError(f"xdist_group did not group {len(lost)} tests, e.g. {lost[0]}: check pytest-xdist")


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


@pytest.fixture
def socketless_twin() -> Iterator[Twin]:
    """The small twin on a manual clock, without sockets or TLS: every client built meanwhile calls its route
    in-process (tests/support/twin_transport.py). For tests where the wire is not the subject."""
    with twin_transport.twin_in_process("small", advance_on_poll=30) as twin:
        yield twin
