"""The controller's clock is the API server's: taken afresh each cycle, so it follows a twin that runs fast."""

from __future__ import annotations

from datetime import timedelta

from nodewarden.connection import kube_config
from nodewarden.runtime.clock import ServerClock
from nodewarden.twin.service import Twin


def test_sync_follows_the_server_even_when_its_time_jumps_ahead() -> None:
    with Twin("small") as twin:
        config = kube_config(twin.kubeconfig_path, flag="--kubeconfig")
        assert config is not None
        clock = ServerClock(config)
        try:
            first = clock.sync()
            assert abs(first - twin.now()) < timedelta(seconds=2)
            twin.advance(3600)  # an hour of twin time in no real time: a fast twin between two cycles
            assert clock.now() < twin.now() - timedelta(minutes=59)  # between syncs: the old offset
            second = clock.sync()
            assert abs(second - twin.now()) < timedelta(seconds=2)
            readings = [clock.now() for _ in range(50)]
            assert readings == sorted(readings)
            assert readings[0] >= second
        finally:
            clock.close()
