"""A twin and a Connection to it, for every live adapter test (observe and act)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nodewarden.connection import Connection, connect
from nodewarden.twin.service import Twin


@pytest.fixture
def twin() -> Iterator[Twin]:
    # SDK pollers wait in real time; each poll of an unfinished operation moves twin time 30 s.
    with Twin("small", advance_on_poll=30) as running:
        yield running


@pytest.fixture
def connection(twin: Twin) -> Connection:
    return connect(twin=twin.state_dir)
