"""SIGTERM and SIGINT end a long-running command cleanly: the loop sees an Event instead of dying mid-step."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An Event set by SIGTERM/SIGINT while the block runs; the previous handlers come back afterwards."""
    stop = threading.Event()
    previous: dict[signal.Signals, Any] = {
        signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
